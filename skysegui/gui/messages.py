"""Errors as message boxes, never tracebacks.

SkysegError messages already say what to do; they are shown as they are. Anything else
is a bug: the box says so briefly (details in the expandable section) and the app keeps
running. Boxes are window-modal but opened with open(), so nothing blocks (tests included).

The shown boxes are kept in a registry (not looked up among QApplication.topLevelWidgets():
wrappers of top-level widgets that Qt deleted meanwhile can crash the interpreter) and
delete themselves when closed.
"""

from __future__ import annotations

import sys
import traceback

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from skysegui.core.errors import SkysegError

OBJECT_NAME = "skyseguiErrorBox"
_shown: list[QMessageBox] = []  # every box made here that may still exist


def show_error(parent: QWidget | None, exc: BaseException, title: str = "") -> QMessageBox:
    """Show `exc` in a non-blocking message box and return it."""
    box = QMessageBox(parent)
    box.setObjectName(OBJECT_NAME)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setIcon(QMessageBox.Icon.Warning)
    if isinstance(exc, SkysegError):
        box.setWindowTitle(title or "SkySeg GUI")
        box.setText(str(exc))
    else:
        box.setWindowTitle(title or "Unexpected error")
        box.setText(
            f"Something went wrong ({type(exc).__name__}: {exc}). Your labels are safe; "
            "save your work and report this with the details below."
        )
        box.setDetailedText("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    _prune()
    _shown.append(box)  # also keeps a box without a parent alive until it is closed
    box.open()
    return box


def _prune() -> None:
    _shown[:] = [b for b in _shown if shiboken6.isValid(b)]


def open_error_boxes() -> list[QMessageBox]:
    """The error boxes currently shown (tests use this to check errors reached the user)."""
    _prune()
    return [b for b in _shown if b.isVisible()]


def install_excepthook(parent_getter) -> None:
    """Turn exceptions escaping Qt slots into message boxes instead of silent tracebacks."""
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        if QApplication.instance() is None or issubclass(exc_type, KeyboardInterrupt):
            previous(exc_type, exc, tb)
            return
        if not isinstance(exc, SkysegError):
            traceback.print_exception(exc_type, exc, tb, file=sys.stderr)
        show_error(parent_getter(), exc)

    sys.excepthook = hook
