"""LabelEditor: the polygon editor on top of the viewer's QGraphicsView.

It draws the annotations of one image into view.scene() (z >= 100, scene units are
full-resolution image pixels), hands mouse, key and wheel events to the active tool
through event filters, and changes the model only through QUndoCommands pushed on the
shell's QUndoStack. Events a tool does not use go on to the view (pan, zoom, readout).

360-degree seam: when the view wraps (ImageView.wrap: a copy of the panorama on each
side), the drawing tools take vertices on those copies too (`clamp_drawing`: x in
[-W, 2W]) and the brush paints there; the finished ring or stroke is folded back onto
the image (core.annotations.seam, brush.folded_stroke_mask). The annotations' outlines
are repeated on the copies (ghosts.py): a click there selects (and a drag moves) the
region, but vertices are edited on the image. The seam's own edges are neither drawn nor
picked; a cut vertex moves and is deleted with its other side (seam_vertices.py).
"""

from __future__ import annotations

import math

import shiboken6
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QUndoStack
from PySide6.QtWidgets import QGraphicsView

from skysegui.core.annotations import NON_SKY, SKY, UNSURE
from skysegui.core.errors import AnnotationError, SkysegError
from skysegui.gui.editing import commands
from skysegui.gui.editing.ghosts import GhostOutlines
from skysegui.gui.editing.handles import HandleLayer, VertexKey
from skysegui.gui.editing.items import AnnotationItem, HoverMarker
from skysegui.gui.editing.paint_jobs import PaintQueue
from skysegui.gui.editing.picking import Pick, pick
from skysegui.gui.editing.seam_vertices import seam_twins, without_vertices
from skysegui.gui.editing.tools.brush import BrushTool
from skysegui.gui.editing.tools.draw_polygon import DrawPolygonTool
from skysegui.gui.editing.tools.hole import HoleTool, ObjectTool
from skysegui.gui.editing.tools.select import SelectTool

VERTEX_TOLERANCE_PX = 7.0
GHOST_OPACITY = 0.55  # as the viewer's dimmed copies (full opacity in the Seam view)
BRUSH_MIN, BRUSH_MAX = 1.0, 4000.0

CATEGORY_WORDS = {SKY: "sky", NON_SKY: "non-sky object", UNSURE: "unsure"}  # in the undo list
_TOOL_INFO = {  # name -> (menu text, shortcut)
    "select": ("&Select and edit", "V"),
    "polygon": ("Draw sky &polygon", "P"),
    "hole": ("Draw &hole in sky", "H"),
    "object": ("Draw non-sky &object", "O"),
    "brush": ("Sky &brush", "B"),
    "eraser": ("Sky &eraser", "E"),
}

_MOUSE_EVENTS = {
    QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseButtonRelease,
    QEvent.Type.MouseButtonDblClick,
    QEvent.Type.MouseMove,
}


