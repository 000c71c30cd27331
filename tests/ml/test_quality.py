"""The verdict on a trained model: scores beside trivial masks, in words (no TensorFlow)."""

from __future__ import annotations

import numpy as np

from skysegui.ml.data.split import split_by_image
from skysegui.ml.quality import TRIVIAL, UNSTABLE, describe, judge, pooled_scores, trivial_baselines


def _truth(sky_rows: int = 40, h: int = 100, w: int = 50) -> np.ndarray:
    t = np.zeros((h, w), np.float32)
    t[:sky_rows] = 1
    return t


def test_a_constant_mask_can_never_win_the_mean_iou():
    for rows in (5, 40, 95):
        t = _truth(rows)
        base = trivial_baselines(t)
        assert base["all_sky"].miou <= 0.5 and base["no_sky"].miou <= 0.5
        # the old checkpoint score (sky IoU) lets all-sky look like a model: 0.95 here
        assert base["all_sky"].iou == rows / 100
    perfect = pooled_scores(_truth(40), _truth(40))
    assert perfect.miou == 1.0 and perfect.iou == 1.0


def test_all_sky_is_named_as_such_even_with_a_plausible_iou():
    t = _truth(48)
    s = pooled_scores(np.full(t.shape, 0.87), t)  # issue 19: 0.87 at every pixel
    assert s.iou == 0.48  # looks like a score
    v = judge(s, trivial_baselines(t))
    assert v.status == TRIVIAL and "every pixel sky" in v.message


def test_no_sky_and_near_constant_models_are_trivial():
    t = _truth(40)
    assert "no sky anywhere" in judge(pooled_scores(np.zeros(t.shape), t), trivial_baselines(t)).message
    noisy = np.where(np.random.default_rng(0).random(t.shape) < 0.5, 0.9, 0.1)  # coin flips
    v = judge(pooled_scores(noisy, t), trivial_baselines(t))
    assert v.status == TRIVIAL and "no better than a constant" in v.message


def test_a_good_model_is_ok_unless_training_and_inference_disagree():
    t = _truth(40)
    good = pooled_scores(t * 0.9 + 0.05, t)
    assert judge(good, trivial_baselines(t)).ok
    v = judge(good, trivial_baselines(t), train_mode_iou=0.95, inference_iou=0.5)
    assert v.status == UNSTABLE and "0.95" in v.message and "0.50" in v.message


def test_an_interior_with_no_sky_is_not_called_trivial_for_finding_none():
    t = np.zeros((64, 64), np.float32)
    s = pooled_scores(np.zeros(t.shape), t)
    # the no-sky constant scores the same as the model here: right, not a sign of collapse
    assert s.miou == 1.0
    assert judge(s, trivial_baselines(t)).ok


def test_describe_puts_the_score_beside_the_baselines():
    text = describe({"val_miou": 0.91, "val_all_sky_miou": 0.24, "val_no_sky_miou": 0.26})
    assert text == "val mIoU 0.910 (all sky 0.240, no sky 0.260)"


def test_validation_holds_real_panoramas_when_the_project_has_them():
    names = [f"synthetic_{i:02d}_day_city" for i in range(6)] + ["city", "forest", "sunset"]
    for seed in range(5):
        train, val = split_by_image(names, 0.25, seed)
        assert any(not n.startswith("synthetic_") for n in val), (seed, val)
        assert any(not n.startswith("synthetic_") for n in train)
        assert not set(train) & set(val) and set(train) | set(val) == set(names)
    # one real image only: it trains (a validation of one real image would leave none to learn from)
    train, val = split_by_image(names[:6] + ["city"], 0.25, 0)
    assert "city" in train
