"""Masks to polygons: holes, islands, the 360-degree seam, round trip IoU >= 0.995."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from skysegui.core.annotations import mask_to_polygons, polygons_to_mask


def skyline_mask(width: int, height: int, seed: int) -> np.ndarray:
    """A procedural sky: rolling horizon, buildings, jagged trees, birds (holes), cloud islands."""
    rng = np.random.default_rng(seed)
    x = np.arange(width)
    horizon = 0.55 * height + 0.05 * height * np.sin(x / width * 2 * np.pi * 3 + seed)
    for _ in range(width // 40):
        x0, bw = rng.integers(0, width), rng.integers(2, max(3, width // 40))
        horizon[x0:x0 + bw] = np.minimum(horizon[x0:x0 + bw], 0.6 * height - rng.uniform(0.02, 0.25) * height)
    horizon += rng.normal(0, 0.5, width).cumsum() * 0.2
    mask = (np.arange(height)[:, None] < horizon[None, :]).astype(np.uint8)
    for _ in range(60):  # birds and wires: holes in the sky
        cx, cy, r = rng.integers(0, width), rng.integers(0, int(0.3 * height)), rng.integers(2, 6)
        mask[max(0, cy - r):cy + r, max(0, cx - r):cx + r] = 0
    return mask


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(bool), b.astype(bool)
    return float((a & b).sum() / max(1, (a | b).sum()))


@pytest.mark.parametrize("seed", range(3))
def test_round_trip_iou_on_detailed_skylines(seed):
    mask = skyline_mask(1024, 512, seed)
    polygons = mask_to_polygons(mask)
    assert any(p.holes for p in polygons)
    assert iou(polygons_to_mask(polygons, 512, 1024), mask) >= 0.995


def test_real_ground_truth_masks_round_trip(gt_dir):
    for path in sorted(gt_dir.glob("*.png")):
        sky = (cv2.imread(str(path), cv2.IMREAD_UNCHANGED) == 1).astype(np.uint8)
        if sky.sum() == 0:
            assert mask_to_polygons(sky) == []
            continue
        back = polygons_to_mask(mask_to_polygons(sky, tolerance=1.0, min_area=0), *sky.shape)
        assert iou(back, sky) >= 0.98, path.name


def test_holes_and_islands_are_kept():
    mask = np.zeros((60, 80), np.uint8)
    mask[5:55, 5:75] = 1
    mask[15:45, 20:60] = 0      # a hole
    mask[25:35, 35:45] = 1      # an island inside the hole
    polygons = mask_to_polygons(mask)
    assert sorted(len(p.holes) for p in polygons) == [0, 1]
    assert iou(polygons_to_mask(polygons, 60, 80), mask) >= 0.995
    # below a pixel of tolerance, pixel-exact
    exact = mask_to_polygons(mask, tolerance=0.5)
    np.testing.assert_array_equal(polygons_to_mask(exact, 60, 80), mask)


def test_seam_region_stays_valid_and_reaches_both_edges():
    w, h = 200, 100
    mask = np.zeros((h, w), np.uint8)
    mask[:40, :] = 1
    mask[40:50, :30] = 1
    mask[40:50, 170:] = 1
    polygons = mask_to_polygons(mask, tolerance=0.5)
    assert len(polygons) == 1
    outer = polygons[0].outer
    assert outer[:, 0].min() == 0 and outer[:, 0].max() == w
    assert outer[:, 1].min() == 0
    assert len(outer) >= 3 and np.all(np.isfinite(outer))
    np.testing.assert_array_equal(polygons_to_mask(polygons, h, w), mask)


def test_min_area_and_tolerance():
    mask = np.zeros((40, 40), np.uint8)
    mask[1, 1] = 1               # one pixel: below min_area 4
    mask[10:30, 10:30] = 1
    assert len(mask_to_polygons(mask, min_area=4.0)) == 1
    assert len(mask_to_polygons(mask, min_area=0.0)) == 2
    circle = cv2.circle(np.zeros((200, 200), np.uint8), (100, 100), 80, 1, -1)
    coarse = mask_to_polygons(circle, tolerance=3.0)[0].outer
    fine = mask_to_polygons(circle, tolerance=0.0)[0].outer
    assert len(coarse) < len(fine)


def test_empty_and_full_masks():
    assert mask_to_polygons(np.zeros((10, 10), np.uint8)) == []
    full = mask_to_polygons(np.ones((10, 12), np.uint8))
    np.testing.assert_array_equal(full[0].outer[np.lexsort(full[0].outer.T)],
                                  [[0, 0], [12, 0], [0, 10], [12, 10]])
    with pytest.raises(ValueError):
        mask_to_polygons(np.zeros((2, 2, 3)))


@pytest.mark.parametrize("seed", range(8))
def test_no_traced_edge_runs_beside_the_seam(seed):
    """A panorama's left and right edges are the same meridian: an outline edge running
    half a pixel beside x = 0 or x = W would be drawn as a line at the seam and miss a
    sliver of the edge column. Traced outlines put such edges onto the seam."""
    from skysegui.core.annotations import mask_to_polygons, polygons_to_mask

    rng = np.random.default_rng(seed)
    h, w = 40, 96
    yy, xx = np.mgrid[0:h, 0:w]
    a, b, c = rng.uniform(5, 30), rng.uniform(-10, 10), rng.uniform(0.5, 4)
    mask = (yy < a + b * np.sin(xx / w * 2 * np.pi * c + rng.uniform(0, 6))).astype(np.uint8)
    polygons = mask_to_polygons(mask, tolerance=0.5)
    for p in polygons:
        x = p.outer[:, 0]
        beside = ((x > 0) & (x <= 0.5)) | ((x < w) & (x >= w - 0.5))
        assert not (beside & np.roll(beside, -1)).any(), "an edge runs beside the seam"
    back = polygons_to_mask(polygons, h, w)
    assert np.array_equal(back[:, 0], mask[:, 0]) and np.array_equal(back[:, -1], mask[:, -1])
