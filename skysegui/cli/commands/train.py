"""`skysegui train`: train a sky model on a project's labelled panoramas (headless)."""

from __future__ import annotations

import argparse

from skysegui.cli import options


def register(subparsers) -> None:
    from skysegui.ml.configs import preset_names

    p = subparsers.add_parser(
        "train",
        help="train a sky segmentation model on a project's labels",
        description="Train on the project's labelled images. Every labelled image is trained on, "
        "and a longitude sector of each (25 %, --split region, the default) that no training crop "
        "touches validates; --split image holds whole images out instead (real panoramas validated "
        "on real ones). The model lands in <project>/models/<name>/ (the best epoch by "
        "validation mean IoU; last/ holds the last epoch for --resume). Without --config the "
        "defaults fit this machine (CPU: the cpu preset for 10 minutes; GPU: the report's "
        "network for 30) and the run starts from the project's newest working model of the "
        "same network (fine-tuning) if there is one, else from the built-in sky model when it has "
        "that network (the CPU defaults' do); --scratch starts from random weights. The last line gives the model's score "
        "beside what an all-sky and a no-sky mask score, and says when it has not learnt. A model "
        "folder that exists already (--name) is continued with --resume or replaced with --force; "
        "without either, nothing is trained.",
    )
    p.add_argument("--project", required=True, help="project folder (or a COCO file inside one)")
    p.add_argument("--config", metavar="NAME|FILE.toml",
                   help="training config: a built-in one (" + ", ".join(preset_names()) + ") or a "
                   "TOML file of the same form (copy one from skysegui/resources/configs/ to change it)")
    p.add_argument("--resume", action="store_true", help="continue the model named by --name/config from its last epoch")
    p.add_argument("--name", help="model folder name under <project>/models")
    p.add_argument("--preset", choices=("default", "cpu", "tiny"), help="model preset (overrides the config's)")
    p.add_argument("--epochs", type=int, help="number of epochs")
    p.add_argument("--steps", type=int, help="batches per epoch")
    p.add_argument("--batch-size", type=int, help="global batch size")
    p.add_argument("--patch", type=int, metavar="PX",
                   help="crop size in pixels (a multiple of 32; 48 for PSPNet); default 256 HDR, 512 LDR")
    p.add_argument("--learning-rate", type=float, metavar="LR", help="initial learning rate")
    # ml.data.split.SPLITS, written out: importing it would load numpy for `--help`
    p.add_argument("--split", choices=("region", "image", "patch"),
                   help="validation split: region (default: a sector of every image, the rest trains), "
                   "image (whole images held out) or patch (leaks; only to compare with the report)")
    p.add_argument("--strategy", choices=("auto", "default", "mirrored", "multiworker"), help="tf.distribute strategy")
    p.add_argument("--budget", type=float, metavar="MIN",
                   help="stop after the epoch that reaches this many minutes (0: epochs x steps decide)")
    start = p.add_mutually_exclusive_group()
    start.add_argument("--from", dest="start_from", metavar="MODEL",
                       help="fine-tune this model folder (its network, scale and weights), or 'builtin' "
                       "for the built-in sky model that ships with the program")
    start.add_argument("--scratch", action="store_true",
                       help="start from random weights even if the project or the program has a model to fine-tune")
    p.add_argument("--fine-tune-encoder", action="store_true",
                   help="when fine-tuning, train the encoder too (default: the decoder only, which keeps "
                   "what the start model knew of other panoramas)")
    p.add_argument("--no-focus", dest="focus", action="store_false",
                   help="when fine-tuning, draw crops by image area only (default: images the start model "
                   "gets wrong get more of them)")
    options.add_force(p)
    options.add_quiet(p)
    options.add_json(p)
    p.set_defaults(func=run)


