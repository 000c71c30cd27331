"""tev's tone keys, the declared primaries in the status bar and OCIO views in the tone
panel, all on the real main window."""

from __future__ import annotations

import math

import numpy as np
import OpenEXR
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QTableWidget

from skysegui.core.imageio.primaries import KNOWN
from skysegui.core.tonemap import OCIO
from tests.gui._window import make_window, open_and_wait
from tests.gui.test_audit_window import viewport_array

SHIFT = Qt.KeyboardModifier.ShiftModifier
TONE_KEYS = {
    "Exposure Up (+0.5 EV)": "Shift+R",
    "Exposure Down (-0.5 EV)": "Shift+E",
    "Offset Up (+0.1)": "Shift+P",
    "Offset Down (-0.1)": "Shift+O",
    "Reset Exposure, Offset and Gamma": "R",
    "Normalise Exposure": "N",
}


@pytest.fixture
def aces_image(tmp_path):
    """A small ACES AP0 EXR (as an ACES pipeline writes them)."""
    rng = np.random.default_rng(5)
    px = rng.gamma(1.0, 1.0, size=(64, 128, 3)).astype(np.float16)
    px[3, 4] = (900.0, 800.0, 700.0)  # a sun: normalise must find it
    path = tmp_path / "aces.exr"
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage,
              "chromaticities": KNOWN["ACES AP0"], "envmap": OpenEXR.ENVMAP_LATLONG}
    OpenEXR.File(header, {"RGB": px}).write(str(path))
    return path


@pytest.fixture
def window(qtbot, tmp_path):
    return make_window(qtbot, tmp_path / "settings.ini")


def test_tev_keys_step_reset_and_normalise_on_the_real_window(qtbot, window, aces_image):
    open_and_wait(qtbot, window, aces_image)
    panel, tone = window.tone_panel, lambda: window.tone_panel.settings

    def press(key, modifiers=Qt.KeyboardModifier.NoModifier):
        QTest.keyClick(window, key, modifiers)
        assert window.view.tone == tone()  # the viewer follows every key

    press(Qt.Key.Key_R, SHIFT)
    assert tone().exposure == pytest.approx(0.5) and panel.exposure_box.value() == pytest.approx(0.5)
    press(Qt.Key.Key_E, SHIFT)
    press(Qt.Key.Key_E, SHIFT)
    assert tone().exposure == pytest.approx(-0.5)
    press(Qt.Key.Key_P, SHIFT)
    assert tone().offset == pytest.approx(0.1) and panel.offset_box.value() == pytest.approx(0.1)
    press(Qt.Key.Key_O, SHIFT)
    press(Qt.Key.Key_O, SHIFT)
    assert tone().offset == pytest.approx(-0.1)
    panel.gamma_box.setValue(1.8)
    press(Qt.Key.Key_R)
    assert (tone().exposure, tone().offset, tone().gamma) == (0.0, 0.0, 2.2)

    press(Qt.Key.Key_N)
    pixels = window.current.image.pixels.astype(np.float64)
    lo, hi = pixels.min(), pixels.max()
    assert tone().exposure == pytest.approx(-math.log2(hi - lo), abs=1e-4)
    assert lo * 2**tone().exposure + tone().offset == pytest.approx(0.0, abs=1e-6)
    assert hi * 2**tone().exposure + tone().offset == pytest.approx(1.0, abs=1e-4)

    # tev's plain E and O stay with the eraser and the object tool
    press(Qt.Key.Key_E)
    assert window.editor.tool == "eraser"
    press(Qt.Key.Key_O)
    assert window.editor.tool == "object"


def test_tone_keys_are_in_the_view_menu_and_in_f1(window):
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    tone_menu = next(a.menu() for a in view_menu.actions() if a.text() == "&Tone")
    listed = {a.text().replace("&", ""): a.shortcut().toString() for a in tone_menu.actions()}
    assert TONE_KEYS.items() <= listed.items()
    dialog = window.show_shortcuts()
    table = dialog.findChild(QTableWidget)
    rows = {table.item(i, 0).text(): table.item(i, 1).text() for i in range(table.rowCount())}
    dialog.close()
    assert TONE_KEYS.items() <= rows.items()


def test_the_status_bar_names_the_declared_primaries(qtbot, window, aces_image, hdri_dir):
    open_and_wait(qtbot, window, aces_image)
    assert window.status.primaries_label.text() == "ACES AP0 \u2192 709"
    assert "converted to Rec.709" in window.status.primaries_label.toolTip()
    open_and_wait(qtbot, window, hdri_dir / "city.exr")
    assert window.status.primaries_label.text() == "Rec.709 / sRGB"
    assert "D50-adapted" in window.status.primaries_label.toolTip()


