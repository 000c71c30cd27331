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


def normalising_exposure(pixels, rows: int = 256) -> tuple[float, float]:
    """(exposure, offset) that show the image's smallest value as 0 and its largest as 1
    (tev's "normalise"): x * 2**exposure + offset maps [min, max] onto [0, 1].

    Every pixel counts (a strided sample would miss the sun); float16 is widened in row
    blocks by OpenCV. (0, 0) for an image with one value or none that is finite.
    """
    import cv2

    p = np.asarray(pixels)
    lo, hi = np.inf, -np.inf
    for y in range(0, p.shape[0], rows):
        block = np.ascontiguousarray(p[y : y + rows])
        if block.dtype == np.float16:
            block = cv2.multiply(block, 1.0, dtype=cv2.CV_32F)
        block = np.asarray(block, dtype=np.float32).reshape(block.shape[0], -1)
        if not block.size:
            continue
        low, high = cv2.minMaxLoc(block)[:2]
        if not (np.isfinite(low) and np.isfinite(high)):  # NaN or Inf (unsanitised pixels)
            block = block[np.isfinite(block)]
            if not block.size:
                continue
            low, high = float(block.min()), float(block.max())
        lo, hi = min(lo, low), max(hi, high)
    if not hi > lo:
        return 0.0, 0.0
    span = hi - lo
    return float(-np.log2(span)), float(-lo / span)
