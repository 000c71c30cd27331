"""Tone-map controls: exposure (slider + EV box), gamma, operator, auto exposure.

The panel only edits a ToneSettings value and announces it; the viewer re-renders.
"""

from __future__ import annotations

import math
from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QPushButton,
    QSlider,
    QWidget,
)

from skysegui.core.tonemap import OPERATORS, ToneSettings

EV_RANGE = 12.0  # slider covers -12 .. +12 EV
SLIDER_STEPS_PER_EV = 10
OPERATOR_LABELS = {
    "srgb": "sRGB",
    "gamma": "Gamma",
    "reinhard": "Reinhard",
    "filmic": "Filmic (ACES-like)",
    "log": "Log",
    "falsecolor": "False colour (log luminance)",
}


class TonePanel(QWidget):
    """Emits settingsChanged(ToneSettings) on every change; autoRequested for the auto button."""

    settingsChanged = Signal(object)
    autoRequested = Signal()

    def __init__(self, settings: ToneSettings | None = None, parent=None):
        super().__init__(parent)
        self._settings = settings or ToneSettings()
        self._updating = False

        self.exposure_slider = QSlider(Qt.Orientation.Horizontal)
        self.exposure_slider.setRange(
            int(-EV_RANGE * SLIDER_STEPS_PER_EV), int(EV_RANGE * SLIDER_STEPS_PER_EV)
        )
        self.exposure_slider.setToolTip("Exposure in stops (EV): +1 doubles the brightness")
        self.exposure_box = QDoubleSpinBox()
        self.exposure_box.setRange(-EV_RANGE * 2, EV_RANGE * 2)
        self.exposure_box.setSingleStep(0.1)
        self.exposure_box.setDecimals(2)
        self.exposure_box.setSuffix(" EV")
        self.auto_button = QPushButton("Auto")
        self.auto_button.setToolTip("Choose the exposure from the image's log-average luminance")
        self.reset_button = QPushButton("0")
        self.reset_button.setToolTip("Reset exposure to 0 EV")
        self.reset_button.setFixedWidth(28)

        self.gamma_box = QDoubleSpinBox()
        self.gamma_box.setRange(0.2, 5.0)
        self.gamma_box.setSingleStep(0.1)
        self.gamma_box.setDecimals(2)
        self.gamma_box.setToolTip("Display gamma (used by the Gamma operator)")

        self.operator_combo = QComboBox()
        for name in OPERATORS:
            self.operator_combo.addItem(OPERATOR_LABELS.get(name, name), name)

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.exposure_box, 1)
        row.addWidget(self.reset_button)
        row.addWidget(self.auto_button)
        form = QFormLayout(self)
        form.addRow("Exposure", self.exposure_slider)
        form.addRow("", row)
        form.addRow("Gamma", self.gamma_box)
        form.addRow("Operator", self.operator_combo)

        self._settings = self._bounded(self._settings)
        self._show(self._settings)
        self.exposure_slider.valueChanged.connect(
            lambda v: self._edit(exposure=v / SLIDER_STEPS_PER_EV)
        )
        self.exposure_box.valueChanged.connect(lambda v: self._edit(exposure=float(v)))
        self.gamma_box.valueChanged.connect(lambda v: self._edit(gamma=float(v)))
        self.operator_combo.currentIndexChanged.connect(
            lambda i: self._edit(operator=self.operator_combo.itemData(i))
        )
        self.auto_button.clicked.connect(self.autoRequested)
        self.reset_button.clicked.connect(lambda: self._edit(exposure=0.0))

    @property
    def settings(self) -> ToneSettings:
        return self._settings

    def set_settings(self, settings: ToneSettings) -> None:
        """Show and announce new settings (e.g. after auto exposure or restoring settings)."""
        settings = self._bounded(settings)
        if settings == self._settings:
            return
        self._settings = settings
        self._show(settings)
        self.settingsChanged.emit(settings)

    def _bounded(self, settings: ToneSettings) -> ToneSettings:
        """The exposure within the EV box's range (finite), so what the box shows is what is used
        (auto exposure of a nearly black image asks for more than the box holds)."""
        limit = self.exposure_box.maximum()
        exposure = settings.exposure if math.isfinite(settings.exposure) else 0.0
        exposure = min(max(exposure, -limit), limit)
        return settings if exposure == settings.exposure else replace(settings, exposure=exposure)

    def _edit(self, **changes) -> None:
        if self._updating:
            return
        self.set_settings(replace(self._settings, **changes))

    def _show(self, s: ToneSettings) -> None:
        self._updating = True
        try:
            self.exposure_slider.setValue(round(s.exposure * SLIDER_STEPS_PER_EV))
            _show_number(self.exposure_box, s.exposure)
            _show_number(self.gamma_box, s.gamma)
            self.gamma_box.setEnabled(s.operator == "gamma")
            index = self.operator_combo.findData(s.operator)
            if index >= 0:
                self.operator_combo.setCurrentIndex(index)
        finally:
            self._updating = False


def _show_number(box: QDoubleSpinBox, value: float) -> None:
    """Set the box only when its value differs: setValue rewrites the text, which would
    break typing "2.5" (after the "2" the text became "2.00 EV" and the "." was refused)."""
    if box.value() != value:
        box.setValue(value)
