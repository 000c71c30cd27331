"""Tone-map controls: exposure (slider + EV box), offset, gamma, operator, auto exposure.

The operator list holds the built-in operators (the default) and, when PyOpenColorIO is
installed, the views of an OpenColorIO config (the built-in ACES studio config, $OCIO or
a chosen file); a note under it says why there are none otherwise. The panel only edits
a ToneSettings value and announces it; the viewer re-renders.
"""

from __future__ import annotations

import math
from dataclasses import replace

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QWidget,
)

from skysegui.core.tonemap import OCIO, OPERATORS, ToneSettings
from skysegui.gui.panels.ocio_views import OcioViews

EV_RANGE = 12.0  # slider covers -12 .. +12 EV
SLIDER_STEPS_PER_EV = 10
OFFSET_RANGE = 10.0
OCIO_LIST_DELAY_MS = 1000
OPERATOR_LABELS = {
    "srgb": "sRGB",
    "gamma": "Gamma",
    "reinhard": "Reinhard",
    "filmic": "Filmic (ACES-like)",
    "log": "Log",
    "falsecolor": "False colour (log luminance)",
}
_OCIO_PREFIX = "ocio\x1f"  # operator_combo data of an OCIO view: see _view_data


def _view_data(key) -> str:
    return "\x1f".join((_OCIO_PREFIX[:-1], key.source, key.display, key.view))


