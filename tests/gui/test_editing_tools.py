"""Drawing tools of the editor on real widgets: polygon, hole, object, brush, eraser,
and undo/redo of a whole editing session back to the exact original model."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from skysegui.core.annotations import SKY, sky_mask
from skysegui.gui.editing.tools.brush import stroke_mask
from tests.gui.test_editing import Harness, make_labels, same_model, snapshot

W, H = 400, 200


@pytest.fixture
def harness(qtbot):
    return Harness(qtbot, make_labels(), 1, W, H)


def sky_pixels(h) -> int:
    return int(sky_mask(h.labels, h.image_id).sum())


def new_ids(h, before) -> list:
    return [aid for aid in h.labels.annotations if aid not in before]


def test_draw_polygon_by_clicks_and_enter(harness):
    h = harness
    h.editor.set_tool("polygon")
    before = snapshot(h.labels)
    pts = [(50, 150), (120, 150), (120, 190), (50, 190)]
    for p in pts:
        h.click(*p)
    assert h.editor.current_tool.points  # a draft, not yet in the model
    assert same_model(h.labels, before)
    h.key(Qt.Key.Key_Return)
    (aid,) = new_ids(h, before)
    ann = h.ann(aid)
    assert h.labels.role_of(ann.category_id) == SKY
    np.testing.assert_allclose(ann.polygons[0].outer, pts, atol=1.0)
    assert h.editor.selected_annotation() == aid and h.editor.item(aid) is not None
    h.stack.undo()
    assert same_model(h.labels, before) and h.editor.item(aid) is None


def test_draw_polygon_backspace_double_click_and_first_vertex_close(harness):
    h = harness
    h.editor.set_tool("polygon")
    before = snapshot(h.labels)
    for p in [(50, 150), (120, 150), (300, 190)]:
        h.click(*p)
    h.key(Qt.Key.Key_Backspace)  # removes (300, 190), does not delete a polygon
    assert len(h.editor.current_tool.points) == 2
    h.click(120, 190)
    h.double_click(50, 190)
    (aid,) = new_ids(h, before)
    np.testing.assert_allclose(h.ann(aid).polygons[0].outer, [(50, 150), (120, 150), (120, 190), (50, 190)], atol=1.0)
    # closing by clicking the first vertex again
    for p in [(200, 150), (260, 150), (260, 190), (200.5, 150.5)]:
        h.click(*p)
    assert len(h.labels.annotations) == len(before) + 2
    assert not h.editor.current_tool.points


def test_escape_cancels_and_too_few_vertices_refused(harness):
    h = harness
    h.editor.set_tool("polygon")
    before = snapshot(h.labels)
    for p in [(50, 150), (120, 150), (120, 190)]:
        h.click(*p)
    h.key(Qt.Key.Key_Escape)
    assert not h.editor.current_tool.points and same_model(h.labels, before)
    assert h.stack.count() == 0
    h.click(50, 150)
    h.click(120, 150)
    h.messages.clear()
    h.key(Qt.Key.Key_Return)
    assert same_model(h.labels, before) and any("3" in m for m in h.messages)


def test_eraser_stroke_inside_sky_makes_a_hole(harness):
    h = harness
    h.editor.set_tool("eraser")
    h.editor.set_brush_size(20)
    sky_before = sky_pixels(h)
    before = snapshot(h.labels)
    h.drag([(150, 50), (170, 52), (190, 55), (200, 55)])
    assert h.stack.count() == 1  # one command per stroke
    skies = [a for a in h.labels.annotations_for(1) if h.labels.role_of(a.category_id) == SKY]
    holes = [hole for a in skies for p in a.polygons for hole in p.holes]
    assert len(holes) == 1
    assert holes[0][:, 0].min() < 145 and holes[0][:, 0].max() > 205
    stroke = stroke_mask([(150, 50), (170, 52), (190, 55), (200, 55)], 20, W, H)
    painted = int(stroke.sum())
    # the stroke's pixels are gone, up to the polygon simplification at its border
    assert sky_mask(h.labels, 1)[stroke.astype(bool)].sum() <= 0.03 * painted
    lost = int(sky_before) - sky_pixels(h)
    assert abs(lost - painted) <= 0.1 * painted
    h.stack.undo()
    assert same_model(h.labels, before)
    h.stack.redo()
    assert sky_pixels(h) == sky_before - lost


def test_brush_stroke_grows_the_sky(harness):
    h = harness
    h.editor.set_tool("brush")
    h.editor.set_brush_size(16)
    sky_before = sky_mask(h.labels, 1).copy()
    h.drag([(60, 110), (60, 140), (62, 160)])
    after = sky_mask(h.labels, 1)
    assert after.sum() > sky_before.sum() + 16 * 30
    assert after[150, 60] == 1 and sky_before[150, 60] == 0
    kept = after[sky_before.astype(bool)].mean()
    assert kept > 0.99  # painting keeps the sky that was there
    h.stack.undo()
    np.testing.assert_array_equal(sky_mask(h.labels, 1), sky_before)


def test_brush_size_by_keys_and_shift_wheel(harness):
    h = harness
    h.editor.set_tool("brush")
    h.editor.set_brush_size(20)
    h.key(Qt.Key.Key_BracketRight)
    assert h.editor.brush_size > 20
    h.key(Qt.Key.Key_BracketLeft)
    h.key(Qt.Key.Key_BracketLeft)
    assert h.editor.brush_size < 20
    size = h.editor.brush_size
    transform = h.view.transform()
    pos = h.at(200, 100)
    wheel = QWheelEvent(pos.toPointF(), h.viewport.mapToGlobal(pos).toPointF(), QPoint(0, 0), QPoint(0, 120),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.ShiftModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(h.viewport, wheel)
    assert h.editor.brush_size > size
    assert h.view.transform() == transform  # the editor took the wheel: no zoom
    h.hover(200, 100)
    cursor = h.editor.current_tool.cursor_item
    assert cursor.isVisible() and cursor.rect().width() == pytest.approx(h.editor.brush_size)


def test_draw_hole_inside_sky_adds_an_exact_hole(harness):
    h = harness
    h.editor.set_tool("hole")
    before = snapshot(h.labels)
    ring = [(100, 30), (160, 30), (160, 70), (100, 70)]
    for p in ring:
        h.click(*p)
    h.key(Qt.Key.Key_Enter)
    sky = h.ann(1)
    assert len(sky.polygons[0].holes) == 1
    np.testing.assert_allclose(sky.polygons[0].holes[0], ring, atol=1.0)
    assert sky_mask(h.labels, 1)[50, 130] == 0 and sky_mask(h.labels, 1)[50, 90] == 1
    h.stack.undo()
    assert same_model(h.labels, before)


def test_draw_object_adds_non_sky_polygon(harness):
    h = harness
    h.editor.set_tool("object")
    before = snapshot(h.labels)
    for p in [(100, 30), (160, 30), (130, 70)]:
        h.click(*p)
    h.key(Qt.Key.Key_Return)
    (aid,) = new_ids(h, before)
    assert h.labels.role_of(h.ann(aid).category_id) == 2
    assert sky_mask(h.labels, 1)[40, 130] == 0


def test_undo_redo_a_whole_session_exactly(harness):
    h = harness
    original = snapshot(h.labels)
    h.click(320, 45)  # select the object
    h.drag([(340, 60), (355, 70)])  # move a vertex
    h.click(320, 30)  # insert a vertex on the top edge
    h.key(Qt.Key.Key_Delete)  # and delete it again
    h.drag([(320, 45), (300, 40)])  # move the polygon
    h.editor.action("toggle_category").trigger()
    h.editor.set_tool("polygon")
    for p in [(50, 150), (120, 150), (120, 190)]:
        h.click(*p)
    h.key(Qt.Key.Key_Return)
    h.editor.set_tool("eraser")
    h.drag([(150, 50), (190, 55)])
    h.editor.set_tool("brush")
    h.drag([(60, 120), (60, 150)])
    h.editor.set_tool("hole")
    for p in [(20, 20), (60, 20), (60, 50)]:
        h.click(*p)
    h.key(Qt.Key.Key_Return)
    assert h.stack.count() == 9  # one command per gesture
    final = snapshot(h.labels)
    assert not same_model(h.labels, original)
    while h.stack.canUndo():
        h.stack.undo()
    assert same_model(h.labels, original)
    assert set(h.editor._items) == set(original)
    while h.stack.canRedo():
        h.stack.redo()
    assert same_model(h.labels, final)


def test_strokes_on_big_images_run_in_a_worker_in_order(harness):
    from skysegui.core.annotations import paint_edit

    h = harness
    h.editor.paint_queue.sync_pixels = 0  # treat this image as big: strokes go to the worker
    h.editor.set_tool("eraser")
    h.editor.set_brush_size(14)
    expected = h.labels.copy()
    strokes = [[(120, 40), (160, 45)], [(220, 60), (260, 62)]]
    for stroke in strokes:
        h.drag(stroke)
    h.editor.paint_queue.wait()
    assert not h.editor.paint_queue.busy and h.stack.count() == 2
    for stroke in strokes:
        paint_edit(expected, 1, stroke_mask(stroke, 14, W, H), erase=True).apply(expected)
    assert same_model(h.labels, dict(expected.annotations))
    # a stroke whose model changed while the worker ran is recomputed on the current model
    h.drag([(60, 40), (80, 40)])
    h.stack.undo()  # lands before the worker finishes (or after: both must end consistent)
    h.editor.paint_queue.wait()
    skies = [a for a in h.labels.annotations_for(1) if h.labels.role_of(a.category_id) == SKY]
    assert sky_mask(h.labels, 1)[40, 70] == 0  # the new stroke is applied
    assert sky_mask(h.labels, 1)[61, 240] == 1  # and the undone one stays undone
    assert len(skies) == 1 and h.stack.count() == 2
    while h.stack.canUndo():
        h.stack.undo()
    assert same_model(h.labels, snapshot(make_labels()))


def test_hole_across_the_skyline_is_cut_through_the_mask(harness):
    h = harness
    h.editor.set_tool("hole")
    before = snapshot(h.labels)
    sky_before = sky_mask(h.labels, 1).copy()
    for p in [(150, 60), (200, 60), (200, 160), (150, 160)]:  # crosses the skyline at y ~ 110
        h.click(*p)
    h.key(Qt.Key.Key_Return)
    h.editor.paint_queue.wait()
    after = sky_mask(h.labels, 1)
    assert sky_before[80, 175] == 1 and after[80, 175] == 0
    assert after[80, 100] == 1  # the rest of the sky stays
    assert h.stack.count() == 1
    h.stack.undo()
    assert same_model(h.labels, before)


def test_missing_non_sky_category_is_added_with_the_object_and_undone_with_it(qtbot):
    labels = make_labels()
    del labels.annotations[2]
    del labels.categories[2]
    h = Harness(qtbot, labels, 1, W, H)
    h.editor.set_tool("object")
    for p in [(100, 30), (160, 30), (130, 70)]:
        h.click(*p)
    h.key(Qt.Key.Key_Return)
    added = [c for c in labels.categories.values() if labels.role_of(c.id) == 2]
    assert len(added) == 1 and len(labels.annotations) == 2
    h.stack.undo()
    assert list(labels.categories) == [1] and list(labels.annotations) == [1]
    h.stack.redo()
    assert labels.category_for_role(2) is not None and len(labels.annotations) == 2
