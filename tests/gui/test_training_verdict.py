"""Issue 19 in the window: the training dock's defaults, the score beside the trivial
masks, and a model that has not learnt never becoming the prediction model by itself."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest
from PySide6.QtCore import Qt

from skysegui.core.synthetic import write_demo_project
from skysegui.ml.defaults import run_defaults
from tests.gui._window import make_window, open_and_wait

pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path):
    return write_demo_project(tmp_path / "p", count=4, width=256, height=128, labelled=3, seed=7)


def test_the_dock_trains_its_defaults_and_shows_the_score_beside_the_baselines(qtbot, tmp_path, project):
    win = make_window(qtbot, tmp_path / "s.ini", size=(1200, 800))
    open_and_wait(qtbot, win, project.root)
    panel = win.learning.training
    d = run_defaults()
    # the dock offers what ml/defaults.py says (what the benchmark measured), a time budget included
    assert panel.preset.currentText() == d.preset
    assert panel.budget.value() == d.time_budget_min and "at most" in panel.estimate.text()
    assert panel.start_from.currentText() == "from scratch"  # no model yet
    config = panel.config()
    assert config.time_budget_min == d.time_budget_min and config.model.pixels_per_degree
    # the defaults, cut to a few steps so the test takes seconds
    config = dataclasses.replace(config, epochs=1, steps_per_epoch=3, batch_size=2)
    with qtbot.waitSignal(panel.model_ready, timeout=240_000) as done:
        panel.start(config)
    folder = done.args[0]
    text = panel.status.text()
    assert "all sky" in text and "no sky" in text and "mIoU" in text, text
    card = json.loads((folder / "card.json").read_text())
    assert {"val_miou", "val_all_sky_miou", "val_no_sky_miou"} <= set(card["metrics"])
    assert card["verdict"]["status"] in ("ok", "trivial", "unstable")
    assert card["pixels_per_degree"] == pytest.approx(config.model.pixels_per_degree)


def test_a_model_that_has_not_learnt_does_not_replace_the_prediction_model(qtbot, tmp_path, project):
    win = make_window(qtbot, tmp_path / "s.ini", size=(1200, 800))
    open_and_wait(qtbot, win, project.root)
    learning = win.learning
    # a real model folder, copied twice: one that learnt, one whose card says it has not
    good = _train_tiny(qtbot, learning.training, "good")
    assert learning.prediction.model_folder == good
    bad = good.parent / "collapsed"
    shutil.copytree(good, bad)
    card = json.loads((bad / "card.json").read_text())
    card["verdict"] = {"status": "trivial", "message": "the model calls every pixel sky: it has not learned yet"}
    (bad / "card.json").write_text(json.dumps(card))

    learning.training.model_ready.emit(bad)  # what the dock emits at the end of a run
    assert learning.prediction.model_folder == good  # the working model stays
    names = [learning.prediction.model_combo.itemText(i) for i in range(learning.prediction.model_combo.count())]
    assert "collapsed (has not learnt)" in names
    assert "not usable yet" in win.status.currentMessage() and "every pixel sky" in win.status.currentMessage()
    # picked by hand, it is named as such
    learning.prediction.set_model(bad)
    assert "not a working model" in learning.prediction.model_label.text()
    # the dock never offers it as a starting point
    learning.training._fill_start_models()
    starts = [learning.training.start_from.itemData(i) for i in range(learning.training.start_from.count())]
    assert str(good) in starts and str(bad) not in starts
    # reopening the project picks the newest model that learnt, not the newest
    open_and_wait(qtbot, win, project.root)
    assert learning.prediction.model_folder == good


def _train_tiny(qtbot, panel, name):
    from skysegui.ml.model import PRESETS

    config = panel.config()
    config = dataclasses.replace(config, model=dataclasses.replace(PRESETS["tiny"]), name=name, epochs=3,
                                 steps_per_epoch=20, batch_size=16, learning_rate=3e-3, time_budget_min=0,
                                 init_from="")
    with qtbot.waitSignal(panel.model_ready, timeout=240_000) as done:
        panel.start(config)
    qtbot.waitUntil(lambda: not panel.running, timeout=60_000)
    return done.args[0]


def test_start_from_offers_the_projects_working_model_and_fine_tunes(qtbot, tmp_path, project):
    win = make_window(qtbot, tmp_path / "s.ini", size=(1200, 800))
    open_and_wait(qtbot, win, project.root)
    panel = win.learning.training
    good = _train_tiny(qtbot, panel, "first")
    index = panel.start_from.findData(str(good))
    assert index >= 0
    panel.start_from.setCurrentIndex(index)
    assert not panel.preset.isEnabled()  # the network is the started model's
    assert panel.lr.value() == run_defaults().fine_tune_learning_rate
    assert panel.budget.value() == run_defaults().fine_tune_budget_min
    config = dataclasses.replace(panel.config(), epochs=1, steps_per_epoch=2, batch_size=8, name="second")
    with qtbot.waitSignal(panel.model_ready, timeout=240_000) as done:
        panel.start(config)
    card = json.loads((done.args[0] / "card.json").read_text())
    assert card["backbone"] == "mobilenetv2" and card["config"]["patch_size"] == 64  # tiny's network
    assert any("fine-tuned from first" in n for n in card["notes"])
    qtbot.keyClick(win, Qt.Key.Key_Escape)
