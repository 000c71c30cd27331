"""Colours of label items by class role (sky, non-sky object, unsure, other), shared by every item."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor

from skysegui.core.annotations.categories import NON_SKY, SKY, UNSURE

_BASE = {
    SKY: QColor(40, 150, 255),  # sky: blue
    NON_SKY: QColor(255, 120, 30),  # object cut out of the sky: orange
    UNSURE: QColor(200, 80, 230),  # unsure, skipped by training: violet
}
_OTHER = QColor(200, 200, 200)
SELECTED = QColor(255, 235, 60)
HOVER = QColor(255, 255, 255)
HANDLE_FILL = QColor(255, 255, 255)
HANDLE_ACTIVE = QColor(255, 60, 60)
DRAFT = QColor(80, 255, 120)
ERASER = QColor(255, 80, 80)


def outline_color(role: int) -> QColor:
    """Opaque outline colour of a polygon of this role."""
    return QColor(_BASE.get(role, _OTHER))


def fill_color(role: int, alpha: int = 70) -> QColor:
    """Semi-transparent fill, so the panorama stays visible under the label."""
    c = QColor(_BASE.get(role, _OTHER))
    c.setAlpha(alpha)
    return c


def rest_brush(role: int) -> QBrush:
    """The fill of an unselected polygon: none (the Layers dock's label overlay is the
    fill), except unsure regions, which are in no mask: hatched, so they read as "left out"."""
    if role == UNSURE:
        return QBrush(outline_color(role), Qt.BrushStyle.BDiagPattern)
    return QBrush(Qt.BrushStyle.NoBrush)
