"""`skysegui open [PATH]`: the window, on a project folder, label file or image.

`skysegui PATH` does the same for any PATH that is not a command's name; `open` is the
spelling that always works, e.g. for a folder called `demo` or `train`.
"""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "open",
        help="open the window on a project folder, label file or image",
        description="Open the window on PATH (a project folder, a COCO / Label Studio / labelme / "
        "CVAT label file, or one image); without PATH, an empty window. `skysegui PATH` does the "
        "same unless PATH is also the name of a command (a folder called demo or train): "
        "`skysegui open demo` always opens the path.",
    )
    p.add_argument("path", nargs="?", metavar="PATH",
                   help="project folder, label file or image to open in the window")
    p.add_argument("--screenshot", metavar="OUT.png", default=argparse.SUPPRESS,  # or before `open`
                   help="open PATH, wait until it is fully loaded, save a picture of the window and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from skysegui.cli.main import run_gui

    args.screenshot = getattr(args, "screenshot", None)
    return run_gui(args)
