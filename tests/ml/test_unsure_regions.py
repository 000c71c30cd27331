"""Unsure regions (label category 'unsure', mask value IGNORE = 255): training skips them.

The shared ground truth leaves a band along every skyline unlabelled, and a labeller may
not be able to call sky seen through dense leaves; counting those pixels as "not sky"
taught the network to shrink the sky near every canopy. Real TensorFlow models, tiny.
"""

from __future__ import annotations

import numpy as np
import pytest

import skysegui.ml  # noqa: F401
from skysegui.core.metrics import IGNORE
from skysegui.core.synthetic import make_panorama
from skysegui.ml.data import array_sources, build_cache
from skysegui.ml.data.scale import resample_mask
from skysegui.ml.losses import LOSSES, make_loss, make_metrics
from skysegui.ml.model import load_model
from skysegui.ml.predict import Predictor
from skysegui.ml.train import Trainer
from tests.ml.test_train import _config as _tiny


def test_every_loss_and_metric_skips_ignored_pixels():
    """Whatever the prediction at an IGNORE pixel, the loss and the metrics are the same,
    and no gradient reaches it; elsewhere the prediction still counts."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    truth = (rng.random((2, 16, 16, 1)) > 0.5).astype(np.float32)
    truth[:, :5] = IGNORE
    a = rng.random(truth.shape).astype(np.float32)
    b = a.copy()
    b[:, :5] = rng.random((2, 5, 16, 1))  # only the ignored rows differ
    c = a.copy()
    c[:, 8:] = 1.0 - c[:, 8:]  # scored rows differ
    fns = [make_loss(name, 2.0) for name in LOSSES] + make_metrics()
    for fn in fns:
        la, lb, lc = (float(fn(tf.constant(truth), tf.constant(p))) for p in (a, b, c))
        assert la == pytest.approx(lb, abs=1e-6), fn.__name__
        assert abs(la - lc) > 1e-3, fn.__name__
    pred = tf.Variable(a)
    for name in LOSSES:
        with tf.GradientTape() as tape:
            loss = make_loss(name, 2.0)(tf.constant(truth), pred)
        grad = tape.gradient(loss, pred).numpy()
        assert np.all(grad[:, :5] == 0) and np.any(grad[:, 5:] != 0), name
    assert [m.__name__ for m in make_metrics()] == ["iou", "f1"]  # the names the curves log


def test_a_mask_at_the_model_scale_keeps_its_unsure_region():
    mask = np.zeros((64, 128), np.uint8)
    mask[:24] = 1
    mask[20:32, :64] = IGNORE
    small = resample_mask(mask, 32, 64)
    assert set(np.unique(small).tolist()) == {0, 1, IGNORE}
    assert (small[10:16, :32] == IGNORE).all() and (small[:9] == 1).all() and (small[17:] == 0).all()
    assert (small[10:11, 32:] == 1).all()  # sky rows beside the unsure block stay sky
    big = resample_mask(mask, 128, 256)
    assert (big[40:64, :128] == IGNORE).all() and (big[:40] == 1).all()
    plain = mask.copy()
    plain[plain == IGNORE] = 0
    assert set(np.unique(resample_mask(plain, 32, 64)).tolist()) == {0, 1}


def _sky_recall(model_dir, panos) -> float:
    """Share of the true sky pixels the saved model calls sky."""
    predictor = Predictor(load_model(model_dir), snap=False)
    hits = total = 0
    for p in panos.values():
        mask = predictor.predict(p.pixels, mode="fast").mask
        hits += int((mask & (p.sky == 1)).sum())
        total += int((p.sky == 1).sum())
    return hits / total


@pytest.mark.slow
def test_sky_marked_unsure_is_not_learnt_as_not_sky(tmp_path):
    """Half of every panorama's sky (its left half, which the seam roll moves anywhere) is
    left unlabelled. Marked unsure, the model still learns it is sky from the other half;
    counted as not sky (what happened to the ground truth's ignore band before), the same
    sky is taught both ways and the model calls much less of it sky."""
    panos = {f"day{i}": make_panorama(256, 128, seed=i, kind="day") for i in range(6)}

    def masks(value):
        out = {}
        for name, p in panos.items():
            m = p.sky.astype(np.uint8).copy()
            m[:, : m.shape[1] // 2][m[:, : m.shape[1] // 2] == 1] = value
            out[name] = (p.pixels, m)
        return out

    recall = {}
    for tag, value in (("unsure", IGNORE), ("not_sky", 0)):
        cache = build_cache(array_sources(masks(value)), tmp_path / f"cache-{tag}", "hdr_log")
        result = Trainer(_tiny(epochs=2, steps_per_epoch=15), cache, tmp_path / tag).run()
        assert not result.cancelled
        recall[tag] = _sky_recall(tmp_path / tag, panos)
    assert recall["unsure"] > 0.85, recall
    assert recall["unsure"] > recall["not_sky"] + 0.15, recall
