"""Flags that several commands share: one spelling, one meaning and one help text each.

Every command that prints results or progress takes --quiet and --json; every command that
writes files takes --out (where to write) and --force (replace what is there). `predict`
is the one command whose --force means "redo" instead: without it, images already predicted
are skipped, so an interrupted run continues where it stopped; the others refuse with one
`error:` line naming --force and write nothing. tests/cli/test_cli_consistency.py holds every
command's parser to this.

Renamed flags keep their old spelling as a hidden alias that still works and says, in one
`warning:` line, what to write instead (see deprecated_alias).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from skysegui.core.choices import OPERATORS
from skysegui.core.errors import SkysegError

QUIET_HELP = "print only the result and errors: no progress bar, no warnings, no notes"
JSON_HELP = ("print the result as one JSON object on stdout instead of text "
             "(progress and warnings stay on stderr)")
FORCE_HELP = ("replace outputs that already exist (without it the command writes nothing "
              "and says which exist)")
FORCE_REDO_HELP = ("predict again images whose outputs already exist (without it they are "
                   "skipped, so an interrupted run continues where it stopped)")
IMAGES_HELP = ("folder of the panoramas: their names and real sizes (labels drawn on smaller "
               "copies are scaled to them)")

# tone mapping (tonemap, export)
EXPOSURE_HELP = "exposure in stops (EV), applied before the curve (default 0)"
OFFSET_HELP = "added after exposure (default 0)"
GAMMA_HELP = "gamma of the 'gamma' operator (default 2.2); given alone, it selects that operator"
OPERATOR_HELP = ("tone curve: " + ", ".join(OPERATORS) + " (default srgb, or gamma when --gamma "
                 "is given; --ocio-view selects an OpenColorIO view instead)")
WHITE_POINT_HELP = "Reinhard white point (default 4)"
OCIO_VIEW_HELP = ("an OpenColorIO view of the config's default display instead of --operator "
                  "(e.g. 'ACES 1.0 - SDR Video'; needs pip install \"skysegui[ocio]\"); "
                  "a wrong name lists the views")
OCIO_CONFIG_HELP = ("OpenColorIO config of --ocio-view: builtin (the ACES studio config, "
                    "default), $OCIO, or a config file")

DEPRECATIONS = "_deprecations"  # the Namespace attribute the aliases note themselves in


def add_quiet(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", action="store_true", help=QUIET_HELP)


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help=JSON_HELP)


def add_force(p: argparse.ArgumentParser, help: str = FORCE_HELP) -> None:
    p.add_argument("--force", action="store_true", help=help)


def add_images_dir(p: argparse.ArgumentParser, extra: str = "") -> None:
    """--images DIR: the folder of the panoramas (masks, polygons, convert, evaluate)."""
    p.add_argument("--images", metavar="DIR", help=IMAGES_HELP + extra)


def add_tone(p: argparse.ArgumentParser) -> None:
    """The tone-mapping flags of `tonemap` and `export` (read back by tone_settings)."""
    p.add_argument("--exposure", type=float, default=0.0, metavar="EV", help=EXPOSURE_HELP)
    p.add_argument("--offset", type=float, default=0.0, help=OFFSET_HELP)
    p.add_argument("--gamma", type=float, default=None, help=GAMMA_HELP)
    p.add_argument("--operator", default=None, choices=OPERATORS, help=OPERATOR_HELP)
    p.add_argument("--white-point", type=float, default=4.0, help=WHITE_POINT_HELP)
    p.add_argument("--ocio-view", metavar="VIEW", default=None, help=OCIO_VIEW_HELP)
    p.add_argument("--ocio-config", metavar="CONFIG", default="builtin", help=OCIO_CONFIG_HELP)


class _DeprecatedAlias(argparse.Action):
    """An old flag: stores into the new flag's dest and notes the rename."""

    def __init__(self, option_strings, dest, new_flag: str = "", store=None, **kwargs) -> None:
        self.new_flag = new_flag
        self.store = store
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        setattr(namespace, self.dest, self.store if self.store is not None else values)
        notes = list(getattr(namespace, DEPRECATIONS, None) or [])
        notes.append(f"{option_string} is deprecated here: write {self.new_flag} "
                     f"(`skysegui {parser.prog.split()[-1]} --help`)")
        setattr(namespace, DEPRECATIONS, notes)


def deprecated_alias(p: argparse.ArgumentParser, old: str, new: str, dest: str, **kwargs) -> None:
    """Accept `old` as a hidden alias of the flag `new` (same dest, same nargs/type)."""
    p.add_argument(old, dest=dest, action=_DeprecatedAlias, new_flag=new,
                   help=argparse.SUPPRESS, default=argparse.SUPPRESS, **kwargs)


def note_deprecated(args: argparse.Namespace, text: str) -> None:
    """Note a deprecated spelling found after parsing (e.g. a positional argument)."""
    setattr(args, DEPRECATIONS, [*(getattr(args, DEPRECATIONS, None) or []), text])


