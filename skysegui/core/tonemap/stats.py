"""Luminance statistics of an image: what `skysegui info` and the viewer's status show."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from skysegui.core.tonemap.curves import luminance

_SAMPLES = 1 << 22


@dataclass
class LuminanceStats:
    """min / median / max Rec.709 luminance, and the dynamic range in stops (log2 of
    max over the smallest positive value; `robust_stops` uses the 0.1 and 99.9 percentiles
    of positive luminance, which ignores a few noisy pixels)."""

    min: float
    median: float
    max: float
    min_positive: float
    stops: float
    robust_stops: float
    sampled: bool  # True when taken from a regular subsample of a very large image

    def as_dict(self) -> dict:
        return asdict(self)


def luminance_stats(pixels: np.ndarray) -> LuminanceStats:
    h, w = pixels.shape[:2]
    step = max(1, int(math.ceil(math.sqrt(h * w / _SAMPLES))))
    lum = luminance(pixels[::step, ::step]).ravel()
    lum = lum[np.isfinite(lum)]
    if lum.size == 0:
        return LuminanceStats(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, step > 1)
    positive = lum[lum > 0]
    lo, hi = float(lum.min()), float(lum.max())
    if positive.size:
        min_pos = float(positive.min())
        stops = math.log2(hi / min_pos) if hi > 0 else 0.0
        p_lo, p_hi = np.percentile(positive, [0.1, 99.9])
        robust = math.log2(float(p_hi) / float(p_lo)) if p_lo > 0 else 0.0
    else:
        min_pos, stops, robust = 0.0, 0.0, 0.0
    return LuminanceStats(lo, float(np.median(lum)), hi, min_pos, stops, robust, step > 1)