def test_the_tone_panel_offers_ocio_views_and_the_viewer_shows_one(qtbot, window, aces_image):
    pytest.importorskip("PyOpenColorIO", reason="PyOpenColorIO is not installed (pip install 'skysegui[ocio]')")
    from skysegui.core.tonemap import ocio

    open_and_wait(qtbot, window, aces_image)
    panel = window.tone_panel
    qtbot.waitUntil(lambda: bool(panel.ocio_views()), timeout=10000)
    assert panel.operator_combo.currentData() == "srgb"  # the built-in operators stay the default
    aces = next(k for k in panel.ocio_views() if k.view.startswith("ACES"))
    before = viewport_array(window.view)
    assert panel.operator_combo.findText(f"OCIO: {aces.view}") >= 0
    with qtbot.waitSignal(panel.settingsChanged, timeout=30000) as changed:  # baked off the GUI thread
        panel.choose_ocio_view(aces)
    settings = changed.args[0]
    assert settings.operator == OCIO and settings.ocio_view == aces.view
    assert window.view.tone == settings and ocio.is_prepared(aces)
    qtbot.waitUntil(lambda: not np.array_equal(viewport_array(window.view), before), timeout=10000)
    aces_picture = viewport_array(window.view)
    QTest.keyClick(window, Qt.Key.Key_R, SHIFT)  # an exposure step goes through the view too
    assert window.view.tone.operator == OCIO and window.view.tone.exposure == pytest.approx(0.5)
    qtbot.waitUntil(lambda: viewport_array(window.view).mean() > aces_picture.mean() + 1, timeout=10000)


def test_the_panel_says_why_there_are_no_ocio_views(qtbot, window, tmp_path, monkeypatch):
    pytest.importorskip("PyOpenColorIO", reason="PyOpenColorIO is not installed (pip install 'skysegui[ocio]')")
    monkeypatch.setenv("OCIO", str(tmp_path / "gone.ocio"))
    panel = window.tone_panel
    qtbot.waitUntil(lambda: bool(panel.ocio_views()), timeout=10000)
    panel.set_ocio_config("$OCIO")
    qtbot.waitUntil(lambda: "gone.ocio, which does not exist" in panel.ocio_note.text(), timeout=10000)
    assert not panel.ocio_views() and not panel.ocio_note.isHidden()
    assert panel.operator_combo.currentData() == "srgb"


def test_a_remembered_view_of_a_vanished_config_falls_back_and_says_why(qtbot, tmp_path):
    pytest.importorskip("PyOpenColorIO", reason="PyOpenColorIO is not installed (pip install 'skysegui[ocio]')")
    from skysegui.core.tonemap import ToneSettings
    from skysegui.gui.panels.tone_panel import TonePanel

    gone = str(tmp_path / "studio.ocio")
    panel = TonePanel(ToneSettings(exposure=1.0, operator=OCIO, ocio_config=gone,
                                   ocio_display="sRGB - Display", ocio_view="Un-tone-mapped"))
    qtbot.addWidget(panel)
    qtbot.waitUntil(lambda: panel.settings.operator == "srgb", timeout=10000)
    assert panel.settings.exposure == 1.0 and "studio.ocio does not exist" in panel.ocio_note.text()


def test_the_export_dialog_keeps_the_viewers_ocio_view(qtbot, tmp_path):
    pytest.importorskip("PyOpenColorIO", reason="PyOpenColorIO is not installed (pip install 'skysegui[ocio]')")
    from skysegui.core.tonemap import ToneSettings
    from skysegui.core.tonemap import ocio as ocio_views
    from skysegui.gui.dialogs.export_dialog import ExportDialog
    from tests.core.test_export import make_project

    project = make_project(tmp_path / "proj")
    display, view = ocio_views.list_views(ocio_views.BUILTIN)[0]
    tone = ToneSettings(exposure=-1.0, operator=OCIO, ocio_config=ocio_views.BUILTIN, ocio_display=display,
                        ocio_view=view)
    dialog = ExportDialog(project, current=project.images_dir / "half.exr", tone=tone)
    qtbot.addWidget(dialog)
    assert dialog.options().tone == tone  # the overlay is exported through the same view
    qtbot.waitUntil(lambda: dialog.preview_pixels() is not None, timeout=20000)
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=10000)
