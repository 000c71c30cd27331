"""The tool interface: the editor hands each mouse/key/wheel event to the active tool,
which returns True when it used the event (the view then never sees it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF
from PySide6.QtGui import QKeyEvent, QMouseEvent, QWheelEvent

if TYPE_CHECKING:
    from skysegui.gui.editing.editor import LabelEditor


class Tool:
    """Default behaviour: take nothing, so the view pans and zooms as usual."""

    name = ""
    hint = ""

    def __init__(self, editor: LabelEditor):
        self.editor = editor

    def activate(self) -> None:
        """Called when the tool becomes active."""

    def deactivate(self) -> None:
        """Called when another tool takes over: drop any half-finished work."""

    def press(self, pos: QPointF, event: QMouseEvent) -> bool:
        return False

    def move(self, pos: QPointF, event: QMouseEvent) -> bool:
        """Mouse moved; buttons may or may not be held (see event.buttons())."""
        return False

    def release(self, pos: QPointF, event: QMouseEvent) -> bool:
        return False

    def double_click(self, pos: QPointF, event: QMouseEvent) -> bool:
        return False

    def key(self, event: QKeyEvent) -> bool:
        return False

    def wants_key(self, event: QKeyEvent) -> bool:
        """Whether a key that is also an action shortcut (Delete, Backspace, Esc) should
        reach this tool instead of triggering the action."""
        return False

    def wheel(self, pos: QPointF, event: QWheelEvent) -> bool:
        return False

    def leave(self) -> None:
        """The cursor left the view."""

    def view_wrapped(self, dx: float) -> None:
        """The view jumped by `dx` scene units (one image width) to the same picture on
        the next copy of the panorama: move any half-finished drawing along."""

    def delete(self) -> bool:
        """The Delete action; True when the tool handled it."""
        return False
