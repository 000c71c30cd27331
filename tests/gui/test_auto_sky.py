"""Auto sky in the real window (issue 13, "In the window"): with no model at all, one click
on the toolbar's Auto Sky button (or Ctrl+Shift+K) shows a sky mask of a real HDR panorama
as the prediction overlay; Ctrl+Return turns it into polygons, one undo step; "Auto Sky
for All Images" (Ctrl+Alt+K) predicts every image of a project and can be cancelled."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QTableWidget

from skysegui.core.metrics import confusion
from skysegui.core.predictions import prediction_paths, read_source
from skysegui.core.synthetic import write_demo_project
from skysegui.ml.autosky_predict import AUTO_SKY
from tests.gui._window import make_window, open_and_wait

WAIT_MS = 60_000  # about a second of work, on a shared 2-core machine
CTRL = Qt.KeyboardModifier.ControlModifier
CTRL_SHIFT = CTRL | Qt.KeyboardModifier.ShiftModifier
CTRL_ALT = CTRL | Qt.KeyboardModifier.AltModifier


def _truth(gt_dir, name: str) -> np.ndarray:
    return cv2.imread(str(gt_dir / f"{name}.png"), cv2.IMREAD_UNCHANGED)  # 0/1, 255 ignored


def _click_toolbar(qtbot, win, action) -> None:
    button = win.toolbar.widgetForAction(action)
    assert button is not None and button.isVisible(), f"{action.text()} is not on the toolbar"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _sky_annotations(win) -> list:
    image_id = win.session.image_id(win.current_path)
    return list(win.session.labels.annotations_for(image_id))


@pytest.fixture
def city_project(tmp_path, hdri_dir):
    """A project with one real panorama, no labels and no model of its own."""
    images = tmp_path / "proj" / "images"
    images.mkdir(parents=True)
    shutil.copy(hdri_dir / "city.exr", images / "city.exr")
    return tmp_path / "proj"


def test_auto_sky_is_on_the_toolbar_in_the_tools_menu_and_in_the_help_list(qtbot, tmp_path):
    win = make_window(qtbot, tmp_path / "settings.ini")
    a = win.actions
    assert a.auto_sky.shortcut().toString() == "Ctrl+Shift+K"
    assert a.auto_sky_all.shortcut().toString() == "Ctrl+Alt+K"
    assert win.toolbar.widgetForAction(a.auto_sky).text() == "Auto Sky"
    tools = next(x.menu() for x in win.menuBar().actions() if x.text().replace("&", "") == "Tools")
    assert a.auto_sky in tools.actions() and a.auto_sky_all in tools.actions()
    every_key = [k.toString() for x in win.findChildren(type(a.auto_sky)) for k in x.shortcuts()]
    assert every_key.count("Ctrl+Shift+K") == 1 and every_key.count("Ctrl+Alt+K") == 1
    dialog = win.show_shortcuts()
    table = dialog.findChild(QTableWidget)
    rows = {table.item(i, 0).text(): table.item(i, 1).text() for i in range(table.rowCount())}
    dialog.close()
    assert "K" in rows["Auto Sky (This Image)"] and "K" in rows["Auto Sky for All Images"]


def test_one_click_auto_sky_on_a_real_panorama_then_accept_undo_redo(qtbot, tmp_path, city_project, gt_dir):
    win = make_window(qtbot, tmp_path / "settings.ini")
    open_and_wait(qtbot, win, city_project)
    learning = win.learning
    assert learning.prediction.model_folder is None  # no model anywhere: auto sky needs none
    with qtbot.waitSignal(learning.prediction.runFinished, timeout=WAIT_MS) as finished:
        _click_toolbar(qtbot, win, win.actions.auto_sky)
        assert learning.prediction.busy and learning.prediction.cancel_button.isEnabled()
    assert finished.args == [False]

    prediction = learning.current_prediction
    assert prediction is not None and prediction.source == AUTO_SKY
    overlay = win.view.prediction_overlay.mask
    assert overlay is not None and overlay.shape == (512, 1024)
    assert np.array_equal(overlay > 0, prediction.mask > 0)  # the overlay shows the prediction
    iou = confusion(prediction.mask, _truth(gt_dir, "city")).iou
    assert iou > 0.9, iou
    # named as auto sky in the dock and in the status bar, never as a model's prediction
    assert "% sky (auto sky)" in learning.prediction.status_label.text()
    assert win.statusBar().currentMessage().startswith("city.exr: ")
    assert "(auto sky)" in win.statusBar().currentMessage()
    # saved with the project's predictions, its source named beside the files
    paths = prediction_paths(city_project / "predictions", "city.exr")
    assert paths.exists() and paths.prob is not None and paths.uncertainty.exists()
    assert read_source(paths)[0] == AUTO_SKY

    assert _sky_annotations(win) == []
    with qtbot.waitSignal(learning.accepted, timeout=WAIT_MS) as accepted:  # traced off the GUI thread
        QTest.keyClick(win, Qt.Key.Key_Return, CTRL)
    count = accepted.args[0]
    assert count >= 1 and len(_sky_annotations(win)) == count
    assert win.undo_stack.count() == 1  # one undo step
    QTest.keyClick(win, Qt.Key.Key_Z, CTRL)
    assert _sky_annotations(win) == []
    QTest.keyClick(win, Qt.Key.Key_Z, CTRL_SHIFT)
    assert len(_sky_annotations(win)) == count


def test_auto_sky_on_a_lone_image_with_the_shortcut(qtbot, tmp_path, hdri_dir, gt_dir):
    """`skysegui sunset.exr`, Ctrl+Shift+K: a sky mask with no project, no model, no files."""
    image = tmp_path / "sunset.exr"
    shutil.copy(hdri_dir / "sunset.exr", image)
    win = make_window(qtbot, tmp_path / "settings.ini")
    open_and_wait(qtbot, win, image)
    learning = win.learning
    with qtbot.waitSignal(learning.prediction.runFinished, timeout=WAIT_MS):
        QTest.keyClick(win, Qt.Key.Key_K, CTRL_SHIFT)
    assert win.view.prediction_overlay.mask is not None
    iou = confusion(learning.current_prediction.mask, _truth(gt_dir, "sunset")).iou
    assert iou > 0.9, iou
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.ini", "sunset.exr"]  # nothing written
    # a lone image has no labels: accepting says how to keep the mask as polygons
    QTest.keyClick(win, Qt.Key.Key_Return, CTRL)
    assert "project" in win.statusBar().currentMessage()


def test_auto_sky_says_in_words_when_it_judged_a_real_interior_indoors(qtbot, tmp_path, hdri_dir):
    image = tmp_path / "interior.exr"
    shutil.copy(hdri_dir / "interior.exr", image)
    win = make_window(qtbot, tmp_path / "settings.ini")
    open_and_wait(qtbot, win, image)
    with qtbot.waitSignal(win.learning.prediction.runFinished, timeout=WAIT_MS):
        _click_toolbar(qtbot, win, win.actions.auto_sky)
    text = win.statusBar().currentMessage()
    assert "(auto sky)" in text and "indoors" in text, text
    assert win.learning.current_prediction.mask.mean() < 0.01


@pytest.fixture
def demo_project(tmp_path):
    return write_demo_project(tmp_path / "demo", count=3, width=256, height=128, labelled=0, seed=3)


def test_auto_sky_for_all_images_gives_a_prediction_per_image(qtbot, tmp_path, demo_project):
    win = make_window(qtbot, tmp_path / "settings.ini")
    open_and_wait(qtbot, win, demo_project.root)
    panel = win.learning.prediction
    received = []
    panel.predictionReady.connect(lambda path, pred: received.append((path, pred)))
    with qtbot.waitSignal(panel.runFinished, timeout=WAIT_MS) as finished:
        QTest.keyClick(win, Qt.Key.Key_K, CTRL_ALT)
    assert finished.args == [False]
    images = list(win.session.images)
    assert [p for p, _ in received] == images and len(images) == 3
    assert all(pred.source == AUTO_SKY and pred.mask.shape == (128, 256) for _, pred in received)
    assert set(panel.scores) == set(images)  # "sort by uncertainty" works as for a model
    for path in images:
        paths = prediction_paths(demo_project.predictions_dir, path)
        assert paths.exists() and read_source(paths)[0] == AUTO_SKY
    assert win.view.prediction_overlay.mask is not None  # the shown image's prediction


def test_auto_sky_for_all_images_can_be_cancelled(qtbot, tmp_path, demo_project):
    win = make_window(qtbot, tmp_path / "settings.ini")
    open_and_wait(qtbot, win, demo_project.root)
    panel = win.learning.prediction
    with qtbot.waitSignal(panel.runFinished, timeout=WAIT_MS) as finished:
        win.actions.auto_sky_all.trigger()
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert finished.args == [True]
    assert panel.status_label.text() == "Auto sky cancelled"
    assert len(panel.scores) < 3
    assert panel.auto_sky_button.isEnabled() and not panel.cancel_button.isEnabled()


def test_a_saved_auto_sky_prediction_is_named_when_the_project_opens_again(qtbot, tmp_path, city_project):
    win = make_window(qtbot, tmp_path / "settings.ini")
    open_and_wait(qtbot, win, city_project)
    with qtbot.waitSignal(win.learning.prediction.runFinished, timeout=WAIT_MS):
        QTest.keyClick(win, Qt.Key.Key_K, CTRL_SHIFT)
    saved = win.learning.current_prediction.mask.copy()
    win.close()

    again = make_window(qtbot, tmp_path / "settings2.ini")
    open_and_wait(qtbot, again, city_project)
    qtbot.waitUntil(lambda: again.learning.current_prediction is not None, timeout=WAIT_MS)
    assert np.array_equal(again.learning.current_prediction.mask, saved)
    assert again.statusBar().currentMessage() == "city.exr: saved prediction from auto sky"
