"""Tile grids, windows, wrap padding and the streaming blend-merge."""

from __future__ import annotations

import numpy as np
import pytest

from skysegui.core.tiling import (
    BlendAccumulator,
    TilePlan,
    blend_tiles,
    extract_tile,
    plan_tiles,
    reflect_indices,
    tile_window,
    wrap_indices,
)


def test_reflect_indices_match_numpy_reflect_pad():
    base = np.arange(7)
    padded = np.pad(base, 20, mode="reflect")
    idx = reflect_indices(np.arange(-20, 27), 7)
    assert np.array_equal(base[idx], padded)


def test_wrap_indices_go_round_the_seam():
    assert list(wrap_indices(np.array([-2, -1, 0, 5, 6, 13]), 6)) == [4, 5, 0, 5, 0, 1]


@pytest.mark.parametrize(
    "height,width,tile,overlap",
    [(4096, 8192, 1024, 0.125), (1000, 3000, 256, 0.25), (256, 256, 256, 0.25), (500, 777, 128, 0.5)],
)
def test_tiles_cover_the_padded_image_with_the_requested_overlap(height, width, tile, overlap):
    plan = plan_tiles(height, width, tile=tile, overlap=overlap)
    ph, pw = plan.padded_shape
    assert plan.tile_h <= tile and plan.tile_w <= tile
    for starts, size, length in ((plan.ys, plan.tile_h, ph), (plan.xs, plan.tile_w, pw)):
        assert starts[0] == 0 and starts[-1] + size == length
        assert all(size - (b - a) >= int(tile * overlap) for a, b in zip(starts, starts[1:], strict=False))


@pytest.mark.parametrize("shape", [(96, 200), (50, 70), (300, 640), (1, 33)])
@pytest.mark.parametrize("wrap", [True, False])
def test_blending_an_identity_prediction_gives_the_image_back(shape, wrap):
    rng = np.random.default_rng(1)
    image = rng.random(shape + (3,), dtype=np.float32)
    plan = plan_tiles(*shape, tile=64, overlap=0.25, wrap=wrap)
    assert plan.tile_h % 32 == 0 and plan.tile_w % 32 == 0
    out = blend_tiles(image, plan, lambda t: t[..., 0])
    assert out.shape == shape and out.dtype == np.float32
    np.testing.assert_allclose(out, image[..., 0], atol=1e-5)


def test_wrap_padding_shows_the_other_side_of_the_panorama():
    image = np.tile(np.arange(100, dtype=np.float32), (40, 1))
    plan = plan_tiles(40, 100, tile=64, overlap=0.25, wrap=True)
    assert plan.pad_left > 0
    first = extract_tile(image, plan, plan.ys[0], plan.xs[0])
    # The first tile starts left of column 0: those columns are the right edge.
    row = plan.pad_top  # image row 0 (the rows above it lie past the pole)
    assert list(first[row, : plan.pad_left]) == list(range(100 - plan.pad_left, 100))
    assert first[row, plan.pad_left] == 0


def test_pole_padding_shows_the_far_side_beyond_the_zenith_and_the_nadir():
    h, w = 40, 100
    image = (np.arange(h)[:, None] * 1000 + np.arange(w)[None, :]).astype(np.float32)
    plan = plan_tiles(h, w, tile=64, overlap=0.25, wrap=True)
    assert plan.pad_top > 0 and plan.pad_bottom > 0
    first = extract_tile(image, plan, plan.ys[0], plan.xs[0])
    col = plan.pad_left  # the tile column that shows image column 0
    # Just above the zenith: row 0 again, half a turn round; one further: row 1 there.
    assert first[plan.pad_top - 1, col] == 0 * 1000 + w // 2
    assert first[plan.pad_top - 2, col] == 1 * 1000 + w // 2
    assert first[plan.pad_top, col] == 0  # the image itself is untouched
    last = extract_tile(image, plan, plan.ys[-1], plan.xs[0])
    below = plan.pad_top + h - plan.ys[-1]  # the first tile row past the nadir
    assert last[below, col] == (h - 1) * 1000 + w // 2
    assert last[below - 1, col] == (h - 1) * 1000


