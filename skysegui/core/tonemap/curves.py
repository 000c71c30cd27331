"""Pixel curves shared by reading (sRGB decode of LDR files) and display (encode).

Kept free of other skysegui imports so core/imageio can use them without a cycle.
"""

from __future__ import annotations

import numpy as np

REC709 = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


def srgb_encode(linear) -> np.ndarray:
    """Exact IEC 61966-2-1 encoding of linear values (0..1 in, 0..1 out; negatives -> 0).

    float64 stays float64; anything else is computed in float32. NaN -> 0.
    """
    x = np.asarray(linear)
    ftype = np.float64 if x.dtype == np.float64 else np.float32
    x = np.nan_to_num(x.astype(ftype, copy=False), nan=0.0, posinf=1.0, neginf=0.0)
    x = np.clip(x, 0.0, None)
    low = x * ftype(12.92)
    high = ftype(1.055) * np.power(np.maximum(x, ftype(0.0031308)), ftype(1.0 / 2.4)) - ftype(0.055)
    return np.where(x <= 0.0031308, low, high).astype(ftype, copy=False)


def srgb_decode(encoded) -> np.ndarray:
    """Exact inverse of srgb_encode (0..1 encoded in, linear out)."""
    x = np.asarray(encoded)
    ftype = np.float64 if x.dtype == np.float64 else np.float32
    x = np.nan_to_num(x.astype(ftype, copy=False), nan=0.0, posinf=1.0, neginf=0.0)
    x = np.clip(x, 0.0, None)
    low = x / ftype(12.92)
    high = np.power((np.maximum(x, ftype(0.04045)) + ftype(0.055)) / ftype(1.055), ftype(2.4))
    return np.where(x <= 0.04045, low, high).astype(ftype, copy=False)


def srgb_decode_table(bits: int) -> np.ndarray:
    """float64 table: integer code (0 .. 2**bits - 1) -> linear value, for fast decode of LDR files."""
    top = (1 << bits) - 1
    return srgb_decode(np.arange(top + 1, dtype=np.float64) / top)


def luminance(pixels) -> np.ndarray:
    """Rec.709 luminance of an H x W x 3 linear image (float32, H x W)."""
    p = np.asarray(pixels)
    if p.ndim == 2:
        return p.astype(np.float32, copy=False)
    out = p[..., 0].astype(np.float32) * REC709[0]
    out += p[..., 1].astype(np.float32) * REC709[1]
    out += p[..., 2].astype(np.float32) * REC709[2]
    return out
