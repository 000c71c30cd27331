"""Training writes its curves into the model folder: curves.csv and TensorBoard event files,
the same numbers the progress listener (the GUI's curves) gets; resume appends."""

from __future__ import annotations

import glob
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

import skysegui.ml  # noqa: F401
from skysegui.core.synthetic import make_panorama
from skysegui.ml.augment import AugmentConfig
from skysegui.ml.data import array_sources, build_cache
from skysegui.ml.model import preset, read_card
from skysegui.ml.train import TrainConfig, Trainer
from skysegui.ml.train.curves import CurveLog, format_curves, read_curves

pytestmark = pytest.mark.slow


def _config(**kw) -> TrainConfig:
    base = dict(model=preset("tiny"), epochs=2,
                steps_per_epoch=3, batch_size=4, learning_rate=3e-3, early_stopping=0,
                augment=AugmentConfig(), val_crops_per_image=2, seed=0)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    panos = {f"day{i}": make_panorama(128, 64, seed=i, kind="day") for i in range(4)}
    return build_cache(array_sources({k: (p.pixels, p.sky) for k, p in panos.items()}),
                       tmp_path_factory.mktemp("cache"), "hdr_log")


@pytest.fixture(scope="module")
def trained(cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "logged"
    events = []
    result = Trainer(_config(), cache, out, listener=events.append).run()
    return out, result, [e for e in events if e.event == "epoch"]


def read_events(run_dir: Path) -> dict[str, dict[int, float]]:
    """{tag: {step: value}} of every event file in a TensorBoard run folder."""
    import tensorflow as tf

    values: dict[str, dict[int, float]] = defaultdict(dict)
    for path in sorted(glob.glob(str(run_dir / "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for v in event.summary.value:
                assert v.metadata.plugin_data.plugin_name == "scalars"
                values[v.tag][event.step] = float(tf.make_ndarray(v.tensor))
    return values


def test_the_csv_holds_the_numbers_the_listener_and_the_card_got(trained):
    out, result, epochs = trained
    rows = read_curves(out / "curves.csv")
    assert [r["epoch"] for r in rows] == [1, 2]
    header = (out / "curves.csv").read_text().splitlines()[0].split(",")
    assert header[:7] == ["epoch", "loss", "iou", "f1", "val_loss", "val_iou", "val_miou"]
    assert header[-3:] == ["lr", "seconds", "elapsed_s"]
    # the listener (the GUI's curves) got exactly these rows, and the numbers it showed
    assert [e.record for e in epochs] == rows
    for e, row in zip(epochs, rows, strict=True):
        assert (e.loss, e.iou, e.val_iou, e.val_miou) == (row["loss"], row["iou"], row["val_iou"], row["val_miou"])
        assert row["lr"] > 0 and row["seconds"] > 0
    assert rows[1]["elapsed_s"] > rows[0]["elapsed_s"]
    # the saved (best) model's card has the metrics of its epoch's row
    card = read_card(out)
    row = rows[card.epoch - 1]
    for key, value in card.metrics.items():
        assert row[key] == pytest.approx(value, rel=1e-12), key
    assert result.history["val_miou"] == [r["val_miou"] for r in rows]


def test_tensorboard_event_files_hold_one_scalar_per_epoch(trained):
    out, _, _ = trained
    rows = read_curves(out / "curves.csv")
    train, val = read_events(out / "logs" / "train"), read_events(out / "logs" / "validation")
    assert set(train["epoch_loss"]) == {1, 2}  # per epoch, not per step
    for row in rows:
        step = int(row["epoch"])
        assert train["epoch_loss"][step] == pytest.approx(row["loss"], rel=1e-6)
        assert train["epoch_lr"][step] == pytest.approx(row["lr"], rel=1e-6)
        assert val["epoch_loss"][step] == pytest.approx(row["val_loss"], rel=1e-6)
        assert val["epoch_miou"][step] == pytest.approx(row["val_miou"], rel=1e-6)
    assert read_events(out / "logs" / "check")["epoch_miou"]
    # and TensorBoard itself reads them, where it is installed
    accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    acc = accumulator.EventAccumulator(str(out / "logs" / "validation"))
    acc.Reload()
    assert [e.step for e in acc.Tensors("epoch_iou")] == [1, 2]


def test_resume_appends_to_the_curves(trained, cache):
    out, _, _ = trained
    before = read_curves(out / "curves.csv")
    Trainer(_config(epochs=3), cache, out, resume=True).run()
    rows = read_curves(out / "curves.csv")
    assert [r["epoch"] for r in rows] == [1, 2, 3] and rows[:2] == before
    assert rows[2]["elapsed_s"] > rows[1]["elapsed_s"]
    assert set(read_events(out / "logs" / "train")["epoch_loss"]) == {1, 2, 3}
    assert not (out / "curves.csv.bak").exists()  # appended, nothing replaced


def test_curve_log_keeps_the_done_epochs_on_resume_and_starts_afresh_otherwise(tmp_path):
    rows = [{"epoch": 1.0, "loss": 0.5, "lr": 1e-3, "seconds": 2.0, "elapsed_s": 2.0},
            {"epoch": 2.0, "loss": 0.4, "lr": 1e-3, "seconds": 2.0, "elapsed_s": 4.0},
            {"epoch": 3.0, "loss": 0.3, "lr": 1e-3, "seconds": 2.0, "elapsed_s": 6.0}]
    (tmp_path / "curves.csv").write_text(format_curves(rows))
    assert read_curves(tmp_path / "curves.csv") == rows  # floats come back exactly
    # resumed after epoch 2 (epoch 3's row came after the last saved state): it goes
    log = CurveLog(tmp_path, resume_epoch=2)
    assert log.rows == rows[:2] and log.elapsed_before == 4.0
    log.add({"epoch": 3.0, "loss": 0.25, "lr": 5e-4, "seconds": 1.0, "elapsed_s": 5.0})
    log.close()
    assert [r["loss"] for r in read_curves(tmp_path / "curves.csv")] == [0.5, 0.4, 0.25]
    # a new run into the same folder: old curves kept as .bak, the CSV starts again
    fresh = CurveLog(tmp_path)
    fresh.add({"epoch": 1.0, "loss": 0.9, "seconds": 1.0, "elapsed_s": 1.0})
    fresh.close()
    assert [r["loss"] for r in read_curves(tmp_path / "curves.csv")] == [0.9]
    assert len(read_curves(tmp_path / "curves.csv.bak")) == 3
    assert set(read_events(tmp_path / "logs" / "train")["epoch_loss"]) == {1}
    assert np.isfinite(fresh.elapsed_before)
