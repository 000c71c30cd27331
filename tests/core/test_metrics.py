"""IoU, F1, boundary F-score, Boundary IoU and false sky against hand-computed values, with 255 = ignore."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from skysegui.core.metrics import (
    IGNORE,
    border_band,
    boundary,
    boundary_f_score,
    boundary_iou,
    confusion,
    default_boundary_distance,
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


# --- Boundary IoU and false sky ---------------------------------------------------------
def _city_skyline(h: int = 128, w: int = 256) -> np.ndarray:
    """Sky above row 70 with four rectangular buildings cutting into it (sharp corners)."""
    gt = np.zeros((h, w), np.uint8)
    gt[:70] = 1
    for x0, x1, top in [(20, 60, 30), (80, 95, 45), (120, 180, 25), (200, 230, 50)]:
        gt[top:70, x0:x1] = 0
    return gt


def _shift_down(mask: np.ndarray, rows: int) -> np.ndarray:
    shifted = np.roll(mask, rows, axis=0)
    shifted[:rows] = 1  # the top stays sky
    return shifted


def test_boundary_iou_of_a_perfect_prediction_is_one():
    gt = _city_skyline()
    assert boundary_iou(gt.copy(), gt) == 1.0
    assert boundary_iou(gt * 255, gt, distance=0) == 1.0  # 0/255 predictions are sky too
    assert boundary_iou(gt.astype(bool), gt, distance=10) == 1.0


def test_a_shifted_skyline_keeps_its_iou_but_not_its_boundary_iou():
    gt = _city_skyline()
    shifted = _shift_down(gt, 3)
    assert iou(shifted, gt) > 0.9  # IoU barely notices a 3 px shift
    assert boundary_iou(shifted, gt, distance=2) < 0.5
    # Hand-computed on a straight skyline: bands are rows 17..19 and 18..20 -> 2 / 4.
    flat = np.zeros((40, 40), np.uint8)
    flat[:20] = 1
    assert boundary_iou(_shift_down(flat, 1), flat, distance=2) == pytest.approx(0.5)
    assert boundary_iou(_shift_down(flat, 3), flat, distance=2) == 0.0
    # A wider band forgives more.
    assert boundary_iou(shifted, gt, distance=8) > boundary_iou(shifted, gt, distance=2)


def test_a_rounded_blobby_skyline_scores_lower_than_the_exact_one():
    gt = _city_skyline()
    blurred = cv2.GaussianBlur(gt.astype(np.float32), (0, 0), 3)
    rounded = (blurred > 0.5).astype(np.uint8)  # building corners rounded off
    assert np.count_nonzero(rounded != gt) > 0
    assert iou(rounded, gt) > 0.98
    exact, blobby = boundary_iou(gt, gt), boundary_iou(rounded, gt)
    assert blobby < exact and blobby < 0.9


def test_boundary_iou_ignores_what_happens_inside_the_ignore_band():
    gt = np.zeros((60, 40), np.uint8)
    gt[:20] = 1
    gt[20:28, :20] = IGNORE  # an ambiguous stretch of skyline (a tree), 8 rows deep
    gt[:6] = IGNORE  # and a band along the top edge
    gt[20:28, 20:] = 0
    base = np.zeros_like(gt)
    base[:21] = 1  # right half: one row too much sky
    base[:24, :20] = 1  # left half: contour in the middle of the band
    other = base.copy()
    other[24, 3:15] = 1  # a different contour, still deep inside the band
    other[25, 8:12] = 1
    other[0:2, 10:30] = 0  # a hole deep inside the top band
    a, b = boundary_iou(base, gt, distance=2), boundary_iou(other, gt, distance=2)
    assert 0.0 < a < 1.0
    assert a == pytest.approx(b)
    # The edge of the ignore band is not a contour: a prediction right on the right half
    # and anywhere inside the band on the left scores 1.
    right = base.copy()
    right[20] = 0
    right[20:24, :20] = 1
    assert boundary_iou(right, gt, distance=2) == 1.0


def test_no_contour_anywhere_is_one_and_a_missing_contour_is_low():
    nothing = np.zeros((32, 64), np.uint8)
    assert boundary_iou(nothing, nothing) == 1.0
    everything = np.ones((32, 64), np.uint8)  # all sky: image edges and seam are no contour
    assert boundary_iou(everything, everything) == 1.0
    blob = nothing.copy()
    blob[10:20, 10:20] = 1
    assert boundary_iou(blob, nothing) == 0.0  # a false sky blob in an interior
    assert boundary_iou(nothing, blob) == 0.0  # a missed window of sky
    assert not np.isnan(boundary_iou(blob, nothing))


def test_default_boundary_distance_is_the_same_share_at_every_resolution():
    assert default_boundary_distance(256, 512) == 2
    assert default_boundary_distance(512, 1024) == 3
    assert default_boundary_distance(4096, 8192) == 27
    assert default_boundary_distance(8, 16) == 2  # never below 2 px
    gt = _city_skyline()
    shifted = _shift_down(gt, 3)
    assert boundary_iou(shifted, gt) == boundary_iou(shifted, gt, distance=default_boundary_distance(*gt.shape))
    with pytest.raises(ValueError):
        boundary_iou(gt, gt, distance=-1)


def test_false_sky_is_the_share_of_valid_non_sky_called_sky():
    gt = np.array([[1, 1, 0, 0], [1, 1, 0, 0]], np.uint8)
    pred = np.array([[1, 1, 1, 0], [0, 0, 0, 0]], np.uint8)
    assert confusion(pred, gt).false_sky == pytest.approx(1 / 4)  # fp = 1, tn = 3
    # Ignored pixels are neither: fp = 1 of 2 valid non-sky pixels.
    gt_ignore = np.array([[1, 1, IGNORE, 0], [1, 1, IGNORE, 0]], np.uint8)
    pred_ignore = np.array([[0, 0, 1, 1], [0, 0, 1, 0]], np.uint8)
    assert confusion(pred_ignore, gt_ignore).false_sky == pytest.approx(1 / 2)
    # An interior: no sky, 10 of 100 pixels called sky.
    interior = np.zeros((10, 10), np.uint8)
    pred_interior = interior.copy()
    pred_interior[0] = 1
    assert confusion(pred_interior, interior).false_sky == pytest.approx(0.1)
    # No valid non-sky pixels at all: nothing could be called sky wrongly.
    assert confusion(np.ones((2, 2), np.uint8), np.ones((2, 2), np.uint8)).false_sky == 0.0


def test_score_image_and_mean_carry_boundary_iou_and_false_sky():
    gt = _city_skyline()
    exact = score_image("exact", gt.copy(), gt)
    shifted = score_image("shifted", _shift_down(gt, 3), gt, boundary_distance=2)
    assert exact.boundary_iou == 1.0 and exact.false_sky == 0.0
    assert shifted.boundary_iou == pytest.approx(boundary_iou(_shift_down(gt, 3), gt, 2))
    assert shifted.false_sky == pytest.approx(confusion(_shift_down(gt, 3), gt).false_sky) and shifted.false_sky > 0
    mean = mean_scores([exact, shifted])
    assert mean["boundary_iou"] == pytest.approx((1.0 + shifted.boundary_iou) / 2)
    assert mean["false_sky"] == pytest.approx(shifted.false_sky / 2)
    assert set(exact.as_dict()) >= {"boundary_iou", "false_sky"}
    assert np.isnan(mean_scores([])["boundary_iou"])


def test_evaluate_cli_shows_boundary_iou_and_false_sky(tmp_path, capsys):
    from skysegui.cli.main import main

    pred_dir, gt_dir = tmp_path / "pred", tmp_path / "gt"
    pred_dir.mkdir()
    gt_dir.mkdir()
    gt = _city_skyline()
    cv2.imwrite(str(gt_dir / "city.png"), gt)
    cv2.imwrite(str(pred_dir / "city.mask.png"), _shift_down(gt, 3) * 255)
    room = np.zeros((64, 128), np.uint8)
    window = room.copy()
    window[10:20, 10:30] = 255
    cv2.imwrite(str(gt_dir / "room.png"), room)
    cv2.imwrite(str(pred_dir / "room.mask.png"), window)

    args = ["evaluate", "--pred", str(pred_dir), "--gt", str(gt_dir)]
    assert main(args) == 0
    table = capsys.readouterr().out
    header = table.splitlines()[0]
    assert "BIoU" in header and "false sky" in header and "IoU" in header and "BF" in header
    assert "mean (2 images)" in table

    assert main([*args, "--json", "--boundary-distance", "2"]) == 0
    result = json.loads(capsys.readouterr().out)
    scores = {s["name"]: s for s in result["images"]}
    assert {"boundary_iou", "false_sky"} <= set(scores["city"]) and {"boundary_iou", "false_sky"} <= set(result["mean"])
    assert scores["city"]["boundary_iou"] == pytest.approx(boundary_iou(_shift_down(gt, 3), gt, 2))
    assert scores["city"]["iou"] > 0.9 > 0.5 > scores["city"]["boundary_iou"]
    assert scores["room"]["false_sky"] == pytest.approx(200 / (64 * 128))
    assert scores["room"]["boundary_iou"] == 0.0
    assert result["mean"]["false_sky"] == pytest.approx((scores["city"]["false_sky"] + scores["room"]["false_sky"]) / 2)

    assert main([*args, "--boundary-distance", "-1"]) == 2
    err = capsys.readouterr().err
    assert "--boundary-distance" in err and "negative" in err