class TonePanel(QWidget):
    """Emits settingsChanged(ToneSettings) on every change; autoRequested for the auto button."""

    settingsChanged = Signal(object)
    autoRequested = Signal()

    def __init__(self, settings: ToneSettings | None = None, parent=None):
        super().__init__(parent)
        self._settings = settings or ToneSettings()
        self._updating = False
        self.ocio = OcioViews(self)
        self._ocio_source = self._settings.ocio_config or "builtin"
        self._waiting_for = None  # the OCIO view being baked for the user's choice

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
        self.offset_box = QDoubleSpinBox()
        self.offset_box.setRange(-OFFSET_RANGE, OFFSET_RANGE)
        self.offset_box.setSingleStep(0.01)
        self.offset_box.setDecimals(3)
        self.offset_box.setToolTip("Offset added to the exposed linear values (tev's offset)")

        self.gamma_box = QDoubleSpinBox()
        self.gamma_box.setRange(0.2, 5.0)
        self.gamma_box.setSingleStep(0.1)
        self.gamma_box.setDecimals(2)
        self.gamma_box.setToolTip("Display gamma (used by the Gamma operator)")

        self.operator_combo = QComboBox()
        for name in OPERATORS:
            self.operator_combo.addItem(OPERATOR_LABELS.get(name, name), name)
        self.config_combo = QComboBox()
        self.config_combo.setToolTip("The OpenColorIO config whose views the operator list offers")
        self.config_combo.setPlaceholderText("looking for OpenColorIO\u2026")  # listed on a pool thread
        self.config_button = QPushButton("...")
        self.config_button.setToolTip("Choose an OpenColorIO config file (config.ocio)")
        self.config_button.setFixedWidth(28)
        self.ocio_note = QLabel("")
        self.ocio_note.setObjectName("ocioNote")
        self.ocio_note.setWordWrap(True)

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.exposure_box, 1)
        row.addWidget(self.reset_button)
        row.addWidget(self.auto_button)
        config_row = QHBoxLayout()
        config_row.setContentsMargins(0, 0, 0, 0)
        config_row.addWidget(self.config_combo, 1)
        config_row.addWidget(self.config_button)
        form = QFormLayout(self)
        form.addRow("Exposure", self.exposure_slider)
        form.addRow("", row)
        form.addRow("Offset", self.offset_box)
        form.addRow("Gamma", self.gamma_box)
        form.addRow("Operator", self.operator_combo)
        form.addRow("OCIO config", config_row)
        form.addRow("", self.ocio_note)

        self._settings = self._bounded(self._settings)
        self._show(self._settings)
        self.exposure_slider.valueChanged.connect(
            lambda v: self._edit(exposure=v / SLIDER_STEPS_PER_EV)
        )
        self.exposure_box.valueChanged.connect(lambda v: self._edit(exposure=float(v)))
        self.offset_box.valueChanged.connect(lambda v: self._edit(offset=float(v)))
        self.gamma_box.valueChanged.connect(lambda v: self._edit(gamma=float(v)))
        self.operator_combo.currentIndexChanged.connect(self._operator_chosen)
        self.config_combo.currentIndexChanged.connect(self._config_chosen)
        self.config_button.clicked.connect(self._choose_config_file)
        self.auto_button.clicked.connect(self.autoRequested)
        self.reset_button.clicked.connect(lambda: self._edit(exposure=0.0))
        self.ocio.ready.connect(self._ocio_ready)
        self.ocio.failed.connect(self._ocio_failed)
        self.ocio.listed.connect(self._ocio_listed)
        if self._settings.operator == OCIO:
            self.refresh_ocio()  # the remembered view must be listed (and baked) at once
        else:  # importing OpenColorIO competes with the first image's load: a moment later
            QTimer.singleShot(OCIO_LIST_DELAY_MS, self, self.refresh_ocio)

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

    # --- OpenColorIO ---------------------------------------------------------------
    def refresh_ocio(self) -> None:
        """List the configs and the current config's views, or say why there are none
        (worked out on a pool thread; ocio_views() fills in when it answers)."""
        self.ocio.list_later(self._ocio_source)

    def _ocio_listed(self, source: str, sources: list, keys: list, note: str) -> None:
        if source != self._ocio_source:
            return  # an older question
        from skysegui.core.tonemap.ocio import config_label

        self._updating = True
        try:
            self.config_combo.clear()
            for item in sources:
                self.config_combo.addItem(config_label(item), item)
            if source not in sources and sources:
                self.config_combo.addItem(config_label(source), source)  # a chosen or remembered file
            self.config_combo.setCurrentIndex(max(0, self.config_combo.findData(source)))
        finally:
            self._updating = False
        self.config_combo.setEnabled(bool(sources))
        if not sources:
            self.config_combo.setPlaceholderText("none (see the operator list's note)")
        self.config_button.setEnabled(bool(sources))
        self._fill_views(keys, note)

    def ocio_views(self) -> list:
        """The ViewKeys the operator list offers now."""
        return [self._key_of(i) for i in range(self.operator_combo.count()) if self._key_of(i) is not None]

    def choose_ocio_view(self, key) -> None:
        """Select an OCIO view (as the user would in the list); it applies once it is baked."""
        index = self.operator_combo.findData(_view_data(key))
        if index < 0:
            raise ValueError(f"{key} is not offered")
        self.operator_combo.setCurrentIndex(index)

    def set_ocio_config(self, source: str) -> None:
        """Offer the views of another config (BUILTIN, ENV or a config file path)."""
        if source not in self.ocio.extra_sources:
            self.ocio.extra_sources.append(source)
        self._ocio_source = source
        self.refresh_ocio()

    def _fill_views(self, keys: list, note: str) -> None:
        self._updating = True
        try:
            for i in reversed(range(self.operator_combo.count())):
                data = self.operator_combo.itemData(i)
                if data is None or str(data).startswith(_OCIO_PREFIX):
                    self.operator_combo.removeItem(i)
            if keys:
                self.operator_combo.insertSeparator(self.operator_combo.count())
            for key in keys:
                self.operator_combo.addItem(self.ocio.label(key), _view_data(key))
                self.operator_combo.setItemData(self.operator_combo.count() - 1, self.ocio.tooltip(key),
                                                Qt.ItemDataRole.ToolTipRole)
        finally:
            self._updating = False
        self.ocio_note.setText(note)
        self.ocio_note.setVisible(bool(note))
        current = self._settings
        if current.operator == OCIO and current.ocio_config == self._ocio_source and current.ocio_key not in keys:
            self.set_settings(replace(current, operator="srgb", ocio_config="", ocio_display="", ocio_view=""))
        elif current.operator == OCIO and current.ocio_key in keys and not self.ocio.prepare(current.ocio_key):
            self._waiting_for = current.ocio_key  # a remembered ACES view: bake it, then show it
        self._show(self._settings)

    def _key_of(self, index: int):
        data = self.operator_combo.itemData(index)
        if data is None or not str(data).startswith(_OCIO_PREFIX):
            return None
        from skysegui.core.tonemap.ocio import ViewKey

        source, display, view = str(data)[len(_OCIO_PREFIX):].split("\x1f", 2)
        return ViewKey(source, display, view)

    def _operator_chosen(self, index: int) -> None:
        if self._updating:
            return
        key = self._key_of(index)
        if key is None:
            self._waiting_for = None
            self._edit(operator=self.operator_combo.itemData(index), ocio_config="", ocio_display="", ocio_view="")
            return
        if self.ocio.prepare(key):
            self._apply_ocio(key)
            return
        self._waiting_for = key
        self.ocio_note.setText(f"Preparing the OpenColorIO view '{key.view}'...")
        self.ocio_note.setVisible(True)

    def _ocio_ready(self, key) -> None:
        if key == self._waiting_for:
            self._waiting_for = None
            self.ocio_note.setVisible(False)
            self._apply_ocio(key)

    def _ocio_failed(self, key, message: str) -> None:
        if key == self._waiting_for:
            self._waiting_for = None
            self.ocio_note.setText(message)
            self.ocio_note.setVisible(True)
            self._show(self._settings)

    def _apply_ocio(self, key) -> None:
        self.set_settings(replace(self._settings, operator=OCIO, ocio_config=key.source,
                                  ocio_display=key.display, ocio_view=key.view))

    def _config_chosen(self, index: int) -> None:
        if self._updating or index < 0:
            return
        self._ocio_source = self.config_combo.itemData(index)
        self.refresh_ocio()

    def _choose_config_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "OpenColorIO config", "", "OCIO configs (*.ocio);;All files (*)")
        if path:
            self.set_ocio_config(path)

    # --- editing ---------------------------------------------------------------------
    def _bounded(self, settings: ToneSettings) -> ToneSettings:
        """The exposure within the EV box's range (finite), so what the box shows is what is used
        (auto exposure of a nearly black image asks for more than the box holds); the offset too."""
        limit = self.exposure_box.maximum()
        exposure = settings.exposure if math.isfinite(settings.exposure) else 0.0
        exposure = min(max(exposure, -limit), limit)
        offset = settings.offset if math.isfinite(settings.offset) else 0.0
        offset = min(max(offset, -OFFSET_RANGE), OFFSET_RANGE)
        if (exposure, offset) == (settings.exposure, settings.offset):
            return settings
        return replace(settings, exposure=exposure, offset=offset)

    def _edit(self, **changes) -> None:
        if self._updating:
            return
        self.set_settings(replace(self._settings, **changes))

    def _show(self, s: ToneSettings) -> None:
        self._updating = True
        try:
            self.exposure_slider.setValue(round(s.exposure * SLIDER_STEPS_PER_EV))
            _show_number(self.exposure_box, s.exposure)
            _show_number(self.offset_box, s.offset)
            _show_number(self.gamma_box, s.gamma)
            self.gamma_box.setEnabled(s.operator == "gamma")
            data = s.operator if s.operator != OCIO else _view_data(s.ocio_key)
            index = self.operator_combo.findData(data)
            if index >= 0:
                self.operator_combo.setCurrentIndex(index)
        finally:
            self._updating = False


def _show_number(box: QDoubleSpinBox, value: float) -> None:
    """Set the box only when its value differs: setValue rewrites the text, which would
    break typing "2.5" (after the "2" the text became "2.00 EV" and the "." was refused)."""
    if box.value() != value:
        box.setValue(value)
