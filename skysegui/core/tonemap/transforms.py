"""The network's input transforms from the pipeline report, and their inverses.

HDR: y = (log(max(x, 0) + 1e-3) + 2.5) / 4.4 (the report's "times 1/2.2/2"); negatives are
clamped before the log and NaN/Inf are made finite first, so the result is never NaN.
LDR: the 8-bit sRGB file values / 255.
float64 in -> float64 out (an exact round trip); anything else is computed in float32.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from skysegui.core.tonemap.curves import srgb_encode

if TYPE_CHECKING:
    from skysegui.core.imageio import Image

LOG_EPS = 1e-3
LOG_SHIFT = 2.5
LOG_SCALE = 1.0 / 2.2 / 2.0


def _float(x) -> np.ndarray:
    a = np.asarray(x)
    ftype = np.float64 if a.dtype == np.float64 else np.float32
    big = np.finfo(ftype).max
    return np.nan_to_num(a.astype(ftype, copy=False), nan=0.0, posinf=big, neginf=0.0)


def _zero_level(ftype) -> np.floating:
    """hdr_log_transform(0): the smallest value the transform produces."""
    return ftype((np.log(LOG_EPS) + LOG_SHIFT) * LOG_SCALE)


def hdr_log_transform(x) -> np.ndarray:
    """(log(max(x, 0) + 1e-3) + 2.5) / 4.4, written as y0 + log1p(x / 1e-3) / 4.4 for precision."""
    a = _float(x)
    ftype = a.dtype.type
    a = np.clip(a, ftype(0), ftype(np.finfo(ftype).max * LOG_EPS))  # no overflow in a / eps
    return _zero_level(ftype) + np.log1p(a / ftype(LOG_EPS)) * ftype(LOG_SCALE)


def hdr_log_inverse(y) -> np.ndarray:
    """Exact inverse of hdr_log_transform on x >= 0 (values below its range give 0)."""
    a = _float(y)
    ftype = a.dtype.type
    limit = ftype(np.log(np.finfo(ftype).max) * 0.999)
    with np.errstate(over="ignore"):
        z = np.minimum((a - _zero_level(ftype)) / ftype(LOG_SCALE), limit)
    return np.maximum(ftype(LOG_EPS) * np.expm1(z), ftype(0))


def ldr_transform(encoded) -> np.ndarray:
    """8-bit display values -> float32 0..1 (/255; uint16 files /65535)."""
    a = np.asarray(encoded)
    top = 65535.0 if a.dtype == np.uint16 else 255.0
    return (a.astype(np.float32) / np.float32(top)).astype(np.float32)


def network_input(image: Image) -> np.ndarray:
    """float32 H x W x 3: the log transform for HDR images, the file's sRGB values / 255
    (re-encoded from the linear pixels and snapped to the file's code grid) for LDR ones."""
    pixels = image.pixels
    out = np.empty(pixels.shape, dtype=np.float32)
    hdr = image.info.is_hdr
    top = float((1 << image.info.bit_depth) - 1) if image.info.bit_depth in (8, 16) else 0.0
    rows = max(1, (1 << 20) // max(1, pixels[0].size))
    for y in range(0, pixels.shape[0], rows):
        block = pixels[y : y + rows]
        if hdr:
            out[y : y + rows] = hdr_log_transform(block)
        else:
            enc = srgb_encode(block)
            if top:
                enc = np.round(enc * np.float32(top)) / np.float32(top)
            out[y : y + rows] = enc
    return out
