"""Draw a polygon vertex by vertex: click to add, Enter / double-click / a click on the
first vertex closes it, Backspace (or Delete) removes the last vertex, Esc cancels.
The closed ring becomes a new sky annotation; subclasses (hole.py) decide otherwise.

Vertices may be placed on the view's wrapped copies of the panorama (editor.clamp_drawing),
so a region is drawn straight across the 360-degree seam. The finished ring is cut at the
seam and folded onto the image (core.annotations.seam); its pieces land as ONE annotation
with several polygons: one undo step, one selection, one COCO annotation for what the
artist drew as one region (several annotations would each need selecting and deleting).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from skysegui.core.annotations import SKY, Polygon, split_polygon
from skysegui.gui.editing import colors, commands
from skysegui.gui.editing.handles import VertexHandle
from skysegui.gui.editing.tools.base import Tool

_CLOSE_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
_UNDO_KEYS = (Qt.Key.Key_Backspace, Qt.Key.Key_Delete)


class DrawPolygonTool(Tool):
    name = "polygon"
    hint = "Click to add vertices of a sky polygon; Enter, double-click or the first vertex closes it; Backspace removes the last vertex; Esc cancels"
    color = colors.DRAFT

    def __init__(self, editor):
        super().__init__(editor)
        self.points: list[tuple[float, float]] = []
        self._cursor: tuple[float, float] | None = None
        self._path_item: QGraphicsPathItem | None = None
        self._first: VertexHandle | None = None

    # --- draft drawing ----------------------------------------------------------------
    def _ensure_items(self) -> None:
        if self._path_item is None:
            self._path_item = QGraphicsPathItem()
            pen = QPen(self.color, 2.0, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            self._path_item.setPen(pen)
            self._path_item.setZValue(130)
            self._path_item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            self.editor.scene.addItem(self._path_item)
            self._first = VertexHandle(size=11.0)
            self._first.setZValue(131)
            self.editor.scene.addItem(self._first)

    def _redraw(self) -> None:
        self._ensure_items()
        path = QPainterPath()
        if self.points:
            path.moveTo(QPointF(*self.points[0]))
            for p in self.points[1:]:
                path.lineTo(QPointF(*p))
            if self._cursor is not None:
                path.lineTo(QPointF(*self._cursor))
            self._first.setPos(QPointF(*self.points[0]))
        self._path_item.setPath(path)
        self._path_item.setVisible(bool(self.points))
        self._first.setVisible(len(self.points) >= 3)

    def _remove_items(self) -> None:
        for item in (self._path_item, self._first):
            if item is not None and item.scene() is not None:
                item.scene().removeItem(item)
        self._path_item = None
        self._first = None

    # --- lifecycle --------------------------------------------------------------------
    def activate(self) -> None:
        self.points = []

    def deactivate(self) -> None:
        self.cancel()

    def cancel(self) -> None:
        had = bool(self.points)
        self.points = []
        self._cursor = None
        self._remove_items()
        if had:
            self.editor.report("drawing cancelled")

    def view_wrapped(self, dx: float) -> None:
        if not self.points:
            return
        self.points = [(x + dx, y) for x, y in self.points]
        if self._cursor is not None:
            self._cursor = (self._cursor[0] + dx, self._cursor[1])
        self._redraw()

    def _near_first(self, xy) -> bool:
        if len(self.points) < 3:
            return False
        d = np.hypot(xy[0] - self.points[0][0], xy[1] - self.points[0][1])
        return bool(d <= self.editor.tolerance())

    # --- events -----------------------------------------------------------------------
    def press(self, pos, event) -> bool:
        xy = self.editor.clamp_drawing((pos.x(), pos.y()))
        if self._near_first(xy):
            self.close()
            return True
        if not self.points or self.points[-1] != xy:
            self.points.append(xy)
        if len(self.points) == 1:
            self.editor.report(self.hint)
        self._redraw()
        return True

    def move(self, pos, event) -> bool:
        if not self.points:
            return False
        self._cursor = self.editor.clamp_drawing((pos.x(), pos.y()))
        self._redraw()
        return False  # the view still shows the pixel under the cursor

    def release(self, pos, event) -> bool:
        return True

    def double_click(self, pos, event) -> bool:
        # The press before a double-click has already added the vertex under the cursor.
        xy = self.editor.clamp_drawing((pos.x(), pos.y()))
        if not self.points or np.hypot(xy[0] - self.points[-1][0], xy[1] - self.points[-1][1]) > self.editor.tolerance():
            self.points.append(xy)
        self.close()
        return True

    def wants_key(self, event) -> bool:
        return bool(self.points) and event.key() in (Qt.Key.Key_Escape, *_UNDO_KEYS, *_CLOSE_KEYS)

    def key(self, event) -> bool:
        k = event.key()
        if not self.points:
            return False
        if k in _CLOSE_KEYS:
            self.close()
        elif k == Qt.Key.Key_Escape:
            self.cancel()
        elif k in _UNDO_KEYS:
            self.remove_last()
        else:
            return False
        return True

    def delete(self) -> bool:
        if not self.points:
            return False
        self.remove_last()
        return True

    def remove_last(self) -> None:
        if self.points:
            self.points.pop()
        if self.points:
            self._redraw()
        else:
            self.cancel()

    def close(self) -> None:
        """Finish the ring (at least 3 distinct vertices) and hand it to `finish`."""
        ring = _dedupe(self.points)
        if len(ring) < 3:
            self.editor.report("a polygon needs at least 3 vertices: keep clicking, or Esc to cancel")
            return
        self.points = []
        self._cursor = None
        self._remove_items()
        self.finish(np.asarray(ring, dtype=np.float64))

    def finish(self, ring: np.ndarray) -> None:
        """Add the ring as a new annotation of this tool's role."""
        self.add_annotation(ring, SKY, "Draw sky polygon")

    def pieces(self, ring: np.ndarray) -> list[Polygon]:
        """The ring folded onto the image: itself when it lies on the image, else its
        pieces on either side of the seam."""
        return split_polygon(Polygon(ring), self.editor.image_size()[0])

    def add_annotation(self, ring: np.ndarray, role: int, text: str) -> None:
        ed = self.editor
        pieces = self.pieces(ring)
        if not pieces:
            ed.report("the polygon has no area: draw it larger")
            return
        if len(pieces) == 1:
            edit, new_id = commands.add_polygon(ed.labels, ed.image_id, pieces[0].outer, role)
        else:
            edit, new_id = commands.add_polygons(ed.labels, ed.image_id, pieces, role)
        if ed.push(edit, text):
            ed.select(new_id)


def _dedupe(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Drop consecutive repeats (and a last vertex equal to the first)."""
    out: list[tuple[float, float]] = []
    for p in points:
        if not out or out[-1] != p:
            out.append(p)
    if len(out) > 1 and out[-1] == out[0]:
        out.pop()
    return out
