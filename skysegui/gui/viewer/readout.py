"""Pixel readout under the cursor (tev-style): linear RGB and luminance of the full-res pixel."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Rec.709 luminance weights, the same as core.tonemap.luminance.
_REC709 = (0.2126, 0.7152, 0.0722)


@dataclass(frozen=True)
class PixelReadout:
    x: int
    y: int
    rgb: tuple[float, float, float]

    @property
    def luminance(self) -> float:
        r, g, b = self.rgb
        return _REC709[0] * r + _REC709[1] * g + _REC709[2] * b

    def text(self) -> str:
        r, g, b = self.rgb
        return (
            f"x {self.x}  y {self.y}   R {_fmt(r)}  G {_fmt(g)}  B {_fmt(b)}   "
            f"L {_fmt(self.luminance)}"
        )


def read_pixel(pixels: np.ndarray | None, x: float, y: float) -> PixelReadout | None:
    """The pixel covering scene point (x, y) (COCO convention), or None outside the image."""
    if pixels is None:
        return None
    h, w = pixels.shape[:2]
    j, i = math.floor(x), math.floor(y)
    if not (0 <= i < h and 0 <= j < w):
        return None
    value = pixels[i, j]
    rgb = tuple(float(v) for v in np.asarray(value, dtype=np.float64).reshape(-1)[:3])
    if len(rgb) == 1:
        rgb = rgb * 3
    return PixelReadout(j, i, rgb)  # type: ignore[arg-type]


def _fmt(v: float) -> str:
    a = abs(v)
    if a != 0 and (a < 1e-3 or a >= 1e4):
        return f"{v:.3e}"
    return f"{v:.4f}"


def dynamic_range_stops(lum: np.ndarray) -> tuple[float, float, float]:
    """(stops, low, high): log2 of robust max over robust min of the positive luminance."""
    flat = np.asarray(lum, dtype=np.float32).reshape(-1)
    pos = flat[flat > 0]
    if pos.size == 0:
        return 0.0, 0.0, 0.0
    low = float(np.percentile(pos, 0.1))
    high = float(pos.max())
    if low <= 0 or high <= low:
        return 0.0, low, high
    return math.log2(high / low), low, high
