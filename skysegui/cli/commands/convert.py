"""`skysegui convert LABELS --to FORMAT --out PATH`: labels between COCO, Label Studio,
labelme and CVAT, and a project's predictions as Label Studio pre-annotations.

The input format is recognised by itself (load_labels); writing is core's
annotations.exchange, which the window's File > Export Labels menu uses as well.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from skysegui.cli import options
from skysegui.core.label_formats import FORMAT_TEXT, FORMATS

HOLES = ("Formats without holes (Label Studio polygons, labelme, CVAT) get each hole as a "
         "polygon of its own with the opposite label ('non-sky' inside 'sky') drawn after "
         "it; labelme and CVAT files read back give those as holes again.")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "convert",
        help="convert labels between COCO, Label Studio, labelme and CVAT; predictions to Label Studio",
        description="Read a label file in any supported format (COCO or Label Studio JSON, a "
        "labelme JSON or folder of them, CVAT for images 1.1 XML, or a project folder) and "
        "write it as --to. With --source prediction, write the project's saved predictions "
        "as Label Studio pre-annotations (model_version, score = mean confidence). " + HOLES,
        epilog="formats: " + "; ".join(f"{k}: {v}" for k, v in FORMAT_TEXT.items()),
    )
    p.add_argument("labels", metavar="LABELS",
                   help="label file or labelme folder, or a project folder (its labels, images "
                   "and predictions)")
    p.add_argument("--to", required=True, choices=FORMATS, help="format to write")
    p.add_argument("--out", required=True, metavar="PATH",
                   help="file to write (a folder for labelme)")
    options.add_images_dir(p, "; default: the project's")
    p.add_argument("--source", choices=("labels", "prediction"), default="labels",
                   help="labels (default) or the project's saved predictions (--to label-studio only)")
    p.add_argument("--brush", action="store_true",
                   help="label-studio: write brush masks (BrushLabels RLE) instead of polygons")
    p.add_argument("--model-version", metavar="TEXT",
                   help="label-studio: model_version of the pre-annotations (default 'skysegui "
                   "labels', or what made the prediction)")
    p.add_argument("--from-name", default="label", metavar="NAME",
                   help="label-studio: name of the PolygonLabels/BrushLabels tag (default label)")
    p.add_argument("--to-name", default="image", metavar="NAME", help="label-studio: name of the Image tag (default image)")
    p.add_argument("--url-prefix", default="", metavar="URL",
                   help="label-studio: put before each image name in the task data "
                   "(e.g. /data/local-files/?d=panoramas/)")
    p.add_argument("--all-images", action="store_true",
                   help="also write images that have no labels yet (default: labelled ones only)")
    options.add_force(p)
    options.add_quiet(p)
    options.add_json(p)
    p.set_defaults(func=run)


def _is_project(path: Path) -> bool:
    return path.is_dir() and ((path / "images").is_dir() or (path / "labels.json").exists())


def run(args: argparse.Namespace) -> int:
    from skysegui.core.annotations import load_labels
    from skysegui.core.annotations.exchange import (
        check_target,
        write_labels,
        write_prediction_tasks,
    )
    from skysegui.core.annotations.labelstudio_export import LABELS_VERSION, LabelStudioNames
    from skysegui.core.annotations.names import index_images
    from skysegui.core.errors import ExportError
    from skysegui.core.project import Project

    source = Path(args.labels)
    names = LabelStudioNames(from_name=args.from_name, to_name=args.to_name, url_prefix=args.url_prefix)
    project = Project.open(source) if _is_project(source) else None
    if args.source == "prediction":
        if args.to != "label-studio":
            raise ExportError("predictions are written as Label Studio pre-annotations: use --to label-studio")
        if project is None:
            raise ExportError(f"{source} is not a project folder: predictions live in a project's "
                              "predictions/ folder (run predict on the project first)")
    check_target(args.to, args.out, args.force)
    if args.source == "prediction":
        images = (project.image_paths() if args.images is None
                  else sorted(index_images(args.images).values()))
        result = write_prediction_tasks(images, project.predictions_dir, args.out, args.brush,
                                        args.model_version, names)
        warnings: list[str] = []
    else:
        if project is not None:
            loaded = project.load_labels()
        else:
            loaded = load_labels(source, images_dir=args.images)
        warnings = list(loaded.warnings)
        result = write_labels(loaded.labels, args.to, args.out, args.brush,
                              args.model_version or LABELS_VERSION, names, not args.all_images)
    for warning in warnings + result.warnings:
        options.warn(args, warning)
    where = args.out if len(result.files) != 1 else result.files[0]
    options.emit(args, {"format": args.to, "out": args.out, "written": result.files,
                        "warnings": warnings + result.warnings},
                 f"wrote {len(result.files)} file(s) ({args.to}) to {where}")
    return 0
