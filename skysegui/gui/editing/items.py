"""Scene items that draw annotations: all polygons (with holes) of one annotation as one
QPainterPath with the odd-even fill rule, a semi-transparent fill by category role and a
cosmetic outline (same screen width at every zoom).

Paths are built from numpy in one go (no per-point Python objects); while a vertex is
dragged only its path element(s) move (setElementPositionAt), whatever the ring's size.

Edges that run along the image's left or right border (x = 0 or x = W) are not stroked:
on a 360-degree panorama that border is the seam, and a region drawn across it is stored
as pieces on both sides whose border edges would draw a false line through the region.
"""

from __future__ import annotations

import struct

import numpy as np
import shiboken6
from PySide6.QtCore import QByteArray, QDataStream, Qt
from PySide6.QtGui import QBrush, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem

from skysegui.gui.editing import colors

Z_ANNOTATION = 100
Z_SELECTED = 101


_ELEMENT = np.dtype([("type", ">i4"), ("x", ">f8"), ("y", ">f8")])


def path_from_rings(rings: list[np.ndarray], hide_x=()) -> QPainterPath:
    """One path, each ring (N x 2) a closed subpath, filled odd-even so holes stay empty.
    Edges with both ends on one of the vertical lines x in `hide_x` become moves (not
    drawn by a pen) with the same element index, so the path is only for stroking.

    Built through QPainterPath's QDataStream format (count, then type/x/y per element,
    then cStart and the fill rule, all big-endian) from one numpy buffer."""
    rings = [np.asarray(r, dtype=np.float64).reshape(-1, 2) for r in rings]
    rings = [r for r in rings if len(r) >= 2]
    n = sum(len(r) + 1 for r in rings)
    path = QPainterPath()
    path.setFillRule(Qt.FillRule.OddEvenFill)
    if n == 0:
        return path
    buf = bytearray(4 + n * _ELEMENT.itemsize + 8)
    struct.pack_into(">i", buf, 0, n)
    struct.pack_into(">ii", buf, 4 + n * _ELEMENT.itemsize, 0, int(Qt.FillRule.OddEvenFill.value))
    elements = np.frombuffer(buf, dtype=_ELEMENT, count=n, offset=4)
    k = 0
    for ring in rings:
        m = len(ring)
        elements["type"][k] = 0  # MoveToElement
        elements["type"][k + 1 : k + m + 1] = 1  # LineToElement
        elements["x"][k : k + m] = ring[:, 0]
        elements["y"][k : k + m] = ring[:, 1]
        elements["x"][k + m], elements["y"][k + m] = ring[0]  # back to the start: closed
        if len(hide_x):
            xs, nxt = ring[:, 0], np.roll(ring[:, 0], -1)
            along = np.zeros(m, dtype=bool)
            for x in hide_x:
                along |= (xs == x) & (nxt == x)
            # edge i (vertex i -> i+1) is element k + i + 1
            elements["type"][k + 1 : k + m + 1][along] = 0
        k += m + 1
    QDataStream(QByteArray(bytes(buf))) >> path
    return path


