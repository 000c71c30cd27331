"""`skysegui predict`: sky masks, probabilities and uncertainty maps for many images.

INPUTS are image files, folders of images, or project folders (their images/). Existing
predictions are skipped unless --force, so an interrupted run continues where it stopped.
Without --model: the project's newest model that learnt, else the built-in sky model.
With --auto: auto sky (core/autosky.py), which needs no model and no TensorFlow.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from skysegui.cli import options

MODES = ("quality", "fast", "report")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "predict",
        help="predict sky masks with a trained model (or the built-in one), or --auto with none",
        description="Predict sky masks for images, folders or projects. Without --model the "
        "project's newest model that learnt is used, else the built-in sky model that ships "
        "with the program (also for loose image files). Writes "
        "<stem>.mask.png (0/255), <stem>.prob.png (16-bit) or .prob.tif (float) and "
        "<stem>.uncertainty.png into --out (default: the project's predictions/ folder). "
        "quality: overlapping full-resolution tiles blended across tile borders and the "
        "360-degree seam; fast: reduced resolution + edge-aware upsampling; report: the "
        "pipeline report's non-overlapping patches (a baseline with seams). "
        "--auto: auto sky instead of a model (no model, no training, no TensorFlow): the sky "
        "found from the panorama's luminance, colour and elevation, refined by a graph cut, "
        "with the same output files and a <stem>.source.json naming it. Images already "
        "predicted in --out are skipped (the one command that skips rather than refuses), so "
        "an interrupted run continues; --force predicts them again.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders, project folders or label files")
    p.add_argument("--model", help="model folder (with card.json), e.g. <project>/models/<name> "
                   "(default: the project's newest model that learnt, else the built-in sky model)")
    p.add_argument("--auto", action="store_true",
                   help="auto sky: find the sky without any model (about 1 s for 1K, 3 s for 8K "
                   "on a CPU); --mode, --tile, --overlap, --fast-size and --crf do not apply")
    p.add_argument("--out", metavar="DIR", help="output folder (default: <project>/predictions for one project)")
    p.add_argument("--mode", choices=MODES, default="quality", help="prediction method (default quality)")
    p.add_argument("--tile", type=int, default=None,
                   help="tile size in px for quality mode (default 1024; a multiple of 32, of 48 for PSPNet)")
    p.add_argument("--overlap", type=float, default=0.125, help="tile overlap fraction (default 0.125)")
    p.add_argument("--fast-size", type=int, default=1024, metavar="PX",
                   help="fast mode: long side of the reduced image (default 1024)")
    p.add_argument("--crf", action="store_true", help="fast mode: dense CRF refinement if pydensecrf is installed")
    p.add_argument("--no-snap", dest="snap", action="store_false",
                   help="keep the network's mask edge as it is (default: snapped to the image's edges)")
    p.add_argument("--threshold", type=float, default=0.5, help="probability threshold of the mask (default 0.5)")
    p.add_argument("--prob-format", choices=("png16", "tiff"), default="png16",
                   help="probability file: 16-bit PNG or float32 TIFF")
    options.add_force(p, options.FORCE_REDO_HELP)
    options.add_quiet(p)
    options.add_json(p)
    p.set_defaults(func=run)


def _is_project(folder: Path) -> bool:
    return (folder / "images").is_dir() or (folder / "labels.json").is_file()


def collect_inputs(inputs: list[str]) -> tuple[list[Path], Path | None, list]:
    """(image paths in a stable order, the project's predictions folder if one project was
    given, the projects given)."""
    from skysegui.core.errors import PredictionError
    from skysegui.core.imageio import IMAGE_EXTENSIONS

    images: list[Path] = []
    projects = []
    for raw in inputs:
        path = Path(raw)
        if (path.is_file() and path.suffix.lower() == ".json") or (path.is_dir() and _is_project(path)):
            from skysegui.core.project import Project

            project = Project.open(path)
            projects.append(project)
            images += list(project.image_paths())
        elif path.is_file():
            if path.suffix.lower() not in IMAGE_EXTENSIONS:
                raise PredictionError(
                    f"{path} is not an image we can read ({', '.join(sorted(IMAGE_EXTENSIONS))})"
                )
            images.append(path)
        elif path.is_dir():
            images += sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                             and not p.name.startswith("."))  # hidden: crash leftovers
        else:
            raise PredictionError(f"{path} does not exist: give image files, folders or project folders")
    if not images:
        raise PredictionError("no images found in the inputs: give image files or folders that contain images")
    from skysegui.core.predictions import prediction_stem

    seen: dict[str, Path] = {}
    for image in images:
        stem = prediction_stem(image)  # the rule the files are named by (core.predictions)
        if stem in seen and seen[stem].resolve() != image.resolve():
            raise PredictionError(
                f"{seen[stem]} and {image} have the same name stem and would write the same "
                "prediction files: predict them into different --out folders"
            )
        seen[stem] = image
    unique = list(dict.fromkeys(seen.values()))
    default_out = projects[0].predictions_dir if len(projects) == 1 and len(inputs) == 1 else None
    return unique, default_out, projects


def choose_model(projects: list) -> Path:
    """The model to use when --model is not given: the projects' own newest model that
    learnt, else the built-in sky model; PredictionError when there is neither."""
    from skysegui.core.errors import PredictionError
    from skysegui.ml.builtin_model import (
        builtin_model_problem,
        default_prediction_model,
        project_model,
    )

    own = list(dict.fromkeys(m for m in (project_model(p.models_dir) for p in projects) if m is not None))
    if len(own) > 1:
        raise PredictionError(
            f"the projects given have models of their own ({', '.join(str(m) for m in own)}): "
            "choose one with --model")
    chosen = own[0] if own else default_prediction_model()
    if chosen is not None:
        return chosen
    why = builtin_model_problem() or "the built-in sky model's card says it has not learnt"
    where = "the project has no model that learnt" if projects else "no project was given"
    raise PredictionError(f"no model to predict with: {where}, and {why}; give a model folder with --model")


def run(args: argparse.Namespace) -> int:
    from skysegui.cli.progress import end_progress_line
    from skysegui.core.errors import CancelledError, PredictionError, SkysegError
    from skysegui.core.predictions import prediction_paths
    from skysegui.ml.model import load_model
    from skysegui.ml.predict import Predictor, read_for_prediction, save_prediction

    if args.auto and args.model:
        raise PredictionError("--auto finds the sky without a model: give --auto or --model, not both")
    images, default_out, projects = collect_inputs(args.inputs)
    out = Path(args.out) if args.out else default_out
    if out is None:
        raise PredictionError("say where to write the predictions with --out DIR")
    todo = [p for p in images if args.force or not prediction_paths(out, p).complete()]
    skipped = len(images) - len(todo)
    if skipped and not options.is_quiet(args):
        print(f"skipping {skipped} image(s) already predicted in {out} (use --force to redo)", file=sys.stderr)
    rows: list[dict] = []
    if not todo:
        options.emit(args, {"out": out, "skipped": skipped, "images": rows}, "")
        return 0
    if args.crf and args.auto:
        options.warn(args, "--crf applies to a model's fast mode, not to --auto; ignored")
    elif args.crf:
        from skysegui.core.refine import crf_available

        if not crf_available():
            options.warn(args, "--crf needs the optional pydensecrf2 package (pip install pydensecrf2); "
                         "predicting without the CRF")
        elif args.mode != "fast":
            options.warn(args, "--crf applies to --mode fast only; ignored")
    if args.auto:
        from skysegui.ml.autosky_predict import AUTO_MODE, AutoSkyPredictor

        predictor, mode = AutoSkyPredictor(threshold=args.threshold), AUTO_MODE
    else:
        model_dir = Path(args.model) if args.model else choose_model(projects)
        if not args.model:
            from skysegui.ml.model_status import model_title

            if not options.is_quiet(args):
                print(f"model: {model_title(model_dir)} ({model_dir})", file=sys.stderr)
        predictor = Predictor(
            load_model(model_dir),
            tile=args.tile,
            overlap=args.overlap,
            fast_long_side=args.fast_size,
            use_crf=args.crf,
            threshold=args.threshold,
            snap=args.snap,
        )
        mode = args.mode
    failures = 0
    table = not options.wants_json(args)
    if table:
        print(f"{'image':30s} {'mode':8s} {'seconds':>8s} {'sky %':>6s} {'uncertainty':>11s}")
    for i, path in enumerate(todo, 1):
        bar = options.progress_bar(args, f"[{i}/{len(todo)}] {path.name}")
        try:
            image = read_for_prediction(path)
            pred = predictor.predict(image, mode=mode, progress=bar)
            save_prediction(pred, out, path, prob_format=args.prob_format)
        except CancelledError:
            raise
        except SkysegError as exc:
            failures += 1
            text = str(exc)  # one line naming the file (most messages already do)
            end_progress_line()
            print(f"error: {text if path.name in text else f'{path.name}: {text}'}", file=sys.stderr)
            continue
        sky = 100.0 * float(pred.mask.mean())
        note = f"  {pred.note}" if pred.note else ""  # auto sky: "indoors: no sky found"
        rows.append({"image": path, "mode": mode, "seconds": pred.seconds, "sky_percent": sky,
                     "uncertainty": pred.uncertainty_score, "note": pred.note or None})
        if table:
            print(f"{path.name[:30]:30s} {mode:8s} {pred.seconds:8.2f} {sky:6.1f} {pred.uncertainty_score:11.4f}{note}")
    if not table:
        options.emit(args, {"out": out, "skipped": skipped, "failed": failures, "images": rows}, "")
    if failures:
        if len(todo) > 1:  # one image: its own error line says it all
            print(f"error: {failures} of {len(todo)} image(s) failed (see above)", file=sys.stderr)
        return 2
    return 0
