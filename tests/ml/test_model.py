"""Model factory, card and save/load: real segmentation_models networks, tiny sizes."""

from __future__ import annotations

import json

import numpy as np
import pytest

import skysegui.ml  # noqa: F401
from skysegui.core.errors import ModelError
from skysegui.ml.model import (
    PRESETS,
    WEIGHTS_NAME,
    ModelCard,
    build_model,
    load_model,
    preset,
    save_model,
)


def _x(size=64, n=2, seed=0):
    return np.random.default_rng(seed).random((n, size, size, 3), dtype=np.float32)


def test_presets_exist_and_default_is_the_reports_network():
    assert {"default", "cpu", "tiny"} <= set(PRESETS)
    assert PRESETS["default"].arch == "Unet" and PRESETS["default"].backbone == "resnet34"


def test_tiny_model_outputs_float32_probabilities():
    model = build_model(PRESETS["tiny"])
    y = model.predict(_x(), verbose=0)
    assert y.shape == (2, 64, 64, 1) and y.dtype == np.float32
    assert np.all((y >= 0) & (y <= 1))


def test_mixed_precision_keeps_float32_output_and_restores_policy():
    import tf_keras as keras

    model = build_model(preset("tiny", mixed_precision=True))
    assert model.layers[-1].dtype_policy.compute_dtype == "float32"
    assert any(layer.dtype_policy.compute_dtype == "float16" for layer in model.layers)
    assert model(_x()).dtype.name == "float32"
    assert keras.mixed_precision.global_policy().name == "float32"


def test_save_load_round_trip_gives_same_predictions(tmp_path):
    cfg = preset("tiny", decoder="transpose", input_transform="ldr")
    model = build_model(cfg)
    card = ModelCard(config=cfg, dataset={"images": 3}, metrics={"val_iou": 0.5}, epoch=4)
    card.extra["future_field"] = {"kept": True}
    save_model(model, card, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert loaded.card.config == cfg
    assert loaded.card.epoch == 4 and loaded.card.metrics["val_iou"] == 0.5
    assert loaded.card.extra["future_field"] == {"kept": True}
    d = json.loads((tmp_path / "m" / "card.json").read_text())
    assert d["architecture"] == "Unet" and d["input_transform"] == "ldr" and d["patch_size"] == 64
    x = _x(seed=3)
    np.testing.assert_allclose(loaded.model.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)


def test_load_errors_are_model_errors(tmp_path):
    with pytest.raises(ModelError, match="card.json"):
        load_model(tmp_path)
    cfg = PRESETS["tiny"]
    save_model(build_model(cfg), ModelCard(config=cfg), tmp_path / "m")
    (tmp_path / "m" / WEIGHTS_NAME).write_bytes(b"not an hdf5 file")
    with pytest.raises(ModelError, match="corrupt"):
        load_model(tmp_path / "m")
    # weights of another network do not fit this card
    other = preset("tiny", decoder_filters=(16, 16, 8, 8, 8))
    save_model(build_model(other), ModelCard(config=cfg), tmp_path / "m2")
    with pytest.raises(ModelError, match="does not match"):
        load_model(tmp_path / "m2")
    (tmp_path / "m2" / WEIGHTS_NAME).unlink()
    with pytest.raises(ModelError, match="missing"):
        load_model(tmp_path / "m2")


def test_bad_config_is_a_model_error():
    with pytest.raises(ModelError, match="multiple of 48"):
        build_model(preset("tiny", arch="PSPNet", patch_size=64))
    with pytest.raises(ModelError, match="backbone"):
        build_model(preset("tiny", backbone="nosuchnet"))


def test_imagenet_offline_falls_back_to_scratch_without_download(tmp_path, monkeypatch, caplog):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KERAS_HOME", str(home / ".keras"))
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    notes: list[str] = []
    with caplog.at_level("WARNING"):
        model = build_model(preset("tiny", encoder_weights="imagenet"), notes=notes)
    assert model is not None
    assert len(notes) == 1 and "from scratch" in notes[0]
    assert sum("from scratch" in r.getMessage() for r in caplog.records) == 1
    assert not (home / ".keras" / "models").exists() or not any((home / ".keras" / "models").iterdir())


def test_missing_weights_file_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        build_model(preset("tiny", encoder_weights=str(tmp_path / "nope.h5")))
