"""Starts the GUI: `skysegui [PATH]` and `skysegui --screenshot OUT.png [PATH]`.

Screenshot mode opens PATH with fresh default settings (so pictures are reproducible),
waits until the image is rendered from full resolution and its labels are drawn, saves
a picture of the whole window and exits 0 (2 on an error, printed as one line).
"""

from __future__ import annotations

import os
import sys
import tempfile
from functools import cache
from importlib import resources
from pathlib import Path

from PySide6.QtCore import QTimer, qInstallMessageHandler
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from skysegui.core.atomicio import atomic_write
from skysegui.core.errors import SaveError, SkysegError
from skysegui.gui.gui_thread_gc import install_gui_thread_gc
from skysegui.gui.settings import APPLICATION, ORGANISATION, AppSettings, ini_settings

SCREENSHOT_TIMEOUT_MS = 180_000
SCREENSHOT_SETTLE_MS = 300
STYLE_SHEET = "style.qss"  # in skysegui/resources/ (package data: a checkout or a wheel)


@cache
def style_sheet() -> str | None:
    """The window's style sheet, read from the installed package with importlib.resources.
    None when it is missing (a broken install): said once on stderr, never silently."""
    try:
        return (resources.files("skysegui") / "resources" / STYLE_SHEET).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"warning: the style sheet skysegui/resources/{STYLE_SHEET} cannot be read ({exc}); "
              "the window uses Qt's plain theme: reinstall skysegui", file=sys.stderr)
        return None


def dark_palette() -> QPalette:
    """A neutral dark theme: colours of the picture are judged against grey, not white."""
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#25272b",
        QPalette.ColorRole.WindowText: "#dcdde0",
        QPalette.ColorRole.Base: "#1d1f22",
        QPalette.ColorRole.AlternateBase: "#2a2c30",
        QPalette.ColorRole.ToolTipBase: "#2f3236",
        QPalette.ColorRole.ToolTipText: "#e8e8e8",
        QPalette.ColorRole.Text: "#dcdde0",
        QPalette.ColorRole.Button: "#303338",
        QPalette.ColorRole.ButtonText: "#dcdde0",
        QPalette.ColorRole.BrightText: "#ff6b6b",
        QPalette.ColorRole.Highlight: "#3d7bd9",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#6aa9ff",
        QPalette.ColorRole.PlaceholderText: "#80848a",
    }
    for role, color in roles.items():
        p.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6c7075"))
    return p


def check_display(screenshot: bool = False) -> None:
    """Qt aborts the whole process (core dump) when Linux has no display; say what to do
    instead. A screenshot needs no screen: it is then drawn offscreen."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return
    if screenshot:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        return
    raise SkysegError(
        "there is no display to open the window on (DISPLAY is not set): run skysegui on a "
        "desktop, over `ssh -X`, or under `xvfb-run`"
    )


# Qt lines that say nothing to a user: the offscreen platform (screenshots without a
# display) cannot resize dock windows to their size hints, which changes nothing here.
QUIET_QT_MESSAGES = frozenset({"This plugin does not support propagateSizeHints()"})


def _qt_message(_mode, _context, message: str) -> None:
    if message not in QUIET_QT_MESSAGES:
        print(message, file=sys.stderr)


def make_application(screenshot: bool = False) -> QApplication:
    if QApplication.instance() is None:
        check_display(screenshot)
    qInstallMessageHandler(_qt_message)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setStyle("Fusion")
    app.setPalette(dark_palette())
    sheet = style_sheet()
    if sheet is not None:
        app.setStyleSheet(sheet)
    install_gui_thread_gc(app)  # Qt objects must never be collected in a TensorFlow thread
    return app


def save_window_picture(window, out: Path) -> None:
    pixmap = window.grab()
    with atomic_write(out) as tmp:
        if not pixmap.save(str(tmp), "PNG"):
            raise SaveError(f"could not write the screenshot {out}: check the folder is writable")


def run_app(path: str | None = None, screenshot: str | None = None) -> int:
    from skysegui.gui.main_window import MainWindow
    from skysegui.gui.messages import install_excepthook

    app = make_application(screenshot=bool(screenshot))
    if screenshot:
        tmp = tempfile.TemporaryDirectory(prefix="skysegui-shot-")
        settings = AppSettings(ini_settings(Path(tmp.name) / "settings.ini"))
        window = MainWindow(settings=settings, ask=lambda kind, _text: "later" if kind == "recover" else "discard")
        window.resize(1600, 960)
    else:
        window = MainWindow()
    install_excepthook(lambda: window)
    window.show()
    if screenshot:
        return _screenshot(app, window, path, Path(screenshot))
    if path:
        QTimer.singleShot(0, lambda: window.open_path(path))
    from skysegui.gui.tf_warmup import schedule_tf_warmup

    schedule_tf_warmup()  # the first run or prediction then never waits for the import
    return app.exec()


def _screenshot(app: QApplication, window, path: str | None, out: Path) -> int:
    result = {"code": 0}

    def fail(message: str) -> None:
        print(f"error: {message}", file=sys.stderr)
        result["code"] = 2
        app.exit(2)

    def shoot() -> None:
        try:
            save_window_picture(window, out)
        except SaveError as exc:
            fail(str(exc))
            return
        app.exit(result["code"])

    def start() -> None:
        if not path:
            QTimer.singleShot(SCREENSHOT_SETTLE_MS, shoot)
            return
        try:
            opened = window.session.open(path)
        except Exception as exc:  # SkysegError: bad path/file; reported as one line
            fail(str(exc))
            return
        if not opened:
            fail(f"could not open {path}")
        elif not window.session.images:
            QTimer.singleShot(SCREENSHOT_SETTLE_MS, shoot)

    def loaded() -> None:
        window.thumbnails.wait(60_000)  # the image list's thumbnails belong in the picture too
        QTimer.singleShot(SCREENSHOT_SETTLE_MS, shoot)

    def load_failed(exc) -> None:
        """One error line and exit 2, but the picture of the window is still taken."""
        print(f"error: {exc}", file=sys.stderr)
        result["code"] = 2
        QTimer.singleShot(SCREENSHOT_SETTLE_MS, shoot)

    window.fullyLoaded.connect(lambda: QTimer.singleShot(0, loaded))
    window.loader.failed.connect(load_failed)
    QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, lambda: fail("timed out waiting for the image to load"))
    QTimer.singleShot(0, start)
    code = app.exec()
    window.close()
    return code or result["code"]
