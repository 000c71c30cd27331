"""Brush and eraser: paint or erase the sky region with a round brush.

While the button is held the stroke is only drawn (a thick path item). On release it
is rasterised once at full resolution (COCO pixel convention: the pixel (i, j) is in
the stroke when its centre (j + .5, i + .5) is) and handed to the core's paint_edit,
which turns the new sky region back into polygons with holes: one undoable command per
stroke (computed in a worker on big images: paint_jobs.py). Size: [ and ] keys or Shift+wheel; a circle shows the brush under the cursor.

When the view wraps a 360-degree panorama the stroke may run onto the copies beside the
image (across the seam): its mask is folded modulo the width (folded_stroke_mask), so it
paints on both sides of the seam in one command.
"""

from __future__ import annotations

import cv2
import numpy as np
import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsPathItem

from skysegui.gui.editing import colors
from skysegui.gui.editing.tools.base import Tool

_SHIFT = 4  # OpenCV sub-pixel bits for drawing


def stroke_mask(points, diameter: float, width: int, height: int) -> np.ndarray:
    """uint8 H x W mask (1 = painted) of a round brush of `diameter` image pixels
    dragged through `points` (scene coordinates)."""
    mask = np.zeros((height, width), dtype=np.uint8)
    if not points:
        return mask
    scale = 1 << _SHIFT
    pts = [(int(round((x - 0.5) * scale)), int(round((y - 0.5) * scale))) for x, y in points]
    radius = max(diameter / 2.0, 0.5)
    thickness = max(int(round(diameter)), 1)
    for p in pts:
        cv2.circle(mask, p, int(round(radius * scale)), 1, thickness=-1, lineType=cv2.LINE_8, shift=_SHIFT)
    for a, b in zip(pts[:-1], pts[1:], strict=True):
        cv2.line(mask, a, b, 1, thickness=thickness, lineType=cv2.LINE_8, shift=_SHIFT)
    return mask


def folded_stroke_mask(points, diameter: float, width: int, height: int) -> np.ndarray:
    """Like stroke_mask, for a stroke anywhere on the panorama's copies (x in any
    multiple of the width): every copy it touches is drawn onto the image, so a stroke
    across the 360-degree seam paints at both edges."""
    if not points:
        return np.zeros((height, width), dtype=np.uint8)
    xs = np.asarray(points, dtype=np.float64)[:, 0]
    r = max(diameter / 2.0, 0.5) + 1.0
    first, last = int(np.floor((xs.min() - r) / width)), int(np.floor((xs.max() + r) / width))
    mask = None
    for k in range(first, last + 1):
        shifted = [(x - k * width, y) for x, y in points]
        part = stroke_mask(shifted, diameter, width, height)
        mask = part if mask is None else np.bitwise_or(mask, part, out=mask)
    return mask


class BrushTool(Tool):
    def __init__(self, editor, erase: bool):
        super().__init__(editor)
        self.erase = erase
        self.name = "eraser" if erase else "brush"
        self.hint = (
            ("Drag to erase sky" if erase else "Drag to paint sky")
            + "; [ and ] or Shift+wheel change the brush size"
        )
        self._points: list[tuple[float, float]] = []
        self._stroke_item: QGraphicsPathItem | None = None
        self._cursor = QGraphicsEllipseItem()
        color = colors.ERASER if erase else colors.DRAFT
        pen = QPen(color, 1.5)
        pen.setCosmetic(True)
        self._cursor.setPen(pen)
        self._cursor.setZValue(150)
        self._cursor.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._cursor.setVisible(False)
        self._color = color
        self._cursor_in_scene = False

    @property
    def cursor_item(self) -> QGraphicsEllipseItem:
        return self._cursor

    # --- cursor -----------------------------------------------------------------------
    def size_changed(self) -> None:
        r = self.editor.brush_size / 2.0
        self._cursor.setRect(QRectF(-r, -r, 2 * r, 2 * r))

    def _show_cursor(self, pos) -> None:
        if not self._cursor_in_scene:
            self.editor.scene.addItem(self._cursor)
            self._cursor_in_scene = True
        self.size_changed()
        self._cursor.setPos(pos)
        self._cursor.setVisible(True)

    def activate(self) -> None:
        self.size_changed()
        self.editor.view.viewport().setCursor(Qt.CursorShape.CrossCursor)

    def deactivate(self) -> None:
        self._cursor.setVisible(False)
        self._drop_stroke()
        self.editor.view.viewport().unsetCursor()

    def leave(self) -> None:
        self._cursor.setVisible(False)

    # --- stroke -----------------------------------------------------------------------
    def press(self, pos, event) -> bool:
        self._show_cursor(pos)
        self._points = [(pos.x(), pos.y())]
        item = QGraphicsPathItem()
        fill = QColor(self._color)
        fill.setAlpha(110)
        pen = QPen(fill, self.editor.brush_size)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        item.setPen(pen)
        item.setZValue(140)
        item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.editor.scene.addItem(item)
        self._stroke_item = item
        self._path = QPainterPath(QPointF(pos))
        self._path.lineTo(QPointF(pos))
        item.setPath(self._path)
        return True

    def move(self, pos, event) -> bool:
        self._show_cursor(pos)
        if self._stroke_item is None:
            return False
        self._points.append((pos.x(), pos.y()))
        self._path.lineTo(QPointF(pos))
        self._stroke_item.setPath(self._path)
        return True

    def release(self, pos, event) -> bool:
        if self._stroke_item is None:
            return False
        points, pending = self._points, self._stroke_item
        self._stroke_item, self._points = None, []  # the next stroke may start at once
        ed = self.editor
        w, h = ed.image_size()
        if ed.wraps():
            mask = folded_stroke_mask(points, ed.brush_size, w, h)
        else:
            mask = stroke_mask(points, ed.brush_size, w, h)
        if not mask.any():
            _remove(pending)
            return True
        # the stroke stays drawn until its edit lands (a worker on big images)
        ed.paint_queue.submit(mask, self.erase, "Erase sky" if self.erase else "Paint sky",
                              on_done=lambda: _remove(pending))
        return True

    def view_wrapped(self, dx: float) -> None:
        if self._stroke_item is None:
            return
        self._points = [(x + dx, y) for x, y in self._points]
        self._path.translate(dx, 0.0)
        self._stroke_item.setPath(self._path)

    def _drop_stroke(self) -> None:
        if self._stroke_item is not None:
            _remove(self._stroke_item)
        self._stroke_item = None
        self._points = []

    def wants_key(self, event) -> bool:
        return event.key() == Qt.Key.Key_Escape and self._stroke_item is not None

    def key(self, event) -> bool:
        if event.key() == Qt.Key.Key_Escape and self._stroke_item is not None:
            self._drop_stroke()
            return True
        return False


def _remove(item) -> None:
    if shiboken6.isValid(item) and item.scene() is not None:
        item.scene().removeItem(item)
