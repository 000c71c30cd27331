"""Synthetic panoramas: 16 test-size panoramas, one 2048x1024, one 8192x4096.

Baseline: drawing the same number of float32 normal samples (the cheapest per-pixel work
an HxWx3 image can take), so the ratio says how many "noise images" one panorama costs.
"""

from __future__ import annotations

import numpy as np

from benchmarks._table import Row, peak_rss_mb, timed
from skysegui.core.synthetic import make_panorama

BENCH = "synthetic"


def _noise_image(width: int, height: int) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((height, width, 3), dtype=np.float32)


def run() -> list[Row]:
    rows: list[Row] = []
    make_panorama(64, 32, seed=0)  # imports and first-call costs out of the figures
    small, _ = timed(lambda: [make_panorama(64, 32, seed=s) for s in range(16)], repeat=3)
    base_small, _ = timed(lambda: [_noise_image(64, 32) for _ in range(16)], repeat=3)
    rows.append(Row(BENCH, "16 panoramas 64x32", small, "s", "16 noise images",
                    small / base_small, "< 1 s", small < 1.0))

    mid, _ = timed(lambda: make_panorama(2048, 1024, seed=1, kind="day", skyline="city"), repeat=2)
    base_mid, _ = timed(lambda: _noise_image(2048, 1024), repeat=2)
    rows.append(Row(BENCH, "one panorama 2048x1024 (city)", mid, "s", "noise image 2048x1024",
                    mid / base_mid, "about 1 s", mid < 1.5))
    forest, _ = timed(lambda: make_panorama(2048, 1024, seed=2, kind="dusk", skyline="forest"))
    rows.append(Row(BENCH, "one panorama 2048x1024 (forest)", forest, "s", "noise image 2048x1024",
                    forest / base_mid, "about 1 s", forest < 1.5))

    big, _ = timed(lambda: make_panorama(8192, 4096, seed=3, kind="day", skyline="city"))
    base_big, _ = timed(lambda: _noise_image(8192, 4096))
    rows.append(Row(BENCH, "one panorama 8192x4096 (city)", big, "s", "noise image 8192x4096",
                    big / base_big, "possible", True))
    rows.append(Row(BENCH, "peak memory (after 8192x4096)", peak_rss_mb(), "MB",
                    target="8K image is 402 MB"))
    return rows
