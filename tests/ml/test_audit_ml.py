"""Gaps found in the acceptance audit of training, prediction and export (quick tests)."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

import skysegui.ml  # noqa: F401
from skysegui.ml.train import TrainConfig


def test_ldr_input_crops_512_px_by_default_hdr_256():
    ldr = TrainConfig.from_dict({"model": {"input_transform": "ldr"}})
    assert ldr.model.patch_size == 512
    assert TrainConfig.from_dict({"model": {}}).model.patch_size == 256
    # an explicit size and the small presets are kept
    assert TrainConfig.from_dict({"model": {"input_transform": "ldr", "patch_size": 384}}).model.patch_size == 384
    assert TrainConfig.from_dict({"model": {"preset": "tiny", "input_transform": "ldr"}}).model.patch_size == 64


def test_cli_preset_keeps_the_configs_ldr_crop_size(tmp_path):
    from skysegui.cli.commands.train import build_config

    cfg = tmp_path / "ldr.toml"
    cfg.write_text('[train]\nepochs = 2\n[train.model]\ninput_transform = "ldr"\n')
    args = argparse.Namespace(config=str(cfg), preset="cpu", name=None, epochs=None, steps=None,
                              batch_size=None, strategy=None, patch=None, learning_rate=None)
    config = build_config(args)
    assert config.model.input_transform == "ldr" and config.model.patch_size == 512
    assert config.model.backbone == "mobilenetv2"


@pytest.mark.parametrize("transform,patch", [("ldr", 512), ("hdr_log", 256)])
def test_training_panel_crop_size_follows_the_input(qtbot, transform, patch):
    from skysegui.gui.panels.training_panel import TrainingPanel

    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.transform.setCurrentText("ldr")
    panel.transform.setCurrentText(transform)
    assert panel.config().model.patch_size == patch
    panel.preset.setCurrentText("tiny")
    assert panel.patch.value() == 64
    panel.preset.setCurrentText("default")
    assert panel.config().model.patch_size == patch


def test_a_pspnet_model_predicts_whole_panoramas_with_the_default_tiles(tmp_path):
    """PSPNet takes one input size only: prediction rebuilds it per tile size, same weights."""
    import numpy as np
    import tf_keras as keras

    from skysegui.core.synthetic import make_panorama
    from skysegui.ml.model import (
        ModelCard,
        build_model,
        load_model,
        preset,
        rebuild_for_input,
        save_model,
    )
    from skysegui.ml.predict import Predictor

    keras.utils.set_random_seed(0)
    cfg = preset("tiny", arch="PSPNet", patch_size=96)
    save_model(build_model(cfg), ModelCard(config=cfg), tmp_path / "psp")
    loaded = load_model(tmp_path / "psp")
    x = np.random.default_rng(0).random((1, 96, 96, 3), dtype=np.float32)
    same = rebuild_for_input(loaded.model, cfg, 96, 96)
    np.testing.assert_allclose(same.predict(x, verbose=0), loaded.model.predict(x, verbose=0), atol=1e-6)
    assert rebuild_for_input(loaded.model, cfg, 144, 192).predict(
        np.zeros((1, 144, 192, 3), np.float32), verbose=0).shape == (1, 144, 192, 1)
    pixels = make_panorama(256, 128, seed=1).pixels
    for mode in ("quality", "fast", "report"):
        pred = Predictor(loaded, fast_long_side=128).predict(pixels, mode=mode)
        assert pred.prob.shape == (128, 256) and np.isfinite(pred.prob).all()
    assert Predictor(loaded).tile == 1056  # 1024 rounded up to PSPNet's multiple of 48


def test_a_threshold_outside_0_1_is_refused(tmp_path):
    from skysegui.core.errors import PredictionError
    from skysegui.ml.model import LoadedModel, ModelCard, preset
    from skysegui.ml.predict import Predictor

    loaded = LoadedModel(model=None, card=ModelCard(config=preset("tiny")), folder=tmp_path)
    for bad in (0.0, 1.0, 2.0, -0.5):
        with pytest.raises(PredictionError, match="threshold"):
            Predictor(loaded, threshold=bad)
    assert Predictor(loaded, threshold=0.3).threshold == 0.3


def test_resuming_with_another_network_or_damaged_weights_is_a_training_error(tmp_path):
    from skysegui.core.errors import TrainingError
    from skysegui.core.synthetic import make_panorama
    from skysegui.ml.augment import AugmentConfig
    from skysegui.ml.data import array_sources, build_cache
    from skysegui.ml.model import WEIGHTS_NAME, preset
    from skysegui.ml.train import Trainer

    panos = {f"p{i}": make_panorama(128, 64, seed=i, kind="day") for i in range(3)}
    cache = build_cache(array_sources({k: (p.pixels, p.sky) for k, p in panos.items()}),
                        tmp_path / "cache", "hdr_log")

    def config(**model):
        return TrainConfig(model=preset("tiny", **model), epochs=2, steps_per_epoch=1, batch_size=2,
                           early_stopping=0, augment=AugmentConfig(), val_crops_per_image=1)

    out = tmp_path / "model"
    Trainer(dataclasses.replace(config(), epochs=1), cache, out).run()
    with pytest.raises(TrainingError, match="another network.*decoder_filters"):
        Trainer(config(decoder_filters=(16, 16, 8, 8, 8)), cache, out, resume=True).run()
    (out / "last" / WEIGHTS_NAME).write_bytes(b"not hdf5")
    with pytest.raises(TrainingError, match="damaged"):
        Trainer(config(), cache, out, resume=True).run()