def print_deprecations(args: argparse.Namespace) -> None:
    """One `warning:` line per deprecated spelling used (not with --quiet)."""
    notes = getattr(args, DEPRECATIONS, None) or []
    setattr(args, DEPRECATIONS, [])  # said once
    if not getattr(args, "quiet", False):
        for text in notes:
            print(f"warning: {text}", file=sys.stderr)


def is_quiet(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "quiet", False))


def wants_json(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "json", False))


def progress_bar(args: argparse.Namespace, label: str):
    """The command's progress bar; silent with --quiet."""
    from skysegui.cli.progress import ProgressBar

    return ProgressBar(label, enabled=not is_quiet(args))


def warn(args: argparse.Namespace, message: str) -> None:
    """One `warning:` line on stderr, unless --quiet."""
    if not is_quiet(args):
        from skysegui.cli.progress import end_progress_line

        end_progress_line()
        print(f"warning: {message}", file=sys.stderr)


def note(args: argparse.Namespace, message: str) -> None:
    """One `note:` line on stderr, unless --quiet."""
    if not is_quiet(args):
        print(f"note: {message}", file=sys.stderr)


def _plain(value):
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    return value


def emit(args: argparse.Namespace, data: dict, text: str) -> None:
    """The command's result: `data` as JSON with --json, else `text`."""
    if wants_json(args):
        print(json.dumps(_plain(data), indent=2))
    elif text:
        print(text)


def refuse_existing(paths) -> None:
    """Stop with one `error:` line naming --force when any of `paths` exists."""
    from skysegui.core.errors import ExportError

    taken = [Path(p) for p in paths if Path(p).exists()]
    if len(taken) == 1:
        raise ExportError(f"{taken[0]} already exists: choose another --out, or add --force to replace it")
    if taken:
        shown = ", ".join(p.name for p in taken[:3]) + (f" and {len(taken) - 3} more" if len(taken) > 3 else "")
        raise ExportError(f"{len(taken)} files already exist in {taken[0].parent}: {shown}; "
                          "choose another --out, or add --force to replace them")


class ToneArgumentError(SkysegError):
    """A tone-mapping option is out of range."""


def tone_settings(args: argparse.Namespace, pixels=None):
    """ToneSettings of the add_tone flags (and tonemap's --auto-exposure, which needs the
    pixels). --ocio-view is checked against the config's views here, with a list of them."""
    import math

    from skysegui.core.tonemap import OCIO, ToneSettings, auto_exposure

    for name in ("exposure", "offset", "gamma", "white_point", "percentile"):
        value = getattr(args, name, None)
        if value is not None and not math.isfinite(value):
            raise ToneArgumentError(f"--{name.replace('_', '-')} must be a number (got {value})")
    gamma = 2.2 if args.gamma is None else args.gamma
    operator = args.operator or ("gamma" if args.gamma is not None else "srgb")
    if gamma <= 0:
        raise ToneArgumentError(f"--gamma must be above 0 (got {gamma}); try 2.2")
    if args.white_point <= 0:
        raise ToneArgumentError(f"--white-point must be above 0 (got {args.white_point}); try 4")
    exposure = args.exposure
    if getattr(args, "auto_exposure", False) and pixels is not None:
        percentile = getattr(args, "percentile", None)
        if percentile is not None:
            if not 0 < percentile <= 100:
                raise ToneArgumentError("--percentile must be in (0, 100], e.g. 99")
            exposure += auto_exposure(pixels, "percentile", percentile)
        else:
            exposure += auto_exposure(pixels)
    ocio = {}
    if args.ocio_view:
        if args.operator:
            raise ToneArgumentError("--operator and --ocio-view both choose the tone curve: give one")
        display, view = ocio_view(args.ocio_config, args.ocio_view)
        operator = OCIO
        ocio = {"ocio_config": args.ocio_config, "ocio_display": display, "ocio_view": view}
    return ToneSettings(exposure=exposure, offset=args.offset, gamma=gamma, operator=operator,
                        white_point=args.white_point, **ocio)


def ocio_view(config: str, wanted: str) -> tuple[str, str]:
    """(display, view) of the view named `wanted` (case and spaces aside) in `config`."""
    from skysegui.core.tonemap import ocio

    reason = ocio.unavailable_reason()
    if reason:
        raise ToneArgumentError(f"--ocio-view: {reason}")
    views = ocio.list_views(config)
    key = " ".join(wanted.split()).casefold()
    for display, view in views:
        if " ".join(view.split()).casefold() == key:
            return display, view
    names = ", ".join(repr(v) for _, v in views) or "none"
    raise ToneArgumentError(f"the OCIO config {ocio.config_label(config)} has no view {wanted!r}: "
                            f"its views are {names}")
