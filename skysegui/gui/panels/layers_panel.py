"""Overlay layers (labels, prediction): visibility, colour, opacity 0-100 %, outline-only.

The panel edits the viewer's MaskOverlay objects directly. The prediction layer receives
its data through set_prediction (a 0/1 mask or a 0..1 probability map, thresholded).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QGridLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from skysegui.gui.viewer.overlay_items import LayerStyle, MaskOverlay

TITLES = {"labels": "Labels", "prediction": "Prediction"}


class LayerRow(QWidget):
    """Controls of one overlay."""

    styleChanged = Signal(str, object)  # layer name, LayerStyle

    def __init__(self, name: str, overlay: MaskOverlay, parent=None):
        super().__init__(parent)
        self.name, self.overlay = name, overlay
        style = overlay.style
        self.visible = QCheckBox(TITLES.get(name, name))
        self.visible.setChecked(style.visible)
        self.color_button = QPushButton()
        self.color_button.setFixedSize(28, 20)
        self.color_button.setToolTip("Overlay colour")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(round(style.opacity * 100))
        self.opacity.setToolTip("Opacity")
        self.opacity_label = QLabel()
        self.opacity_label.setMinimumWidth(38)
        self.outline = QCheckBox("Outline only")
        self.outline.setChecked(style.outline)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 2, 0, 6)
        grid.addWidget(self.visible, 0, 0)
        grid.addWidget(self.color_button, 0, 1, Qt.AlignmentFlag.AlignRight)
        grid.addWidget(self.opacity, 1, 0)
        grid.addWidget(self.opacity_label, 1, 1)
        grid.addWidget(self.outline, 2, 0)
        self._show_style(style)
        self.visible.toggled.connect(lambda on: self.set_style(visible=on))
        self.opacity.valueChanged.connect(lambda v: self.set_style(opacity=v / 100.0))
        self.outline.toggled.connect(lambda on: self.set_style(outline=on))
        self.color_button.clicked.connect(self._pick_color)

    def set_style(self, **changes) -> None:
        style = self.overlay.style.with_(**changes)
        if style == self.overlay.style:
            return
        self.overlay.set_style(style)
        self._show_style(style)
        self.styleChanged.emit(self.name, style)

    def _show_style(self, style: LayerStyle) -> None:
        for widget, value in ((self.visible, style.visible), (self.outline, style.outline)):
            widget.blockSignals(True)
            widget.setChecked(value)
            widget.blockSignals(False)
        self.opacity.blockSignals(True)
        self.opacity.setValue(round(style.opacity * 100))
        self.opacity.blockSignals(False)
        self.opacity_label.setText(f"{round(style.opacity * 100)} %")
        self.color_button.setStyleSheet(
            f"background-color: {style.color}; border: 1px solid #888; border-radius: 3px;"
        )

    def _pick_color(self) -> None:
        color = QColorDialog.getColor(QColor(self.overlay.style.color), self, "Overlay colour")
        if color.isValid():
            self.set_style(color=color.name())


class LayersPanel(QWidget):
    """One LayerRow per overlay of the viewer."""

    styleChanged = Signal(str, object)

    def __init__(self, overlays: dict[str, MaskOverlay], parent=None):
        super().__init__(parent)
        self.rows: dict[str, LayerRow] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        for name, overlay in overlays.items():
            row = LayerRow(name, overlay)
            row.styleChanged.connect(self.styleChanged)
            self.rows[name] = row
            layout.addWidget(row)
        self.threshold = 0.5
        layout.addStretch(1)

    def set_prediction(self, mask_or_prob: np.ndarray | None, threshold: float | None = None,
                       scale: int = 1) -> None:
        """Show a prediction: a uint8/bool 0/1 mask, or a float probability map (>= threshold),
        each pixel covering scale x scale image pixels."""
        overlay = self.rows["prediction"].overlay
        if mask_or_prob is None:
            overlay.set_mask(None)
            return
        arr = np.asarray(mask_or_prob)
        if arr.dtype.kind == "f":
            arr = arr >= (self.threshold if threshold is None else threshold)
        overlay.set_mask(arr, scale=scale)
