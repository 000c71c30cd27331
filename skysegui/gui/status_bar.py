"""Status bar: hints, pixel readout (coordinates, linear RGB, luminance), colour primaries,
zoom, dynamic range."""

from __future__ import annotations

from pathlib import PurePath

from PySide6.QtWidgets import QLabel, QStatusBar

from skysegui.gui.viewer.readout import PixelReadout

WARNING_CHARS = 70  # the first warning shown in the bar is cut here (the tooltip has it all)


def short_warning(warning: str, limit: int = WARNING_CHARS) -> str:
    """A warning for the status bar: a leading folder path cut to the file's name (the
    name is what the user recognises), then cut to `limit` characters."""
    head, sep, rest = warning.partition(": ")
    if sep and ("/" in head or "\\" in head):
        head = PurePath(head).name or head
    text = head + sep + rest
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


class StatusBar(QStatusBar):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.pixel_label = QLabel("")
        self.pixel_label.setMinimumWidth(420)
        self.range_label = QLabel("")
        self.range_label.setToolTip("Dynamic range of the image: log2(max / min) of luminance")
        self.primaries_label = QLabel("")
        self.zoom_label = QLabel("")
        self.zoom_label.setMinimumWidth(70)
        self.warnings_label = QLabel("")
        self.warnings_label.setObjectName("statusWarnings")
        self.warnings_label.setStyleSheet("color: #ffb040;")
        self.warnings_label.setMinimumWidth(40)  # a long warning is clipped, never widens the window
        self.addPermanentWidget(self.warnings_label)
        for label in (self.pixel_label, self.primaries_label, self.range_label, self.zoom_label):
            label.setObjectName("statusField")
            self.addPermanentWidget(label)

    def set_pixel(self, readout: PixelReadout | None) -> None:
        self.pixel_label.setText("" if readout is None else readout.text())

    def set_zoom(self, scale: float) -> None:
        self.zoom_label.setText(f"{scale * 100:.0f} %")

    def set_dynamic_range(self, stops: float | None, low: float = 0.0, high: float = 0.0) -> None:
        if stops is None:
            self.range_label.setText("")
            return
        self.range_label.setText(f"DR {stops:.1f} stops")
        self.range_label.setToolTip(
            f"Dynamic range: {stops:.1f} stops (luminance {low:.3g} .. {high:.3g})"
        )

    def set_primaries(self, info) -> None:
        """The colour primaries the image declares (core ImageInfo.primaries); an arrow
        when its pixels were converted to Rec.709 / sRGB for display ('ACES AP0 → 709')."""
        if info is None:
            self.primaries_label.setText("")
            self.primaries_label.setToolTip("")
            return
        name = info.primaries
        text = f"{name} \u2192 709" if info.converted_to_rec709 else name.split(" (")[0]
        self.primaries_label.setText(text)
        tip = f"Colour primaries the file declares: {name}"
        if info.chromaticities is not None:
            tip += "\nchromaticities (r, g, b, white x,y): " + ", ".join(f"{v:.4f}" for v in info.chromaticities)
        if info.converted_to_rec709:
            tip += ("\nShown (and given to the network) converted to Rec.709 / sRGB primaries "
                    "(Bradford); exported EXRs keep the file's own pixels and primaries")
        self.primaries_label.setToolTip(tip)

    def set_warnings(self, warnings: list[str]) -> None:
        """What loading repaired or skipped stays visible (hints are overwritten at once):
        the count and the first warning, naming its file; the tooltip lists every warning."""
        if not warnings:
            self.warnings_label.setText("")
            self.warnings_label.setToolTip("")
            return
        count = f"⚠ {len(warnings)} warning{'s' if len(warnings) > 1 else ''}"
        self.warnings_label.setText(f"{count}: {short_warning(warnings[0])}")
        shown = warnings[:40]
        more = len(warnings) - len(shown)
        self.warnings_label.setToolTip("\n".join(shown) + (f"\n... and {more} more" if more else ""))

    def hint(self, text: str, msecs: int = 0) -> None:
        self.showMessage(text, msecs)
