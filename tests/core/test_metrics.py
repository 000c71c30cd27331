"""IoU, F1 and boundary F-score against hand-computed values, with 255 = ignore."""

from __future__ import annotations

import numpy as np
import pytest

from skysegui.core.metrics import (
    IGNORE,
    border_band,
    boundary,
    boundary_f_score,
    confusion,
    f1,
    ground_truth_from_png,
    iou,
    mean_scores,
    score_image,
)


def test_hand_computed_iou_and_f1():
    gt = np.array([[1, 1, 0, 0], [1, 1, 0, 0]], np.uint8)
    pred = np.array([[1, 1, 1, 0], [0, 0, 0, 0]], np.uint8)
    # tp = 2, fp = 1, fn = 2, tn = 3
    c = confusion(pred, gt)
    assert (c.tp, c.fp, c.fn, c.tn) == (2, 1, 2, 3)
    assert iou(pred, gt) == pytest.approx(2 / 5)
    assert f1(pred, gt) == pytest.approx(4 / 7)
    assert c.precision == pytest.approx(2 / 3) and c.recall == pytest.approx(2 / 4)


def test_ignored_pixels_count_for_nothing_and_255_predictions_are_sky():
    gt = np.array([[1, 1, IGNORE, 0], [1, IGNORE, 0, 0]], np.uint8)
    pred = np.array([[255, 0, 255, 255], [255, 255, 0, 0]], np.uint8)
    # valid: (0,0) tp, (0,1) fn, (0,3) fp, (1,0) tp, (1,2) tn, (1,3) tn
    c = confusion(pred, gt)
    assert (c.tp, c.fp, c.fn, c.tn) == (2, 1, 1, 2)
    assert iou(pred, gt) == pytest.approx(0.5)


def test_no_sky_anywhere_is_a_perfect_score_and_any_false_sky_is_zero():
    gt = np.zeros((4, 4), np.uint8)
    assert iou(np.zeros_like(gt), gt) == 1.0 and f1(np.zeros_like(gt), gt) == 1.0
    pred = np.zeros_like(gt)
    pred[0, 0] = 1
    assert iou(pred, gt) == 0.0


def test_where_restricts_the_score_to_a_region():
    gt = np.array([[1, 1, 0, 0]], np.uint8)
    pred = np.array([[1, 0, 0, 1]], np.uint8)
    assert iou(pred, gt) == pytest.approx(1 / 3)
    assert iou(pred, gt, where=np.array([[1, 0, 1, 0]], bool)) == 1.0


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError):
        iou(np.zeros((2, 2)), np.zeros((2, 3)))


def test_boundary_pixels_of_a_square():
    m = np.zeros((6, 6), np.uint8)
    m[2:4, 2:4] = 1
    b = boundary(m)
    # The 2x2 square is all boundary; outside, its 8 edge neighbours (no corners).
    assert b[2:4, 2:4].all()
    assert np.count_nonzero(b) == 4 + 8
    # Sky touching the image edges has no contour there.
    full = np.ones((5, 5), np.uint8)
    assert not boundary(full).any()


def test_boundary_f_score_exact_shifted_and_tolerance():
    gt = np.zeros((40, 40), np.uint8)
    gt[:20] = 1
    assert boundary_f_score(gt.copy(), gt) == 1.0
    shifted = np.zeros_like(gt)
    shifted[:23] = 1  # contour 3 rows lower
    # Boundaries are two pixels thick (rows 19/20 against rows 22/23): distances 2 and 3.
    assert boundary_f_score(shifted, gt, tolerance=3) == 1.0
    assert boundary_f_score(shifted, gt, tolerance=2) == pytest.approx(0.5)
    assert boundary_f_score(shifted, gt, tolerance=1) == 0.0
    # Half the contour matches: prediction contour 40 px of which 20 move far away.
    half = gt.copy()
    half[20:30, :20] = 1
    # pred boundary: rows 29/30 under cols 0..19 (far), 19/20 under cols 20..39 (exact), plus the
    # vertical step at cols 19/20 in rows 20..29 (within 2 px only near row 20).
    bf = boundary_f_score(half, gt, tolerance=2)
    assert 0.3 < bf < 0.8


def test_boundary_f_score_skips_the_ignore_band():
    gt = np.zeros((40, 40), np.uint8)
    gt[:19] = 1
    gt[19:22] = IGNORE
    pred = np.zeros_like(gt)
    pred[:21] = 1  # contour inside the ignore band
    assert boundary_f_score(pred, gt) == 1.0
    assert iou(pred, gt) == 1.0


def test_score_image_and_mean():
    gt = np.array([[1, 0]], np.uint8)
    a = score_image("a", np.array([[1, 0]], np.uint8), gt)
    b = score_image("b", np.array([[1, 1]], np.uint8), gt)
    assert a.iou == 1.0 and b.iou == 0.5 and b.valid_pixels == 2
    assert mean_scores([a, b])["iou"] == pytest.approx(0.75)
    assert a.as_dict()["name"] == "a"
    assert np.isnan(mean_scores([])["iou"])


def test_ground_truth_conventions():
    raw = np.array([[0, 1, 2, 255]], np.uint8)
    assert ground_truth_from_png(raw).tolist() == [[0, 1, 0, 255]]
    plain = np.array([[0, 255]], np.uint8)
    assert ground_truth_from_png(plain, sky_value=255).tolist() == [[0, 1]]


def test_border_band_marks_patch_borders():
    band = border_band(8, 8, patch=4, radius=1)
    assert band[0, 2] and band[3, 2] and band[4, 2] and not band[1, 1] and not band[2, 2]
    assert np.count_nonzero(~band) == 16  # rows/cols 1,2,5,6 are inner
