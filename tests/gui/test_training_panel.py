"""The training panel trains a tiny model in its worker thread, shows progress, and cancels."""

from __future__ import annotations

from pathlib import Path

import pytest

from skysegui.core.synthetic import write_demo_project
from skysegui.gui.panels.training_panel import TrainingPanel, format_eta

pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path):
    return write_demo_project(tmp_path / "p", count=4, width=256, height=128, labelled=3, seed=3)


def test_panel_trains_in_the_worker_shows_progress_and_cancels(qtbot, project):
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    assert not panel.start_button.isEnabled()  # nothing to train on yet
    panel.set_project(project)
    panel.preset.setCurrentText("tiny")
    assert panel.patch.value() == 64
    panel.epochs.setValue(50)
    panel.steps.setValue(1000)
    panel.batch.setValue(2)
    panel.name.setText("from-panel")
    ready = []
    panel.model_ready.connect(ready.append)

    qtbot.mouseClick(panel.start_button, qtbot_button())
    assert panel.running and panel.cancel_button.isEnabled() and not panel.start_button.isEnabled()
    # the GUI thread keeps processing events while the worker trains
    qtbot.waitUntil(lambda: len(panel.curve("loss")) >= 2, timeout=180_000)
    assert "crops/s" in panel.rate.text() and "ETA" in panel.rate.text()
    assert panel.bar.value() >= 2
    qtbot.mouseClick(panel.cancel_button, qtbot_button())
    assert panel.shutdown(60_000)  # what the window calls on close: waits for the thread, no deadlock
    qtbot.waitUntil(lambda: not panel.running, timeout=60_000)

    assert ready == [Path(project.models_dir) / "from-panel"]
    from skysegui.ml.model import list_models, load_model

    assert list_models(project.models_dir) == [ready[0]]
    loaded = load_model(ready[0])
    assert loaded.card.config.backbone == "mobilenetv2"
    assert "cancelled" in panel.status.text()
    assert panel.start_button.isEnabled()
    # cancelled long before the end: far fewer batches than epochs * steps
    assert panel.bar.value() < 50


def test_panel_reports_user_errors_instead_of_crashing(qtbot, tmp_path):
    from skysegui.core.project import Project

    empty = Project.create(tmp_path / "empty")
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.set_project(empty)
    errors = []
    panel.error.connect(errors.append)
    panel.preset.setCurrentText("tiny")
    qtbot.mouseClick(panel.start_button, qtbot_button())
    qtbot.waitUntil(lambda: not panel.running, timeout=120_000)
    assert errors and "label" in errors[0]
    assert panel.status.text().startswith("error:")


def test_eta_format():
    assert format_eta(75) == "1:15" and format_eta(3725) == "1:02:05"


def qtbot_button():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton
