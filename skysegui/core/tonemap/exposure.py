"""Automatic exposure: the EV that puts an image's log-average (or a percentile) where the eye expects it."""

from __future__ import annotations

import numpy as np

from skysegui.core.tonemap.curves import luminance

KEY = 0.18  # middle grey
_SAMPLES = 1 << 20


def _sample(pixels: np.ndarray) -> np.ndarray:
    """A strided subsample of about a million pixels (auto exposure needs no more)."""
    h, w = pixels.shape[:2]
    step = max(1, int(np.ceil(np.sqrt(h * w / _SAMPLES))))
    return pixels[::step, ::step]


def auto_exposure(pixels, method: str = "logavg", percentile: float = 99.0) -> float:
    """EV so that the log-average luminance maps to 0.18 ("logavg", Reinhard's key) or the
    given luminance percentile maps to 1.0 ("percentile"). 0.0 for an all-black image."""
    p = np.asarray(pixels)
    lum = luminance(_sample(p)).ravel()
    lum = lum[np.isfinite(lum) & (lum > 0)]
    if lum.size == 0:
        return 0.0
    if method == "logavg":
        target = KEY / float(np.exp(np.mean(np.log(lum.astype(np.float64)))))
    elif method == "percentile":
        if not 0 < percentile <= 100:
            raise ValueError("percentile must be in (0, 100]")
        target = 1.0 / float(np.percentile(lum, percentile))
    else:
        raise ValueError(f"unknown auto-exposure method {method!r}; use 'logavg' or 'percentile'")
    return float(np.clip(np.log2(target), -40.0, 40.0))
