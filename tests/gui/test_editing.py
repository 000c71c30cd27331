"""The polygon editor on real widgets: a QGraphicsView + scene (scene units = image
pixels, an image item at z=0), a LabelEditor and a QUndoStack, driven by mouse and keys
on the viewport the way a user drives it."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QMouseEvent, QPixmap, QUndoStack, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView

from skysegui.core.annotations import (
    Annotation,
    AnnotationSet,
    Category,
    ImageRecord,
    Polygon,
)
from skysegui.gui.editing import LabelEditor, hit_test
from skysegui.gui.editing.picking import pick

W, H = 400, 200


def make_labels() -> AnnotationSet:
    """One image with a sky polygon (a band with a wavy skyline) and a non-sky object."""
    xs = np.linspace(0, W, 9)
    skyline = np.c_[xs[::-1], 110 + 10 * np.sin(xs[::-1] / 40.0)]
    sky = np.vstack([[[0.0, 0.0], [float(W), 0.0]], skyline])
    obj = np.array([[300.0, 30.0], [340.0, 30.0], [340.0, 60.0], [300.0, 60.0]])
    return AnnotationSet(
        images={1: ImageRecord(1, "pano.exr", W, H)},
        categories={1: Category(1, "sky"), 2: Category(2, "non-sky")},
        annotations={
            1: Annotation(1, 1, 1, [Polygon(sky)]),
            2: Annotation(2, 1, 2, [Polygon(obj)]),
        },
    )


class Harness:
    """A viewer stand-in (plain QGraphicsView, identity zoom) with the editor on it."""

    def __init__(self, qtbot, labels: AnnotationSet, image_id, width: int, height: int):
        self.qtbot = qtbot
        self.scene = QGraphicsScene()
        image = QImage(width, height, QImage.Format.Format_RGB32)
        image.fill(Qt.GlobalColor.darkGray)
        pixmap = QGraphicsPixmapItem(QPixmap.fromImage(image))
        pixmap.setZValue(0)
        self.scene.addItem(pixmap)
        self.scene.setSceneRect(0, 0, width, height)
        self.view = QGraphicsView(self.scene)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.resize(width + 40, height + 40)
        qtbot.addWidget(self.view)
        self.stack = QUndoStack()
        self.editor = LabelEditor(self.view, self.stack)
        self.labels = labels
        self.image_id = image_id
        self.editor.set_labels(labels, image_id)
        self.view.show()
        qtbot.waitExposed(self.view)
        self.view.activateWindow()  # shortcuts (V, P, Delete, ...) need the active window
        qtbot.waitActive(self.view)
        self.view.setFocus()
        self.messages: list[str] = []
        self.editor.statusMessage.connect(self.messages.append)

    @property
    def viewport(self):
        return self.view.viewport()

    def at(self, x: float, y: float) -> QPoint:
        return self.view.mapFromScene(QPointF(x, y))

    def scene_of(self, p: QPoint) -> tuple[float, float]:
        s = self.view.mapToScene(p)
        return s.x(), s.y()

    def click(self, x, y, button=Qt.MouseButton.LeftButton):
        QTest.mouseClick(self.viewport, button, Qt.KeyboardModifier.NoModifier, self.at(x, y))

    def double_click(self, x, y):
        """What a mouse sends: a click, then a double-click event (QTest's mouseDClick
        alone sends only the latter)."""
        self.click(x, y)
        QTest.mouseDClick(self.viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, self.at(x, y))

    def hover(self, x, y):
        self._move(self.at(x, y), Qt.MouseButton.NoButton)

    def _move(self, p: QPoint, buttons, modifiers=Qt.KeyboardModifier.NoModifier):
        # A QMouseEvent with the held buttons, sent directly: QTest.mouseMove carries no
        # button state, and on a real X server it moves the pointer, whose own motion
        # events would arrive later, in the middle of the next gesture.
        glob = self.viewport.mapToGlobal(p)
        event = QMouseEvent(QEvent.Type.MouseMove, QPointF(p), QPointF(glob),
                            Qt.MouseButton.NoButton, buttons, modifiers)
        QApplication.sendEvent(self.viewport, event)

    def drag(self, points, modifiers=Qt.KeyboardModifier.NoModifier):
        """Press at the first scene point, move through the others, release at the last."""
        pts = [self.at(x, y) for x, y in points]
        QTest.mousePress(self.viewport, Qt.MouseButton.LeftButton, modifiers, pts[0])
        for p in pts[1:]:
            self._move(p, Qt.MouseButton.LeftButton, modifiers)
        QTest.mouseRelease(self.viewport, Qt.MouseButton.LeftButton, modifiers, pts[-1])

    def key(self, key, modifiers=Qt.KeyboardModifier.NoModifier):
        QTest.keyClick(self.view, key, modifiers)

    def ann(self, aid) -> Annotation:
        return self.labels.annotations[aid]


def snapshot(labels: AnnotationSet) -> dict:
    """A deep, comparable copy of the model's annotations (numpy arrays kept)."""
    return {aid: a.copy() for aid, a in labels.annotations.items()}


