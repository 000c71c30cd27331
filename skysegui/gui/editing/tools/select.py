"""Select tool: pick, drag vertices, insert vertices on edges, move polygons.

A drag changes only the items while the mouse moves; the one undoable edit (MoveVertex
or MoveAnnotation) is pushed on release, so the model, the label overlay and the undo
history change once per drag, not once per mouse event.

A region dragged over the seam is cut there (core.annotations.seam.move_on_panorama).
A vertex where a region drawn across the 360-degree seam was cut (x = 0 or W, with a
twin at the same height on the other edge: seam_vertices.py) slides along the seam and
takes its twins with it, so the two sides keep meeting.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from skysegui.core.annotations.seam import move_on_panorama
from skysegui.gui.editing import commands
from skysegui.gui.editing.seam_vertices import moved_polygons, seam_twins
from skysegui.gui.editing.tools.base import Tool


class SelectTool(Tool):
    name = "select"
    hint = ("Click a polygon to select it; drag a vertex; click an edge to add a vertex; "
            "drag inside the selection to move it; Delete removes the vertex or polygon")

    def __init__(self, editor):
        super().__init__(editor)
        self._drag: str | None = None  # "vertex" | "polygon"
        self._key = None
        self._start = None  # scene point where the drag began
        self._origin = None  # the vertex position before the drag
        self._last = None
        self._twins: list = []  # seam twins of the dragged vertex (seam_vertices.py)
        self._twin_x: dict = {}

    # --- hover ------------------------------------------------------------------------
    def _show_hover(self, pos) -> None:
        ed = self.editor
        hit = ed.pick(pos)
        if hit is None:
            ed.hover.clear()
            return
        annotation = ed.annotation(hit.annotation_id)
        if hit.kind == "vertex":
            ring = annotation.polygons[hit.polygon_index].rings()[hit.ring_index]
            ed.hover.show_vertex(ring[hit.vertex_index])
        elif hit.kind == "edge":
            ring = annotation.polygons[hit.polygon_index].rings()[hit.ring_index]
            ed.hover.show_edge(ring[hit.vertex_index], ring[(hit.vertex_index + 1) % len(ring)])
        else:
            ed.hover.show_polygon(ed.item(hit.annotation_id))

    def leave(self) -> None:
        self.editor.hover.clear()

    def deactivate(self) -> None:
        self._cancel_drag()
        self.editor.hover.clear()

    # --- mouse ------------------------------------------------------------------------
    def press(self, pos, event) -> bool:
        ed = self.editor
        hit = ed.pick(pos)
        if hit is None:
            ed.select(None)
            return False  # the view may pan
        if hit.kind == "vertex":
            ed.select(hit.annotation_id)
            ed.set_selected_vertex(hit.key)
            ring = ed.annotation(hit.annotation_id).polygons[hit.polygon_index].rings()[hit.ring_index]
            self._begin("vertex", hit.key, pos, ring[hit.vertex_index])
            return True
        if hit.kind == "edge":
            pi, ri, ei = hit.key
            index = ei + 1
            edit = commands.add_vertex(ed.labels, hit.annotation_id, pi, ri, index, hit.point)
            if not ed.push(edit, "Insert vertex"):
                return True
            key = (pi, ri, index)
            ed.set_selected_vertex(key)
            self._begin("vertex", key, pos, np.asarray(hit.point, dtype=np.float64))
            return True
        if hit.annotation_id == ed.selected_annotation():
            ed.set_selected_vertex(None)
            self._begin("polygon", None, pos, None)
            return True
        ed.select(hit.annotation_id)
        return False  # a click selects; a drag from here still pans the view

    def _begin(self, kind, key, pos, origin) -> None:
        self._drag = kind
        self._key = key
        self._start = (pos.x(), pos.y())
        self._origin = None if origin is None else np.array(origin, dtype=np.float64)
        self._last = None
        self._twins = []
        if kind == "vertex":
            annotation = self.editor.annotation(self.editor.selected_annotation())
            width = self.editor.image_size()[0]
            if annotation is not None:
                self._twins = seam_twins(annotation.polygons, key, width)
                self._twin_x = {t: float(annotation.polygons[t[0]].rings()[t[1]][t[2], 0]) for t in self._twins}
        self._stack_index = self.editor.undo_stack.index()
        self.editor.hover.clear()

    def move(self, pos, event) -> bool:
        ed = self.editor
        if self._drag is None:
            if event.buttons() == Qt.MouseButton.NoButton:
                self._show_hover(pos)
            return False
        item = ed.item(ed.selected_annotation())
        if item is None:
            self._cancel_drag()
            return True
        if self._drag == "vertex":
            dx, dy = pos.x() - self._start[0], pos.y() - self._start[1]
            xy = ed.clamp((self._origin[0] + dx, self._origin[1] + dy))
            if self._twins:  # a seam vertex: along the seam, its twins with it
                xy = (float(self._origin[0]), xy[1])
                moves = {self._key: xy}
                for twin in self._twins:
                    item.preview_vertex(*twin, (self._twin_x[twin], xy[1]))
                    ed.handles.move(twin, (self._twin_x[twin], xy[1]))
                    moves[twin] = (self._twin_x[twin], xy[1])
                ed.ghosts.preview_selected(moved_polygons(ed.annotation(ed.selected_annotation()).polygons, moves))
            self._last = xy
            item.preview_vertex(*self._key, xy)
            ed.handles.move(self._key, xy)
        else:
            dx, dy = pos.x() - self._start[0], pos.y() - self._start[1]
            self._last = (dx, dy)
            item.setPos(dx, dy)
            ed.ghosts.offset_selected(dx, dy)  # its copies beside the image move along
            ed.handles.clear()
        return True

    def release(self, pos, event) -> bool:
        ed = self.editor
        kind, key, last = self._drag, self._key, self._last
        self._drag = None
        if kind is None:
            return False
        if ed.undo_stack.index() != self._stack_index:  # undo/redo during the drag
            ed.sync_items()
            return True
        aid = ed.selected_annotation()
        if kind == "vertex" and last is not None and not np.allclose(last, self._origin):
            pi, ri, vi = key
            if self._twins:
                moves = {key: last, **{t: (self._twin_x[t], last[1]) for t in self._twins}}
                ed.push(commands.move_vertices(ed.labels, aid, moves), "Move vertex")
            else:
                ed.push(commands.move_vertex(ed.labels, aid, pi, ri, vi, last), "Move vertex")
        elif kind == "polygon" and last is not None and (last[0] != 0 or last[1] != 0):
            self._push_move(aid, *last)
        else:
            ed.sync_items()
        return True

    def _push_move(self, aid, dx: float, dy: float) -> None:
        """Move the annotation; on a 360-degree panorama a region that goes over the seam
        is cut there (its seam pieces joined first), so no part leaves the image."""
        ed = self.editor
        width = ed.image_size()[0]
        polygons = ed.annotation(aid).polygons
        xs = np.concatenate([r[:, 0] for p in polygons for r in p.rings()]) + dx
        if not ed.wraps() or (xs.min() >= 0 and xs.max() <= width):
            ed.push(commands.move_annotation(ed.labels, aid, dx, dy), "Move polygon")
            return
        moved = move_on_panorama(polygons, dx, dy, width)
        if moved is not None:
            ed.push(commands.replace_polygons(ed.labels, aid, moved, "Move polygon"), "Move polygon")
            return
        ed.report("this region runs all the way round the panorama: it moves only up and down")
        if dy:
            ed.push(commands.move_annotation(ed.labels, aid, 0.0, dy), "Move polygon")
        else:
            ed.sync_items()

    def double_click(self, pos, event) -> bool:
        # The first click of a double-click on an edge already inserted the vertex.
        return self.press(pos, event)

    def _cancel_drag(self) -> None:
        if self._drag is not None:
            self._drag = None
            self.editor.sync_items()

    # --- keys -------------------------------------------------------------------------
    def wants_key(self, event) -> bool:
        return event.key() == Qt.Key.Key_Escape and (self._drag is not None)

    def key(self, event) -> bool:
        if event.key() == Qt.Key.Key_Escape:
            if self._drag is not None:
                self._cancel_drag()
                return True
            if self.editor.selected_annotation() is not None:
                self.editor.select(None)
                return True
        return False
