"""`skysegui tonemap IMAGE OUT.png`: write a tone-mapped 8-bit picture of an image."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from skysegui.core.choices import OPERATORS
from skysegui.core.errors import SkysegError

if TYPE_CHECKING:
    from skysegui.core.tonemap import ToneSettings

_OUT_EXTENSIONS = (".png", ".jpg", ".jpeg")


class ToneArgumentError(SkysegError):
    """A tone-mapping option is out of range."""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "tonemap",
        help="write a tone-mapped 8-bit PNG/JPEG of an HDR or LDR image",
        description="Tone-map IMAGE with exposure (EV), offset and an operator and write an "
        "8-bit picture (PNG or JPEG, by OUT's extension).",
    )
    p.add_argument("image", help="the image to read (EXR, HDR, TIFF, PNG, JPEG)")
    p.add_argument("out", help="the picture to write (.png or .jpg)")
    p.add_argument("--exposure", type=float, default=0.0, metavar="EV",
                   help="exposure in stops, added to the automatic one with --auto-exposure")
    p.add_argument("--offset", type=float, default=0.0, help="added after exposure (default 0)")
    p.add_argument("--gamma", type=float, default=None,
                   help="gamma of the 'gamma' operator (default 2.2); given alone, it selects "
                   "that operator")
    p.add_argument("--operator", default=None, choices=OPERATORS,
                   help="tone curve (default srgb, or gamma when --gamma is given)")
    p.add_argument("--white-point", type=float, default=4.0, help="Reinhard white point (default 4)")
    p.add_argument("--auto-exposure", action="store_true",
                   help="start from the exposure that puts the log-average luminance at 0.18")
    p.add_argument("--percentile", type=float, default=None, metavar="P",
                   help="with --auto-exposure: map the P-th luminance percentile to white instead")
    p.set_defaults(func=run)


def settings_from_args(args, pixels=None) -> ToneSettings:
    """ToneSettings for the parsed options (auto exposure needs the pixels)."""
    from skysegui.core.tonemap import ToneSettings, auto_exposure

    for name in ("exposure", "offset", "gamma", "white_point", "percentile"):
        value = getattr(args, name)
        if value is not None and not math.isfinite(value):
            raise ToneArgumentError(f"--{name.replace('_', '-')} must be a number (got {value})")
    gamma = 2.2 if args.gamma is None else args.gamma
    operator = args.operator or ("gamma" if args.gamma is not None else "srgb")
    if gamma <= 0:
        raise ToneArgumentError(f"--gamma must be above 0 (got {gamma}); try 2.2")
    if args.white_point <= 0:
        raise ToneArgumentError(f"--white-point must be above 0 (got {args.white_point}); try 4")
    exposure = args.exposure
    if args.auto_exposure and pixels is not None:
        if args.percentile is not None:
            if not 0 < args.percentile <= 100:
                raise ToneArgumentError("--percentile must be in (0, 100], e.g. 99")
            exposure += auto_exposure(pixels, "percentile", args.percentile)
        else:
            exposure += auto_exposure(pixels)
    return ToneSettings(
        exposure=exposure, offset=args.offset, gamma=gamma,
        operator=operator, white_point=args.white_point,
    )


def run(args) -> int:
    import numpy as np

    from skysegui.core.imageio import read_image, write_image
    from skysegui.core.tonemap import tonemap

    out = Path(args.out)
    if out.suffix.lower() not in _OUT_EXTENSIONS:
        raise ToneArgumentError(f"{out.name}: write the picture as .png or .jpg")
    # float16 pixels: half the memory and the table-driven tone map (8K in about a second);
    # 8-bit output loses nothing; values above 65504 saturate (white unless exposure is far down)
    image = read_image(args.image, dtype=np.float16)
    settings = settings_from_args(args, image.pixels)
    write_image(out, tonemap(image.pixels, settings))
    print(f"wrote {out} ({image.info.width} x {image.info.height}, {settings.operator}, "
          f"exposure {settings.exposure:+.2f} EV)")
    return 0
