"""Building the real main window for tests: temporary settings, an injected `ask`."""

from __future__ import annotations

from skysegui.gui.main_window import MainWindow
from skysegui.gui.settings import AppSettings, ini_settings


class Answers:
    """Answers the window's questions like a user would (`ask=`), and remembers what was
    asked; a question it has no answer for gets `default`."""

    def __init__(self, default: str = "cancel", **answers):
        self.default, self.answers, self.asked = default, answers, []

    def __call__(self, kind, text):
        self.asked.append(kind)
        return self.answers.get(kind, self.default)


def make_window(qtbot, settings_file, ask=None, size=(1100, 700)) -> MainWindow:
    """A shown MainWindow whose questions are answered by `ask` (default: discard/later)."""
    win = MainWindow(settings=AppSettings(ini_settings(settings_file)), ask=ask or (lambda k, t: "discard"))
    qtbot.addWidget(win)
    win.resize(*size)
    win.show()
    return win


def open_and_wait(qtbot, win, path, timeout=30000) -> None:
    """Open a project, COCO file or image and wait until it is fully on screen."""
    with qtbot.waitSignal(win.fullyLoaded, timeout=timeout):
        assert win.open_path(path)