def build_config(args: argparse.Namespace):
    import dataclasses

    from skysegui.ml.configs import load_train_config
    from skysegui.ml.defaults import default_train_config
    from skysegui.ml.model import DEFAULT_PATCH, PRESETS

    config = load_train_config(args.config) if args.config else default_train_config()
    if args.preset:
        keep = {"input_transform": config.model.input_transform} if args.config else {}
        base = PRESETS[args.preset]
        if keep and base.patch_size == DEFAULT_PATCH["hdr_log"]:
            keep["patch_size"] = DEFAULT_PATCH[config.model.input_transform]  # LDR: 512 px crops
        config.model = dataclasses.replace(base, **keep)
    for attr, value in (("name", args.name), ("epochs", args.epochs), ("steps_per_epoch", args.steps),
                        ("batch_size", args.batch_size), ("strategy", args.strategy),
                        ("learning_rate", args.learning_rate), ("split", getattr(args, "split", None)),
                        ("time_budget_min", getattr(args, "budget", None)),
                        ("fine_tune_encoder", True if getattr(args, "fine_tune_encoder", False) else None),
                        ("focus_on_errors", None if getattr(args, "focus", True) else False)):
        if value is not None:
            setattr(config, attr, value)
    if args.patch is not None:
        config.model = dataclasses.replace(config.model, patch_size=args.patch)
        config.model.validate()  # a patch size the network cannot take is a ModelError now
    return config


def choose_start(args: argparse.Namespace, config, project) -> None:
    """--from MODEL, --scratch, or by default the project's newest working model of the
    same network, else the built-in sky model when it has that network (then the
    fine-tuning learning rate and budget, unless given)."""

    from skysegui.ml.defaults import run_defaults
    from skysegui.ml.train.start import find_start_model, resolve_start

    if args.resume or args.scratch:
        return
    folder = resolve_start(args.start_from) if args.start_from else None
    if folder is None and not config.init_from:
        folder = find_start_model(project.models_dir, config.model)
    if folder is not None:
        config.init_from = str(folder)
        if not args.config:  # a round of the loop: the fine-tuning rate and budget
            if args.learning_rate is None:
                config.learning_rate = run_defaults().fine_tune_learning_rate
            if args.budget is None:
                config.time_budget_min = run_defaults().fine_tune_budget_min


def check_target(args: argparse.Namespace, config, project) -> None:
    """A named model folder that exists is continued (--resume) or replaced (--force) only."""
    from skysegui.core.errors import TrainingError

    if not config.name or args.resume or args.force:
        return
    folder = project.models_dir / config.name
    if folder.is_dir() and any(folder.iterdir()):
        raise TrainingError(f"{folder} already exists: choose another --name, continue it with "
                            "--resume, or add --force to replace it")


def run(args: argparse.Namespace) -> int:
    from skysegui.core.project_lock import writing_into
    from skysegui.ml.strategy import is_chief

    if not is_chief():  # a worker of a cluster (TF_CONFIG): the chief writes the model and holds
        return _run(args)  # the lock; this one writes only its own cache (cache/worker-N)
    with writing_into([args.project], "train"):  # held (with a heartbeat) while training
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from skysegui.core.errors import TrainingError
    from skysegui.core.project import Project

    project = Project.open(args.project)
    config = build_config(args)
    if args.resume and not config.name:
        raise TrainingError("--resume needs the model's folder name: give --name (or name in the config)")
    from skysegui.ml.strategy import is_chief, worker_label

    chief, worker = is_chief(), worker_label()
    if chief:
        check_target(args, config, project)
    choose_start(args, config, project)
    from skysegui.ml.train import Trainer

    label = f"train ({worker})" if worker else "train"  # "train (worker 1 of 2): 3/3 ... epoch 1/1 ..."
    trainer = Trainer(config, project, progress=options.progress_bar(args, label), resume=args.resume)
    result = trainer.run()
    for text in result.notes:
        options.note(args, text)
    curves = result.model_dir / "curves.csv"
    if not result.learnt:
        options.warn(args, f"{result.verdict.get('message', 'the model has not learnt')}; it is not a "
                     "usable sky model yet: train longer, label more images, or start from a working model")
    best = "n/a" if result.best_val_iou is None else f"{result.best_val_iou:.4f}"
    text = f"model: {result.model_dir}  epochs: {result.epochs_done}  best val IoU: {best}  {result.summary}"
    if not chief:
        n = result.epochs_done
        text = (f"{worker}: done ({n} epoch{'' if n == 1 else 's'}); the chief, worker 0, writes the "
                f"model {result.model_dir.name}  {result.summary}")
    elif curves.is_file():
        text += f"\ncurves: {curves}  TensorBoard: tensorboard --logdir {result.model_dir / 'logs'}"
    options.emit(args, {
        "model": result.model_dir, "epochs": result.epochs_done, "best_val_iou": result.best_val_iou,
        "learnt": result.learnt, "summary": result.summary, "verdict": result.verdict,
        "metrics": result.metrics, "cancelled": result.cancelled, "notes": result.notes,
        "curves": curves if curves.is_file() else None,
    }, text)
    return 0
