"""The training panel's live curves: loss and IoU plots (pyqtgraph).

The plots are made the first time the widget is painted (on screen), so building the
window does not import pyqtgraph (about 0.27 s of a 0.7 s window import); points given
before that are kept and drawn then.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

PLOT_MIN_HEIGHT = 120
# key: (plot, pen colour, pen width, symbol, legend name)
CURVE_STYLE = {
    "loss": ("loss", "#3070ff", 1, None, "train"),
    "val_loss": ("loss", "#ff7030", 2, "o", "val"),
    "iou": ("IoU", "#3070ff", 1, None, "train"),
    "val_iou": ("IoU", "#ff7030", 2, "o", "val"),
    "val_miou": ("IoU", "#30a050", 2, "t", "val mIoU"),
}
CURVE_KEYS = tuple(CURVE_STYLE)


class TrainingCurves(QWidget):
    """Loss and IoU plots of (x, y) points per curve key (CURVE_KEYS)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._points: dict[str, list[tuple[float, float]]] = {}
        self._pending = False
        self.plots: dict = {}  # title -> pyqtgraph PlotWidget, once built
        self.lines: dict = {}  # curve key -> pyqtgraph PlotDataItem, once built
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.setMinimumHeight(2 * PLOT_MIN_HEIGHT + self._layout.spacing())

    @property
    def built(self) -> bool:
        return bool(self.plots)

    def set_points(self, key: str, points: list[tuple[float, float]]) -> None:
        self._points[key] = list(points)
        if key in self.lines:
            self.lines[key].setData([a for a, _ in points], [b for _, b in points])

    def clear(self) -> None:
        self._points.clear()
        for line in self.lines.values():
            line.setData([], [])

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """Painted means on screen (a dock tab behind another is "visible" to Qt, but
        never painted): the plots are made then, right after this paint."""
        if not self.built and not self._pending:
            self._pending = True
            QTimer.singleShot(0, self.build)
        super().paintEvent(event)

    def build(self) -> None:
        """Make the plots now (they are otherwise made when first painted)."""
        self._pending = False
        if self.built:
            return
        import pyqtgraph as pg

        for key, (title, color, width, symbol, name) in CURVE_STYLE.items():
            plot = self.plots.get(title)
            if plot is None:
                plot = self.plots[title] = pg.PlotWidget(title=title)
                plot.addLegend(offset=(5, 5))
                plot.setLabel("bottom", "epoch")
                plot.setMinimumHeight(PLOT_MIN_HEIGHT)
                if title == "IoU":
                    plot.setYRange(0.0, 1.0)
                self._layout.addWidget(plot, 1)
            marks = {"symbol": symbol, "symbolSize": 5} if symbol else {}
            self.lines[key] = plot.plot(pen=pg.mkPen(color, width=width), name=name, **marks)
        for key, points in self._points.items():
            self.set_points(key, points)