def test_no_wrap_reflects_at_the_left_and_right():
    image = np.tile(np.arange(100, dtype=np.float32), (40, 1))
    plan = plan_tiles(40, 100, tile=64, overlap=0.25, wrap=False)
    first = extract_tile(image, plan, plan.ys[0], plan.xs[0])
    assert list(first[0, : plan.pad_left + 1]) == list(range(plan.pad_left, -1, -1))


def test_report_grid_is_plain_non_overlapping_patches():
    plan = plan_tiles(500, 1000, tile=256, overlap=0.0, wrap=False)
    assert (plan.tile_h, plan.tile_w) == (256, 256)
    assert plan.ys == (0, 256) and plan.xs == (0, 256, 512, 768)
    assert plan.pad_top == plan.pad_left == 0
    assert plan.padded_shape == (512, 1024)
    # A per-patch constant comes back as blocks with steps at patch borders.
    counter = iter(range(100))
    out = blend_tiles(
        np.zeros((500, 1000, 3), np.float32),
        plan,
        lambda t: np.full(t.shape[:2], next(counter), np.float32),
        tile_window(256, 256, "flat"),
    )
    assert out[0, 255] == 0 and out[0, 256] == 1 and out[256, 0] == 4
    assert np.unique(out).size == 8


def _tile_constant_blend(kind: str) -> tuple[np.ndarray, TilePlan]:
    """Blend a 'prediction' that is a different constant in every tile: the worst case."""
    plan = plan_tiles(256, 512, tile=128, overlap=0.25 if kind != "flat" else 0.0, wrap=True)
    rng = np.random.default_rng(3)
    values = iter(rng.random(plan.n_tiles))
    acc = BlendAccumulator(plan, tile_window(plan.tile_h, plan.tile_w, kind))
    for y0, x0 in plan.boxes():
        acc.add(y0, x0, np.full((plan.tile_h, plan.tile_w), next(values), np.float32))
    return acc.result(), plan



@pytest.mark.parametrize("kind", ["hann", "tukey"])
def test_windowed_blend_has_no_steps_while_flat_patches_do(kind):
    smooth, _ = _tile_constant_blend(kind)
    steps, _ = _tile_constant_blend("flat")
    # Tile constants differ by up to ~1; blended, no neighbouring pixels differ by much.
    smooth_jump = max(np.abs(np.diff(smooth, axis=0)).max(), np.abs(np.diff(smooth, axis=1)).max())
    step_jump = max(np.abs(np.diff(steps, axis=0)).max(), np.abs(np.diff(steps, axis=1)).max())
    assert smooth_jump < 0.1
    assert step_jump > 0.2


def test_wrapped_blend_is_continuous_across_the_seam():
    smooth, _ = _tile_constant_blend("hann")
    seam = np.abs(smooth[:, 0] - smooth[:, -1]).max()
    inner = np.abs(np.diff(smooth, axis=1)).max()
    assert seam <= inner + 1e-6


def test_windows_are_positive_and_symmetric():
    for kind in ("hann", "tukey", "flat"):
        w = tile_window(64, 96, kind)
        assert w.shape == (64, 96) and w.min() > 0
        np.testing.assert_allclose(w, w[::-1, ::-1], atol=1e-6)
    hann = tile_window(64, 64, "hann")
    assert hann[32, 32] > 0.99 and hann[0, 0] < 0.01
    with pytest.raises(ValueError):
        tile_window(8, 8, "box")


def test_bad_plans_are_refused():
    with pytest.raises(ValueError):
        plan_tiles(100, 100, tile=100)
    with pytest.raises(ValueError):
        plan_tiles(100, 100, tile=64, overlap=1.0)
    plan = plan_tiles(100, 100, tile=64)
    with pytest.raises(ValueError):
        BlendAccumulator(plan, np.ones((32, 32), np.float32))
