"""`skysegui tonemap IMAGE --out OUT.png`: write a tone-mapped 8-bit picture of an image."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from skysegui.cli import options
from skysegui.cli.options import ToneArgumentError, tone_settings

if TYPE_CHECKING:
    from skysegui.core.tonemap import ToneSettings

__all__ = ["ToneArgumentError", "register", "run", "settings_from_args"]

_OUT_EXTENSIONS = (".png", ".jpg", ".jpeg")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "tonemap",
        help="write a tone-mapped 8-bit PNG/JPEG of an HDR or LDR image",
        description="Tone-map IMAGE with exposure (EV), offset and an operator or an "
        "OpenColorIO view, and write an 8-bit picture to --out (PNG or JPEG, by its "
        "extension). An existing picture is replaced only with --force. The older "
        "`tonemap IMAGE OUT.png` still works and says to write --out.",
    )
    p.add_argument("image", help="the image to read (EXR, HDR, TIFF, PNG, JPEG)")
    p.add_argument("out_positional", nargs="?", metavar="OUT", help=argparse.SUPPRESS)
    p.add_argument("--out", metavar="FILE", help="the picture to write (.png or .jpg)")
    options.add_tone(p)
    p.add_argument("--auto-exposure", action="store_true",
                   help="start from the exposure that puts the log-average luminance at 0.18 "
                   "(--exposure is added to it)")
    p.add_argument("--percentile", type=float, default=None, metavar="P",
                   help="with --auto-exposure: map the P-th luminance percentile to white instead")
    options.add_force(p)
    options.add_quiet(p)
    options.add_json(p)
    p.set_defaults(func=run)


def settings_from_args(args, pixels=None) -> ToneSettings:
    """ToneSettings for the parsed options (auto exposure needs the pixels)."""
    return tone_settings(args, pixels)


def output_path(args) -> Path:
    """--out, or the deprecated positional OUT (noted for a warning)."""
    from skysegui.core.errors import ExportError

    positional = getattr(args, "out_positional", None)
    if positional and args.out:
        raise ExportError(f"two outputs given ({positional} and --out {args.out}): give only --out")
    if positional:
        options.note_deprecated(args, f"`tonemap IMAGE {positional}` is deprecated: write "
                                f"`tonemap IMAGE --out {positional}`")
        return Path(positional)
    if not args.out:
        raise ExportError("say where to write the picture with --out FILE.png")
    return Path(args.out)


def run(args) -> int:
    import numpy as np

    from skysegui.core.imageio import read_image, write_image
    from skysegui.core.tonemap import tonemap

    out = output_path(args)
    options.print_deprecations(args)
    if out.suffix.lower() not in _OUT_EXTENSIONS:
        raise ToneArgumentError(f"{out.name}: write the picture as .png or .jpg")
    if not args.force:
        options.refuse_existing([out])
    # float16 pixels: half the memory and the table-driven tone map (8K in about a second);
    # 8-bit output loses nothing; values above 65504 saturate (white unless exposure is far down)
    image = read_image(args.image, dtype=np.float16)
    settings = settings_from_args(args, image.pixels)
    write_image(out, tonemap(image.pixels, settings))
    curve = settings.ocio_view or settings.operator
    options.emit(args, {
        "out": out, "image": args.image, "width": image.info.width, "height": image.info.height,
        "operator": settings.operator, "ocio_view": settings.ocio_view or None,
        "exposure": settings.exposure, "offset": settings.offset,
    }, f"wrote {out} ({image.info.width} x {image.info.height}, {curve}, "
       f"exposure {settings.exposure:+.2f} EV)")
    return 0
