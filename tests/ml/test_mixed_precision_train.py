"""Mixed precision and the GPU settings of a real training run (on the CPU: slow but exact).

A real tiny U-Net trains a few steps with mixed_float16; its card says what it ran on
(device, seconds per step, the loss scale) and the saved model predicts float32."""

from __future__ import annotations

import json

import numpy as np
import pytest

import skysegui.ml  # noqa: F401
from skysegui.core.synthetic import make_panorama
from skysegui.ml.augment import AugmentConfig
from skysegui.ml.data import array_sources, build_cache, validation_crops
from skysegui.ml.model import build_model, load_model, preset
from skysegui.ml.strategy import configure_gpus, device_description, gpu_memory_growth
from skysegui.ml.train import TrainConfig, Trainer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    panos = {f"day{i}": make_panorama(256, 128, seed=i, kind="day") for i in range(4)}
    return build_cache(array_sources({k: (p.pixels, p.sky) for k, p in panos.items()}),
                       tmp_path_factory.mktemp("cache"), "hdr_log")


def _train(cache, out, mixed: bool):
    import tf_keras as keras

    config = TrainConfig(model=preset("tiny", mixed_precision=mixed), epochs=1, steps_per_epoch=4,
                         batch_size=4, early_stopping=0, augment=AugmentConfig(),
                         val_crops_per_image=4, seed=0, strategy="default")
    before = keras.mixed_precision.global_policy().name
    result = Trainer(config, cache, out).run()
    assert keras.mixed_precision.global_policy().name == before == "float32"  # other tests unaffected
    return result, json.loads((out / "card.json").read_text())


def test_mixed_precision_trains_with_a_dynamic_loss_scale_and_saves_a_float32_model(cache, tmp_path):
    result, card = _train(cache, tmp_path / "mixed", mixed=True)
    assert result.epochs_done == 1 and np.isfinite(result.history["loss"]).all()
    assert card["config"]["mixed_precision"] is True
    compute = card["compute"]
    assert compute["mixed_precision"] is True and compute["loss_scale_dynamic"] is True
    # the optimizer's current loss scale: a power of two, 2**15 at the start, halved on overflow
    scale = compute["loss_scale"]
    assert scale is not None and 1 <= scale <= 2**15 and np.log2(scale) == int(np.log2(scale))
    assert compute["steps_timed"] == 3 and compute["seconds_per_step"] > 0
    assert compute["first_step_seconds"] > 0  # the traced first step, kept apart

    # the same network under mixed precision computes in float16 and answers in float32
    net = build_model(preset("tiny", mixed_precision=True))
    assert any(layer.compute_dtype == "float16" for layer in net.layers)
    assert net.output.dtype.name == "float32"

    loaded = load_model(tmp_path / "mixed")
    assert loaded.card.config.mixed_precision is True
    vx, _ = validation_crops(cache, cache.names[:1], 64, max_per_image=2)
    y = loaded.model.predict(vx, verbose=0)
    assert y.shape == (len(vx), 64, 64, 1)
    assert y.dtype == np.float32 and np.isfinite(y).all() and ((y >= 0) & (y <= 1)).all()


def test_the_card_records_the_device_and_the_time_per_step_without_mixed_precision(cache, tmp_path):
    _, card = _train(cache, tmp_path / "plain", mixed=False)
    compute = card["compute"]
    assert compute["device"] == device_description()
    assert compute["device"].startswith(("CPU: ", "GPU: ", "GPUs: ")) or " x GPU: " in compute["device"]
    assert compute["replicas"] == 1 and compute["workers"] == 1
    assert compute["mixed_precision"] is False and "loss_scale" not in compute
    assert 0 < compute["seconds_per_step"] < compute["first_step_seconds"] + 60
    # memory growth: set by the training run on every GPU, nothing to set on a CPU
    assert compute["gpu_memory_growth"] == gpu_memory_growth()
    assert all(compute["gpu_memory_growth"])
    last = json.loads((tmp_path / "plain" / "last" / "card.json").read_text())
    assert last["compute"]["seconds_per_step"] == compute["seconds_per_step"]


def test_configure_gpus_runs_anywhere_and_is_idempotent():
    first, second = configure_gpus(), configure_gpus()
    assert first == second == [] or all("memory growth" in n for n in first + second)
    assert all(gpu_memory_growth())

