"""`skysegui export`: overlays, masks and sky-alpha EXRs for a project's images."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from skysegui.core.choices import EXPORT_KINDS, OVERLAY_FORMATS, SOURCES


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export",
        help="write overlays, masks or sky-alpha EXRs for a project's images",
        description="Export one file per image: <stem>.overlay.png, <stem>.mask.png, "
        "<stem>.prob.png, <stem>.rgba.exr, <stem>.sky.exr or <stem>.ground.exr "
        "('-inv' is added with --invert). Existing files are kept unless --force.",
    )
    p.add_argument("--project", required=True, help="project folder (or a COCO file inside one)")
    p.add_argument("--what", required=True, choices=EXPORT_KINDS, help="what to write")
    p.add_argument("--source", default="labels", choices=SOURCES, help="mask from labels or prediction")
    p.add_argument("--soft", action="store_true", help="prediction source: use the probability, not the binary mask")
    p.add_argument("--opacity", type=float, default=0.5, help="overlay opacity 0..1 (default 0.5)")
    p.add_argument("--color", default="#ff3030", help="overlay colour: #rrggbb or a name (default #ff3030)")
    p.add_argument("--outline", type=int, default=0, metavar="PX", help="outline width in px (0: none)")
    p.add_argument("--outline-color", default="white", help="outline colour (default white)")
    p.add_argument("--exposure", type=float, default=0.0, metavar="EV", help="tone map exposure in EV")
    p.add_argument("--gamma", type=float, default=None, help="gamma for the 'gamma' operator")
    p.add_argument("--operator", default="srgb", help="tone map operator (srgb, gamma, reinhard, filmic, log, ...)")
    p.add_argument("--format", default="png", choices=OVERLAY_FORMATS, help="overlay file format")
    p.add_argument("--invert", action="store_true", help="export the ground instead of the sky")
    p.add_argument("--images", nargs="+", metavar="NAME", help="only these images (file names or stems)")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.add_argument("--out", required=True, help="output folder (created if missing)")
    p.set_defaults(func=run)


def tone_from_args(args: argparse.Namespace):
    from skysegui.core.errors import ExportError
    from skysegui.core.tonemap import OPERATORS, ToneSettings

    if args.operator not in OPERATORS:
        raise ExportError(f"unknown tone map operator {args.operator!r}: use one of {', '.join(OPERATORS)}")
    kw = {"exposure": args.exposure, "operator": args.operator}
    if args.gamma is not None:
        kw["gamma"] = args.gamma
    return ToneSettings(**kw)


def run(args: argparse.Namespace) -> int:
    from skysegui.cli.progress import ProgressBar
    from skysegui.core.errors import ExportError
    from skysegui.core.export.batch import ExportOptions, export_project
    from skysegui.core.project import Project

    options = ExportOptions(
        what=args.what,
        source=args.source,
        opacity=args.opacity,
        color=args.color,
        outline=args.outline,
        outline_color=args.outline_color,
        tone=tone_from_args(args),
        format=args.format,
        invert=args.invert,
        soft=args.soft,
    ).validated()
    project = Project.open(Path(args.project))
    result = export_project(
        project,
        options,
        Path(args.out),
        images=args.images,
        overwrite=args.force,
        progress=ProgressBar("export"),
    )
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not result.written and result.warnings:
        raise ExportError(
            f"nothing was exported: every selected image was skipped ({result.warnings[-1]})"
        )
    print(f"wrote {len(result.written)} file(s) to {args.out}")
    return 0
