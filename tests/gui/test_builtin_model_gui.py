"""The built-in sky model in the real window: the prediction dock uses it when the project
has no model of its own (or there is no project), names it and shows its card's figures;
a project's own working model wins; without it the dock says "No model" as before."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from skysegui.core.synthetic import write_demo_project
from skysegui.ml.builtin_model import BUILTIN_NAME, ENV_VAR
from tests._builtin import make_builtin_model
from tests.gui._window import make_window, open_and_wait

WAIT_MS = 120_000


@pytest.fixture(scope="module")
def builtin_dir(tmp_path_factory):
    return make_builtin_model(tmp_path_factory.mktemp("builtin") / "builtin_model")


@pytest.fixture
def with_builtin(monkeypatch, builtin_dir):
    monkeypatch.setenv(ENV_VAR, str(builtin_dir))
    return builtin_dir


@pytest.fixture
def project(tmp_path):
    return write_demo_project(tmp_path / "p", count=2, width=128, height=64, labelled=1, seed=3)


def _combo_texts(panel) -> list[str]:
    return [panel.model_combo.itemText(i) for i in range(panel.model_combo.count())]


def test_a_project_without_a_model_predicts_with_the_builtin_model(qtbot, tmp_path, project, with_builtin):
    win = make_window(qtbot, tmp_path / "s.ini", size=(1200, 800))
    open_and_wait(qtbot, win, project.root)
    panel = win.learning.prediction
    assert panel.model_folder == with_builtin
    assert panel.model_label.text() == BUILTIN_NAME == "built-in sky model"
    assert panel.model_info.isVisibleTo(panel)
    info = panel.model_info.text()
    assert "val mIoU 0.900" in info and "24 synthetic and 3 real panoramas" in info and "held out: city" in info
    assert _combo_texts(panel) == [BUILTIN_NAME]
    assert panel.predict_current_button.isEnabled()

    panel.predictor_options = {"tile": 64}
    got = []
    panel.predictionReady.connect(lambda path, p: got.append((path, p)))
    with qtbot.waitSignal(panel.runFinished, timeout=WAIT_MS):
        QTest.keyClick(win, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    ((path, prediction),) = got
    assert path == win.current_path and prediction.prob.shape == (64, 128)
    assert win.learning.current_prediction is prediction  # shown as the prediction overlay


def test_a_loose_image_gets_the_builtin_model(qtbot, tmp_path, project, with_builtin):
    win = make_window(qtbot, tmp_path / "s.ini")
    image = next(project.images_dir.glob("*.exr"))
    open_and_wait(qtbot, win, image)
    assert win.session.project is None
    assert win.learning.prediction.model_label.text() == BUILTIN_NAME


def test_the_project_model_wins_and_the_builtin_stays_in_the_list(qtbot, tmp_path, project, with_builtin):
    own = project.models_dir / "own-model"
    shutil.copytree(with_builtin, own)
    win = make_window(qtbot, tmp_path / "s.ini")
    open_and_wait(qtbot, win, project.root)
    panel = win.learning.prediction
    assert panel.model_folder == own and panel.model_label.text() == "own-model"
    assert _combo_texts(panel) == ["own-model", BUILTIN_NAME]
    panel.model_combo.activated.emit(1)  # the user picks the built-in model
    assert panel.model_folder == with_builtin and panel.model_label.text() == BUILTIN_NAME
    assert _combo_texts(panel) == [BUILTIN_NAME]


def test_without_the_builtin_model_the_dock_says_no_model(qtbot, tmp_path, project, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "not-built-yet"))  # a checkout before the recipe ran
    win = make_window(qtbot, tmp_path / "s.ini")
    open_and_wait(qtbot, win, project.root)
    panel = win.learning.prediction
    assert panel.model_folder is None and panel.model_label.text() == "No model"
    assert not panel.model_info.isVisibleTo(panel) and not panel.model_combo.isVisibleTo(panel)
    assert not panel.predict_current_button.isEnabled()


def test_a_new_project_trains_from_the_builtin_model_when_it_has_the_chosen_network(
        qtbot, tmp_path, project, with_builtin):
    """The stand-in built-in model is the tiny preset: chosen by default when the dock's
    preset is tiny, offered but not chosen for another network."""
    win = make_window(qtbot, tmp_path / "s.ini", size=(1200, 800))
    open_and_wait(qtbot, win, project.root)
    panel = win.learning.training
    items = [panel.start_from.itemText(i) for i in range(panel.start_from.count())]
    assert items == ["from scratch", f"fine-tune the {BUILTIN_NAME}"]
    assert panel.start_from.currentText() == "from scratch"  # the dock's cpu preset: another network

    other = make_window(qtbot, tmp_path / "s2.ini", size=(1200, 800))
    other.learning.training.preset.setCurrentText("tiny")
    open_and_wait(qtbot, other, project.root)  # a second window: opened read-only or anyway
    panel = other.learning.training
    assert panel.start_from.currentText() == f"fine-tune the {BUILTIN_NAME}"
    assert not panel.preset.isEnabled()  # the network is the built-in model's
    assert panel.lr.value() == panel.defaults.fine_tune_learning_rate
    panel.start_from.setCurrentIndex(0)
    assert panel.preset.isEnabled() and panel.lr.value() == panel.defaults.learning_rate
