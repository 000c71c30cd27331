"""The window's composition: menus with shortcuts, docks and the panel hook, status readout,
errors as messages, remembered settings, tone, layers and image-list panels."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QTableWidget

from skysegui.core.imageio import write_exr
from skysegui.core.tonemap import ToneSettings, auto_exposure
from skysegui.gui.app import save_window_picture
from skysegui.gui.main_window import MainWindow
from skysegui.gui.messages import open_error_boxes
from skysegui.gui.panels.image_list import ImageList
from skysegui.gui.settings import AppSettings, ini_settings
from tests.gui._window import make_window, open_and_wait


@pytest.fixture
def window(qtbot, tmp_path):
    return make_window(qtbot, tmp_path / "settings.ini")


@pytest.fixture
def small_exr(tmp_path):
    """A 64 x 32 HDR panorama with a known pixel value everywhere."""
    pixels = np.zeros((32, 64, 3), np.float32)
    pixels[..., 0] = np.linspace(0.01, 8.0, 64)[None, :]
    pixels[..., 1] = 0.5
    pixels[..., 2] = np.linspace(0.02, 2.0, 32)[:, None]
    path = tmp_path / "small.exr"
    write_exr(path, pixels, half=False)
    return path, pixels


def test_menus_hold_every_action_with_its_shortcut(window):
    menus = {m.title().replace("&", ""): m for m in (a.menu() for a in window.menuBar().actions())}
    assert list(menus) == ["File", "Edit", "View", "Tools", "Help"]
    texts = {name: [a.text().replace("&", "") for a in m.actions()] for name, m in menus.items()}
    assert {"Open Project...", "Open Label File...", "Open Image...", "Save Labels", "Export...", "Quit"} <= set(texts["File"])
    shortcuts = {a.text().replace("&", ""): a.shortcut().toString() for m in menus.values() for a in m.actions()}
    assert shortcuts["Save Labels"] == "Ctrl+S"
    assert shortcuts["Fit to Window"] == "F"
    assert shortcuts["Actual Pixels (100 %)"] == "Ctrl+1"
    assert window.undo_action.shortcut().toString() == "Ctrl+Z"
    assert [k.toString() for k in window.redo_action.shortcuts()] == ["Ctrl+Shift+Z", "Ctrl+Y"]
    if window.editor is not None:
        tool_keys = {a.shortcut().toString() for a in menus["Tools"].actions()}
        assert {"V", "P", "H", "O", "B", "E"} <= tool_keys
    # no key does two things (Qt would then do neither)
    keys = [k.toString() for m in menus.values() for a in m.actions() for k in a.shortcuts()]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
    # the Help list shows every shortcut of the menus
    dialog = window.show_shortcuts()
    table = dialog.findChild(QTableWidget)
    listed = {table.item(i, 0).text() for i in range(table.rowCount())}
    for menu in menus.values():
        for action in menu.actions():
            if not action.shortcut().isEmpty():
                assert action.text().replace("&", "") in listed
    dialog.close()


def test_docks_and_the_panel_hook(window):
    titles = {d.windowTitle() for d in window.docks.values()}
    assert titles == {"Images", "Tone Map", "Layers", "History"}
    dock = window.add_panel("Training", QLabel("curves"), Qt.DockWidgetArea.BottomDockWidgetArea)
    assert window.dockWidgetArea(dock) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert dock.toggleViewAction() in window.panels_menu.actions()


def test_status_bar_reads_the_linear_pixel_under_the_cursor(window, qtbot, small_exr):
    path, pixels = small_exr
    open_and_wait(qtbot, window, path)
    assert window.status.range_label.text().startswith("DR ")
    window.view.set_zoom(8.0, anchor=QPointF(32, 16))
    QTest.mouseMove(window.view.viewport(), window.view.mapFromScene(QPointF(40.5, 10.5)))
    text = window.status.pixel_label.text()
    assert "x 40  y 10" in text
    r = float(np.float16(pixels[10, 40, 0]))  # the display copy is half float
    assert f"R {r:.4f}" in text  # the linear value, not the display value
    assert "800 %" in window.status.zoom_label.text()
    if window.editor is not None:  # a drawing tool takes the moves; the readout still follows
        window.editor.set_tool("polygon")
        QTest.mouseMove(window.view.viewport(), window.view.mapFromScene(QPointF(30.5, 12.5)))
        assert "x 30  y 12" in window.status.pixel_label.text()


def test_a_bad_file_shows_a_message_and_the_app_keeps_working(window, qtbot, tmp_path, hdri_dir):
    broken = tmp_path / "broken.exr"
    broken.write_bytes(b"")
    with qtbot.waitSignal(window.loader.failed, timeout=10000):
        window.open_path(broken)
    boxes = open_error_boxes()
    assert boxes and "Traceback" not in boxes[0].text()
    assert "broken.exr" in boxes[0].text() or "empty" in boxes[0].text().lower()
    for box in boxes:
        box.close()
    assert not window.open_path(tmp_path / "does-not-exist")
    assert open_error_boxes()
    for box in open_error_boxes():
        box.close()
    open_and_wait(qtbot, window, hdri_dir / "city.exr")
    assert window.view.fully_rendered


def test_layout_and_recent_projects_are_remembered(qtbot, tmp_path, small_exr):
    settings_file = tmp_path / "remember.ini"
    first = make_window(qtbot, settings_file)
    open_and_wait(qtbot, first, small_exr[0])
    first.docks["history"].hide()
    training = first.add_panel("Training", QLabel("curves"), Qt.DockWidgetArea.BottomDockWidgetArea)
    training.hide()
    first.tone_panel.exposure_box.setValue(1.5)
    first.close()
    second = MainWindow(settings=AppSettings(ini_settings(settings_file)), ask=lambda k, t: "discard")
    qtbot.addWidget(second)
    panel = second.add_panel("Training", QLabel("curves"))  # panels added before the first show
    second.show()
    assert second.settings.recent()[0] == str(small_exr[0].resolve())
    assert not second.docks["history"].isVisible()
    assert not panel.isVisible()  # its remembered state applies too
    assert second.dockWidgetArea(panel) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert second.tone_panel.settings.exposure == pytest.approx(1.5)
    second.recent_menu.aboutToShow.emit()
    assert [a.text() for a in second.recent_menu.actions()] == [str(small_exr[0].resolve())]


def test_tone_panel_controls_and_auto_exposure(window, qtbot, small_exr):
    open_and_wait(qtbot, window, small_exr[0])
    panel = window.tone_panel
    panel.exposure_slider.setValue(25)
    assert panel.exposure_box.value() == pytest.approx(2.5)
    assert window.view.tone.exposure == pytest.approx(2.5)
    panel.operator_combo.setCurrentIndex(panel.operator_combo.findData("reinhard"))
    assert window.view.tone.operator == "reinhard"
    assert not panel.gamma_box.isEnabled()
    panel.operator_combo.setCurrentIndex(panel.operator_combo.findData("gamma"))
    assert panel.gamma_box.isEnabled()
    panel.gamma_box.setValue(1.8)
    assert window.view.tone == ToneSettings(exposure=2.5, gamma=1.8, operator="gamma")
    panel.auto_button.click()
    expected = auto_exposure(window.current.preview.astype(np.float32))
    assert window.view.tone.exposure == pytest.approx(expected, abs=0.01)


def test_layers_panel_drives_the_overlays(window, qtbot, small_exr):
    open_and_wait(qtbot, window, small_exr[0])
    prob = np.zeros((32, 64), np.float32)
    prob[:10] = 0.9
    prob[10:12] = 0.4
    window.set_prediction(prob)
    overlay = window.view.prediction_overlay
    assert overlay.mask[:10].all() and not overlay.mask[10:].any()
    row = window.layers_panel.rows["prediction"]
    row.opacity.setValue(70)
    assert all(i.opacity() == pytest.approx(0.7) for i in overlay.items if i.pos().x() == 0)
    assert row.opacity_label.text() == "70 %"
    row.outline.setChecked(True)
    assert overlay.style.outline
    window.actions.toggle_prediction.trigger()
    assert not overlay.style.visible and not overlay.items
    assert not row.visible.isChecked()


def test_image_list_filters_and_sorts_by_score(qtbot, tmp_path):
    lst = ImageList()
    qtbot.addWidget(lst)
    paths = [tmp_path / n for n in ("b.exr", "a.exr", "c.exr")]
    lst.set_images([(paths[0], True), (paths[1], False), (paths[2], True)])
    assert [p.name for p in lst.visible_paths()] == ["a.exr", "b.exr", "c.exr"]
    lst.status_filter.setCurrentIndex(2)  # unlabelled
    assert [p.name for p in lst.visible_paths()] == ["a.exr"]
    lst.status_filter.setCurrentIndex(0)
    lst.search.setText("c")
    assert [p.name for p in lst.visible_paths()] == ["c.exr"]
    lst.search.setText("")
    assert lst.tree.isColumnHidden(2)  # no scores yet: no score column
    lst.set_scores({paths[0]: 0.2, paths[1]: 0.9, paths[2]: 0.05})
    assert not lst.tree.isColumnHidden(2)
    lst.sort_by_score(descending=True)
    assert [p.name for p in lst.visible_paths()] == ["a.exr", "b.exr", "c.exr"]
    lst.sort_by_score(descending=False)
    assert [p.name for p in lst.visible_paths()] == ["c.exr", "b.exr", "a.exr"]
    with qtbot.waitSignal(lst.imageActivated) as blocker:
        lst.tree.itemClicked.emit(lst.tree.topLevelItem(0), 0)
    assert blocker.args[0].name == "c.exr"


def test_window_picture_is_written(window, qtbot, tmp_path, small_exr):
    open_and_wait(qtbot, window, small_exr[0])
    out = tmp_path / "shot" / "window.png"
    save_window_picture(window, out)
    import cv2

    picture = cv2.imread(str(out))
    assert picture.shape[:2] == (window.height(), window.width())
    shutil.rmtree(out.parent)


def test_export_needs_a_project_and_then_opens_the_export_dialog(window, qtbot, tmp_path, hdri_dir, small_exr):
    open_and_wait(qtbot, window, small_exr[0])
    window.actions.export.trigger()
    boxes = open_error_boxes()
    assert boxes and "project" in boxes[0].text()
    for box in boxes:
        box.close()
    project = tmp_path / "project"
    (project / "images").mkdir(parents=True)
    shutil.copy(hdri_dir / "city.exr", project / "images" / "city.exr")
    open_and_wait(qtbot, window, project)
    window.actions.export.trigger()
    from skysegui.gui.dialogs.export_dialog import ExportDialog

    dialogs = [w for w in window.findChildren(ExportDialog) if w.isVisible()]
    assert len(dialogs) == 1 and dialogs[0].current == project / "images" / "city.exr"
    dialogs[0].close()


def test_project_images_get_thumbnails_in_the_background(window, qtbot, tmp_path, hdri_dir):
    project = tmp_path / "project"
    (project / "images").mkdir(parents=True)
    for name in ("city.exr", "sunset.exr"):
        shutil.copy(hdri_dir / name, project / "images" / name)
    open_and_wait(qtbot, window, project)
    tree = window.image_list.tree

    def icons_set():
        items = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
        assert all(not item.icon(0).isNull() for item in items)

    qtbot.waitUntil(icons_set, timeout=20000)
    from skysegui.core.imageio import read_image
    from skysegui.core.tonemap import tonemap
    from skysegui.gui.workers.load_worker import make_thumbnail

    thumb = make_thumbnail(hdri_dir / "city.exr", ToneSettings())
    assert thumb.shape == (64, 128, 3) and thumb.dtype == np.uint8
    full = tonemap(read_image(hdri_dir / "city.exr").pixels, ToneSettings()).astype(np.float32)
    # the same picture, smaller: top (sky) bright, bottom (ground) darker, like the full image
    assert abs(thumb[:20].mean() - full[:160].mean()) < 12
    assert abs(thumb[-20:].mean() - full[-160:].mean()) < 12
