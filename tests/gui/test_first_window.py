"""Issue 2's first window: open city.exr off the GUI thread, move the exposure slider, see it change."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QImage

from skysegui.gui.main_window import MainWindow
from skysegui.gui.settings import AppSettings, ini_settings


def viewport_array(view) -> np.ndarray:
    image = view.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    buf = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * h)
    return buf.reshape(h, image.bytesPerLine())[:, : 3 * w].reshape(h, w, 3).copy()


@pytest.fixture
def window(qtbot, tmp_path):
    win = MainWindow(settings=AppSettings(ini_settings(tmp_path / "settings.ini")), ask=lambda k, t: "later")
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    return win


def test_open_exr_then_exposure_changes_the_picture(window, qtbot, hdri_dir):
    with qtbot.waitSignal(window.fullyLoaded, timeout=30000):
        assert window.open_path(hdri_dir / "city.exr")
        assert window.current is None  # decoding runs in a worker, not in open_path
    view = window.view
    assert view.image_size == (1024, 512)
    before = viewport_array(view).astype(np.int16)
    assert before.std() > 10  # a picture, not an empty background

    with qtbot.waitSignal(view.rendered, timeout=5000):
        window.tone_panel.exposure_slider.setValue(-30)  # -3 EV
    assert window.tone_panel.settings.exposure == pytest.approx(-3.0)
    after = viewport_array(view).astype(np.int16)
    changed = np.abs(after - before).max(axis=2) > 8
    assert changed.mean() > 0.2
    assert after.mean() < before.mean()  # darker, as -3 EV must be
