"""Python's cyclic garbage collector runs on the GUI thread only, from a timer.

Why: automatic collection runs in whichever thread happens to allocate, and TensorFlow's
training and prediction threads allocate a lot. When such a collection frees a Qt wrapper
that was part of a reference cycle (a closed dialog, a menu, a finished worker), the C++
QObject is destroyed in that worker thread: its destructor takes Qt's internal mutexes and
then asks for the GIL, while the GUI thread, holding the GIL, waits for the same mutexes.
That deadlock froze the window (seen in the test suite: a prediction thread building a
model, collecting a closed window's QActions, against the GUI thread deleting a QMenu).
Collecting on the GUI thread destroys every QObject in the thread that owns it.

Reference counting still frees most objects at once in every thread; only cycles wait for
the timer. The generations are collected with the interpreter's own thresholds, so memory
behaves as before; a full collection with TensorFlow loaded takes ~0.2 s, the same stall
it caused before, when it ran in a worker thread while holding the GIL, and the same rule as
the interpreter's keeps full collections rare.
"""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QCoreApplication, QObject, QTimer

INTERVAL_MS = 500  # often enough that gen-0 garbage stays small during training


class GuiThreadGarbageCollector(QObject):
    """Disables automatic collection and collects from a GUI-thread timer instead."""

    def __init__(self, app: QCoreApplication, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(app)
        self.thresholds = gc.get_threshold()
        self.longest_ms = 0.0  # the longest collection so far (benchmarks read it)
        self.collections = 0
        self._long_lived = len(gc.get_objects(2))
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(interval_ms)
        app.aboutToQuit.connect(self.restore)

    def check(self) -> int:
        """Collect the generations whose counts passed their thresholds; returns how many
        unreachable objects were found."""
        t0, t1, t2 = self.thresholds
        c0, c1, c2 = gc.get_count()
        if t0 <= 0 or c0 <= t0:
            return 0
        generation = 0
        if c1 > t1:
            generation = 2 if c2 > t2 and self._long_lived_grew() else 1
        start = time.perf_counter()
        found = gc.collect(generation)
        if generation == 2:
            self._long_lived = len(gc.get_objects(2))
        self.longest_ms = max(self.longest_ms, (time.perf_counter() - start) * 1000.0)
        self.collections += 1
        return found

    def _long_lived_grew(self) -> bool:
        """The interpreter's rule for full collections: only when the objects that reached
        the oldest generation since the last full one are a quarter of those there then
        (without it a full collection would run every ~50 s while training allocates)."""
        pending = len(gc.get_objects(2)) - self._long_lived
        return pending > self._long_lived // 4

    def restore(self) -> None:
        """Back to automatic collection (the application is quitting)."""
        self._timer.stop()
        if self._was_enabled:
            gc.enable()


def install_gui_thread_gc(app: QCoreApplication | None = None) -> GuiThreadGarbageCollector:
    """Install the collector on the application once; later calls return the same one."""
    app = app or QCoreApplication.instance()
    if app is None:
        raise RuntimeError("create the QApplication before installing the GUI-thread collector")
    existing = app.findChild(GuiThreadGarbageCollector)
    if existing is not None:
        return existing
    return GuiThreadGarbageCollector(app)
