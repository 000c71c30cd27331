"""Training on small synthetic panoramas with a real tiny segmentation_models U-Net (CPU)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import skysegui.ml  # noqa: F401
from skysegui.core.progress import CancelToken
from skysegui.core.synthetic import make_panorama
from skysegui.ml.augment import AugmentConfig
from skysegui.ml.data import array_sources, build_cache, validation_crops
from skysegui.ml.model import load_model, preset
from skysegui.ml.train import TrainConfig, Trainer

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _config(**kw) -> TrainConfig:
    base = dict(model=preset("tiny"), epochs=3, steps_per_epoch=20, batch_size=16, learning_rate=3e-3,
                early_stopping=0, augment=AugmentConfig(), val_crops_per_image=8, seed=0)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    panos = {f"day{i}": make_panorama(256, 128, seed=i, kind="day") for i in range(10)}
    return build_cache(array_sources({k: (p.pixels, p.sky) for k, p in panos.items()}),
                       tmp_path_factory.mktemp("cache"), "hdr_log")


@pytest.fixture(scope="module")
def trained(cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "tiny"
    events = []
    result = Trainer(_config(), cache, out, listener=events.append).run()
    return out, result, events


def _iou(prob, truth):
    p, t = prob > 0.5, truth > 0.5
    return (p & t).sum() / max(1, (p | t).sum())


def test_a_small_model_learns_the_sky(trained, cache):
    out, result, events = trained
    assert not result.cancelled and result.epochs_done == 3
    assert result.best_val_iou >= 0.9
    # the saved best model, loaded on its own, segments the unseen validation images
    loaded = load_model(out)
    # (the region split, the default: every image trains; a band of each, never cropped for
    # training, validates)
    dataset = loaded.card.dataset
    val_names, bands = dataset["val_images"], {n: tuple(b) for n, b in dataset["val_regions"].items()}
    assert val_names and sorted(bands) == val_names and dataset["train_images"] == sorted(cache.names)
    vx, vy = validation_crops(cache, val_names, 64, max_per_image=8, bands=bands)
    scored = vy <= 1  # the pixels of the bands only
    assert _iou(loaded.model.predict(vx, verbose=0)[scored], vy[scored]) >= 0.9
    assert loaded.card.metrics["val_iou"] == pytest.approx(result.best_val_iou)
    # progress came per batch and per epoch, with throughput and ETA
    batches = [e for e in events if e.event == "batch"]
    assert len(batches) == 3 * 20 and batches[-1].crops_per_s > 0
    assert [e.epoch for e in events if e.event == "epoch"] == [1, 2, 3]
    assert batches[0].eta_s > batches[-1].eta_s
    assert (out / "last" / "state.json").is_file()


def test_resume_continues_from_the_saved_epoch_and_cancel_keeps_a_loadable_model(trained, cache):
    out, first, _ = trained
    token = CancelToken()
    events = []

    def listener(p):
        events.append(p)
        if p.event == "batch" and p.epoch == 5 and p.batch == 2:
            token.cancel()

    result = Trainer(_config(epochs=6, steps_per_epoch=5), cache, out, cancel=token, listener=listener,
                     resume=True).run()
    # resumed at epoch 4 (the fixture finished 3), finished it, then stopped within one batch
    assert [e.epoch for e in events if e.event == "epoch"] == [4]
    assert max(e.batch for e in events if e.event == "batch" and e.epoch == 5) == 2
    assert result.cancelled and result.epochs_done == 4
    assert len(result.history["val_iou"]) == 4
    assert result.history["val_iou"][:3] == pytest.approx(first.history["val_iou"])
    state = json.loads((out / "last" / "state.json").read_text())
    assert state["epoch"] == 4
    last = load_model(out / "last")
    assert any("cancelled during epoch 5" in n for n in last.card.notes)
    assert last.model.predict(np.zeros((1, 64, 64, 3), np.float32), verbose=0).shape == (1, 64, 64, 1)
    assert load_model(out).card.metrics["val_iou"] == pytest.approx(result.best_val_iou)


MIRRORED = textwrap.dedent("""
    import sys
    import skysegui.ml
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from skysegui.core.synthetic import make_panorama
    from skysegui.ml.augment import AugmentConfig
    from skysegui.ml.data import array_sources, build_cache
    from skysegui.ml.model import preset
    from skysegui.ml.train import TrainConfig, Trainer
    out = sys.argv[1]
    panos = {f"p{i}": make_panorama(128, 64, seed=i, kind="day") for i in range(3)}
    cache = build_cache(array_sources({k: (p.pixels, p.sky) for k, p in panos.items()}), out + "/cache", "hdr_log")
    cfg = TrainConfig(model=preset("tiny"), epochs=1, steps_per_epoch=3, batch_size=4, early_stopping=0,
                      augment=AugmentConfig(), val_crops_per_image=2, strategy="mirrored")
    steps = []
    r = Trainer(cfg, cache, out + "/model", listener=lambda p: steps.append(p.batch) if p.event == "batch" else None).run()
    print("NOTES", r.notes)
    print("STEPS", steps)
""")


def test_mirrored_strategy_over_two_logical_cpus_takes_steps(tmp_path):
    proc = subprocess.run([sys.executable, "-c", MIRRORED, str(tmp_path)], capture_output=True, text=True,
                          timeout=240, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "MirroredStrategy over 2 devices" in proc.stdout
    assert "STEPS [1, 2, 3]" in proc.stdout
    assert load_model(tmp_path / "model").card.extra["training"]["strategy"] == "mirrored"


def test_example_configs_are_valid():
    """The built-in configs (package data) and the built-in model's recipe."""
    configs = sorted([*(REPO / "skysegui" / "resources" / "configs").glob("*.toml"),
                      *(REPO / "training" / "configs").glob("*.toml")])
    assert len(configs) >= 6
    for path in configs:
        TrainConfig.from_toml(path).validate()