def same_model(labels: AnnotationSet, snap: dict) -> bool:
    """Equal ids, categories and every ring (numpy array_equal, through Polygon.__eq__)."""
    return list(labels.annotations) == list(snap) and labels.annotations == snap


@pytest.fixture
def harness(qtbot):
    return Harness(qtbot, make_labels(), 1, W, H)


# --- pure geometry ----------------------------------------------------------------------
def test_hit_test_vertex_edge_and_inside_with_holes():
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], dtype=float)
    hole = np.array([[4, 4], [6, 4], [6, 6], [4, 6]], dtype=float)
    assert hit_test.nearest_vertex(square, (10.5, 0.4), 1.0) == 1
    assert hit_test.nearest_vertex(square, (5, 5), 1.0) is None
    edge = hit_test.nearest_edge(square, (5, 10.3), 0.5)
    assert edge is not None and edge[0] == 2
    np.testing.assert_allclose(edge[1], [5, 10])
    assert hit_test.nearest_edge(square, (5, 5), 0.5) is None
    assert hit_test.point_in_polygon(square, [hole], (2, 2))
    assert not hit_test.point_in_polygon(square, [hole], (5, 5))
    assert not hit_test.point_in_polygon(square, [hole], (11, 5))
    assert hit_test.ring_inside_ring(hole, square)
    assert not hit_test.ring_inside_ring(square + 5, square)
    assert hit_test.rings_intersect(square + 5, square)


def test_pick_prefers_selected_vertex_then_edge_then_smallest_polygon():
    labels = make_labels()
    anns = labels.annotations_for(1)
    # inside the object, which lies inside the sky: the smaller one wins
    assert pick(anns, (320, 45), 2.0).annotation_id == 2
    assert pick(anns, (100, 40), 2.0).annotation_id == 1
    assert pick(anns, (100, 190), 2.0) is None
    hit = pick(anns, (341, 45), 2.0, selected=2)
    assert (hit.kind, hit.vertex_index) == ("edge", 1)
    hit = pick(anns, (339.5, 59.5), 2.0, selected=2)
    assert (hit.kind, hit.key) == ("vertex", (0, 0, 2))


# --- select tool ------------------------------------------------------------------------
def test_click_selects_and_hover_shows_what_a_click_takes(harness):
    h = harness
    h.hover(320, 45)
    assert h.editor.hover.kind == "polygon" and h.editor.hover.polygon_item is h.editor.item(2)
    with h.qtbot.waitSignal(h.editor.selectionChanged) as sig:
        h.click(320, 45)
    assert sig.args == [2] and h.editor.selected_annotation() == 2
    assert len(h.editor.handles.handles) == 4  # handles only for the selected polygon
    h.hover(340, 30.5)
    assert h.editor.hover.kind == "vertex"
    h.hover(340.5, 45)
    assert h.editor.hover.kind == "edge"
    h.click(100, 190)  # empty ground: deselects
    assert h.editor.selected_annotation() is None and not h.editor.handles.handles


