"""Snapping a model's blobby mask onto the panorama's own edges (ml/snap.py).

The prior stands in for a network that sees the panorama at a quarter of its width: the
true mask reduced 4x, blurred and brought back, so every corner is rounded. Snapping must
give a crisper edge (boundary F) without losing area (IoU) on real panoramas, and keep
what the model is sure of."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from skysegui.core.imageio import read_image
from skysegui.core.metrics import IGNORE, boundary_f_score, confusion
from skysegui.core.synthetic.panorama import make_panorama
from skysegui.ml.snap import DECIDED, snap_to_edges


def blobby(truth: np.ndarray, factor: int = 4) -> np.ndarray:
    """What a network at 1/factor of the width gives: the right region, rounded edges."""
    h, w = truth.shape
    p = np.where(truth == IGNORE, 0.5, truth.astype(np.float32)).astype(np.float32)
    small = cv2.resize(p, (w // factor, h // factor), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 1.5)
    return np.clip(cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), 0.0, 1.0)


def scores(prob: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    mask = (prob >= 0.5).astype(np.uint8)
    return confusion(mask, truth).iou, boundary_f_score(mask, truth)


@pytest.mark.parametrize("name", ["city", "sunset"])
def test_snapping_sharpens_a_blobby_mask_on_real_panoramas(hdri_dir, gt_dir, name):
    truth = cv2.imread(str(gt_dir / f"{name}.png"), cv2.IMREAD_UNCHANGED)
    pixels = read_image(hdri_dir / f"{name}.exr").pixels
    prior = blobby(truth)
    iou_before, bf_before = scores(prior, truth)
    iou_after, bf_after = scores(snap_to_edges(pixels, prior), truth)
    assert bf_after > bf_before + 0.05, (name, bf_before, bf_after)
    assert iou_after >= iou_before - 0.005, (name, iou_before, iou_after)


@pytest.mark.parametrize("seed, skyline", [(11, "city"), (3, "mountains"), (5, "forest")])
def test_snapping_keeps_what_the_model_is_sure_of(seed, skyline):
    """The graph cut only decides where the model hesitates: a sure answer stays (synthetic
    scenes with an exact mask; their pale haze over white buildings is where a snapped
    edge errs most, so the area is checked, not the edge)."""
    pano = make_panorama(1024, 512, seed=seed, kind="day", skyline=skyline)
    truth = pano.sky.astype(np.uint8)
    prior = blobby(truth)
    snapped = snap_to_edges(pano.pixels, prior)
    assert ((snapped >= 0.5) == (prior >= 0.5))[(prior >= 0.95) | (prior <= 0.05)].mean() > 0.999
    assert scores(snapped, truth)[0] >= scores(prior, truth)[0] - 0.015


def test_where_the_model_and_the_edges_disagree_the_prediction_is_unsure():
    pano = make_panorama(512, 256, seed=3, kind="day", skyline="mountains")
    truth = pano.sky.astype(np.uint8)
    prior = blobby(truth, 8)
    snapped = snap_to_edges(pano.pixels, prior)
    moved = (snapped >= 0.5) != (prior >= 0.5)
    assert moved.any()  # the edge did move
    # a pixel the snap moved across the model's 0.5 line is near 0.5, never sure
    assert np.abs(snapped[moved] - 0.5).max() <= 0.5 + DECIDED - 0.01
    assert np.abs(snapped[moved] - 0.5).mean() < np.abs(snapped[~moved] - 0.5).mean()


def test_a_panorama_too_small_for_the_graph_cut_keeps_the_models_mask():
    pano = make_panorama(96, 48, seed=1, kind="day")
    prior = np.random.default_rng(0).random((48, 96)).astype(np.float32)
    assert snap_to_edges(pano.pixels, prior) is prior
