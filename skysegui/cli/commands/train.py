"""`skysegui train`: train a sky model on a project's labelled panoramas (headless)."""

from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a sky segmentation model on a project's labels",
        description="Train on the project's labelled images (split by image). The model lands in "
        "<project>/models/<name>/ (best epoch by val IoU; last/ holds the last epoch for --resume). "
        "Settings come from --config (TOML, see training/configs/) and the options below.",
    )
    p.add_argument("--project", required=True, help="project folder (or a COCO file inside one)")
    p.add_argument("--config", metavar="FILE.toml", help="training config (training/configs/*.toml)")
    p.add_argument("--resume", action="store_true", help="continue the model named by --name/config from its last epoch")
    p.add_argument("--name", help="model folder name under <project>/models")
    p.add_argument("--preset", choices=("default", "cpu", "tiny"), help="model preset (overrides the config's)")
    p.add_argument("--epochs", type=int, help="number of epochs")
    p.add_argument("--steps", type=int, help="batches per epoch")
    p.add_argument("--batch-size", type=int, help="global batch size")
    p.add_argument("--patch", type=int, metavar="PX",
                   help="crop size in pixels (a multiple of 32; 48 for PSPNet); default 256 HDR, 512 LDR")
    p.add_argument("--learning-rate", type=float, metavar="LR", help="initial learning rate")
    p.add_argument("--strategy", choices=("auto", "default", "mirrored", "multiworker"), help="tf.distribute strategy")
    p.set_defaults(func=run)


def build_config(args: argparse.Namespace):
    import dataclasses

    from skysegui.ml.model import DEFAULT_PATCH, PRESETS
    from skysegui.ml.train import TrainConfig

    config = TrainConfig.from_toml(args.config) if args.config else TrainConfig()
    if args.preset:
        keep = {"input_transform": config.model.input_transform} if args.config else {}
        base = PRESETS[args.preset]
        if keep and base.patch_size == DEFAULT_PATCH["hdr_log"]:
            keep["patch_size"] = DEFAULT_PATCH[config.model.input_transform]  # LDR: 512 px crops
        config.model = dataclasses.replace(base, **keep)
    for attr, value in (("name", args.name), ("epochs", args.epochs), ("steps_per_epoch", args.steps),
                        ("batch_size", args.batch_size), ("strategy", args.strategy),
                        ("learning_rate", args.learning_rate)):
        if value is not None:
            setattr(config, attr, value)
    if args.patch is not None:
        config.model = dataclasses.replace(config.model, patch_size=args.patch)
        config.model.validate()  # a patch size the network cannot take is a ModelError now
    return config


def run(args: argparse.Namespace) -> int:
    from skysegui.cli.progress import ProgressBar
    from skysegui.core.errors import TrainingError
    from skysegui.core.project import Project
    from skysegui.ml.train import Trainer, default_model_name

    project = Project.open(args.project)
    config = build_config(args)
    if args.resume and not config.name:
        raise TrainingError("--resume needs the model's folder name: give --name (or name in the config)")
    config.name = config.name or default_model_name(config.model)
    trainer = Trainer(config, project, progress=ProgressBar("train"), resume=args.resume)
    result = trainer.run()
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    best = "n/a" if result.best_val_iou is None else f"{result.best_val_iou:.4f}"
    print(f"model: {result.model_dir}  epochs: {result.epochs_done}  best val IoU: {best}")
    return 0
