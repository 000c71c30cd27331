"""Entry point of the `skysegui` command.

No subcommand opens the window (optionally on a project, COCO file or image): `skysegui
PATH`, or `skysegui open PATH` for a path that is also a command's name (a folder called
`demo`; running the command beside such a path prints a note saying so).
Subcommands live in skysegui/cli/commands/, one module each, found at start-up.
Renamed flags still work and print one `warning:` line naming the new spelling.
A SkysegError prints one line `error: ...` and exits 2; `--debug` shows the traceback.
Warnings of our own categories (a JPEG the decoder complained about) print one line
`warning: ...` each.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import traceback
import warnings

# OpenCV logs at ERROR only (its WARN lines repeat what our own errors say). The ERROR line
# of a failed decode, like libpng's and libjpeg's lines, is captured around the decode
# (skysegui.core.native_stderr) and named in our one `error:` line instead of printed.
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")

from skysegui import __version__
from skysegui.cli.options import print_deprecations
from skysegui.cli.progress import end_progress_line
from skysegui.core.errors import DecoderWarning, SkysegError

EXIT_OK = 0
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


def _command_modules():
    from skysegui.cli import commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"skysegui.cli.commands.{info.name}")


def build_parser(with_gui_path: bool = True) -> argparse.ArgumentParser:
    """The full parser. Without `with_gui_path` the GUI's optional PATH is left out, so a
    subcommand's own positional arguments are not taken for it."""
    parser = argparse.ArgumentParser(
        prog="skysegui",
        description="SkySeg GUI: sky masks for 360-degree HDR panoramas. "
        "Without a command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"skysegui {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    parser.add_argument(
        "--screenshot",
        metavar="OUT.png",
        help="open PATH, wait until it is fully loaded, save a picture of the window and exit",
    )
    if with_gui_path:
        parser.add_argument(
            "path", nargs="?",
            help="project folder, label file or image to open in the window (a path that is "
            "also a command's name: skysegui open PATH)",
        )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for module in _command_modules():
        module.register(sub)
    return parser


def _split_global_flags(argv: list[str]) -> tuple[bool, list[str]]:
    """--debug may stand anywhere on the line; take it out before parsing."""
    debug = "--debug" in argv
    return debug, [a for a in argv if a != "--debug"]


def _path_named_like(command: str) -> str | None:
    """A note when a file or folder in the current folder has the command's name."""
    if not os.path.exists(command):
        return None
    return (f"note: '{command}' is a command; to open the path {command} in the window, "
            f"run: skysegui open ./{command}")


def run_gui(args: argparse.Namespace) -> int:
    from skysegui.gui.app import run_app

    return run_app(path=args.path, screenshot=args.screenshot)


def _one_line_warnings(show_others):
    """A warnings.showwarning: ours as one `warning: ...` line each, others as before."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if issubclass(category, DecoderWarning):
            end_progress_line()
            print(f"warning: {message}", file=sys.stderr)
        else:
            show_others(message, category, filename, lineno, file, line)

    return show


def main(argv: list[str] | None = None) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("always", DecoderWarning)  # every damaged file, not once
        warnings.showwarning = _one_line_warnings(warnings.showwarning)
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug, argv = _split_global_flags(argv)
    parser = build_parser()
    # A bare path (no subcommand) opens the GUI; argparse would take it for a command.
    known = {a for a in parser._subparsers._group_actions[0].choices} if parser._subparsers else set()
    positional = [a for i, a in enumerate(argv)
                  if not a.startswith("-") and (i == 0 or argv[i - 1] != "--screenshot")]
    is_gui = not positional or positional[0] not in known
    if positional and positional[0] != "open" and "--screenshot" in argv[: argv.index(positional[0])]:
        is_gui = True  # `skysegui --screenshot OUT.png demo`: a window option, so the path demo
    try:
        if is_gui:
            gui_parser = argparse.ArgumentParser(prog="skysegui", add_help=False)
            gui_parser.add_argument("--screenshot")
            gui_parser.add_argument("path", nargs="?")
            if any(a in ("-h", "--help", "--version") for a in argv):
                parser.parse_args(argv)  # prints help/version and exits
            args, rest = gui_parser.parse_known_args(argv)
            if rest:
                parser.error(f"unrecognized arguments: {' '.join(rest)}")
            return run_gui(args)
        command = positional[0]
        clash = _path_named_like(command)
        if clash and argv == [command]:  # `skysegui demo` beside a folder called demo
            print(clash, file=sys.stderr)
        try:
            args = build_parser(with_gui_path=False).parse_args(argv)
        except SystemExit as exc:
            if exc.code not in (0, None) and clash and argv != [command]:
                print(clash, file=sys.stderr)  # `skysegui train` alone: a path was meant?
            raise
        print_deprecations(args)
        if getattr(args, "quiet", False):  # --quiet: no `warning:` lines of ours either
            warnings.simplefilter("ignore", DecoderWarning)
        return int(args.func(args) or EXIT_OK)
    except SkysegError as exc:
        end_progress_line()
        if debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        end_progress_line()
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: say so in one line unless --debug
        end_progress_line()
        if debug:
            traceback.print_exc()
        else:
            print(
                f"error: unexpected {type(exc).__name__}: {exc} (run with --debug for details)",
                file=sys.stderr,
            )
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
