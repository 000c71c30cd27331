"""The built-in sky model: where it is found, what is said when it is absent, which model
prediction picks by default, and its compact weights (float16) predicting as float32 does."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from skysegui.core.errors import ModelError
from skysegui.ml import builtin_model as bm
from skysegui.ml.model import CARD_NAME, WEIGHTS_NAME
from skysegui.ml.model_status import model_summary, model_title
from tests._builtin import make_builtin_model


@pytest.fixture(scope="module")
def builtin_dir(tmp_path_factory):
    return make_builtin_model(tmp_path_factory.mktemp("builtin") / "builtin_model")


def test_the_package_folder_is_found_through_importlib_resources(monkeypatch):
    import skysegui

    monkeypatch.delenv(bm.ENV_VAR, raising=False)
    folder = bm.builtin_model_dir()
    assert folder == Path(skysegui.__file__).parent / "resources" / "builtin_model"
    assert folder.is_dir()  # committed (with its README), so package data always has it


def test_switched_off_or_absent_says_so_and_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv(bm.ENV_VAR, "none")
    assert bm.builtin_model_dir() is None and not bm.builtin_model_available()
    assert "switched off" in bm.builtin_model_problem()
    assert bm.default_prediction_model() is None
    monkeypatch.setenv(bm.ENV_VAR, str(tmp_path / "empty"))
    problem = bm.builtin_model_problem()
    assert "not in this installation" in problem and "training.build_builtin" in problem
    assert bm.default_prediction_model(tmp_path / "no-models") is None
    with pytest.raises(ModelError, match="not in this installation"):
        bm.load_builtin_model()


def test_the_project_model_that_learnt_wins_else_the_builtin(monkeypatch, tmp_path, builtin_dir):
    monkeypatch.setenv(bm.ENV_VAR, str(builtin_dir))
    assert bm.builtin_model_available() and bm.is_builtin(builtin_dir)
    models = tmp_path / "models"
    assert bm.default_prediction_model(models) == builtin_dir  # no project model yet
    assert bm.default_prediction_model(None) == builtin_dir  # loose images
    collapsed = models / "collapsed"
    shutil.copytree(builtin_dir, collapsed)
    _set_verdict(collapsed, {"status": "trivial", "message": "the model calls every pixel sky"})
    assert bm.default_prediction_model(models) == builtin_dir  # not a model that learnt
    own = models / "own"
    shutil.copytree(builtin_dir, own)
    _set_verdict(own, {"status": "ok", "message": ""})
    assert bm.default_prediction_model(models) == own
    assert not bm.is_builtin(own)


def test_a_builtin_model_that_has_not_learnt_is_never_the_default(monkeypatch, tmp_path, builtin_dir):
    copy = tmp_path / "builtin"
    shutil.copytree(builtin_dir, copy)
    _set_verdict(copy, {"status": "trivial", "message": "no better than a constant mask"})
    monkeypatch.setenv(bm.ENV_VAR, str(copy))
    assert bm.builtin_model_available()  # it loads (shown, may be chosen by hand) ...
    assert bm.default_prediction_model(tmp_path / "models") is None  # ... but is never picked


def test_its_name_and_card_figures_are_what_the_user_sees(monkeypatch, builtin_dir):
    monkeypatch.setenv(bm.ENV_VAR, str(builtin_dir))
    assert model_title(builtin_dir) == bm.BUILTIN_NAME == "built-in sky model"
    text = model_summary(builtin_dir)
    assert "val mIoU 0.900 (all sky 0.250, no sky 0.300)" in text
    assert "24 synthetic and 3 real panoramas (validation only: forest; held out: city, bridge)" in text
    assert "held-out real IoU 0.850" in text
    monkeypatch.setenv(bm.ENV_VAR, "none")
    assert model_title(builtin_dir) == "builtin_model"  # only the real one gets the name


def test_compact_weights_are_half_the_size_and_predict_as_float32(tmp_path):
    import tf_keras as keras

    from skysegui.core.synthetic import make_panorama
    from skysegui.ml.model import ModelCard, build_model, load_model, preset, save_model
    from skysegui.ml.predict import Predictor, input_function

    keras.utils.set_random_seed(3)
    config = preset("tiny")
    model = build_model(config)
    pixels = make_panorama(128, 64, seed=4).pixels
    # weights away from their initial values (a random init is too easy to round) and a
    # last layer that spreads the logits, so probabilities span 0..1 instead of 0.5 +- 0.002
    rng = np.random.default_rng(0)
    model.set_weights([w * (1 + 0.2 * rng.standard_normal(w.shape)).astype(w.dtype) for w in model.get_weights()])
    last = model.get_layer("final_conv")
    logits = keras.Model(model.input, last.output)(input_function("hdr_log")(pixels)[None], training=False).numpy()
    gain = 3.0 / float(logits.std())
    kernel, bias = last.get_weights()
    last.set_weights([kernel * gain, (bias - float(logits.mean())) * gain])
    save_model(model, ModelCard(config=config), tmp_path / "full")
    bm.save_compact_model(model, ModelCard(config=config), tmp_path / "compact")
    full_size = (tmp_path / "full" / WEIGHTS_NAME).stat().st_size
    compact_size = (tmp_path / "compact" / WEIGHTS_NAME).stat().st_size
    assert compact_size < 0.6 * full_size, (compact_size, full_size)

    dtypes = {}

    def note(name, obj) -> None:  # visititems stops at the first callback returning a value
        if isinstance(obj, h5py.Dataset):
            dtypes[name] = (obj.dtype, obj.size, obj.ndim)

    with h5py.File(tmp_path / "compact" / WEIGHTS_NAME, "r") as f:
        f.visititems(note)
    assert any(d == np.float16 for d, _, _ in dtypes.values())
    for d, size, ndim in dtypes.values():  # vectors and small kernels stay float32
        if ndim < 2 or size < bm.FLOAT16_MIN_SIZE:
            assert d == np.float32
    card = json.loads((tmp_path / "compact" / CARD_NAME).read_text())
    assert card["weights_dtype"] == bm.WEIGHTS_DTYPE

    full, compact = load_model(tmp_path / "full"), load_model(tmp_path / "compact")
    for a, b in zip(full.model.get_weights(), compact.model.get_weights(), strict=True):
        assert b.dtype == np.float32 and np.allclose(a, b, rtol=1e-3, atol=1e-6)
    pa = Predictor(full, tile=64).predict(pixels).prob
    pb = Predictor(compact, tile=64).predict(pixels).prob
    assert pa.std() > 0.1 and 0.05 < (pa > 0.5).mean() < 0.95  # some contrast, not a flat 0.5
    assert np.abs(pa - pb).max() < 5e-3


def _set_verdict(folder: Path, verdict: dict) -> None:
    card = json.loads((folder / CARD_NAME).read_text())
    card["verdict"] = verdict
    (folder / CARD_NAME).write_text(json.dumps(card))
