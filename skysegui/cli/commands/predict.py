"""`skysegui predict`: sky masks, probabilities and uncertainty maps for many images.

INPUTS are image files, folders of images, or project folders (their images/). Existing
predictions are skipped unless --force, so an interrupted run continues where it stopped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

MODES = ("quality", "fast", "report")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "predict",
        help="predict sky masks with a trained model",
        description="Predict sky masks for images, folders or projects. Writes "
        "<stem>.mask.png (0/255), <stem>.prob.png (16-bit) or .prob.tif (float) and "
        "<stem>.uncertainty.png into --out (default: the project's predictions/ folder). "
        "quality: overlapping full-resolution tiles blended across tile borders and the "
        "360-degree seam; fast: reduced resolution + edge-aware upsampling; report: the "
        "pipeline report's non-overlapping patches (a baseline with seams).",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders, project folders or label files")
    p.add_argument("--model", required=True, help="model folder (with card.json), e.g. <project>/models/<name>")
    p.add_argument("--out", help="output folder (default: <project>/predictions for one project)")
    p.add_argument("--mode", choices=MODES, default="quality", help="prediction method (default quality)")
    p.add_argument("--tile", type=int, default=None,
                   help="tile size in px for quality mode (default 1024; a multiple of 32, of 48 for PSPNet)")
    p.add_argument("--overlap", type=float, default=0.125, help="tile overlap fraction (default 0.125)")
    p.add_argument("--fast-size", type=int, default=1024, metavar="PX",
                   help="fast mode: long side of the reduced image (default 1024)")
    p.add_argument("--crf", action="store_true", help="fast mode: dense CRF refinement if pydensecrf is installed")
    p.add_argument("--threshold", type=float, default=0.5, help="probability threshold of the mask (default 0.5)")
    p.add_argument("--prob-format", choices=("png16", "tiff"), default="png16",
                   help="probability file: 16-bit PNG or float32 TIFF")
    p.add_argument("--force", action="store_true", help="predict again even where outputs exist")
    p.set_defaults(func=run)


def _is_project(folder: Path) -> bool:
    return (folder / "images").is_dir() or (folder / "labels.json").is_file()


def collect_inputs(inputs: list[str]) -> tuple[list[Path], Path | None]:
    """(image paths in a stable order, the project's predictions folder if one project was given)."""
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
    seen: dict[str, Path] = {}
    for image in images:
        if image.stem in seen and seen[image.stem].resolve() != image.resolve():
            raise PredictionError(
                f"{seen[image.stem]} and {image} have the same name stem and would write the same "
                "prediction files: predict them into different --out folders"
            )
        seen[image.stem] = image
    unique = list(dict.fromkeys(seen.values()))
    default_out = projects[0].predictions_dir if len(projects) == 1 and len(inputs) == 1 else None
    return unique, default_out


def run(args: argparse.Namespace) -> int:
    from skysegui.cli.progress import ProgressBar, end_progress_line
    from skysegui.core.errors import CancelledError, PredictionError, SkysegError
    from skysegui.core.predictions import prediction_paths
    from skysegui.ml.model import load_model
    from skysegui.ml.predict import Predictor, read_for_prediction, save_prediction

    images, default_out = collect_inputs(args.inputs)
    out = Path(args.out) if args.out else default_out
    if out is None:
        raise PredictionError("say where to write the predictions with --out DIR")
    todo = [p for p in images if args.force or not prediction_paths(out, p).exists()]
    skipped = len(images) - len(todo)
    if skipped:
        print(f"skipping {skipped} image(s) already predicted in {out} (use --force to redo)", file=sys.stderr)
    if not todo:
        return 0
    if args.crf:
        from skysegui.core.refine import crf_available

        if not crf_available():
            print("warning: --crf needs the optional pydensecrf2 package (pip install pydensecrf2); "
                  "predicting without the CRF", file=sys.stderr)
        elif args.mode != "fast":
            print("warning: --crf applies to --mode fast only; ignored", file=sys.stderr)
    predictor = Predictor(
        load_model(args.model),
        tile=args.tile,
        overlap=args.overlap,
        fast_long_side=args.fast_size,
        use_crf=args.crf,
        threshold=args.threshold,
    )
    failures = 0
    print(f"{'image':30s} {'mode':8s} {'seconds':>8s} {'sky %':>6s} {'uncertainty':>11s}")
    for i, path in enumerate(todo, 1):
        bar = ProgressBar(f"[{i}/{len(todo)}] {path.name}")
        try:
            image = read_for_prediction(path)
            pred = predictor.predict(image, mode=args.mode, progress=bar)
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
        print(f"{path.name[:30]:30s} {args.mode:8s} {pred.seconds:8.2f} {sky:6.1f} {pred.uncertainty_score:11.4f}")
    if failures:
        if len(todo) > 1:  # one image: its own error line says it all
            print(f"error: {failures} of {len(todo)} image(s) failed (see above)", file=sys.stderr)
        return 2
    return 0
