"""The polygon editor: Qt items that view the annotation model, tools that turn mouse
and keys into core edit operations, and QUndoCommands that apply and revert them."""

from skysegui.gui.editing.editor import LabelEditor

__all__ = ["LabelEditor"]
