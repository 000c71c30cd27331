"""core/pyramid: display levels, level choice by zoom, region rendering, the first picture."""

from __future__ import annotations

import numpy as np
import pytest

from skysegui.core.errors import CancelledError
from skysegui.core.imageio import read_image
from skysegui.core.progress import CancelToken
from skysegui.core.pyramid import DisplayPyramid, RenderedView, first_picture, half_size
from skysegui.core.tonemap import ToneSettings, tonemap


def gradient(h: int, w: int, dtype=np.float32) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([x / w, y / h, (x + y) / (w + h)], axis=2).astype(dtype) * 4


def test_half_size_is_the_2x2_mean():
    img = np.random.default_rng(0).random((6, 8, 3)).astype(np.float32)
    expected = img.reshape(3, 2, 4, 2, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(half_size(img), expected, rtol=1e-6)


def test_half_size_odd_edges_repeat_last_row_and_column():
    img = np.random.default_rng(1).random((5, 7, 3)).astype(np.float32)
    out = half_size(img)
    assert out.shape == (3, 4, 3)
    np.testing.assert_allclose(out[2, 3], img[4, 6], rtol=1e-6)  # a corner pixel alone
    np.testing.assert_allclose(out[2, 0], img[4, 0:2].mean(axis=0), rtol=1e-6)


def test_levels_halve_down_to_min_size():
    p = DisplayPyramid(gradient(300, 1100, np.float16), min_size=128)
    shapes = [lvl.shape[:2] for lvl in p.levels]
    assert shapes == [(300, 1100), (150, 550), (75, 275), (38, 138), (19, 69)]
    assert all(lvl.dtype == np.float16 for lvl in p.levels)
    assert p.levels[0] is p.full  # full resolution is not copied
    assert p.nbytes < p.full.nbytes * 1.34


def test_constant_image_stays_constant_at_every_level():
    p = DisplayPyramid(np.full((77, 131, 3), 2.5, np.float16), min_size=8)
    for lvl in p.levels:
        assert (lvl == np.float16(2.5)).all()


def test_level_for_scale():
    p = DisplayPyramid(gradient(512, 1024, np.float16), min_size=64)
    assert p.count == 5
    assert [p.level_for_scale(s) for s in (4.0, 1.0, 0.9, 0.5, 0.3, 0.25, 0.01)] == [0, 0, 0, 1, 1, 2, 4]


def test_render_region_uses_matching_level():
    img = gradient(400, 800, np.float16)
    p = DisplayPyramid(img, min_size=64)
    s = ToneSettings(exposure=0.5)
    view = p.render(s, scale=0.5, region=(101, 50, 301, 151))
    assert isinstance(view, RenderedView) and view.level == 1
    assert view.rect_full_res == (100, 50, 302, 152)
    np.testing.assert_array_equal(view.pixels, tonemap(p.levels[1][25:76, 50:151], s))
    assert view.pixels.dtype == np.uint8 and view.pixels.shape == (51, 101, 3)


def test_render_full_resolution_region_equals_tonemap():
    img = gradient(120, 200, np.float16)
    p = DisplayPyramid(img, min_size=32)
    view = p.render(ToneSettings(), scale=1.0, region=(10, 20, 60, 40))
    np.testing.assert_array_equal(view.pixels, tonemap(img[20:40, 10:60]))
    assert view.rect_full_res == (10, 20, 60, 40) and view.level == 0


def test_render_clips_region_to_image_and_defaults_to_all():
    p = DisplayPyramid(gradient(100, 150, np.float16), min_size=16)
    view = p.render(ToneSettings(), scale=0.25, region=(-50, -50, 1000, 1000))
    assert view.level == 2 and view.rect_full_res == (0, 0, 150, 100)
    assert view.pixels.shape == (25, 38, 3)
    whole = p.render(ToneSettings(), scale=1.0)
    assert whole.pixels.shape == (100, 150, 3)
    empty = p.render(ToneSettings(), region=(500, 500, 600, 600))
    assert empty.pixels.shape[0] == 0 or empty.pixels.shape[1] == 0


def test_lazy_pyramid_builds_only_what_a_view_needs():
    p = DisplayPyramid(gradient(256, 512, np.float16), min_size=16, build=False)
    assert not p.built
    p.render(ToneSettings(), scale=0.5)
    assert len(p._levels) == 2
    p.build()
    assert p.built and len(p.levels) == p.count


def test_build_reports_progress_and_can_be_cancelled():
    seen = []
    DisplayPyramid(gradient(64, 128, np.float16), min_size=8, progress=lambda d, t, m: seen.append((d, t)))
    assert seen[-1][0] == seen[-1][1]
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        DisplayPyramid(gradient(64, 128, np.float16), min_size=8, cancel=token)


def test_first_picture_is_small_and_immediate():
    img = gradient(1000, 3000, np.float16)
    view = first_picture(img, ToneSettings(), max_size=512)
    assert max(view.pixels.shape[:2]) <= 512 and view.level == 3
    assert view.rect_full_res == (0, 0, 3000, 1000)
    np.testing.assert_array_equal(view.pixels, tonemap(img[::8, ::8]))
    same = DisplayPyramid(img, build=False).preview(ToneSettings(), max_size=512)
    np.testing.assert_array_equal(same.pixels, view.pixels)


def test_real_panorama_pyramid(hdri_dir):
    pixels = read_image(hdri_dir / "forest.exr", dtype=np.float16).pixels
    p = DisplayPyramid(pixels)
    assert [lvl.shape[1] for lvl in p.levels] == [1024, 512, 256]
    for lvl in p.levels:
        assert np.isfinite(lvl).all()
    view = p.render(ToneSettings(operator="filmic"), scale=0.4, region=(0, 0, 1024, 256))
    assert view.level == 1 and view.pixels.shape == (128, 512, 3)


def test_rejects_non_rgb():
    with pytest.raises(ValueError):
        DisplayPyramid(np.zeros((4, 4), np.float16))


def test_float16_levels_equal_float32_mean_rounded_once():
    img = (np.random.default_rng(5).random((10, 14, 3)) * 100).astype(np.float16)
    expected = img.astype(np.float32).reshape(5, 2, 7, 2, 3).mean(axis=(1, 3)).astype(np.float16)
    out = half_size(img)
    assert out.dtype == np.float16
    np.testing.assert_array_equal(out, expected)
