"""Auto sky (core/autosky.py) on real HDR panoramas and on synthetic ones with exact truth.

The floors are set where a trivial guess fails: "the upper half is sky" scores IoU 0.75
on city, 0.31 on forest and 0.92 on sunset; "all sky" scores the sky fraction."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from skysegui.core.autosky import MIN_SIZE, auto_sky
from skysegui.core.errors import CancelledError, PredictionError
from skysegui.core.imageio import read_image
from skysegui.core.metrics import confusion
from skysegui.core.progress import CancelToken
from skysegui.core.synthetic.panorama import make_panorama

UPPER_HALF_IOU = {"city": 0.745, "forest": 0.306, "sunset": 0.92}


def _truth(gt_dir, name: str) -> np.ndarray:
    return cv2.imread(str(gt_dir / f"{name}.png"), cv2.IMREAD_UNCHANGED)


def _upper_half(shape) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    mask[: shape[0] // 2] = 1
    return mask


@pytest.mark.parametrize("name, floor", [("city", 0.95), ("sunset", 0.95), ("forest", 0.75)])
def test_auto_sky_finds_the_sky_of_real_outdoor_panoramas(hdri_dir, gt_dir, name, floor):
    gt = _truth(gt_dir, name)
    result = auto_sky(read_image(hdri_dir / f"{name}.exr").pixels)
    mask = (result.prob >= 0.5).astype(np.uint8)
    score = confusion(mask, gt).iou
    trivial = confusion(_upper_half(gt.shape), gt).iou
    assert trivial == pytest.approx(UPPER_HALF_IOU[name], abs=0.01)
    assert score >= floor and score > trivial + 0.05, (name, score, trivial)
    assert result.scene.outdoors


def test_auto_sky_finds_no_sky_in_a_real_interior(hdri_dir, gt_dir):
    """A white ceiling, lamps and a window behind white curtains: not sky."""
    gt = _truth(gt_dir, "interior")
    result = auto_sky(read_image(hdri_dir / "interior.exr").pixels)
    assert not result.scene.outdoors
    false_sky = confusion((result.prob >= 0.5).astype(np.uint8), gt).false_sky
    assert false_sky < 0.01


def test_auto_sky_finds_no_sky_in_real_interiors_without_windows(shared_data):
    """Two more real interiors (labels in training/data/real-labels): a lobby and a
    workshop with skylights. Not one pixel in a hundred is sky."""
    for name in ("lobby", "workshop", "warehouse"):
        result = auto_sky(read_image(shared_data / "hdri-unlabelled" / f"{name}.exr").pixels)
        assert not result.scene.outdoors, name
        assert (result.prob >= 0.5).mean() < 0.01, name


@pytest.mark.parametrize("kind, skyline", [("day", "city"), ("dusk", "mountains"), ("overcast", "lake"),
                                           ("day", "forest")])
def test_auto_sky_on_synthetic_panoramas_with_exact_truth(kind, skyline):
    pano = make_panorama(512, 256, seed=7, kind=kind, skyline=skyline)
    gt = pano.sky.copy()
    gt[pano.classes == 2] = 255  # objects inside the sky (balloons, birds): not scored
    mask = (auto_sky(pano.pixels).prob >= 0.5).astype(np.uint8)
    assert confusion(mask, gt).iou > 0.8


def test_auto_sky_is_continuous_across_the_seam_and_repeatable(hdri_dir):
    pixels = read_image(hdri_dir / "city.exr").pixels
    first = auto_sky(pixels).prob
    assert np.array_equal(first, auto_sky(pixels).prob)
    # Rolling the panorama by half a turn moves the seam into the middle: the mask rolls
    # with it (the seam is padded like any other column), up to a few edge pixels.
    rolled = auto_sky(np.roll(pixels, pixels.shape[1] // 2, axis=1)).prob
    back = np.roll(rolled, -pixels.shape[1] // 2, axis=1)
    assert np.mean((back >= 0.5) != (first >= 0.5)) < 0.005
    seam = np.abs((first[:, 0] >= 0.5).astype(int) - (first[:, -1] >= 0.5).astype(int))
    assert seam.mean() < 0.01


def test_auto_sky_gives_a_soft_full_resolution_probability(hdri_dir):
    pixels = read_image(hdri_dir / "sunset.exr").pixels
    big = cv2.resize(pixels, (2048, 1024), interpolation=cv2.INTER_LINEAR)
    result = auto_sky(big)
    assert result.prob.shape == (1024, 2048) and result.prob.dtype == np.float32
    assert 0.0 <= result.prob.min() and result.prob.max() <= 1.0
    doubtful = (result.prob > 0.05) & (result.prob < 0.95)
    assert 0.0 < doubtful.mean() < 0.2  # sure inside, unsure along the edges


def test_auto_sky_reports_progress_and_stops_when_cancelled():
    pixels = make_panorama(256, 128, seed=1, kind="day", skyline="sea").pixels
    seen = []
    auto_sky(pixels, progress=lambda done, total, message: seen.append((done, total)))
    assert seen[0][0] == 0 and seen[-1][0] == seen[-1][1]
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        auto_sky(pixels, cancel=token)


def test_auto_sky_refuses_a_picture_too_small_to_have_a_zenith_and_a_horizon():
    with pytest.raises(PredictionError, match="at least"):
        auto_sky(np.ones((MIN_SIZE[1] - 1, MIN_SIZE[0], 3), np.float32))


def test_auto_sky_survives_non_finite_and_negative_pixels():
    pixels = make_panorama(256, 128, seed=2, kind="day", skyline="mountains").pixels.copy()
    pixels[0, :10] = np.nan
    pixels[5, :10] = np.inf
    pixels[100, :10] = -3.0
    prob = auto_sky(pixels).prob
    assert np.isfinite(prob).all()
