"""Display and network transforms of linear HDR pixels.

Public names are those of docs/architecture.md (core/tonemap): ToneSettings and tonemap
(exposure, offset, sRGB/gamma/Reinhard/filmic/log/false colour or an OpenColorIO view
-> uint8), auto_exposure,
the sRGB curve, luminance, the network's log transform and its inverse, and the
DisplayPyramid (re-exported from skysegui.core.pyramid).
"""

from skysegui.core.tonemap.apply import half_lut, tonemap
from skysegui.core.tonemap.curves import luminance, srgb_decode, srgb_encode
from skysegui.core.tonemap.exposure import auto_exposure
from skysegui.core.tonemap.operators import falsecolor_map
from skysegui.core.tonemap.settings import OCIO, OPERATORS, ToneSettings
from skysegui.core.tonemap.transforms import (
    hdr_log_inverse,
    hdr_log_transform,
    ldr_transform,
    network_input,
)

_FROM_PYRAMID = ("DisplayPyramid", "RenderedView", "first_picture")


def __getattr__(name: str):
    """DisplayPyramid & co. live in skysegui.core.pyramid (which imports this package):
    resolved on first use so either module may be imported first."""
    if name in _FROM_PYRAMID:
        from skysegui.core import pyramid

        return getattr(pyramid, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "OCIO",
    "OPERATORS",
    "DisplayPyramid",
    "RenderedView",
    "ToneSettings",
    "auto_exposure",
    "falsecolor_map",
    "first_picture",
    "half_lut",
    "hdr_log_inverse",
    "hdr_log_transform",
    "ldr_transform",
    "luminance",
    "network_input",
    "srgb_decode",
    "srgb_encode",
    "tonemap",
]
