"""The banded area downscale that fast prediction uses on half-float 8K panoramas."""

from __future__ import annotations

import tracemalloc

import cv2
import numpy as np
import pytest

from skysegui.core.refine import area_downscale


@pytest.mark.parametrize("shape, size", [((512, 1024), (200, 100)), ((333, 777), (101, 49)),
                                         ((600, 1200), (1200, 600))])
def test_equals_one_opencv_area_resize(shape, size):
    rng = np.random.default_rng(1)
    pixels = (rng.random((*shape, 3)) * 40).astype(np.float16)
    expected = cv2.resize(pixels.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    got = area_downscale(pixels, *size, rows=64)
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_half_float_input_is_never_copied_whole_to_float32():
    pixels = np.ones((1024, 2048, 3), np.float16)
    whole_float32 = pixels.size * 4
    tracemalloc.start()
    try:
        area_downscale(pixels, 256, 128, rows=64)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < whole_float32 / 3, f"peak {peak / 1e6:.1f} MB for a {whole_float32 / 1e6:.0f} MB copy"
