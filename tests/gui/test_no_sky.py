"""Edit > No Sky in This Image (Ctrl+Shift+N) and accepting a prediction without sky, in
the real window (issue 19): the image becomes labelled ("skysegui_labelled": true, no
annotations) in one undo step, the image list shows it, and the saved file has the flag."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from skysegui.core.annotations import LABELLED_KEY
from skysegui.core.synthetic import write_demo_project
from skysegui.ml.predict import Prediction
from tests.gui._window import make_window, open_and_wait

W, H = 256, 128
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def project(tmp_path):
    # image 0 labelled (sky polygons), images 1 and 2 only listed
    return write_demo_project(tmp_path / "proj", count=3, width=W, height=H, labelled=1, seed=4)


@pytest.fixture
def window(qtbot, tmp_path, project):
    win = make_window(qtbot, tmp_path / "settings.ini")
    open_and_wait(qtbot, win, project.root)
    return win


def _labelled_in_list(win) -> set[str]:
    lst = win.image_list
    lst.status_filter.setCurrentIndex(1)  # "Labelled"
    names = {p.name for p in lst.visible_paths()}
    lst.status_filter.setCurrentIndex(0)
    return names


def _show(qtbot, win, path) -> None:
    with qtbot.waitSignal(win.fullyLoaded, timeout=30000):
        win.show_image(path)


def _annotations(labels, image_id):
    return [(a.id, a.category_id, [p.copy() for p in a.polygons]) for a in labels.annotations_for(image_id)]


def _saved_image(project, name):
    data = json.loads(project.labels_path.read_text())
    entry = next(e for e in data["images"] if e["file_name"] == name)
    return entry, [a for a in data["annotations"] if a["image_id"] == entry["id"]]


def test_the_shortcut_is_in_the_edit_menu_and_the_help_list(window):
    action = window.actions.mark_no_sky
    assert action.shortcut().toString() == "Ctrl+Shift+N"
    edit_menu = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "Edit")
    assert action in edit_menu.actions()
    keys = [k.toString() for m in (a.menu() for a in window.menuBar().actions())
            for x in m.actions() for k in x.shortcuts()]
    assert keys.count("Ctrl+Shift+N") == 1
    dialog = window.show_shortcuts()
    from PySide6.QtWidgets import QTableWidget

    table = dialog.findChild(QTableWidget)
    rows = {table.item(i, 0).text(): table.item(i, 1).text() for i in range(table.rowCount())}
    dialog.close()
    assert "No Sky in This Image" in rows and "N" in rows["No Sky in This Image"]


def test_no_sky_marks_an_unlabelled_image_undo_restores_and_the_save_keeps_the_flag(window, qtbot, project):
    s = window.session
    interior = s.images[1]
    assert not s.is_labelled(interior) and interior.name not in _labelled_in_list(window)
    _show(qtbot, window, interior)
    image_id = s.image_id(interior)
    depth = window.undo_stack.count()

    QTest.keyClick(window, Qt.Key.Key_N, CTRL_SHIFT)
    assert window.undo_stack.count() == depth + 1
    assert s.is_labelled(interior) and s.labels.images[image_id].extra.get(LABELLED_KEY) is True
    assert interior.name in _labelled_in_list(window)
    assert window.status.currentMessage() == "Marked as labelled: no sky (Ctrl+Z undoes)"

    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.undo_stack.count() == depth + 1 and window.undo_stack.index() == depth
    assert not s.is_labelled(interior) and LABELLED_KEY not in s.labels.images[image_id].extra
    assert interior.name not in _labelled_in_list(window)

    window.undo_stack.redo()
    assert interior.name in _labelled_in_list(window)
    assert window.save()
    entry, annotations = _saved_image(project, interior.name)
    assert entry[LABELLED_KEY] is True and annotations == []


def test_no_sky_on_an_image_with_sky_removes_its_polygons_in_one_undo_step(window, qtbot, project):
    s = window.session
    outdoor = s.images[0]  # shown first
    image_id = s.image_id(outdoor)
    before = _annotations(s.labels, image_id)
    extra_before = dict(s.labels.images[image_id].extra)  # the demo's labels carry the flag
    assert before and window.editor.annotations()
    depth = window.undo_stack.count()

    assert window.mark_no_sky()
    assert window.undo_stack.count() == depth + 1
    assert s.labels.annotations_for(image_id) == [] and s.labels.is_labelled(image_id)
    assert window.editor.annotations() == []  # the canvas follows
    assert outdoor.name in _labelled_in_list(window)
    assert not window.mark_no_sky()  # already marked: nothing more on the stack
    assert window.undo_stack.count() == depth + 1

    window.undo_stack.undo()
    after_undo = _annotations(s.labels, image_id)
    assert [(i, c) for i, c, _ in after_undo] == [(i, c) for i, c, _ in before]
    assert all(p == q for (_, _, ps), (_, _, qs) in zip(after_undo, before, strict=True)
               for p, q in zip(ps, qs, strict=True))
    assert s.labels.images[image_id].extra == extra_before
    assert len(window.editor.annotations()) == len(before)

    window.undo_stack.redo()
    assert window.save()
    entry, annotations = _saved_image(project, outdoor.name)
    assert entry[LABELLED_KEY] is True and annotations == []


def test_accepting_a_prediction_without_sky_leaves_the_image_labelled(window, qtbot, project):
    s = window.session
    interior = s.images[2]
    _show(qtbot, window, interior)
    image_id = s.image_id(interior)
    assert not s.is_labelled(interior)
    learning = window.learning
    learning._show(Prediction.from_prob(np.zeros((H, W), np.float32)))
    depth = window.undo_stack.count()

    with qtbot.waitSignal(learning.accepted, timeout=30000) as accepted:  # traced off the GUI thread
        QTest.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert accepted.args == [0]
    assert window.undo_stack.count() == depth + 1
    assert s.is_labelled(interior) and s.labels.annotations_for(image_id) == []
    assert interior.name in _labelled_in_list(window)
    assert "no sky" in window.status.currentMessage()

    window.undo_stack.undo()  # one step takes the flag away again
    assert not s.is_labelled(interior) and LABELLED_KEY not in s.labels.images[image_id].extra
    assert interior.name not in _labelled_in_list(window)
    window.undo_stack.redo()
    assert window.save()
    entry, annotations = _saved_image(project, interior.name)
    assert entry[LABELLED_KEY] is True and annotations == []
