"""tonemap(pixels, settings) -> uint8 RGB: one pure function of the pixels and the settings.

float16 pixels with a per-channel operator go through a 65,536-entry table indexed by the
float16 bit pattern (built once per settings value, ~2 ms), so re-tone-mapping a
1920x1080 view after an exposure change is a single look-up (cv2.LUT, a few ms). Other inputs are computed in
float32, in row blocks to bound temporaries.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import cv2
import numpy as np

from skysegui.core.tonemap.curves import REC709
from skysegui.core.tonemap.operators import (
    colorize,
    curve,
    expose,
    falsecolor,
    falsecolor_index,
    to_uint8,
)
from skysegui.core.tonemap.settings import OCIO, ToneSettings

_REC709_ROW = REC709.reshape(1, 3).astype(np.float32)
_ALL_HALVES = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)


_SIGN_BIT = 0x8000
_INF_BITS = 0x7C00  # +Inf: the unsigned patterns up to it are ordered like their values
_UNSIGNED_FLOATS = _ALL_HALVES[:_SIGN_BIT].astype(np.float32)  # +0 .. +Inf, then +NaNs
_CLIPPED_AT_ONE = ("srgb", "gamma")  # curves that clip their input to [0, 1] first


@lru_cache(maxsize=16)
def half_lut(settings: ToneSettings) -> np.ndarray:
    """uint8 display value for every float16 bit pattern (NaN -> 0, +Inf -> white).

    Without an offset, every pattern with the sign bit (negatives, -0, -Inf, NaNs) shows
    as 0 does: the exposure keeps them <= 0 (NaN becomes 0) and every per-channel curve
    maps <= 0 to its value at 0. So only the 32,768 other patterns are computed: half the
    work of an exposure change (it is rebuilt for every new exposure while dragging).
    """
    if settings.offset:
        return to_uint8(curve(expose(_ALL_HALVES.astype(np.float32), settings), settings))
    table = np.empty(1 << 16, dtype=np.uint8)
    table[:_SIGN_BIT] = _unsigned_table(settings)
    table[_SIGN_BIT:] = table[0]
    return table


def _unsigned_table(settings: ToneSettings) -> np.ndarray:
    """half_lut of the patterns without the sign bit (no offset)."""
    exposed = expose(_UNSIGNED_FLOATS, settings)
    if settings.operator not in _CLIPPED_AT_ONE:
        return to_uint8(curve(exposed, settings))
    # the curve clips its input to [0, 1]: every pattern whose exposed value reaches 1
    # shows as 1 does (about half of them at 0 EV: no power function for those), and the
    # NaNs above +Inf (exposed to 0) as 0 does
    k = int(np.searchsorted(exposed[: _INF_BITS + 1], np.float32(1.0)))
    out = np.empty(_SIGN_BIT, dtype=np.uint8)
    out[:k] = to_uint8(curve(exposed[:k], settings))
    out[k : _INF_BITS + 1] = to_uint8(curve(np.ones(1, np.float32), settings))[0]
    out[_INF_BITS + 1 :] = out[0]
    return out


@lru_cache(maxsize=16)
def half_falsecolor_index(settings: ToneSettings) -> np.ndarray:
    """Colour-map index (uint8) for every float16 luminance bit pattern."""
    return falsecolor_index(_ALL_HALVES.astype(np.float32), settings)


def lut16(bits: np.ndarray, table: np.ndarray) -> np.ndarray:
    """table[bits] for uint16 bits and a 65,536-entry uint8 table.

    OpenCV 5's cv2.LUT takes 16-bit input and is 3-5x faster than numpy's gather (which is
    the fallback, e.g. on OpenCV 4).
    """
    if bits.size:
        try:
            out = cv2.LUT(bits, table)
            if out is not None and out.shape == bits.shape:
                return out
        except cv2.error:
            pass
    return table[bits]


def _half_luminance(p: np.ndarray) -> np.ndarray:
    """float16 Rec.709 luminance of float16 RGB; OpenCV converts and sums (numpy's float16
    conversion is several times slower). NaN stays NaN and maps to the colour map's start."""
    f32 = cv2.multiply(p, 1.0, dtype=cv2.CV_32F)
    lum = cv2.transform(f32, _REC709_ROW)
    if lum.size == 1:  # OpenCV takes a 1 x 1 array for a scalar (and returns 4 values)
        return lum.astype(np.float16).reshape(p.shape[:2])
    return cv2.multiply(lum, 1.0, dtype=cv2.CV_16F).reshape(p.shape[:2])


