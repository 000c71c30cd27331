"""SIGKILL the real GUI program (a subprocess under QT_QPA_PLATFORM=offscreen) while it edits
and autosaves, or edits and saves, then start again: the autosaved edits are offered
through the session's recovery question and restore exactly what was autosaved, and
labels.json is always one complete version.

The child builds the window as `skysegui` does (make_application, MainWindow, the error
hook), opens the project and then, turn after turn of the event loop, moves one vertex a
little further through the editor (a real QUndoCommand) and autosaves (the autosave timer's
own slot) or saves (File > Save). It prints each version before and after writing it."""

from __future__ import annotations

import json
import os
import random
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from skysegui.core.annotations import load_labels
from skysegui.core.project import Project
from skysegui.core.synthetic import write_demo_project
from skysegui.gui.main_window import MainWindow
from skysegui.gui.messages import open_error_boxes
from skysegui.gui.settings import AppSettings, ini_settings
from tests.e2e._child import LineChild

WAIT_S = 90.0
STEP = 0.01  # pixels the vertex moves per version

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

DRIVER = """
import sys
sys.path.insert(0, {repo!r})
from pathlib import Path

from PySide6.QtCore import QTimer

from skysegui.gui.app import make_application
from skysegui.gui.editing import commands
from skysegui.gui.main_window import MainWindow
from skysegui.gui.messages import install_excepthook
from skysegui.gui.settings import AppSettings, ini_settings

mode, root, settings_file = sys.argv[1], sys.argv[2], sys.argv[3]
aid, vertex = int(sys.argv[4]), int(sys.argv[5])
x0, y0, step = float(sys.argv[6]), float(sys.argv[7]), float(sys.argv[8])

app = make_application()
win = MainWindow(settings=AppSettings(ini_settings(Path(settings_file))),
                 ask=lambda kind, text: "later" if kind == "recover" else "discard")
install_excepthook(lambda: win)
win.show()
version = [0]


def tick():
    n = version[0] = version[0] + 1
    x = x0 + step * n
    edit = commands.move_vertex(win.session.labels, aid, 0, 0, vertex, (x, y0))
    if not win.editor.push(edit, "Move vertex"):
        print("refused", n, flush=True)
        app.exit(3)
        return
    print("start", n, repr(x), flush=True)
    if mode == "autosave":
        wrote = win.session.autosave()  # what the autosave timer's slot calls
        if not wrote:  # every version is an edit the autosave does not hold yet
            print("not-written", n, flush=True)
            app.exit(4)
            return
    else:
        win.actions.save.trigger()  # File > Save
    print("done", n, flush=True)
    QTimer.singleShot(0, tick)


def ready():
    if version[0] == 0:  # the first image is on screen: start editing
        print("ready", win.current.path.name, flush=True)
        QTimer.singleShot(0, tick)


win.fullyLoaded.connect(ready)
QTimer.singleShot(0, lambda: win.open_path(root))
sys.exit(app.exec())
"""


class Driver(LineChild):
    """The GUI child process: prints "ready", then "start N x" and "done N" per version."""

    def __init__(self, mode: str, root: Path, settings: Path, target) -> None:
        aid, vertex, x0, y0 = target
        args = [mode, str(root), str(settings), str(aid), str(vertex), repr(x0), repr(y0), repr(STEP)]
        super().__init__(DRIVER, args, env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))

    def wait_for_done(self, count: int) -> None:
        self.wait_until(lambda: len(self.done) >= count, WAIT_S, "the program")

    @property
    def done(self) -> list[int]:
        return [int(line.split()[1]) for line in self.lines if line.startswith("done ")]

    def positions(self) -> dict[int, float]:
        """x of the moved vertex for every version the program started writing."""
        return {int(p[1]): float(p[2]) for p in (line.split() for line in self.lines) if len(p) == 3 and p[0] == "start"}

    def possible_on_disk(self) -> set[float]:
        """The last version written completely, or the one being written when killed."""
        started = self.positions()
        last = max(self.done)
        return {started[n] for n in started if n >= last}


@pytest.fixture
def project(tmp_path):
    return write_demo_project(tmp_path / "demo", count=2, width=512, height=256, labelled=2)


def vertex_to_move(project: Project):
    """(annotation id, vertex, x, y) of an outer vertex of the first image's first polygon far
    enough from the border to be moved right a little in every version."""
    labels = project.load_labels().labels
    first = min(labels.images.values(), key=lambda r: r.file_name)
    ann = labels.annotations_for(first.id)[0]
    ring = ann.polygons[0].outer
    margin = np.minimum.reduce([ring[:, 0], first.width - ring[:, 0], ring[:, 1], first.height - ring[:, 1]])
    v = int(np.argmax(margin))
    assert margin[v] > 25, "no vertex away from the border"
    return ann.id, v, float(ring[v, 0]), float(ring[v, 1])


