"""Issue 5's test list in the real MainWindow (not a bare view): the shared city.exr with the
shared Label Studio COCO, driven by mouse and keys on the window's own ImageView the way an
artist drives it: exposure, drag/insert/delete a vertex, draw a polygon, brush-erase a hole,
undo and redo all of it with the shortcuts, Ctrl+S and reload equal."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QImage, QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from skysegui.core.annotations import SKY, coco_dict, load_labels, sky_mask
from skysegui.gui.main_window import MainWindow
from skysegui.gui.settings import AppSettings, ini_settings
from tests._city import city_project

NO_MOD = Qt.KeyboardModifier.NoModifier
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def project(tmp_path, hdri_dir, label_studio_dir):
    root = city_project(tmp_path / "project", hdri_dir, label_studio_dir / "city_coco.json")
    return root


@pytest.fixture
def window(qtbot, tmp_path):
    win = MainWindow(settings=AppSettings(ini_settings(tmp_path / "settings.ini")),
                     ask=lambda kind, _text: "discard")
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()  # window shortcuts (Ctrl+Z, Ctrl+S, P, E...) need the active window
    qtbot.waitActive(win)
    return win


class Pointer:
    """Mouse and keys on the window's viewer, in image (= scene) coordinates."""

    def __init__(self, win: MainWindow):
        self.win, self.view, self.vp = win, win.view, win.view.viewport()

    def at(self, x, y):
        return self.view.mapFromScene(QPointF(float(x), float(y)))

    def click(self, x, y):
        QTest.mouseClick(self.vp, LEFT, NO_MOD, self.at(x, y))

    def _move(self, p, buttons):
        event = QMouseEvent(QEvent.Type.MouseMove, QPointF(p), QPointF(self.vp.mapToGlobal(p)),
                            Qt.MouseButton.NoButton, buttons, NO_MOD)
        QApplication.sendEvent(self.vp, event)

    def drag(self, points):
        pts = [self.at(x, y) for x, y in points]
        QTest.mousePress(self.vp, LEFT, NO_MOD, pts[0])
        for p in pts[1:]:
            self._move(p, LEFT)
        QTest.mouseRelease(self.vp, LEFT, NO_MOD, pts[-1])

    def key(self, key, modifiers=NO_MOD):
        QTest.keyClick(self.view, key, modifiers)

    def shortcut(self, key, modifiers=NO_MOD):
        QTest.keyClick(self.win, key, modifiers)


def viewport_array(view) -> np.ndarray:
    image = view.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    buf = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * h)
    return buf.reshape(h, image.bytesPerLine())[:, : 3 * w].reshape(h, w, 3).copy()


def rings(labels, image_id) -> dict:
    """Every ring of every annotation of the image, by annotation id (comparable copies)."""
    return {
        a.id: (a.category_id, [(p.outer.copy(), [h.copy() for h in p.holes]) for p in a.polygons])
        for a in labels.annotations_for(image_id)
    }


def assert_same_rings(a: dict, b: dict, atol=0.0) -> None:
    assert sorted(a) == sorted(b)
    for aid in a:
        assert a[aid][0] == b[aid][0]
        assert len(a[aid][1]) == len(b[aid][1])
        for (oa, ha), (ob, hb) in zip(a[aid][1], b[aid][1], strict=True):
            np.testing.assert_allclose(oa, ob, atol=atol)
            assert len(ha) == len(hb)
            for x, y in zip(ha, hb, strict=True):
                np.testing.assert_allclose(x, y, atol=atol)