class LabelEditor(QObject):
    changed = Signal()
    selectionChanged = Signal(object)
    toolChanged = Signal(str)
    statusMessage = Signal(str)

    TOOLS = ("select", "polygon", "hole", "object", "brush", "eraser")

    def __init__(self, view: QGraphicsView, undo_stack: QUndoStack, parent: QObject | None = None):
        super().__init__(parent if parent is not None else view)
        self.view = view
        self.undo_stack = undo_stack
        self.labels = None
        self.image_id = None
        self._items: dict[object, AnnotationItem] = {}
        self._selected = None
        self.selected_vertex: VertexKey | None = None
        self._brush_size = 24.0
        self._space_down = False
        self._mouse_owner = None  # the tool that took the current press
        self._last_view: tuple | None = None
        self._centre_x: float | None = None
        self.paint_queue = PaintQueue(self)
        self.handles = HandleLayer(self.scene)
        self.hover = HoverMarker(self.scene)
        self.ghosts = GhostOutlines(self.scene)
        self._ghost_key: tuple | None = None
        self._tools = {
            "select": SelectTool(self),
            "polygon": DrawPolygonTool(self),
            "hole": HoleTool(self),
            "object": ObjectTool(self),
            "brush": BrushTool(self, erase=False),
            "eraser": BrushTool(self, erase=True),
        }
        self._tool = "select"
        self._handles_timer = QTimer(self)
        self._handles_timer.setSingleShot(True)
        self._handles_timer.setInterval(0)
        self._handles_timer.timeout.connect(self.refresh_handles)
        self._ghosts_timer = QTimer(self)
        self._ghosts_timer.setSingleShot(True)
        self._ghosts_timer.setInterval(0)
        self._ghosts_timer.timeout.connect(self.refresh_ghosts)
        self._actions = self._make_actions()
        view.viewport().installEventFilter(self)
        view.installEventFilter(self)
        view.viewport().setMouseTracking(True)
        view.horizontalScrollBar().valueChanged.connect(self._view_moved)
        view.verticalScrollBar().valueChanged.connect(self._view_moved)

    # --- public interface -----------------------------------------------------------
    @property
    def scene(self):
        return self.view.scene()

    def set_labels(self, labels, image_id) -> None:
        """Show the polygons of `image_id` in `labels` (None for either clears)."""
        self.current_tool.deactivate()
        self.labels = labels
        self.image_id = image_id if labels is not None else None
        self._set_selected(None)
        for item in self._items.values():
            if shiboken6.isValid(item) and item.scene() is not None:
                item.scene().removeItem(item)
        self._items = {}
        self.sync_items()
        self.current_tool.activate()

    @property
    def tool(self) -> str:
        return self._tool

    def set_tool(self, name: str) -> None:
        if name not in self._tools:
            raise ValueError(f"unknown tool {name!r}; one of {', '.join(self.TOOLS)}")
        if name == self._tool:
            self._actions_by_name[name].setChecked(True)
            return
        self.current_tool.deactivate()
        self._mouse_owner = None
        self._tool = name
        self._actions_by_name[name].setChecked(True)
        self.current_tool.activate()
        self.toolChanged.emit(name)
        if self.current_tool.hint:
            self.statusMessage.emit(self.current_tool.hint)

    @property
    def current_tool(self):
        return self._tools[self._tool]

    @property
    def brush_size(self) -> float:
        return self._brush_size

    def set_brush_size(self, px: float) -> None:
        """Brush diameter in image pixels."""
        self._brush_size = float(min(max(px, BRUSH_MIN), BRUSH_MAX))
        for name in ("brush", "eraser"):
            self._tools[name].size_changed()
        self.statusMessage.emit(f"brush size {self._brush_size:.0f} px")

    def selected_annotation(self):
        return self._selected

    def select(self, annotation_id) -> None:
        """Select an annotation of the current image (None clears)."""
        self._set_selected(annotation_id)

    def actions(self) -> list[QAction]:
        return list(self._actions)

    def action(self, name: str) -> QAction:
        """One action by name: a tool name, "delete", "toggle_category",
        "category_sky" or "category_non_sky"."""
        return self._actions_by_name[name]

    # --- model access used by tools and commands --------------------------------------
    def annotations(self) -> list:
        if self.labels is None or self.image_id is None:
            return []
        return self.labels.annotations_for(self.image_id)

    def annotation(self, annotation_id):
        return None if self.labels is None else self.labels.annotations.get(annotation_id)

    def image_size(self) -> tuple[int, int]:
        """(width, height) of the current image."""
        image = None if self.labels is None else self.labels.images.get(self.image_id)
        if image is None:
            raise AnnotationError(
                "this image is not in the label set: add it to the project's labels before drawing"
            )
        return int(image.width), int(image.height)

    def clamp(self, pos) -> tuple[float, float]:
        """A scene point clamped into the image (0..width, 0..height)."""
        w, h = self.image_size()
        return (min(max(float(pos[0]), 0.0), float(w)), min(max(float(pos[1]), 0.0), float(h)))

    def _image_width(self) -> float | None:
        image = None if self.labels is None else self.labels.images.get(self.image_id)
        return None if image is None else float(image.width)

    def wraps(self) -> bool:
        """Whether the view shows the wrapped copies of a 360-degree panorama."""
        return bool(getattr(self.view, "wrap", False))

    def clamp_drawing(self, pos) -> tuple[float, float]:
        """A scene point for a drawing tool: y clamped into the image; x into the image,
        or onto the copies beside it (-width..2*width) when the view wraps, so a ring
        can be drawn across the seam (it is folded back when it is finished)."""
        w, h = self.image_size()
        lo, hi = (-float(w), 2.0 * w) if self.wraps() else (0.0, float(w))
        return (min(max(float(pos[0]), lo), hi), min(max(float(pos[1]), 0.0), float(h)))

    def item(self, annotation_id) -> AnnotationItem | None:
        return self._items.get(annotation_id)

    def role(self, annotation) -> int:
        return self.labels.role_of(annotation.category_id)

    def view_scale(self) -> float:
        """Screen pixels per image pixel."""
        t = self.view.transform()
        return math.hypot(t.m11(), t.m12()) or 1.0

    def tolerance(self, px: float = VERTEX_TOLERANCE_PX) -> float:
        """A screen distance in scene units at the current zoom."""
        return px / self.view_scale()

    def visible_rect(self) -> QRectF:
        return self.view.mapToScene(self.view.viewport().rect()).boundingRect()

    def pick(self, pos) -> Pick | None:
        width = self._image_width()
        hidden = () if not width else (0.0, width)  # the seam edges are not drawn (items.py)
        wrap = width if self.wraps() else None
        return pick(self.annotations(), (pos.x(), pos.y()), self.tolerance(), self._selected, hidden, wrap)

    def push(self, edit, text: str, select=None) -> bool:
        """Apply a core edit to the current image as an undoable command. An EditError
        (or any user error) becomes a status message and nothing is pushed."""
        if self.labels is None:
            return False
        if not self.push_for(self.labels, self.image_id, edit, text):
            return False
        if select is not None:
            self._set_selected(select)
        return True

    def push_for(self, labels, image_id, edit, text: str) -> bool:
        """Like push, for an edit of any image of `labels` (a stroke that finished
        after the user switched images)."""
        try:
            command = commands.EditCommand(self, labels, image_id, edit, text)
        except SkysegError as exc:
            self.statusMessage.emit(str(exc))
            self.model_changed()
            return False
        self.undo_stack.push(command)
        return True

    def report(self, message: str) -> None:
        self.statusMessage.emit(message)

    # --- following the model ----------------------------------------------------------
    def model_changed(self, image_id=None) -> None:
        """Called by commands after apply/revert: bring items, selection and handles in
        line with the model and tell the shell."""
        if image_id is None or image_id == self.image_id:
            self.sync_items()
        self.changed.emit()

    def sync_items(self) -> None:
        """Make the scene items match the annotations of the current image."""
        current = {a.id: a for a in self.annotations()}
        for aid in list(self._items):
            item = self._items[aid]
            if aid not in current or not shiboken6.isValid(item):
                if shiboken6.isValid(item) and item.scene() is not None:
                    item.scene().removeItem(item)
                del self._items[aid]
        for aid, annotation in current.items():
            item = self._items.get(aid)
            role = self.role(annotation)
            if item is None:
                item = AnnotationItem(annotation, role, seam_width=self._image_width())
                self.scene.addItem(item)
                self._items[aid] = item
            else:
                item.set_polygons(annotation.polygons)
                item.set_role(role)
            item.set_selected_look(aid == self._selected)
        if self._selected is not None and self._selected not in current:
            self._set_selected(None)
            return
        if self.selected_vertex is not None and not self._vertex_exists(self.selected_vertex):
            self.selected_vertex = None
        self.refresh_handles()
        self.refresh_ghosts()

    def _ghost_view_key(self) -> tuple:
        size = getattr(self.view, "image_size", None)
        return (self.wraps(), size, bool(getattr(self.view, "half_swap", False)))

    def refresh_ghosts(self) -> None:
        """Repeat the outlines on the view's wrapped copies (none when it does not wrap)."""
        self._ghost_key = self._ghost_view_key()
        wraps, _size, half_swap = self._ghost_key
        if not wraps or self.labels is None or self.image_id is None:
            self.ghosts.clear()
            return
        shown = [(a, self.role(a), a.id == self._selected) for a in self.annotations()]
        image = self.labels.images.get(self.image_id)
        if not shown or image is None:
            self.ghosts.clear()
            return
        self.ghosts.show(shown, float(image.width), (-1, 1), 1.0 if half_swap else GHOST_OPACITY)

    def _vertex_exists(self, key: VertexKey) -> bool:
        annotation = self.annotation(self._selected)
        if annotation is None:
            return False
        pi, ri, vi = key
        if pi >= len(annotation.polygons):
            return False
        rings = annotation.polygons[pi].rings()
        return ri < len(rings) and vi < len(rings[ri])

    def _set_selected(self, annotation_id) -> None:
        if annotation_id is not None and annotation_id not in self._items:
            annotation_id = None
        changed = annotation_id != self._selected
        old = self._items.get(self._selected)
        if old is not None and shiboken6.isValid(old):
            old.set_selected_look(False)
        self._selected = annotation_id
        if changed:
            self.selected_vertex = None
        new = self._items.get(annotation_id)
        if new is not None:
            new.set_selected_look(True)
        self.refresh_handles()
        if changed:
            self.refresh_ghosts()
        self._update_action_state()
        if changed:
            self.selectionChanged.emit(annotation_id)

    def set_selected_vertex(self, key: VertexKey | None) -> None:
        self.selected_vertex = key
        self.refresh_handles()

    def refresh_handles(self) -> None:
        """Lay out the handles of the selected annotation for the visible area."""
        annotation = self.annotation(self._selected)
        if annotation is None or self._selected not in self._items:
            self.handles.clear()
            return
        self.handles.show(annotation.polygons, self.visible_rect(), self.selected_vertex, self.view_scale())
        self._last_view = self._view_key()

    def _view_key(self) -> tuple:
        r = self.visible_rect()
        return (r.left(), r.top(), r.width(), r.height())

    def _view_moved(self, *_args) -> None:
        if self._selected is not None and self._view_key() != self._last_view:
            self._handles_timer.start()
        self._follow_wrap()

    def _follow_wrap(self) -> None:
        """The wrapping view jumps one image width when its centre crosses the seam (the
        same picture, one copy over): move a half-drawn polygon or stroke with it, so it
        stays under the cursor and the next vertex continues it across the seam."""
        cx = self.view.mapToScene(self.view.viewport().rect().center()).x()
        last, self._centre_x = self._centre_x, cx
        width = self._image_width()
        if last is None or not width or not self.wraps():
            return
        turns = round((cx - last) / width)
        if turns and abs(cx - last) > 0.75 * width:  # no pan or zoom step moves that far
            self.current_tool.view_wrapped(turns * width)

    # --- actions ----------------------------------------------------------------------
    def _make_actions(self) -> list[QAction]:
        self._actions_by_name: dict[str, QAction] = {}
        group = QActionGroup(self)
        group.setExclusive(True)
        out: list[QAction] = []
        for name in self.TOOLS:
            text, key = _TOOL_INFO[name]
            act = QAction(text, self)
            act.setCheckable(True)
            act.setShortcut(QKeySequence(key))
            act.setStatusTip(self._tools[name].hint)
            act.setToolTip(f"{text.replace('&', '')} ({key})")
            act.setData(name)
            act.triggered.connect(lambda _checked=False, n=name: self.set_tool(n))
            group.addAction(act)
            self._actions_by_name[name] = act
            out.append(act)
        self._actions_by_name[self._tool].setChecked(True)

        sep = QAction(self)
        sep.setSeparator(True)
        out.append(sep)

        delete = QAction("&Delete vertex or polygon", self)
        delete.setShortcuts([QKeySequence(QKeySequence.StandardKey.Delete), QKeySequence(Qt.Key.Key_Backspace)])
        delete.setStatusTip("Delete the selected vertex, or the selected polygon when no vertex is selected")
        delete.triggered.connect(self.delete_selection)
        self._actions_by_name["delete"] = delete
        out.append(delete)

        toggle = QAction("&Toggle sky / non-sky", self)
        toggle.setShortcut(QKeySequence("C"))
        toggle.setStatusTip("Change the category of the selected polygon between sky and non-sky object")
        toggle.triggered.connect(self.toggle_category)
        self._actions_by_name["toggle_category"] = toggle
        out.append(toggle)
        for name, role, text, key, tip in (
            ("category_sky", SKY, "Set category: s&ky", None, "The selected polygon is sky"),
            ("category_non_sky", NON_SKY, "Set category: &non-sky object", None,
             "The selected polygon is an object in front of the sky, cut out of it"),
            ("category_unsure", UNSURE, "Set category: &unsure (not trained on)", "U",
             "The selected polygon is a region you cannot call (sky through dense leaves, a "
             "fence against the sky): training skips it and scores leave it out"),
        ):
            act = QAction(text, self)
            if key:
                act.setShortcut(QKeySequence(key))
            act.setStatusTip(tip)
            act.triggered.connect(lambda _checked=False, r=role: self.set_category(r))
            self._actions_by_name[name] = act
            out.append(act)
        for act in out:
            if not act.isSeparator():
                act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.view.addActions([a for a in out if not a.isSeparator()])
        self._update_action_state()
        return out

    def _update_action_state(self) -> None:
        has = self._selected is not None
        for name in ("toggle_category", "category_sky", "category_non_sky", "category_unsure"):
            self._actions_by_name[name].setEnabled(has)

    def delete_selection(self) -> None:
        """Delete: the drawing tools drop their last point; otherwise the selected
        vertex (never below 3 vertices) or the selected polygon goes."""
        if self.current_tool.delete():
            return
        if self._selected is None or self.labels is None:
            self.report("nothing selected: click a polygon or a vertex first")
            return
        if self.selected_vertex is not None:
            pi, ri, vi = self.selected_vertex
            annotation = self.annotation(self._selected)
            twins = seam_twins(annotation.polygons, self.selected_vertex, self.image_size()[0])
            if twins:  # a cut point of the seam: its other side goes too, or they would part
                polygons = without_vertices(annotation.polygons, [self.selected_vertex, *twins])
                if polygons is None:
                    self.report("a polygon needs at least 3 vertices; delete the whole polygon instead")
                    return
                self.push(commands.replace_polygons(self.labels, self._selected, polygons, "Delete vertex"),
                          "Delete vertex")
                return
            edit = commands.delete_vertex(self.labels, self._selected, pi, ri, vi)
            self.push(edit, "Delete vertex")
            return
        aid = self._selected
        self.push(commands.delete_annotation(self.labels, aid), "Delete polygon")

    def set_category(self, role: int) -> None:
        annotation = self.annotation(self._selected)
        if annotation is None:
            self.report("select a polygon first")
            return
        if self.role(annotation) == role:
            return
        edit = commands.set_category(self.labels, annotation.id, role)
        self.push(edit, f"Set category to {CATEGORY_WORDS[role]}")

    def toggle_category(self) -> None:
        annotation = self.annotation(self._selected)
        if annotation is None:
            self.report("select a polygon first")
            return
        self.set_category(NON_SKY if self.role(annotation) == SKY else SKY)  # unsure -> sky

    # --- events -----------------------------------------------------------------------
    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
        if not shiboken6.isValid(self.view):  # the view is being destroyed
            return False
        try:
            if obj is self.view.viewport():
                return self._viewport_event(event)
            if obj is self.view:
                return self._view_event(event)
        except SkysegError as exc:
            self.report(str(exc))
            return True
        return False

    def _scene_pos(self, event) -> QPointF:
        inverse, _ok = self.view.viewportTransform().inverted()
        return inverse.map(event.position())

    def _viewport_event(self, event) -> bool:
        etype = event.type()
        if etype == QEvent.Type.Paint:
            if self._selected is not None and self._view_key() != self._last_view:
                self._handles_timer.start()
            if self._ghost_view_key() != self._ghost_key:  # wrap or Seam view toggled
                self._ghosts_timer.start()
            return False
        if etype == QEvent.Type.Leave:
            self.hover.clear()
            self.current_tool.leave()
            return False
        if self.labels is None or self.image_id is None:
            if (etype == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton
                    and self._tool != "select"):
                # a lone image has no label file: say why the drawing tool does nothing
                self.report("nothing to draw into: open a project folder or a COCO file to label "
                            "this image (File > Open Project), or wait until the image has loaded")
            return False
        if etype == QEvent.Type.Wheel:
            return self._wheel(event)
        if etype not in _MOUSE_EVENTS:
            return False
        pos = self._scene_pos(event)
        tool = self.current_tool
        if etype == QEvent.Type.MouseButtonPress:
            if event.button() != Qt.MouseButton.LeftButton or self._space_down:
                return False
            self.view.setFocus(Qt.FocusReason.MouseFocusReason)
            taken = tool.press(pos, event)
            self._mouse_owner = tool if taken else None
            return taken
        if etype == QEvent.Type.MouseButtonDblClick:
            if event.button() != Qt.MouseButton.LeftButton or self._space_down:
                return False
            taken = tool.double_click(pos, event)
            self._mouse_owner = tool if taken else None
            return taken
        if etype == QEvent.Type.MouseMove:
            if self._mouse_owner is not None:
                return self._mouse_owner.move(pos, event) or True
            if event.buttons() == Qt.MouseButton.NoButton:
                tool.move(pos, event)
            return False
        if etype == QEvent.Type.MouseButtonRelease:
            if event.button() != Qt.MouseButton.LeftButton:
                return False
            owner, self._mouse_owner = self._mouse_owner, None
            if owner is not None:
                owner.release(pos, event)
                return True
            return False
        return False

    def _wheel(self, event) -> bool:
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            delta = event.angleDelta().y() or event.angleDelta().x()
            if delta and self._tool in ("brush", "eraser"):
                self.set_brush_size(self._brush_size * (1.15 ** (delta / 120.0)))
                return True
        return self.current_tool.wheel(self._scene_pos(event), event)

    def _view_event(self, event) -> bool:
        etype = event.type()
        if etype not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.ShortcutOverride):
            return False
        key = event.key()
        if key == Qt.Key.Key_Space and not event.isAutoRepeat():
            if etype == QEvent.Type.KeyPress:
                self._space_down = True
            elif etype == QEvent.Type.KeyRelease:
                self._space_down = False
            return False
        if etype == QEvent.Type.ShortcutOverride:
            if self.current_tool.wants_key(event):
                event.accept()  # deliver as a KeyPress to the tool, not as a shortcut
                return True
            return False
        if etype == QEvent.Type.KeyRelease:
            return False
        if key in (Qt.Key.Key_BracketLeft, Qt.Key.Key_BracketRight):
            factor = 1.25 if key == Qt.Key.Key_BracketRight else 1 / 1.25
            self.set_brush_size(self._brush_size * factor)
            return True
        if self.labels is None:
            return False
        return self.current_tool.key(event)
