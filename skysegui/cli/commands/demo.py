"""`skysegui demo [DIR]`: write the built-in demo project of synthetic HDR panoramas.

About a dozen panoramas (day, dusk, night; city, mountains, forest, sea, lake), labels
for half of them, so a newcomer can train, predict and review at once.
"""

from __future__ import annotations

import argparse

from skysegui.cli import options

DEFAULT_DIR = "demo-project"


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return value


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "demo",
        help="write a demo project of synthetic HDR panoramas (half of them labelled)",
        description="Write a project folder with synthetic 360-degree HDR panoramas "
        "(images/*.exr), COCO labels for half of them (labels.json) and the exact masks of "
        "all of them (truth/*.png). Refuses to touch a folder that is not empty unless --force "
        "(which writes into it, replacing the demo's files).",
    )
    p.add_argument("dir", nargs="?", default=None, metavar="DIR",
                   help=f"project folder to create (default ./{DEFAULT_DIR}); the same as --out")
    p.add_argument("--out", metavar="DIR", default=None, help="project folder to create (the same as DIR)")
    p.add_argument("--count", type=_positive, default=12, help="number of panoramas (default 12)")
    p.add_argument("--labelled", type=int, default=None,
                   help="how many get labels (default: half of --count)")
    p.add_argument("--width", type=_positive, default=2048, help="width in pixels (default 2048)")
    p.add_argument("--height", type=_positive, default=None,
                   help="height in pixels (default: half the width)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    options.add_force(p)
    options.add_quiet(p)
    options.add_json(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from skysegui.core.errors import ProjectError
    from skysegui.core.synthetic import write_demo_project

    if args.dir and args.out and args.dir != args.out:
        raise ProjectError(f"two folders given ({args.dir} and --out {args.out}): give one")
    folder = args.out or args.dir or DEFAULT_DIR

    height = args.height or max(1, args.width // 2)
    labelled = args.count // 2 if args.labelled is None else max(0, min(args.labelled, args.count))
    project = write_demo_project(
        folder, count=args.count, width=args.width, height=height, labelled=labelled,
        seed=args.seed, force=args.force, progress=options.progress_bar(args, "demo"),
    )
    options.emit(args, {"project": project.root, "count": args.count, "width": args.width,
                        "height": height, "labelled": labelled, "labels": project.labels_path},
                 f"demo project written to {project.root}: {args.count} panoramas "
                 f"({args.width}x{height}), {labelled} labelled in {project.labels_path.name}\n"
                 f"open it with: skysegui open {project.root}")
    return 0