def test_the_issue_test_list_in_the_real_window(qtbot, window, project):
    win = window
    with qtbot.waitSignal(win.fullyLoaded, timeout=30000):
        assert win.open_path(project)
    labels = win.session.labels
    image_id = win.session.image_id(win.current.path)
    assert image_id is not None and win.current.width == 1024
    editor, stack, pointer = win.editor, win.undo_stack, Pointer(win)
    original = rings(labels, image_id)
    original_coco = coco_dict(labels)

    # the polygons appear at the right place: the drawn sky item covers exactly the model's ring
    sky = next(a for a in labels.annotations_for(image_id) if labels.role_of(a.category_id) == SKY)
    outer = sky.polygons[0].outer
    rect = editor.item(sky.id).path().boundingRect()
    assert (rect.left(), rect.top(), rect.right(), rect.bottom()) == pytest.approx(
        (*outer.min(axis=0), *outer.max(axis=0)))
    assert np.array_equal(win.view.label_overlay.mask, sky_mask(labels, image_id))

    # the exposure changes the picture in the window
    before = viewport_array(win.view).astype(np.int16)
    with qtbot.waitSignal(win.view.rendered, timeout=5000):
        win.tone_panel.exposure_slider.setValue(20)  # +2 EV
    after = viewport_array(win.view).astype(np.int16)
    assert (np.abs(after - before).max(axis=2) > 8).mean() > 0.2 and after.mean() > before.mean()

    # zoom in on a skyline vertex so that clicks land where an artist would put them
    inner = np.nonzero((outer[:, 0] > 100) & (outer[:, 0] < 924) & (outer[:, 1] > 100))[0]
    vi = int(inner[len(inner) // 2])
    x, y = outer[vi]
    win.view.set_zoom(4.0, anchor=QPointF(x, y))
    win.view.centerOn(QPointF(x, y))
    QApplication.processEvents()

    # drag a vertex with the mouse: the model's coordinate follows
    pointer.click(x, y)
    assert editor.selected_annotation() == sky.id
    pointer.drag([(x, y), (x + 2, y - 3), (x + 4, y - 6)])
    moved = labels.annotations[sky.id].polygons[0].outer
    np.testing.assert_allclose(moved[vi], (x + 4, y - 6), atol=0.5)
    assert stack.count() == 1

    # insert a vertex on an edge (click between two vertices), then delete it with Delete
    n = len(moved)
    a, b = moved[vi], moved[(vi + 1) % n]
    mid = (a + b) / 2
    pointer.click(*mid)
    assert len(labels.annotations[sky.id].polygons[0].outer) == n + 1
    inserted = labels.annotations[sky.id].polygons[0].outer
    assert np.min(np.hypot(*(inserted - mid).T)) < 0.5
    pointer.key(Qt.Key.Key_Delete)
    assert len(labels.annotations[sky.id].polygons[0].outer) == n
    assert stack.count() == 3

    # draw a polygon on the ground: P, click four vertices, Enter
    win.view.fit()
    QApplication.processEvents()
    pointer.shortcut(Qt.Key.Key_P)
    assert editor.tool == "polygon"
    ids_before = set(labels.annotations)
    square = [(600.0, 420.0), (700.0, 420.0), (700.0, 480.0), (600.0, 480.0)]
    for p in square:
        pointer.click(*p)
    pointer.key(Qt.Key.Key_Return)
    new = [labels.annotations[i] for i in set(labels.annotations) - ids_before]
    assert len(new) == 1
    drawn = new[0].polygons[0].outer
    assert drawn.shape == (4, 2)
    np.testing.assert_allclose(drawn, square, atol=1.5)  # 1 screen px at fit zoom

    # brush-erase a spot in the middle of the sky: a hole appears in the model and the overlay
    pointer.shortcut(Qt.Key.Key_E)
    assert editor.tool == "eraser"
    editor.set_brush_size(16)
    cx, cy = 512.0, 40.0
    assert sky_mask(labels, image_id)[int(cy), int(cx)] == 1
    pointer.drag([(cx - 12, cy), (cx, cy), (cx + 12, cy)])
    editor.paint_queue.wait()
    assert sky_mask(labels, image_id)[int(cy), int(cx)] == 0
    assert any(p.holes for a in labels.annotations_for(image_id) for p in a.polygons)
    qtbot.waitUntil(lambda: win.view.label_overlay.mask[int(cy), int(cx)] == 0, timeout=5000)
    final = rings(labels, image_id)
    edits = stack.count()
    assert edits == 5

    # undo all of it with Ctrl+Z, redo all of it with Ctrl+Shift+Z and Ctrl+Y
    for _ in range(edits):
        pointer.shortcut(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert stack.index() == 0 and not win.session.dirty
    assert_same_rings(rings(labels, image_id), original)
    assert coco_dict(labels) == original_coco
    for i in range(edits):
        if i % 2:
            pointer.shortcut(Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
        else:
            pointer.shortcut(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert stack.index() == edits and win.session.dirty
    assert_same_rings(rings(labels, image_id), final)

    # Ctrl+S saves; the saved file loads back equal, and a new window shows the same labels
    pointer.shortcut(Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert not win.session.dirty and (project / "labels.json.bak").exists()
    reloaded = load_labels(project / "labels.json").labels
    assert_same_rings(rings(reloaded, image_id), final, atol=1e-6)
    win.close()
    again = MainWindow(settings=AppSettings(ini_settings(project.parent / "again.ini")),
                       ask=lambda kind, _text: "discard")
    qtbot.addWidget(again)
    again.show()
    with qtbot.waitSignal(again.fullyLoaded, timeout=30000):
        assert again.open_path(project)
    assert_same_rings(rings(again.session.labels, image_id), final, atol=1e-6)
    assert np.array_equal(again.view.label_overlay.mask, sky_mask(reloaded, image_id))


def test_a_coco_file_with_its_panorama_beside_it_opens_with_its_labels(qtbot, window, tmp_path,
                                                                       hdri_dir, label_studio_dir):
    folder = tmp_path / "export"
    folder.mkdir()
    shutil.copy(hdri_dir / "city.exr", folder / "city.exr")
    shutil.copy(label_studio_dir / "city_coco.json", folder / "export.json")
    with qtbot.waitSignal(window.fullyLoaded, timeout=30000):
        assert window.open_path(folder / "export.json")
    assert window.current.path == folder / "city.exr"
    labels = window.session.labels
    image_id = window.session.image_id(window.current.path)
    assert image_id is not None and labels.annotations_for(image_id)
    assert np.array_equal(window.view.label_overlay.mask, sky_mask(labels, image_id))
    assert window.settings.recent()[0] == str((folder / "export.json").resolve())


def test_switching_projects_with_unsaved_edits_asks_first(qtbot, tmp_path, project):
    asked = []
    answer = {"unsaved": "cancel"}
    win = MainWindow(settings=AppSettings(ini_settings(tmp_path / "s.ini")),
                     ask=lambda kind, _text: asked.append(kind) or answer.get(kind, "cancel"))
    qtbot.addWidget(win)
    win.show()
    win.activateWindow()
    qtbot.waitActive(win)
    with qtbot.waitSignal(win.fullyLoaded, timeout=30000):
        assert win.open_path(project)
    pointer = Pointer(win)
    pointer.shortcut(Qt.Key.Key_P)
    for p in ((600, 420), (700, 420), (650, 480)):
        pointer.click(*p)
    pointer.key(Qt.Key.Key_Return)
    assert win.session.dirty and win.windowTitle().endswith("*")
    other = tmp_path / "other"
    (other / "images").mkdir(parents=True)
    shutil.copy(project / "images" / "city.exr", other / "images" / "city.exr")
    assert not win.open_path(other)  # cancelled: the project and its edits stay
    assert asked == ["unsaved"] and win.session.source == project and win.session.dirty
    answer["unsaved"] = "save"
    with qtbot.waitSignal(win.fullyLoaded, timeout=30000):
        assert win.open_path(other)
    assert asked == ["unsaved", "unsaved"] and win.session.source == other
    saved = load_labels(project / "labels.json").labels
    assert len(saved.annotations) == len(load_labels(project / "labels.json.bak").labels.annotations) + 1


def test_zoom_keys_and_nearest_neighbour_in_the_window(qtbot, window, hdri_dir):
    with qtbot.waitSignal(window.fullyLoaded, timeout=30000):
        assert window.open_path(hdri_dir / "city.exr")
    pointer = Pointer(window)
    pointer.shortcut(Qt.Key.Key_1)
    assert window.view.zoom == pytest.approx(1.0)
    assert window.status.zoom_label.text() == "100 %"
    pointer.shortcut(Qt.Key.Key_Plus)
    assert window.view.zoom == pytest.approx(1.25)
    pointer.shortcut(Qt.Key.Key_Minus)
    assert window.view.zoom == pytest.approx(1.0)
    pointer.shortcut(Qt.Key.Key_F)
    vp = window.view.viewport()
    whole = window.view.mapFromScene(QPointF(0, 0)), window.view.mapFromScene(QPointF(1024, 512))
    assert whole[0].x() >= -1 and whole[1].x() <= vp.width() + 1  # the whole image is in view
    assert whole[0].y() >= -1 and whole[1].y() <= vp.height() + 1
    # 800 %: each image pixel is an 8 x 8 block of one colour (nearest neighbour, no blur)
    window.view.set_zoom(8.0, anchor=QPointF(300, 250))
    with qtbot.waitSignal(window.view.rendered, timeout=5000):
        window.view.schedule_render()
    picture = viewport_array(window.view)
    corner = window.view.mapFromScene(QPointF(300, 250))
    block = picture[corner.y() + 1: corner.y() + 7, corner.x() + 1: corner.x() + 7]
    assert block.size and (block == block[0, 0]).all()


def test_drawing_on_an_unlabelled_image_marks_it_labelled_in_the_list(qtbot, window, tmp_path):
    from skysegui.core.synthetic import write_demo_project

    demo = write_demo_project(tmp_path / "demo", count=2, width=256, height=128, labelled=0)
    with qtbot.waitSignal(window.fullyLoaded, timeout=30000):
        assert window.open_path(demo.root)
    lst = window.image_list
    lst.status_filter.setCurrentIndex(2)  # unlabelled
    assert window.current.path in lst.visible_paths()
    pointer = Pointer(window)
    pointer.shortcut(Qt.Key.Key_P)
    for p in ((10, 10), (100, 10), (100, 40), (10, 40)):
        pointer.click(*p)
    pointer.key(Qt.Key.Key_Return)
    assert window.current.path not in lst.visible_paths()
    lst.status_filter.setCurrentIndex(1)  # labelled
    assert lst.visible_paths() == [window.current.path]


def test_damaged_tone_settings_fall_back_one_value_at_a_time(tmp_path):
    path = tmp_path / "settings.ini"
    path.write_text("[tone]\nexposure=nan\ngamma=1.8\noperator=bogus\nwhite_point=6\n", encoding="utf-8")
    tone = AppSettings(ini_settings(path)).tone()
    assert tone.exposure == 0.0  # not NaN: that would show a black picture at every start
    assert (tone.gamma, tone.operator, tone.white_point) == (1.8, "srgb", 6.0)


def test_the_exposure_used_is_the_exposure_shown(qtbot):
    from skysegui.core.tonemap import ToneSettings
    from skysegui.gui.panels.tone_panel import TonePanel

    panel = TonePanel(ToneSettings(exposure=40.0))
    qtbot.addWidget(panel)
    assert panel.settings.exposure == panel.exposure_box.value() == panel.exposure_box.maximum()
    panel.set_settings(ToneSettings(exposure=27.42))  # auto exposure of a nearly black image
    assert panel.settings.exposure == panel.exposure_box.value()
    panel.set_settings(ToneSettings(exposure=float("nan")))
    assert panel.settings.exposure == 0.0 == panel.exposure_box.value()


def _without_display(tmp_path) -> dict:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    return env


def test_without_a_display_the_window_says_so_in_one_line(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "skysegui", str(tmp_path)], env=_without_display(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr[-1000:]  # not a Qt abort (core dump, 134)
    assert proc.stderr.startswith("error: ") and "xvfb-run" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_screenshot_needs_no_display(tmp_path):
    import subprocess
    import sys

    import cv2

    from skysegui.core.synthetic import write_demo_project

    demo = write_demo_project(tmp_path / "demo", count=1, width=256, height=128, labelled=1)
    out = tmp_path / "shot.png"
    proc = subprocess.run([sys.executable, "-m", "skysegui", "--screenshot", str(out), str(demo.root)],
                          env=_without_display(tmp_path), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-1000:]
    shot = cv2.imread(str(out))
    assert shot is not None and shot.shape[1] >= 1000 and shot.std() > 30


def test_typing_an_exposure_and_a_gamma_with_decimals(qtbot):
    from skysegui.core.tonemap import ToneSettings
    from skysegui.gui.panels.tone_panel import TonePanel

    panel = TonePanel(ToneSettings(operator="gamma"))
    qtbot.addWidget(panel)
    panel.show()
    for box, text, field in ((panel.exposure_box, "-2.5", "exposure"), (panel.gamma_box, "1.8", "gamma")):
        box.setFocus()
        box.selectAll()
        QTest.keyClicks(box, text)
        QTest.keyClick(box, Qt.Key.Key_Return)
        assert getattr(panel.settings, field) == pytest.approx(float(text)), box.text()
    assert panel.exposure_slider.value() == -25


def test_every_drawing_tool_through_the_window_keys(qtbot, window, tmp_path):
    """Esc cancels a draft, double-click closes, hole and object tools, brush grows the sky,
    C toggles the category, Delete removes the selected polygon: all in the MainWindow."""
    from skysegui.core.annotations import NON_SKY
    from skysegui.core.synthetic import write_demo_project

    demo = write_demo_project(tmp_path / "demo", count=1, width=256, height=128, labelled=0)
    with qtbot.waitSignal(window.fullyLoaded, timeout=30000):
        assert window.open_path(demo.root)
    labels, stack, editor = window.session.labels, window.undo_stack, window.editor
    image_id = window.session.image_id(window.current.path)
    p = Pointer(window)
    p.shortcut(Qt.Key.Key_P)
    p.click(20, 20)
    p.click(80, 20)
    p.key(Qt.Key.Key_Escape)
    assert not editor.current_tool.points and not labels.annotations_for(image_id) and stack.count() == 0
    for xy in ((10, 10), (200, 10), (200, 60)):
        p.click(*xy)
    p.click(10, 60)
    QTest.mouseDClick(p.vp, LEFT, NO_MOD, p.at(10, 60))  # what a double-click sends after its click
    assert len(labels.annotations_for(image_id)) == 1 and stack.count() == 1
    sky = sky_mask(labels, image_id)
    assert sky[30, 100] == 1 and sky[100, 100] == 0
    p.shortcut(Qt.Key.Key_H)  # a hole in the sky
    for xy in ((90, 25), (110, 25), (110, 45), (90, 45)):
        p.click(*xy)
    p.key(Qt.Key.Key_Return)
    assert sky_mask(labels, image_id)[35, 100] == 0 and sky_mask(labels, image_id)[30, 50] == 1
    p.shortcut(Qt.Key.Key_O)  # a non-sky object
    before = set(labels.annotations)
    for xy in ((150, 20), (170, 20), (170, 40)):
        p.click(*xy)
    p.key(Qt.Key.Key_Return)
    (obj,) = set(labels.annotations) - before
    assert labels.role_of(labels.annotations[obj].category_id) == NON_SKY
    assert sky_mask(labels, image_id)[25, 165] == 0
    p.shortcut(Qt.Key.Key_B)  # the brush grows the sky below the polygon
    editor.set_brush_size(10)
    p.drag([(40, 80), (60, 80)])
    editor.paint_queue.wait()
    assert sky_mask(labels, image_id)[80, 50] == 1
    p.shortcut(Qt.Key.Key_V)
    p.click(165, 24)  # select the object, C makes it sky, Delete removes it
    assert editor.selected_annotation() == obj
    p.shortcut(Qt.Key.Key_C)
    assert labels.role_of(labels.annotations[obj].category_id) == SKY
    p.key(Qt.Key.Key_Delete)
    assert obj not in labels.annotations
    count = stack.count()
    assert count == 6
    stack.setIndex(0)
    assert not labels.annotations_for(image_id)
    stack.setIndex(count)
    assert obj not in labels.annotations and sky_mask(labels, image_id)[80, 50] == 1


def test_open_recent_leaves_out_what_was_deleted(qtbot, window, tmp_path, hdri_dir):
    kept, gone = tmp_path / "kept.exr", tmp_path / "gone.exr"
    shutil.copy(hdri_dir / "city.exr", kept)
    shutil.copy(hdri_dir / "city.exr", gone)
    window.settings.add_recent(kept)
    window.settings.add_recent(gone)
    gone.unlink()
    window.recent_menu.aboutToShow.emit()
    assert [a.text() for a in window.recent_menu.actions()] == [str(kept.resolve())]


def test_decide_later_keeps_the_autosaved_edits_when_this_session_autosaves_or_saves(qtbot, tmp_path, project):
    """'Decide later' must not lose the crash's autosave: this session's next autosave would
    overwrite it and a save would delete it. It is kept aside under its own name."""
    from skysegui.core.project import Project

    crashed = load_labels(project / "labels.json").labels
    ann = next(iter(crashed.annotations.values()))
    ann.polygons[0].outer[3] += (7.0, 3.0)
    moved = ann.polygons[0].outer.copy()
    Project.open(project).autosave(crashed)
    asked, messages = [], []
    win = MainWindow(settings=AppSettings(ini_settings(tmp_path / "later.ini")),
                     ask=lambda kind, _t: asked.append(kind) or ("later" if kind == "recover" else "discard"))
    qtbot.addWidget(win)
    win.session.message.connect(messages.append)
    win.show()
    with qtbot.waitSignal(win.fullyLoaded, timeout=30000):
        assert win.open_path(project)
    assert asked == ["recover"] and not win.session.dirty
    assert not list(project.glob("*recovered*"))  # looking alone changes nothing
    p = Pointer(win)
    p.shortcut(Qt.Key.Key_P)
    for xy in ((600, 420), (700, 420), (650, 480)):
        p.click(*xy)
    p.key(Qt.Key.Key_Return)
    assert win.session.autosave()
    (kept,) = project.glob("labels.recovered-*.json")
    np.testing.assert_allclose(load_labels(kept).labels.annotations[ann.id].polygons[0].outer, moved)
    autosaved = load_labels(Project.open(project).autosave_path).labels
    assert len(autosaved.annotations) == len(crashed.annotations) + 1  # this session's edits
    assert any(kept.name in m for m in messages)
    win.actions.save.trigger()
    assert list(project.glob("labels.recovered-*.json")) == [kept]


def test_decide_later_then_save_without_autosave_keeps_them_too(qtbot, tmp_path, project):
    from skysegui.core.project import Project

    crashed = load_labels(project / "labels.json").labels
    ann = next(iter(crashed.annotations.values()))
    ann.polygons[0].outer[3] += (7.0, 3.0)
    Project.open(project).autosave(crashed)
    win = MainWindow(settings=AppSettings(ini_settings(tmp_path / "later.ini")),
                     ask=lambda kind, _t: "later" if kind == "recover" else "discard")
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.fullyLoaded, timeout=30000):
        assert win.open_path(project)
    p = Pointer(win)
    p.shortcut(Qt.Key.Key_P)
    for xy in ((600, 420), (700, 420), (650, 480)):
        p.click(*xy)
    p.key(Qt.Key.Key_Return)
    win.actions.save.trigger()
    (kept,) = project.glob("labels.recovered-*.json")
    np.testing.assert_allclose(load_labels(kept).labels.annotations[ann.id].polygons[0].outer,
                               ann.polygons[0].outer)
    assert not Project.open(project).has_recovery()


def test_drawing_on_a_lone_image_says_how_to_label_it(qtbot, window, hdri_dir):
    with qtbot.waitSignal(window.fullyLoaded, timeout=30000):
        assert window.open_path(hdri_dir / "city.exr")
    messages = []
    window.editor.statusMessage.connect(messages.append)
    p = Pointer(window)
    p.shortcut(Qt.Key.Key_P)
    messages.clear()
    p.click(500, 100)
    assert any("open a project folder or a COCO file" in m for m in messages), messages
    assert "open a project folder" in window.status.currentMessage()
