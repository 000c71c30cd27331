"""A training run in a long-lived process (the window) leaves no traced graph behind in
TensorFlow's global gradient registry (tensorflow#97697): ml/train/graph_release.py."""

from __future__ import annotations

import pytest

import skysegui.ml  # noqa: F401
from skysegui.core.synthetic import make_panorama
from skysegui.ml.augment import AugmentConfig
from skysegui.ml.data import array_sources, build_cache
from skysegui.ml.model import preset
from skysegui.ml.train import TrainConfig, Trainer
from skysegui.ml.train.graph_release import custom_gradient_names, release_run_graphs

pytestmark = pytest.mark.slow


def _run(cache, out):
    config = TrainConfig(model=preset("tiny"), epochs=1, steps_per_epoch=2, batch_size=4, early_stopping=0,
                         augment=AugmentConfig(), val_crops_per_image=2, seed=0)
    return Trainer(config, cache, out).run()


def test_a_finished_run_leaves_no_custom_gradient_holding_its_graph(tmp_path):
    panos = {f"day{i}": make_panorama(128, 64, seed=i, kind="day") for i in range(3)}
    cache = build_cache(array_sources({k: (p.pixels, p.sky) for k, p in panos.items()}), tmp_path / "c", "hdr_log")
    before = custom_gradient_names()
    _run(cache, tmp_path / "plain")
    leaked = custom_gradient_names() - before
    assert leaked, "tf-keras no longer registers custom gradients: graph_release.py may go"
    before = custom_gradient_names()
    with release_run_graphs():
        _run(cache, tmp_path / "released")
    assert custom_gradient_names() == before  # what this run registered is gone