class AnnotationItem(QGraphicsPathItem):
    """The view of one Annotation. It never changes the model: previews of a drag
    (`preview_vertex`, `setPos`) are visual only until the edit command is pushed."""

    def __init__(self, annotation, role: int, parent: QGraphicsItem | None = None,
                 seam_width: float | None = None):
        super().__init__(parent)
        self.seam_width = seam_width  # the image width: edges along x = 0 / W are not stroked
        self._outline: QPainterPath | None = None
        self.annotation_id = annotation.id
        self.role = role
        self._selected = False
        self._hovered = False
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)
        self.setZValue(Z_ANNOTATION)
        self.set_polygons(annotation.polygons)
        self._restyle()

    # --- geometry ---------------------------------------------------------------
    def set_polygons(self, polygons) -> None:
        """Rebuild from the model's polygons (list of Polygon)."""
        rings = [r for p in polygons for r in p.rings()]
        # path element index of the first vertex of each (polygon, ring); +1 closing element
        self._first_element: dict[tuple[int, int], tuple[int, int]] = {}
        k = 0
        for pi, p in enumerate(polygons):
            for ri, r in enumerate(p.rings()):
                if len(r) >= 2:
                    self._first_element[(pi, ri)] = (k, len(r))
                    k += len(r) + 1
        self.setPos(0.0, 0.0)
        self._outline = None
        if self.seam_width and _on_seam(rings, self.seam_width):
            self._outline = path_from_rings(rings, (0.0, float(self.seam_width)))
        self.setPath(path_from_rings(rings))

    @property
    def outline_path(self) -> QPainterPath:
        """What the pen draws: the path without the edges along the seam."""
        return self.path() if self._outline is None else self._outline

    def paint(self, painter, option, widget=None) -> None:
        if self._outline is None:
            super().paint(painter, option, widget)
            return
        if self.brush().style() != Qt.BrushStyle.NoBrush:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(self.brush())
            painter.drawPath(self.path())
        painter.setPen(self.pen())
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._outline)

    def preview_vertex(self, polygon_index: int, ring_index: int, vertex_index: int, xy) -> None:
        """Show one vertex at `xy` (scene units) while it is dragged: only its path
        element (and the ring's closing element for vertex 0) moves."""
        start, count = self._first_element.get((polygon_index, ring_index), (0, 0))
        if not 0 <= vertex_index < count:
            return  # the model changed under the drag (e.g. an undo): nothing to show
        path = self.path()
        x, y = float(xy[0]), float(xy[1])
        path.setElementPositionAt(start + vertex_index, x, y)
        if vertex_index == 0:
            path.setElementPositionAt(start + count, x, y)
        if self._outline is not None:
            self._outline.setElementPositionAt(start + vertex_index, x, y)
            if vertex_index == 0:
                self._outline.setElementPositionAt(start + count, x, y)
        self.setPath(path)

    # --- look -------------------------------------------------------------------
    def set_role(self, role: int) -> None:
        self.role = role
        self._restyle()

    def set_selected_look(self, selected: bool) -> None:
        self._selected = selected
        self.setZValue(Z_SELECTED if selected else Z_ANNOTATION)
        self._restyle()

    def set_hovered_look(self, hovered: bool) -> None:
        if hovered != self._hovered:
            self._hovered = hovered
            self._restyle()

    def _restyle(self) -> None:
        # Cosmetic pens wider than 1 px go through Qt's general stroker: about 10x
        # slower on a 5,000-vertex ring (and 50x with antialiasing). Selection and hover
        # therefore change colour and fill, never the outline width.
        if self._selected:
            color = colors.SELECTED
        elif self._hovered:
            color = colors.HOVER
        else:
            color = colors.outline_color(self.role)
        pen = QPen(color, 1.0)
        pen.setCosmetic(True)
        self.setPen(pen)
        # At rest only the outline: the Layers dock's label overlay is the fill, in the
        # artist's colour and opacity (a second tint here turned pink into lavender).
        if self._selected or self._hovered:
            self.setBrush(QBrush(colors.fill_color(self.role, 60)))
        else:
            self.setBrush(colors.rest_brush(self.role))


def _on_seam(rings, width: float) -> bool:
    """Whether some edge of the rings runs along x = 0 or x = width."""
    for ring in rings:
        xs = np.asarray(ring, dtype=np.float64)[:, 0]
        nxt = np.roll(xs, -1)
        if np.any(((xs == 0) & (nxt == 0)) | ((xs == width) & (nxt == width))):
            return True
    return False


class HoverMarker:
    """Shows what a click would take: a ring around a vertex, a thick edge segment, or
    (through the annotation item's hover look) the whole polygon."""

    def __init__(self, scene):
        from PySide6.QtWidgets import QGraphicsLineItem

        from skysegui.gui.editing.handles import VertexHandle

        self._scene = scene
        self.vertex = VertexHandle(size=13.0)
        self.vertex.setBrush(QBrush(Qt.BrushStyle.NoBrush))
        pen = QPen(colors.HOVER, 2.0)
        pen.setCosmetic(True)
        self.vertex.setPen(pen)
        self.vertex.setZValue(120)
        self.edge = QGraphicsLineItem()
        edge_pen = QPen(colors.HOVER, 4.0)
        edge_pen.setCosmetic(True)
        edge_pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        self.edge.setPen(edge_pen)
        self.edge.setZValue(119)
        self.edge.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        for item in (self.vertex, self.edge):
            item.setVisible(False)
            scene.addItem(item)
        self.polygon_item: AnnotationItem | None = None
        self.kind: str | None = None

    def clear(self) -> None:
        self.kind = None
        self.vertex.setVisible(False)
        self.edge.setVisible(False)
        self._set_polygon(None)

    def _set_polygon(self, item: AnnotationItem | None) -> None:
        if self.polygon_item is not None and shiboken6.isValid(self.polygon_item):
            self.polygon_item.set_hovered_look(False)
        self.polygon_item = item
        if item is not None:
            item.set_hovered_look(True)

    def show_vertex(self, xy) -> None:
        self.clear()
        self.kind = "vertex"
        self.vertex.setPos(float(xy[0]), float(xy[1]))
        self.vertex.setVisible(True)

    def show_edge(self, a, b) -> None:
        self.clear()
        self.kind = "edge"
        self.edge.setLine(float(a[0]), float(a[1]), float(b[0]), float(b[1]))
        self.edge.setVisible(True)

    def show_polygon(self, item: AnnotationItem | None) -> None:
        self.clear()
        self.kind = "polygon" if item is not None else None
        self._set_polygon(item)
