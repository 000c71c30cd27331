"""`skysegui export`: overlays, masks and sky-alpha EXRs for a project's images."""

from __future__ import annotations

import argparse
from pathlib import Path

from skysegui.cli import options
from skysegui.core.choices import EXPORT_KINDS, OVERLAY_FORMATS, SOURCES


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export",
        help="write overlays, masks or sky-alpha EXRs for a project's images",
        description="Export one file per image: <stem>.overlay.png, <stem>.mask.png, "
        "<stem>.prob.png, <stem>.rgba.exr, <stem>.sky.exr or <stem>.ground.exr "
        "('-inv' is added with --invert). The overlay is tone-mapped with the same flags as "
        "`tonemap` (an --operator or an OpenColorIO --ocio-view). If any file to write exists, "
        "nothing is written unless --force. --only picks images by name (it was called "
        "--images, which now means a folder of panoramas in the other commands).",
    )
    p.add_argument("--project", required=True, help="project folder (or a COCO file inside one)")
    p.add_argument("--what", required=True, choices=EXPORT_KINDS, help="what to write")
    p.add_argument("--source", default="labels", choices=SOURCES, help="mask from labels or prediction")
    p.add_argument("--soft", action="store_true", help="prediction source: use the probability, not the binary mask")
    p.add_argument("--opacity", type=float, default=0.5, help="overlay opacity 0..1 (default 0.5)")
    p.add_argument("--color", default="#ff3030", help="overlay colour: #rrggbb or a name (default #ff3030)")
    p.add_argument("--outline", type=int, default=0, metavar="PX", help="outline width in px (0: none)")
    p.add_argument("--outline-color", default="white", help="outline colour (default white)")
    options.add_tone(p)
    p.add_argument("--format", default="png", choices=OVERLAY_FORMATS, help="overlay file format")
    p.add_argument("--invert", action="store_true", help="export the ground instead of the sky")
    p.add_argument("--only", nargs="+", metavar="NAME",
                   help="only these images of the project (file names or stems; formerly --images)")
    options.deprecated_alias(p, "--images", "--only NAME...", dest="only", nargs="+", metavar="NAME")
    p.add_argument("--out", metavar="DIR", required=True, help="output folder (created if missing)")
    options.add_force(p)
    options.add_quiet(p)
    options.add_json(p)
    p.set_defaults(func=run)


def tone_from_args(args: argparse.Namespace):
    """The tone settings of the overlay (the same flags and rules as `tonemap`)."""
    return options.tone_settings(args)


def run(args: argparse.Namespace) -> int:
    from skysegui.core.project_lock import writing_into

    # export only reads the project: it needs the lock only where its output lies in one
    # (a window may keep the project open while the artist exports elsewhere)
    with writing_into([args.out], "export"):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from skysegui.core.errors import ExportError
    from skysegui.core.export.batch import ExportOptions, export_project
    from skysegui.core.project import Project

    export_options = ExportOptions(
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
        export_options,
        Path(args.out),
        images=args.only,
        overwrite=args.force,
        progress=options.progress_bar(args, "export"),
    )
    for warning in result.warnings:
        options.warn(args, warning)
    if not result.written and result.warnings:
        raise ExportError(
            f"nothing was exported: every selected image was skipped ({result.warnings[-1]})"
        )
    options.emit(args, {"out": args.out, "written": result.written, "warnings": result.warnings},
                 f"wrote {len(result.written)} file(s) to {args.out}")
    return 0
