"""An unsure region drawn in the real window: a polygon, U, saved, and left out of training.

Sky seen through dense leaves or a fence against the sky is neither sky nor not sky to
an artist; marked unsure, training skips it instead of learning it as either."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from skysegui.core.annotations import SKY, UNSURE, load_labels, scored_sky_mask
from skysegui.core.metrics import IGNORE
from skysegui.core.project import Project
from skysegui.core.synthetic import write_demo_project
from skysegui.ml.data.cache import project_sources
from tests.gui._window import make_window
from tests.gui.test_audit_window import Pointer, viewport_array


@pytest.fixture
def window(qtbot, tmp_path):
    win = make_window(qtbot, tmp_path / "settings.ini", size=(1200, 800))
    qtbot.waitExposed(win)
    win.activateWindow()  # window shortcuts (P, V, U, Ctrl+S) need the active window
    qtbot.waitActive(win)
    return win


def _draw(p: Pointer, points) -> None:
    p.shortcut(Qt.Key.Key_P)
    for xy in points:
        p.click(*xy)
    p.key(Qt.Key.Key_Return)


def test_u_marks_the_selected_polygon_unsure_and_training_skips_it(qtbot, window, tmp_path):
    demo = write_demo_project(tmp_path / "demo", count=1, width=256, height=128, labelled=0)
    with qtbot.waitSignal(window.fullyLoaded, timeout=30000):
        assert window.open_path(demo.root)
    labels, editor, stack = window.session.labels, window.editor, window.undo_stack
    p = Pointer(window)
    _draw(p, [(10, 10), (240, 10), (240, 50), (10, 50)])  # the sky
    (sky,) = labels.annotations
    _draw(p, [(150, 70), (200, 70), (200, 100), (150, 100)])  # a region the artist cannot call
    (region,) = set(labels.annotations) - {sky}
    before = viewport_array(window.view).astype(np.int16)

    p.shortcut(Qt.Key.Key_V)
    p.click(175, 85)
    assert editor.selected_annotation() == region
    p.shortcut(Qt.Key.Key_U)
    assert labels.role_of(labels.annotations[region].category_id) == UNSURE
    assert labels.categories[labels.annotations[region].category_id].name == "unsure"
    assert labels.role_of(labels.annotations[sky].category_id) == SKY
    assert stack.undoText() == "Set category to unsure"
    assert editor.item(region).role == UNSURE

    # it looks different from sky: the fill turns from blue to violet
    p.click(5, 120)  # deselect, so the selection colour does not hide the category's
    QTest.qWait(50)
    after = viewport_array(window.view).astype(np.int16)
    at = p.at(175, 85)
    patch_before = before[at.y() - 3:at.y() + 3, at.x() - 3:at.x() + 3].reshape(-1, 3).mean(axis=0)
    patch_after = after[at.y() - 3:at.y() + 3, at.x() - 3:at.x() + 3].reshape(-1, 3).mean(axis=0)
    assert patch_after[0] - patch_before[0] > 15  # more red in the violet than in the blue

    # saved, and the training mask leaves it out (IGNORE) while the sky stays sky
    window.actions.save.trigger()
    reloaded = load_labels(demo.root / "labels.json").labels
    rec = reloaded.image_by_name(window.current.path.name)
    mask = scored_sky_mask(reloaded, rec.id)
    assert mask[85, 175] == IGNORE and mask[30, 100] == 1 and mask[120, 100] == 0
    sources, _ = project_sources(Project.open(demo.root), "hdr_log")
    (source,) = sources
    _, trained_on = source.load()
    assert trained_on[85, 175] == IGNORE and trained_on[30, 100] == 1

    # "No sky in this image" (Ctrl+Shift+N) takes the sky and keeps the unsure region
    p.shortcut(Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert list(labels.annotations) == [region]
    assert window.session.is_labelled(window.current.path)
    stack.undo()
    assert sorted(labels.annotations) == sorted([sky, region])

    stack.undo()  # back to sky
    assert labels.role_of(labels.annotations[region].category_id) == SKY
