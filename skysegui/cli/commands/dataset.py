"""`skysegui dataset export`: the project's labelled images as the report's patch folders."""

from __future__ import annotations

import argparse

from skysegui.cli import options


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "dataset",
        help="training data tools (export to the report's patch-folder layout)",
        description="Training data tools. Training itself reads a compact cache and needs none of this.",
    )
    sub = p.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)
    e = sub.add_parser(
        "export",
        help="write X_train/train/N.tif, Y_train/train/N.png, X_val/val, Y_val/val",
        description="Patches of each labelled image (network input as float32 TIFF, mask as PNG "
        "with sky = 1), valid padding, numbered from 1. Split by image unless --split patch, "
        "which leaks overlapping patches into validation. Patch folders that are not empty "
        "stop it, unless --force (which deletes the patches of an earlier export first).",
    )
    e.add_argument("--project", required=True, help="project folder (or a COCO file inside one)")
    e.add_argument("--out", metavar="DIR", required=True,
                   help="output folder (its patch folders must be empty, or --force)")
    e.add_argument("--patch", type=int, default=256, help="patch size in px (default 256)")
    e.add_argument("--stride", type=int, default=100, help="stride in px (default 100, as the report)")
    e.add_argument("--val", type=float, default=0.25, help="validation fraction (default 0.25)")
    e.add_argument("--split", choices=("image", "patch"), default="image", help="split by image (default) or by patch (leaks)")
    e.add_argument("--transform", choices=("hdr_log", "ldr"), default="hdr_log", help="network input transform")
    e.add_argument("--seed", type=int, default=0, help="seed of the split")
    options.add_force(e)
    options.add_quiet(e)
    options.add_json(e)
    e.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    from skysegui.core.errors import ExportError
    from skysegui.core.project import Project
    from skysegui.ml.data.cache import project_sources
    from skysegui.ml.data.export_patches import export_patches

    project = Project.open(args.project)
    sources, warnings = project_sources(project, args.transform)
    if not sources:
        raise ExportError(f"{project.root} has no labelled images: label some first")
    summary = export_patches(sources, args.out, size=args.patch, stride=args.stride, val_fraction=args.val,
                             split=args.split, seed=args.seed, overwrite=args.force,
                             progress=options.progress_bar(args, "dataset"))
    for w in warnings + summary.warnings:
        options.warn(args, w)
    options.emit(args, {"out": summary.out, "train": summary.train, "val": summary.val,
                        "train_images": summary.train_images, "val_images": summary.val_images,
                        "warnings": warnings + summary.warnings},
                 f"{summary.train} train and {summary.val} val patches in {summary.out}")
    return 0
