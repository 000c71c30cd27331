"""Python's cyclic garbage collector runs on the GUI thread only, from a timer.

Why: automatic collection runs in whichever thread happens to allocate, and TensorFlow's
prediction threads allocate a lot (training runs in a child process of its own,
ml/train/child_process.py). When such a collection frees a Qt wrapper
that was part of a reference cycle (a closed dialog, a menu, a finished worker), the C++
QObject is destroyed in that worker thread: its destructor takes Qt's internal mutexes and
then asks for the GIL, while the GUI thread, holding the GIL, waits for the same mutexes.
That deadlock froze the window (seen in the test suite: a prediction thread building a
model, collecting a closed window's QActions, against the GUI thread deleting a QMenu).
Collecting on the GUI thread destroys every QObject in the thread that owns it.

Reference counting still frees most objects at once in every thread; only cycles wait for
the timer. The generations are collected with the interpreter's own thresholds.

Keeping the window smooth while a model runs in a thread here (a pause of at most 50 ms):
- the timer runs every 100 ms, so the young generations stay small (a young collection of
  the ~100,000 objects that 500 ms of model tracing allocates took 20-40 ms), and while a
  model thread runs both young generations are collected each time;
- TensorFlow's own module objects are frozen out of every collection when it is imported
  (ml/tf_import.py);
- while a prediction thread runs (hold_full_collections), no full collection
  runs at all: it would walk the traced graph of the model, 150,000 objects and more, for
  100-200 ms, and find little, since that graph is alive until the run ends. The full
  collection the interpreter's rule asks for runs once the last such thread has ended,
  when the graph it frees is garbage.
"""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, QTimer

INTERVAL_MS = 100  # often enough that the young generations stay small while a model runs


class GuiThreadGarbageCollector(QObject):
    """Disables automatic collection and collects from a GUI-thread timer instead."""

    def __init__(self, app: QCoreApplication, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(app)
        self.thresholds = gc.get_threshold()
        self.longest_ms = 0.0  # the longest collection so far (benchmarks read it)
        self.collections = 0
        self.held_full = 0  # full collections put off while a TensorFlow thread ran
        self._holds = 0
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
        # while a model thread runs, both young generations every time: tracing a model makes
        # ~100,000 objects a second that outlive gen 0, and a gen-1 collection that waited
        # for ten gen-0 ones walked them all at once (70-80 ms)
        generation = 1 if self._holds else 0
        if c1 > t1:
            generation = 1
            if c2 > t2 and self._long_lived_grew():
                if self._holds:
                    self.held_full += 1
                else:
                    generation = 2
        start = time.perf_counter()
        found = gc.collect(generation)
        if generation == 2:
            self._long_lived = len(gc.get_objects(2))
        self.longest_ms = max(self.longest_ms, (time.perf_counter() - start) * 1000.0)
        self.collections += 1
        return found

    def hold_full_collections(self, thread: QThread) -> None:
        """No full collection until `thread` (a model's worker) has finished."""
        self._holds += 1
        thread.finished.connect(self._release, Qt.ConnectionType.QueuedConnection)

    def _release(self) -> None:
        self._holds = max(0, self._holds - 1)

    @property
    def holding(self) -> bool:
        return self._holds > 0

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
