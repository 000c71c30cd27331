"""Editing across the 360-degree seam in the real window: in the Seam view (half-swap) a
polygon clicked across x = W lands as pieces on both edges of the image in one undo step,
a brush stroke across it paints both edges, and the outlines repeat on the copies."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from skysegui.core.annotations import (
    SKY,
    AnnotationSet,
    Category,
    ImageRecord,
    class_map,
    save_coco,
    sky_mask,
)
from skysegui.core.imageio import write_exr
from skysegui.gui.editing import commands
from tests.gui._window import make_window, open_and_wait

W, H = 256, 128


@pytest.fixture
def project(tmp_path):
    """A project folder: one small HDR panorama, a label file with no annotations yet."""
    root = tmp_path / "project"
    (root / "images").mkdir(parents=True)
    x = np.linspace(0.0, 1.0, W, dtype=np.float32)[None, :, None]
    y = np.linspace(4.0, 0.05, H, dtype=np.float32)[:, None, None]
    write_exr(root / "images" / "pano.exr", np.broadcast_to(y * (0.5 + x), (H, W, 3)).copy(), half=False)
    labels = AnnotationSet(
        images={1: ImageRecord(1, "pano.exr", W, H)},
        categories={1: Category(1, "sky"), 2: Category(2, "non-sky")},
        annotations={},
    )
    save_coco(labels, root / "labels.json")
    return root


@pytest.fixture
def seam_window(qtbot, tmp_path, project):
    return open_in_seam_view(qtbot, tmp_path, project)


def open_in_seam_view(qtbot, tmp_path, project, name="settings.ini", size=(1100, 700)):
    """The real window on `project`, in Seam view, with the keyboard focus on the view."""
    win = make_window(qtbot, tmp_path / name, size=size)
    open_and_wait(qtbot, win, project)
    win.actions.half_swap.trigger()  # the toolbar's "Seam"
    assert win.view.half_swap
    win.activateWindow()
    qtbot.waitActive(win)
    win.view.setFocus()
    return win


def at(win, x, y):
    return win.view.mapFromScene(QPointF(x, y))


def click(win, x, y):
    QTest.mouseClick(win.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(win, x, y))


def drag(win, points):
    vp = win.view.viewport()
    pts = [at(win, x, y) for x, y in points]
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[0])
    for p in pts[1:]:
        event = QMouseEvent(QEvent.Type.MouseMove, QPointF(p), QPointF(vp.mapToGlobal(p)),
                            Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(vp, event)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[-1])


def test_seam_view_shows_both_edges_where_the_drawing_happens(seam_window):
    visible = seam_window.view.visible_rect()
    assert visible.left() <= W - 60 and visible.right() >= W + 60  # the seam is in the window


def test_polygon_clicked_across_the_seam_lands_on_both_edges_in_one_undo_step(seam_window, qtbot):
    win = seam_window
    editor, stack, labels = win.editor, win.undo_stack, win.session.labels
    editor.set_tool("polygon")
    count = stack.count()
    # from the real image's right part, over the seam onto the copy of its left part
    for x, y in [(200, 20), (300, 20), (300, 90)]:
        click(win, x, y)
    click(win, 200, 90)
    QTest.mouseDClick(win.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                      at(win, 200, 90))
    assert stack.count() == count + 1
    (ann,) = labels.annotations_for(1)
    assert labels.role_of(ann.category_id) == 1
    boxes = sorted((p.outer[:, 0].min(), p.outer[:, 0].max()) for p in ann.polygons)
    assert len(boxes) == 2
    (l0, l1), (r0, r1) = boxes
    assert l0 == 0.0 and abs(l1 - 44) < 2  # the part drawn on the copy, at the left edge
    assert abs(r0 - 200) < 2 and r1 == W  # the part on the real image, up to the right edge
    mask = sky_mask(labels, 1)
    assert mask[55, 5] == 1 and mask[55, 40] == 1 and mask[55, 250] == 1 and mask[55, 210] == 1
    assert mask[55, 100] == 0 and mask[55, 60] == 0 and mask[100, 5] == 0
    # the outlines continue on the copies beside the image (full strength in the Seam view)
    qtbot.waitUntil(lambda: bool(editor.ghosts.items))
    assert {item.pos().x() for item in editor.ghosts.items} == {-W, W}
    assert all(item.opacity() == 1.0 for item in editor.ghosts.items)
    # the cut along the seam is not drawn as a line through the region
    item = editor.item(ann.id)
    drawn = item.outline_path
    assert drawn.elementCount() == item.path().elementCount()
    moves = sum(drawn.elementAt(i).isMoveTo() for i in range(drawn.elementCount()))
    assert moves == 2 + 2  # each piece's start, plus its one edge along x = 0 or x = W
    QTest.keyClick(win.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert stack.count() == count + 1 and stack.index() == count
    assert labels.annotations_for(1) == []
    qtbot.waitUntil(lambda: not editor.ghosts.items)


def test_hole_and_object_across_the_seam(seam_window):
    win = seam_window
    editor, labels = win.editor, win.session.labels
    editor.set_tool("polygon")
    for x, y in [(150, 5), (360, 5), (360, 100)]:
        click(win, x, y)
    click(win, 150, 100)
    QTest.keyClick(win.view, Qt.Key.Key_Return)
    outers = [p.outer.copy() for p in labels.annotations_for(1)[0].polygons]
    editor.set_tool("hole")
    for x, y in [(230, 30), (280, 30), (280, 60)]:
        click(win, x, y)
    click(win, 230, 60)
    QTest.keyClick(win.view, Qt.Key.Key_Return)
    (sky,) = labels.annotations_for(1)
    # an exact hole in each piece: the hand-placed vertices of the sky stay where they were
    assert [len(p.holes) for p in sky.polygons] == [1, 1]
    assert all(np.array_equal(p.outer, o) for p, o in zip(sky.polygons, outers, strict=True))
    mask = sky_mask(labels, 1)
    assert mask[45, 240] == 0 and mask[45, 15] == 0  # the hole, on both sides of the seam
    assert mask[45, 200] == 1 and mask[45, 50] == 1 and mask[80, 240] == 1 and mask[80, 15] == 1
    editor.set_tool("object")
    for x, y in [(240, 70), (270, 70), (270, 90)]:
        click(win, x, y)
    click(win, 240, 90)
    QTest.keyClick(win.view, Qt.Key.Key_Return)
    classes = class_map(labels, 1)
    assert classes[80, 245] == 2 and classes[80, 8] == 2 and classes[80, 30] == 1


def test_brush_stroke_across_the_seam_paints_on_both_sides(seam_window):
    win = seam_window
    editor, stack, labels = win.editor, win.undo_stack, win.session.labels
    editor.set_tool("brush")
    editor.set_brush_size(12)
    count = stack.count()
    drag(win, [(230, 60), (250, 60), (270, 61), (290, 62)])
    editor.paint_queue.wait()
    assert stack.count() == count + 1  # one command for the whole stroke
    mask = sky_mask(labels, 1)
    assert mask[60, 235] == 1 and mask[60, 254] == 1  # on the real image
    assert mask[61, 3] == 1 and mask[62, 30] == 1  # drawn on the copy: the image's left edge
    assert mask[60, 120] == 0 and mask[60, 50] == 0
    editor.set_tool("eraser")
    drag(win, [(240, 60), (280, 61)])
    editor.paint_queue.wait()
    mask = sky_mask(labels, 1)
    assert mask[60, 250] == 0 and mask[61, 15] == 0 and mask[62, 30] == 1
    stack.undo()
    stack.undo()
    assert labels.annotations_for(1) == []


def test_ghost_outlines_follow_the_view_mode(seam_window, qtbot):
    win = seam_window
    editor = win.editor
    editor.set_tool("object")
    for x, y in [(240, 70), (270, 70), (270, 90)]:
        click(win, x, y)
    QTest.keyClick(win.view, Qt.Key.Key_Return)
    editor.select(None)
    qtbot.waitUntil(lambda: len(editor.ghosts.items) == 2)
    win.actions.half_swap.trigger()  # back to the plain view: the copies are dimmed
    qtbot.waitUntil(lambda: all(i.opacity() < 1.0 for i in editor.ghosts.items))
    win.actions.wrap.trigger()  # no wrapped copies at all: no outlines on them
    assert not win.view.wrap
    qtbot.waitUntil(lambda: not editor.ghosts.items)


def test_drawing_goes_on_when_panning_makes_the_view_jump_across_the_seam(seam_window, qtbot):
    win = seam_window
    view, editor, labels = win.view, win.editor, win.session.labels
    win.actions.half_swap.trigger()  # the plain view: it jumps one width at the seam
    assert not view.half_swap and view.wrap
    view.set_zoom(3.0)
    view.centerOn(QPointF(W - 20, 60))
    editor.set_tool("polygon")
    click(win, W - 30, 40)
    click(win, W - 10, 40)
    bar = view.horizontalScrollBar()
    bar.setValue(bar.value() + 40 * 3)  # pan right past the seam: the view jumps back by W
    centre = view.mapToScene(view.viewport().rect().center()).x()
    assert 0 <= centre < 60
    # the draft moved with the picture: it is still under the cursor, on the left copy
    np.testing.assert_allclose(editor.current_tool.points, [(-30, 40), (-10, 40)])
    click(win, 15, 60)
    click(win, -25, 60)
    QTest.keyClick(win.view, Qt.Key.Key_Return)
    (ann,) = labels.annotations_for(1)
    boxes = sorted((p.outer[:, 0].min(), p.outer[:, 0].max()) for p in ann.polygons)
    assert len(boxes) == 2
    assert boxes[0][0] == 0 and abs(boxes[0][1] - 15) < 1
    assert abs(boxes[1][0] - (W - 30)) < 1 and boxes[1][1] == W


def test_hole_across_the_seam_of_a_full_width_sky_band_is_exact(seam_window):
    win = seam_window
    editor, stack, labels = win.editor, win.undo_stack, win.session.labels
    band = np.array([[0.0, 0.0], [W, 0.0], [W, 100.0], [W / 2, 90.0], [0.0, 100.0]])
    edit, aid = commands.add_polygon(labels, 1, band, SKY)
    assert editor.push(edit, "Draw sky polygon")
    editor.set_tool("hole")
    for x, y in [(230, 30), (280, 30), (280, 60)]:
        click(win, x, y)
    click(win, 230, 60)
    QTest.keyClick(win.view, Qt.Key.Key_Return)
    (sky,) = labels.annotations_for(1)
    assert sky.id == aid and len(sky.polygons) == 1
    np.testing.assert_array_equal(sky.polygons[0].outer, band)  # not re-traced
    assert len(sky.polygons[0].holes) == 2  # one at each edge of the image
    mask = sky_mask(labels, 1)
    assert mask[45, 240] == 0 and mask[45, 15] == 0 and mask[45, 200] == 1 and mask[45, 40] == 1
    stack.undo()
    assert labels.annotations[aid].polygons[0].holes == []
