"""A long session in the real window (offscreen): memory must stay bounded.

- switching through 50 synthetic panoramas (512 x 256, a demo project) with next-image,
  each one waited for until it is rendered from full resolution with its labels drawn.
  Memory is measured as Python-side allocations (tracemalloc: numpy buffers included) and
  as resident memory (from /proc, and the ru_maxrss peak, which also sees Qt's pixmaps).
  Baseline: the figure after the first 10 panoramas. Target: after 50 it has grown by
  less than 10 % (the image cache, the thumbnails and the scene are all bounded).
- 500 vertex moves through the LabelEditor's undoable commands on a QUndoStack, with ten
  undos and ten redos every 25 edits, then undo and redo of everything. Baseline: the
  figure with the project open before the first edit. Target: the whole history adds
  less than 10 % of the process's resident memory, and undoing everything restores the
  labels exactly.
"""

from __future__ import annotations

import gc
import os
import random
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

from benchmarks._common import current_rss_mb, growth_row  # noqa: E402
from benchmarks._table import Row, peak_rss_mb  # noqa: E402

BENCH = "long_session_gui"
PANORAMAS = 50
EDITS = 500
WAIT_MS = 60_000


def wait_for(signal, action=None, timeout_ms: int = WAIT_MS) -> None:
    """Run `action` and spin the event loop until `signal` fires."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    fired = []

    def done(*_args):
        fired.append(True)
        loop.quit()

    signal.connect(done)
    QTimer.singleShot(timeout_ms, loop.quit)
    if action is not None:
        action()
    if not fired:
        loop.exec()
    signal.disconnect(done)
    if not fired:
        raise RuntimeError("timed out waiting for the window")


def settle(app, ms: int = 150) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()
    app.processEvents()


def measure() -> tuple[float, float, float]:
    """(tracemalloc current MB, RSS now MB, ru_maxrss MB) after a full collection."""
    gc.collect()
    current, _peak = tracemalloc.get_traced_memory()
    return current / 2**20, current_rss_mb(), peak_rss_mb()


def make_window(root: Path):
    from PySide6.QtWidgets import QApplication

    from skysegui.gui.main_window import MainWindow
    from skysegui.gui.settings import AppSettings, ini_settings

    app = QApplication.instance() or QApplication([])
    win = MainWindow(settings=AppSettings(ini_settings(root / "settings.ini")),
                     ask=lambda kind, _text: "discard")
    win.resize(1200, 800)
    win.show()
    return app, win


def switching(app, win, project) -> list[tuple[float, float, float]]:
    wait_for(win.fullyLoaded, lambda: win.open_path(project.root))
    win.thumbnails.wait(WAIT_MS)  # thumbnails of all 50 are made once, right after opening
    settle(app)
    figures = []
    for _ in range(PANORAMAS):
        wait_for(win.fullyLoaded, win.actions.next_image.trigger)
        figures.append(measure())
    return figures


def editing(app, win) -> tuple[tuple, tuple, bool, float]:
    from skysegui.core.annotations import coco_dict
    from skysegui.gui.editing import commands

    editor, stack, labels = win.editor, win.undo_stack, win.session.labels
    while not editor.annotations():  # go to a labelled panorama
        wait_for(win.fullyLoaded, win.actions.next_image.trigger)
    settle(app)
    original = coco_dict(labels)
    before = measure()
    rng = random.Random(0)
    width, height = win.current.width, win.current.height
    t0 = time.perf_counter()
    for n in range(1, EDITS + 1):
        ann = rng.choice(editor.annotations())
        ring = ann.polygons[0].outer
        v = rng.randrange(len(ring))
        x = float(np.clip(ring[v, 0] + rng.uniform(-3, 3), 0, width))
        y = float(np.clip(ring[v, 1] + rng.uniform(-3, 3), 0, height))
        editor.push(commands.move_vertex(labels, ann.id, 0, 0, v, (x, y)), "Move vertex")
        if n % 25 == 0:
            for _ in range(10):
                stack.undo()
            for _ in range(10):
                stack.redo()
            app.processEvents()
    seconds = time.perf_counter() - t0
    settle(app)
    after = measure()
    edited = coco_dict(labels)
    stack.setIndex(0)
    exact = coco_dict(labels) == original
    stack.setIndex(stack.count())
    exact = exact and coco_dict(labels) == edited
    return before, after, exact, seconds


def run() -> list[Row]:
    from skysegui.core.synthetic import write_demo_project

    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        project = write_demo_project(Path(tmp) / "demo", count=PANORAMAS, width=512, height=256,
                                     labelled=PANORAMAS // 2)
        tracemalloc.start()
        app, win = make_window(Path(tmp))
        figures = switching(app, win, project)
        (py10, rss10, max10), (py50, rss50, max50) = figures[9], figures[-1]
        py_peak = tracemalloc.get_traced_memory()[1] / 2**20  # the highest of the whole walk
        switch = f"switch {PANORAMAS} panoramas:"
        rows += [
            growth_row(BENCH, f"{switch} Python allocations (tracemalloc)", py50, py10, "after 10:", 1.1, 1),
            growth_row(BENCH, f"{switch} peak Python allocations", py_peak, py10, "after 10:", 1.25, 1),
            growth_row(BENCH, f"{switch} RSS", rss50, rss10, "after 10:", 1.1),
            growth_row(BENCH, f"{switch} peak RSS (ru_maxrss)", max50, max10, "after 10:", 1.1),
        ]
        rows.append(Row(BENCH, "image cache / thumbnails held at the end",
                        len(win.loader.cache), "images",
                        baseline=f"limit {win.loader.cache.max_entries}; "
                                 f"{win.image_list.thumbnail_count} thumbnails (limit "
                                 f"{win.image_list.thumbnail_limit})",
                        ok=len(win.loader.cache) <= win.loader.cache.max_entries))

        before, after, exact, seconds = editing(app, win)
        rows.append(growth_row(BENCH, f"{EDITS} edits + undo/redo: Python allocations",
                               after[0], before[0], "before:", 1.1, 1))
        rows.append(growth_row(BENCH, f"{EDITS} edits + undo/redo: RSS", after[1], before[1], "before:", 1.1))
        rows.append(Row(BENCH, f"{EDITS} edits: time per edit (tracemalloc on)", 1000 * seconds / EDITS, "ms"))
        rows.append(Row(BENCH, "undo all / redo all gives the labels exactly", float(exact), "bool",
                        target="1", ok=exact))
        rows.append(Row(BENCH, "peak resident memory of the session", peak_rss_mb(), "MB"))
        tracemalloc.stop()
        win.session.undo_stack.setClean()
        win.close()
    return rows