def window(qtbot, tmp_path, ask) -> MainWindow:
    win = MainWindow(settings=AppSettings(ini_settings(tmp_path / "restart.ini")), ask=ask)
    qtbot.addWidget(win)
    win.show()
    return win


def run_and_kill(mode: str, project: Project, tmp_path, target, rng: random.Random | None) -> Driver:
    """Kill at a random moment (rng) or, without rng, the moment a write starts."""
    driver = Driver(mode, project.root, tmp_path / "child.ini", target)
    driver.wait_for_done(2)
    if rng is not None:
        time.sleep(rng.uniform(0.0, 0.3))  # a random moment of the edit / write loop
    else:
        seen = len(driver.lines)
        driver.wait_until(lambda: any(line.startswith("start") for line in driver.lines[seen:]),
                          WAIT_S, "the program (waiting for a write)", poll=0.0005)
    driver.kill()
    assert driver.lines[0].startswith("ready")
    assert not any(line.startswith(("refused", "not-written")) for line in driver.lines), driver.lines
    return driver


def assert_only_the_vertex_moved(labels, original, target, x) -> None:
    aid, v, _x0, y0 = target
    for a in original.annotations.values():
        b = labels.annotations[a.id]
        expected = a.polygons[0].outer.copy()
        if a.id == aid:
            expected[v] = (x, y0)
        np.testing.assert_allclose(b.polygons[0].outer, expected, atol=1e-9)


@pytest.mark.parametrize("seed", [1, None], ids=["random-moment", "as-a-write-starts"])
def test_killed_while_autosaving_the_edits_are_offered_and_restored(qtbot, tmp_path, project, seed):
    labels_text = project.labels_path.read_text(encoding="utf-8")
    original = project.load_labels().labels
    target = vertex_to_move(project)
    driver = run_and_kill("autosave", project, tmp_path, target, seed and random.Random(seed))
    assert project.labels_path.read_text(encoding="utf-8") == labels_text  # untouched
    assert project.has_recovery()
    possible = driver.possible_on_disk()
    on_disk = load_labels(project.autosave_path).labels.annotations[target[0]].polygons[0].outer[target[1], 0]

    asked = []
    win = window(qtbot, tmp_path, lambda kind, text: asked.append(kind) or "restore")
    with qtbot.waitSignal(win.fullyLoaded, timeout=int(WAIT_S * 1000)):
        assert win.open_path(project.root)
    assert asked == ["recover"]  # the start offers the autosaved edits
    labels = win.session.labels
    x = labels.annotations[target[0]].polygons[0].outer[target[1], 0]
    assert min(abs(x - p) for p in possible) < 1e-9, (x, on_disk, sorted(possible), driver.lines[-6:])
    assert_only_the_vertex_moved(labels, original, target, x)
    assert win.session.dirty and not open_error_boxes()
    win.actions.save.trigger()  # keeping them saves them, and the offer goes away
    assert not Project.open(project.root).has_recovery()
    saved = load_labels(project.labels_path).labels
    assert_only_the_vertex_moved(saved, original, target, x)


@pytest.mark.parametrize("seed", [3, None], ids=["random-moment", "as-a-write-starts"])
def test_killed_while_saving_labels_json_is_one_complete_version(qtbot, tmp_path, project, seed):
    original = project.load_labels().labels
    target = vertex_to_move(project)
    driver = run_and_kill("save", project, tmp_path, target, seed and random.Random(seed))
    data = json.loads(project.labels_path.read_text(encoding="utf-8"))  # complete JSON
    backup = json.loads(project.labels_path.with_name("labels.json.bak").read_text(encoding="utf-8"))
    assert data["images"] and backup["images"]
    possible = driver.possible_on_disk()
    saved = load_labels(project.labels_path).labels
    x = saved.annotations[target[0]].polygons[0].outer[target[1], 0]
    assert min(abs(x - p) for p in possible) < 1e-9, (x, sorted(possible))
    assert_only_the_vertex_moved(saved, original, target, x)
    assert not any(p.name.endswith(".json") and not p.name.startswith(".")
                   for p in project.root.iterdir() if ".tmp" in p.name)

    asked = []
    win = window(qtbot, tmp_path, lambda kind, text: asked.append(kind) or "restore")
    with qtbot.waitSignal(win.fullyLoaded, timeout=int(WAIT_S * 1000)):
        assert win.open_path(project.root)
    assert asked == []  # everything was saved: nothing to recover
    x_again = win.session.labels.annotations[target[0]].polygons[0].outer[target[1], 0]
    assert x_again == pytest.approx(x, abs=1e-9)
    assert not win.session.dirty and not open_error_boxes()
