"""Garbage collection on the GUI thread while a model trains in its worker thread.

Cyclic garbage is collected by a GUI-thread timer (skysegui/gui/gui_thread_gc.py), so no
Qt object is ever freed in a TensorFlow thread. This measures what that costs the window:
a tiny U-Net trains in the real window's training panel (offscreen) while a 10 ms timer
records the longest gap in the GUI event loop, and the collector records its longest
collection. Baseline: one full collection (what the interpreter's own automatic rule
would also run, in whichever thread, holding the GIL) timed in the same process.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchmarks._table import Row  # noqa: E402

BENCH = "gui_gc"


def run() -> list[Row]:
    from PySide6.QtCore import QEventLoop, QTimer

    from skysegui.core.synthetic import write_demo_project
    from skysegui.gui.app import make_application
    from skysegui.gui.gui_thread_gc import install_gui_thread_gc
    from skysegui.gui.main_window import MainWindow
    from skysegui.gui.settings import AppSettings, ini_settings
    from skysegui.ml.model import PRESETS

    app = make_application()
    collector = install_gui_thread_gc(app)
    with tempfile.TemporaryDirectory(prefix="bench-gc-") as tmp:
        project = write_demo_project(Path(tmp) / "proj", count=6, width=256, height=128, labelled=5, seed=3)
        win = MainWindow(settings=AppSettings(ini_settings(Path(tmp) / "s.ini")), ask=lambda k, t: "discard")
        win.show()
        loop = QEventLoop()
        win.fullyLoaded.connect(loop.quit)
        win.open_path(project.root)
        loop.exec()

        panel = win.learning.training
        tiny = PRESETS["tiny"]
        base = panel.config()
        fields = {f.name: getattr(tiny, f.name) for f in dataclasses.fields(tiny) if f.name != "input_transform"}
        config = dataclasses.replace(base, model=dataclasses.replace(base.model, **fields),
                                     epochs=3, steps_per_epoch=30, batch_size=8)
        gaps, last = [0.0], [time.perf_counter()]

        def tick():
            now = time.perf_counter()
            gap = (now - last[0]) * 1000.0 - 10.0
            gaps[0] = max(gaps[0], gap)
            if os.environ.get("BENCH_GAPS") and gap > 50:
                print(f"gap {gap:.0f} ms at {now - t0:.2f} s", flush=True)
            last[0] = now

        timer = QTimer()
        timer.timeout.connect(tick)
        done = QEventLoop()
        panel.model_ready.connect(done.quit)
        before = collector.collections
        collector.longest_ms = 0.0
        t0 = time.perf_counter()
        panel.start(config)
        last[0] = time.perf_counter()
        timer.start(10)
        QTimer.singleShot(600_000, done.quit)
        done.exec()
        timer.stop()
        seconds = time.perf_counter() - t0
        collections = collector.collections - before
        longest = collector.longest_ms
        start = time.perf_counter()
        gc.collect()
        full_ms = (time.perf_counter() - start) * 1000.0
        win.close()
    return [
        Row(BENCH, f"longest GUI-thread collection, {seconds:.0f} s of training ({collections} collections)",
            longest, "ms", baseline=f"full collection {full_ms:.0f} ms", ratio=longest / full_ms,
            target="<= 1x the full collection", ok=longest <= full_ms * 1.2),
        Row(BENCH, "longest GUI event-loop gap while training", gaps[0], "ms",
            target="informative (collection + TF start-up)"),
    ]
