"""The training dock's curves show the numbers the run wrote to the model's curves.csv."""

from __future__ import annotations

import dataclasses

import pytest

from skysegui.core.synthetic import write_demo_project
from skysegui.ml.train.curves import read_curves
from tests.gui._window import make_window, open_and_wait

pytestmark = pytest.mark.slow


def test_the_docks_curves_are_the_csvs_numbers(qtbot, tmp_path):
    from skysegui.ml.model import PRESETS

    project = write_demo_project(tmp_path / "p", count=4, width=256, height=128, labelled=3, seed=5)
    win = make_window(qtbot, tmp_path / "s.ini", size=(1200, 800))
    open_and_wait(qtbot, win, project.root)
    panel = win.learning.training
    config = dataclasses.replace(panel.config(), model=dataclasses.replace(PRESETS["tiny"]), name="curves",
                                 epochs=2, steps_per_epoch=3, batch_size=4, time_budget_min=0, init_from="",
                                 early_stopping=0)
    with qtbot.waitSignal(panel.model_ready, timeout=240_000) as done:
        panel.start(config)
    qtbot.waitUntil(lambda: not panel.running, timeout=60_000)
    folder = done.args[0]
    rows = read_curves(folder / "curves.csv")
    assert [r["epoch"] for r in rows] == [1, 2]

    view = panel.curves_view
    view.build()  # the plots are made when first painted; the dock may sit behind a tab

    def shown(key):
        """(x, y) of the plotted line, as the plot holds them."""
        xs, ys = view.lines[key].getData()
        return {float(x): float(y) for x, y in zip(xs, ys, strict=True)}

    for key in ("loss", "iou", "val_loss", "val_iou", "val_miou"):
        points = shown(key)
        for row in rows:
            assert points[row["epoch"]] == row[key], (key, row["epoch"])
    # the validation lines hold one point per epoch: exactly the CSV's column
    assert shown("val_miou") == {r["epoch"]: r["val_miou"] for r in rows}
    # the training lines also move within an epoch (running means per batch), ending on the row
    assert len(shown("loss")) == 2 * 3
    assert "curves.csv" in panel.logs_label.text() and "tensorboard --logdir" in panel.logs_label.text()