#: float32 input is exposed and rounded to float16 by OpenCV (one pass), then looked up:
#: the output differs from exact float maths by at most one code. Values the exposure
#: pushes beyond 65504 (2**16) saturate, which only shows when a log range reaches above
#: 16 stops; such settings take the exact float32 path.
_HALF_SAFE_STOPS = 15.9
_ROWS = 512


def _float32_via_half(p: np.ndarray, settings: ToneSettings) -> np.ndarray:
    """Tone map float32 pixels through the float16 table, in row blocks (bounded temporaries)."""
    scale = float(2.0 ** np.clip(settings.exposure, -60.0, 60.0))
    unexposed = replace(settings, exposure=0.0)
    h, w = p.shape[:2]
    if settings.per_channel:
        table = half_lut(unexposed)
        out = np.empty((h, w, 3), dtype=np.uint8)
    else:
        table = half_falsecolor_index(unexposed)
        out = np.empty((h, w), dtype=np.uint8)
    for y in range(0, h, _ROWS):
        block = np.ascontiguousarray(p[y : y + _ROWS])
        if not settings.per_channel:
            block = cv2.transform(block, _REC709_ROW)
        half = cv2.multiply(block, scale, dtype=cv2.CV_16F).reshape(block.shape)
        out[y : y + _ROWS] = lut16(half.view(np.uint16), table)
    return out if settings.per_channel else colorize(out)


def tonemap(pixels, settings: ToneSettings | None = None) -> np.ndarray:
    """uint8 H x W x 3 display picture of linear RGB pixels (never NaN-dependent).

    float16 and float32 pixels go through the float16 look-up table (float32 within one
    code of exact maths); other types are computed in float32. The "ocio" operator goes
    through its baked OpenColorIO view (core/tonemap/ocio.py).
    """
    settings = settings or ToneSettings()
    p = np.asarray(pixels)
    if p.ndim == 2:
        p = p[..., None]
    if p.ndim != 3:
        raise ValueError(f"tonemap needs H x W x C pixels, got shape {p.shape}")
    if p.shape[2] == 1:
        p = np.broadcast_to(p, p.shape[:2] + (3,))
    elif p.shape[2] > 3:
        p = p[..., :3]
    if p.size == 0:
        return np.zeros(p.shape[:2] + (3,), dtype=np.uint8)
    if settings.operator == OCIO:  # a baked OpenColorIO view (core/tonemap/ocio.py)
        from skysegui.core.tonemap.ocio import ocio_tonemap

        return ocio_tonemap(p, settings.ocio_key, settings.exposure, settings.offset)
    if p.dtype == np.float32 and settings.stops_max < _HALF_SAFE_STOPS:
        return _float32_via_half(p, settings)
    if not settings.per_channel:
        if p.dtype == np.float16:
            index = lut16(_half_luminance(p).view(np.uint16), half_falsecolor_index(settings))
            return colorize(index)
        return falsecolor(p, settings)
    if p.dtype == np.float16:
        return lut16(p.view(np.uint16), half_lut(settings))
    return exact_tonemap(p, settings)


def exact_tonemap(pixels, settings: ToneSettings) -> np.ndarray:
    """The reference: float32 maths on every value (slow; tests compare the tables with it)."""
    p = np.asarray(pixels)
    if not settings.per_channel:
        return falsecolor(p, settings)
    if p.dtype == np.uint8:  # already display values: honour the settings via their linear values
        from skysegui.core.tonemap.curves import srgb_decode_table

        p = srgb_decode_table(8).astype(np.float32)[p]
    out = np.empty(p.shape, dtype=np.uint8)
    rows = max(1, (1 << 20) // max(1, p.shape[1] * p.shape[2]))
    for y in range(0, p.shape[0], rows):
        out[y : y + rows] = to_uint8(curve(expose(p[y : y + rows], settings), settings))
    return out