def test_drag_vertex_moves_model_coordinate_and_undo_redo(harness):
    h = harness
    before = snapshot(h.labels)
    h.click(320, 45)
    h.drag([(340, 60), (350, 65), (360, 75), (365, 80)])
    outer = h.ann(2).polygons[0].outer
    np.testing.assert_allclose(outer[2], (365, 80), atol=1.0)
    np.testing.assert_array_equal(outer[[0, 1, 3]], before[2].polygons[0].outer[[0, 1, 3]])
    assert h.stack.count() == 1  # one command for the whole drag
    item_rect = h.editor.item(2).path().boundingRect()
    assert item_rect.right() == pytest.approx(outer[:, 0].max())
    h.stack.undo()
    assert same_model(h.labels, before)
    h.stack.redo()
    np.testing.assert_allclose(h.ann(2).polygons[0].outer[2], (365, 80), atol=1.0)


def test_click_on_edge_inserts_vertex_there(harness):
    h = harness
    h.click(320, 45)
    h.click(340, 45)  # on the right edge, between vertex 1 (340, 30) and 2 (340, 60)
    outer = h.ann(2).polygons[0].outer
    assert len(outer) == 5
    np.testing.assert_allclose(outer[2], (340, 45), atol=1.0)
    assert h.editor.selected_vertex == (0, 0, 2)
    h.stack.undo()
    assert len(h.ann(2).polygons[0].outer) == 4


def test_delete_vertex_and_refuse_below_three(harness):
    h = harness
    h.click(320, 45)
    h.click(340, 45)  # now 5 vertices, the new one selected
    h.key(Qt.Key.Key_Delete)
    assert len(h.ann(2).polygons[0].outer) == 4
    h.click(300.2, 30.2)  # select vertex 0
    h.key(Qt.Key.Key_Delete)
    assert len(h.ann(2).polygons[0].outer) == 3
    count = h.stack.count()
    h.click(*h.ann(2).polygons[0].outer[0])
    h.messages.clear()
    h.key(Qt.Key.Key_Delete)
    assert len(h.ann(2).polygons[0].outer) == 3  # refused
    assert h.stack.count() == count
    assert any("3" in m for m in h.messages)  # the EditError, shown as a status message


def test_delete_selected_polygon(harness):
    h = harness
    h.click(320, 45)
    h.editor.action("delete").trigger()
    assert 2 not in h.labels.annotations and h.editor.item(2) is None
    assert h.editor.selected_annotation() is None
    h.stack.undo()
    assert 2 in h.labels.annotations and h.editor.item(2) is not None


def test_drag_inside_selected_polygon_moves_it(harness):
    h = harness
    before = snapshot(h.labels)
    h.click(320, 45)
    h.drag([(320, 45), (310, 50), (300, 55)])
    np.testing.assert_allclose(h.ann(2).polygons[0].outer, before[2].polygons[0].outer + (-20, 10), atol=1.0)
    assert same_model(h.labels, before) is False
    h.stack.undo()
    assert same_model(h.labels, before)


def test_change_category_of_selected_polygon(harness):
    h = harness
    h.click(320, 45)
    h.editor.action("toggle_category").trigger()
    assert h.labels.role_of(h.ann(2).category_id) == 1
    assert h.editor.item(2).role == 1
    h.editor.action("category_non_sky").trigger()
    assert h.labels.role_of(h.ann(2).category_id) == 2
    h.stack.undo()
    h.stack.undo()
    assert h.ann(2).category_id == 2


