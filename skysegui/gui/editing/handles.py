"""Vertex handles: small squares that keep their screen size at every zoom
(ItemIgnoresTransformations). Only the selected annotation gets handles, only for the
vertices inside the visible area, at most one per screen cell of about a handle's size
(vertices closer than that on screen would be a solid band of squares; picking still
reaches every vertex and the hover ring shows it), and at most MAX_HANDLES in all.
Handles are pooled and re-used; while a vertex is dragged only its handle moves.
"""

from __future__ import annotations

import numpy as np
import shiboken6
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QGraphicsScene

from skysegui.gui.editing import colors

HANDLE_PX = 7.0  # side of a handle on screen
CELL_PX = 10.0  # at most one handle per CELL_PX x CELL_PX screen cell
MAX_HANDLES = 1500
Z_HANDLE = 110
Z_ACTIVE_HANDLE = 111

VertexKey = tuple[int, int, int]  # (polygon index, ring index, vertex index)


class VertexHandle(QGraphicsRectItem):
    """One handle; its rect is in screen pixels around its scene position."""

    def __init__(self, size: float = HANDLE_PX):
        half = size / 2.0
        super().__init__(QRectF(-half, -half, size, size))
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations, True)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(Z_HANDLE)
        self.key: VertexKey | None = None
        self.set_active(False)

    def set_active(self, active: bool) -> None:
        pen = QPen(colors.HANDLE_ACTIVE if active else colors.SELECTED.darker(150), 1.0)
        pen.setCosmetic(True)
        self.setPen(pen)
        self.setBrush(QBrush(colors.HANDLE_ACTIVE if active else colors.HANDLE_FILL))
        self.setZValue(Z_ACTIVE_HANDLE if active else Z_HANDLE)


class HandleLayer:
    """The handles of the selected annotation, laid out for the visible scene rect."""

    def __init__(self, scene: QGraphicsScene, max_handles: int = MAX_HANDLES):
        self._scene = scene
        self._pool: list[VertexHandle] = []
        self._by_key: dict[VertexKey, VertexHandle] = {}
        self.max_handles = max_handles
        self.too_many = False  # True when the visible vertices exceed max_handles
        self._active: VertexKey | None = None

    @property
    def handles(self) -> dict[VertexKey, VertexHandle]:
        return self._by_key

    def clear(self) -> None:
        for h in self._by_key.values():
            if not shiboken6.isValid(h):
                continue
            h.setVisible(False)
            h.key = None
            self._pool.append(h)
        self._by_key = {}
        self.too_many = False

    def show(self, polygons, visible: QRectF, active: VertexKey | None = None, scale: float = 1.0) -> None:
        """Handles for the vertices of `polygons` (list of Polygon) inside `visible`,
        thinned to one per screen cell at `scale` (screen px per scene unit).

        The active vertex always gets a handle, even when there are too many to show."""
        self.clear()
        self._active = active
        x0, y0, x1, y1 = visible.left(), visible.top(), visible.right(), visible.bottom()
        chosen: list[tuple[VertexKey, float, float]] = []
        total = 0
        for pi, polygon in enumerate(polygons):
            for ri, ring in enumerate(polygon.rings()):
                inside = np.nonzero(
                    (ring[:, 0] >= x0) & (ring[:, 0] <= x1) & (ring[:, 1] >= y0) & (ring[:, 1] <= y1)
                )[0]
                inside = _one_per_cell(ring, inside, CELL_PX / max(scale, 1e-9))
                total += len(inside)
                if total <= self.max_handles:
                    chosen += [((pi, ri, int(vi)), ring[vi, 0], ring[vi, 1]) for vi in inside]
        self.too_many = total > self.max_handles
        if self.too_many:
            chosen = []
        if active is not None and all(key != active for key, _, _ in chosen):
            pi, ri, vi = active
            ring = polygons[pi].rings()[ri]
            chosen.append((active, ring[vi, 0], ring[vi, 1]))
        for key, x, y in chosen:
            h = self._take()
            h.key = key
            h.setPos(float(x), float(y))
            h.set_active(key == active)
            h.setVisible(True)
            self._by_key[key] = h

    def move(self, key: VertexKey, xy) -> None:
        """Move one handle during a drag (the cheap path: nothing else is touched)."""
        h = self._by_key.get(key)
        if h is not None:
            h.setPos(float(xy[0]), float(xy[1]))

    def _take(self) -> VertexHandle:
        while self._pool:
            h = self._pool.pop()
            if shiboken6.isValid(h) and h.scene() is self._scene:
                return h
        h = VertexHandle()
        self._scene.addItem(h)
        return h

    def remove_from_scene(self) -> None:
        self.clear()
        for h in self._pool:
            if h.scene() is not None:
                h.scene().removeItem(h)
        self._pool = []


def _one_per_cell(ring: np.ndarray, indices: np.ndarray, cell: float) -> np.ndarray:
    """The first of `indices` in each cell of a grid of side `cell` (scene units)."""
    if len(indices) < 2:
        return indices
    cells = np.floor(ring[indices] / cell).astype(np.int64)
    _, first = np.unique(cells, axis=0, return_index=True)
    return indices[np.sort(first)]
