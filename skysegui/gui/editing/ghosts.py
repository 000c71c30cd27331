"""Outlines of the annotations on the viewer's wrapped copies of a 360-degree panorama.

The viewer shows a dimmed copy of the image on each side of the real one (scene x in
[-W, 0) and [W, 2W)); the mask overlay already repeats there. These outlines repeat the
polygons too, so a sky region drawn across the seam is seen continuing on the other side
(above all in the Seam view, where half of the window is the right-hand copy). They are
only a picture: not editable, below the editor's items (z 99), one path item per copy and
colour, so thousands of vertices cost a handful of items.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene

from skysegui.gui.editing import colors
from skysegui.gui.editing.items import path_from_rings

Z_GHOST = 99  # above the mask overlays (10..20), below the editable items (>= 100)


class GhostOutlines:
    """The outlines of one image's annotations, repeated one image width left and right."""

    def __init__(self, scene: QGraphicsScene):
        self._scene = scene
        self._items: list[QGraphicsPathItem] = []
        self._selected: list[tuple[QGraphicsPathItem, float, bool]] = []  # (item, copy's x, is outline)
        self._width: float | None = None

    @property
    def items(self) -> list[QGraphicsPathItem]:
        return [i for i in self._items if shiboken6.isValid(i)]

    def clear(self) -> None:
        for item in self._items:
            if shiboken6.isValid(item) and item.scene() is not None:
                item.scene().removeItem(item)
        self._items = []
        self._selected = []

    def show(self, annotations, width: float | None, copies=(-1, 1), opacity: float = 1.0) -> None:
        """Draw `annotations` [(annotation, role, selected)] on each copy in `copies`
        (-1 left, +1 right of the real image); width None (or no copies) hides them."""
        self.clear()
        self._width = width
        if not width or not copies:
            return
        groups: dict[tuple, list] = {}
        for annotation, role, selected in annotations:
            key = (role, selected)
            groups.setdefault(key, []).extend(r for p in annotation.polygons for r in p.rings())
        for (role, selected), rings in groups.items():
            pen = QPen(colors.SELECTED if selected else colors.outline_color(role), 1.0)
            pen.setCosmetic(True)
            outline = path_from_rings(rings, (0.0, float(width)))  # no line along the seam
            fill = path_from_rings(rings) if selected else None  # the selection's tint too
            for k in copies:
                if fill is not None:
                    self._add(fill, QPen(Qt.PenStyle.NoPen), QBrush(colors.fill_color(role, 60)), k * width,
                              opacity, selected, outline=False)
                self._add(outline, pen, QBrush(Qt.BrushStyle.NoBrush), k * width, opacity, selected)

    def _add(self, path, pen, brush, x: float, opacity: float, selected: bool = False,
             outline: bool = True) -> None:
        item = QGraphicsPathItem(path)
        item.setPen(pen)
        item.setBrush(brush)
        item.setPos(x, 0.0)
        item.setZValue(Z_GHOST)
        item.setOpacity(opacity)
        item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._scene.addItem(item)
        self._items.append(item)
        if selected:
            self._selected.append((item, x, outline))

    def offset_selected(self, dx: float, dy: float) -> None:
        """Show the selection's copies moved by (dx, dy) while it is dragged."""
        for item, x, _outline in self._selected:
            if shiboken6.isValid(item):
                item.setPos(x + dx, dy)

    def preview_selected(self, polygons) -> None:
        """Show the selection's copies with `polygons` (a vertex drag in progress: a cut
        vertex and its other side, seen on the copy in the Seam view, move together)."""
        if not self._selected or not self._width:
            return
        rings = [r for p in polygons for r in p.rings()]
        outline = path_from_rings(rings, (0.0, float(self._width)))
        fill = path_from_rings(rings)
        for item, _x, is_outline in self._selected:
            if shiboken6.isValid(item):
                item.setPath(outline if is_outline else fill)

    def set_opacity(self, opacity: float) -> None:
        for item in self.items:
            item.setOpacity(opacity)