def test_handles_keep_their_screen_size_when_zooming(harness):
    h = harness
    h.click(320, 45)
    handle = next(iter(h.editor.handles.handles.values()))

    def screen_size():
        rect = handle.deviceTransform(h.view.viewportTransform()).mapRect(handle.boundingRect())
        return rect.width(), rect.height()

    size1 = screen_size()
    polygon_width1 = h.view.mapFromScene(QPointF(340, 45)).x() - h.view.mapFromScene(QPointF(300, 45)).x()
    h.view.scale(4.0, 4.0)
    h.view.centerOn(320, 45)
    QApplication.processEvents()
    polygon_width4 = h.view.mapFromScene(QPointF(340, 45)).x() - h.view.mapFromScene(QPointF(300, 45)).x()
    assert polygon_width4 == pytest.approx(4 * polygon_width1, abs=2)
    assert screen_size() == pytest.approx(size1, abs=0.5)
    # and picking follows the zoom: a vertex is grabbed within a few screen pixels
    h.drag([(340, 60), (342, 62)])
    np.testing.assert_allclose(h.ann(2).polygons[0].outer[2], (342, 62), atol=0.3)


def test_tool_shortcuts_and_actions(harness):
    h = harness
    names = {a.data(): a.shortcut().toString() for a in h.editor.actions() if a.data()}
    assert names == {"select": "V", "polygon": "P", "hole": "H", "object": "O", "brush": "B", "eraser": "E"}
    seen = []
    h.editor.toolChanged.connect(seen.append)
    for name in ("polygon", "hole", "object", "brush", "eraser", "select"):
        h.editor.action(name).trigger()
        assert h.editor.tool == name and h.editor.action(name).isChecked()
    assert seen == ["polygon", "hole", "object", "brush", "eraser", "select"]
    # the keys themselves, typed into the view
    for key, name in ((Qt.Key.Key_P, "polygon"), (Qt.Key.Key_H, "hole"), (Qt.Key.Key_O, "object"),
                      (Qt.Key.Key_B, "brush"), (Qt.Key.Key_E, "eraser"), (Qt.Key.Key_V, "select")):
        h.key(key)
        assert h.editor.tool == name
    with pytest.raises(ValueError):
        h.editor.set_tool("lasso")


