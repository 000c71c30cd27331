"""PySide6 widgets. Views and editors of core objects; no file-format or ML logic here."""

from skysegui.gui._pyside_none_guard import protect_none

protect_none()  # a PySide6 fault that crashes CPython 3.11: see _pyside_none_guard.py
