"""Auto sky as a Prediction (ml/autosky_predict.py): the same object and files as a model's,
its source named so a saved auto-sky mask is never taken for a model's."""

from __future__ import annotations

import numpy as np
import pytest

from skysegui.core.errors import CancelledError, PredictionError
from skysegui.core.predictions import prediction_paths, read_source
from skysegui.core.progress import CancelToken
from skysegui.core.synthetic.panorama import make_panorama
from skysegui.ml.autosky_predict import AUTO_SKY, AutoSkyPredictor
from skysegui.ml.predict import Prediction, load_prediction, save_prediction


@pytest.fixture(scope="module")
def panorama():
    return make_panorama(256, 128, seed=3, kind="day", skyline="mountains")


def test_auto_sky_gives_a_prediction_like_a_model(panorama):
    seen = []
    pred = AutoSkyPredictor().predict(panorama.pixels, progress=lambda d, t, m: seen.append((d, t)))
    assert isinstance(pred, Prediction) and pred.source == AUTO_SKY and pred.mode == "auto"
    assert pred.prob.shape == pred.mask.shape == pred.uncertainty.shape == (128, 256)
    assert np.array_equal(pred.mask, (pred.prob >= 0.5).astype(np.uint8))
    assert 0.1 < pred.mask.mean() < 0.9 and pred.note == ""  # outdoors, sky found
    assert seen[-1][0] == seen[-1][1]


def test_auto_sky_stops_when_cancelled_and_checks_its_threshold(panorama):
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        AutoSkyPredictor().predict(panorama.pixels, cancel=token)
    with pytest.raises(PredictionError, match="threshold"):
        AutoSkyPredictor(threshold=1.5)


def test_a_saved_auto_sky_prediction_keeps_its_source_until_a_model_replaces_it(panorama, tmp_path):
    pred = AutoSkyPredictor().predict(panorama.pixels)
    pred.note = "indoors: sky only through windows"
    paths = save_prediction(pred, tmp_path, "pano.exr")
    assert read_source(paths) == (AUTO_SKY, "indoors: sky only through windows")
    back = load_prediction(tmp_path, "pano.exr")
    assert back.source == AUTO_SKY and back.note == pred.note
    assert np.array_equal(back.mask, pred.mask)
    model_pred = Prediction.from_prob(np.zeros((128, 256), np.float32))  # a model's: no source
    save_prediction(model_pred, tmp_path, "pano.exr")
    assert not prediction_paths(tmp_path, "pano.exr").source.exists()
    assert load_prediction(tmp_path, "pano.exr").source == ""