# --- the shared real Label Studio export on the real panorama's size ----------------------
def test_real_label_studio_polygons_edit_and_undo(qtbot, label_studio_dir, hdri_dir):
    from skysegui.core.annotations import SKY, load_labels, sky_mask

    result = load_labels(label_studio_dir / "city_coco.json", images_dir=hdri_dir)
    labels = result.labels
    image = labels.image_by_name("city")
    assert image is not None and image.path is not None and image.path.parent == hdri_dir
    h = Harness(qtbot, labels, image.id, image.width, image.height)
    original = snapshot(labels)
    sky = next(a for a in labels.annotations_for(image.id) if labels.role_of(a.category_id) == SKY)
    assert set(h.editor._items) == {a.id for a in labels.annotations_for(image.id)}
    # the items are where the model says, in image pixels
    item_rect = h.editor.item(sky.id).path().boundingRect()
    outer = sky.polygons[0].outer
    assert item_rect.left() == pytest.approx(outer[:, 0].min())
    assert item_rect.bottom() == pytest.approx(outer[:, 1].max())

    # drag a skyline vertex away from the image border
    inner = np.nonzero((outer[:, 0] > 50) & (outer[:, 0] < image.width - 50) & (outer[:, 1] > 50))[0]
    vi = int(inner[len(inner) // 2])
    x, y = outer[vi]
    h.click(x, y)  # a vertex of an unselected polygon: selects it
    assert h.editor.selected_annotation() == sky.id
    h.drag([(x, y), (x + 4, y + 6), (x + 8, y + 12)])
    moved = labels.annotations[sky.id].polygons[0].outer
    np.testing.assert_allclose(moved[vi], (x + 8, y + 12), atol=1.0)

    # erase a spot in the middle of the sky: a hole appears
    cx, cy = image.width / 2, 25.0
    assert hit_test.point_in_polygon(outer, [], (cx, cy))
    h.editor.set_tool("eraser")
    h.editor.set_brush_size(12)
    h.drag([(cx - 10, cy), (cx, cy), (cx + 10, cy)])
    assert sky_mask(labels, image.id)[int(cy), int(cx)] == 0
    assert any(p.holes for a in labels.annotations_for(image.id) for p in a.polygons)
    final = snapshot(labels)
    while h.stack.canUndo():
        h.stack.undo()
    assert same_model(labels, original)
    while h.stack.canRedo():
        h.stack.redo()
    assert same_model(labels, final)


# --- on the real viewer -------------------------------------------------------------------
def test_editor_on_the_real_image_view(qtbot):
    from skysegui.gui.viewer.image_view import ImageView

    view = ImageView()
    view.resize(700, 420)
    qtbot.addWidget(view)
    view.set_preview(np.full((H // 2, W // 2, 3), 90, dtype=np.uint8), W, H)
    view.show()
    qtbot.waitExposed(view)
    labels = make_labels()
    stack = QUndoStack()
    editor = LabelEditor(view, stack)
    editor.set_labels(labels, 1)
    vp = view.viewport()

    def at(x, y):
        return view.mapFromScene(QPointF(x, y))

    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(320, 45))
    assert editor.selected_annotation() == 2
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(340, 60))
    for x, y in ((345, 64), (350, 70)):
        p = at(x, y)
        QApplication.sendEvent(vp, QMouseEvent(QEvent.Type.MouseMove, QPointF(p), QPointF(vp.mapToGlobal(p)),
                                               Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton,
                                               Qt.KeyboardModifier.NoModifier))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(350, 70))
    np.testing.assert_allclose(labels.annotations[2].polygons[0].outer[2], (350, 70), atol=1.5)
    assert stack.count() == 1
    # the wheel without Shift still zooms the view (the editor leaves it alone)
    zoom = view.zoom
    p = at(200, 100)
    QApplication.sendEvent(vp, QWheelEvent(QPointF(p), QPointF(vp.mapToGlobal(p)), QPoint(0, 0), QPoint(0, 120),
                                           Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                                           Qt.ScrollPhase.NoScrollPhase, False))
    assert view.zoom > zoom


def test_accepting_regions_on_labels_without_sky_adds_the_category_in_the_same_undo_step(qtbot):
    """Accept prediction on an image whose label file has no 'sky' category yet: one undo
    must remove the traced polygons AND the category it had to add."""
    from skysegui.core.annotations import SKY, mask_to_polygons
    from skysegui.gui.editing.commands import EditCommand, replace_with_regions

    labels = AnnotationSet(images={1: ImageRecord(1, "pano.exr", W, H)},
                           categories={7: Category(7, "building")},
                           annotations={3: Annotation(3, 1, 7, [Polygon(np.array(
                               [[10.0, 150.0], [60.0, 150.0], [60.0, 190.0]]))])})
    before_categories = dict(labels.categories)
    before = snapshot(labels)
    h = Harness(qtbot, labels, 1, W, H)
    mask = np.zeros((H, W), np.uint8)
    mask[:90] = 1
    mask[20:40, 100:140] = 0  # a hole
    edit, count = replace_with_regions(labels, 1, mask_to_polygons(mask))
    h.stack.push(EditCommand(h.editor, labels, 1, edit, "Accept prediction"))
    sky = labels.category_for_role(SKY)
    assert count == 1 and sky is not None and sky not in before_categories
    assert [a.category_id for a in labels.annotations_for(1)] == [sky]
    assert len(labels.annotations_for(1)[0].polygons[0].holes) == 1
    h.stack.undo()
    assert labels.categories == before_categories
    assert same_model(labels, before)
    h.stack.redo()
    assert labels.category_for_role(SKY) == sky and len(labels.annotations_for(1)) == 1
