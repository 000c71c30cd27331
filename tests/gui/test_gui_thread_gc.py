"""Reference cycles holding Qt objects are freed on the GUI thread, never in a worker.

A worker thread that allocates a lot (TensorFlow building or training a model) used to run
Python's cyclic collector itself; when that freed a Qt object the worker deadlocked with the
GUI thread (Qt's mutexes against the GIL). See skysegui/gui/gui_thread_gc.py.
"""

from __future__ import annotations

import gc
import threading
import weakref

from PySide6.QtCore import QObject

from skysegui.gui.gui_thread_gc import GuiThreadGarbageCollector, install_gui_thread_gc


class _Node:
    def __init__(self):
        self.me = self  # a reference cycle: only the cyclic collector frees it


def _allocate_cycles(count: int) -> None:
    for _ in range(count):
        _Node()


def _qt_object_in_a_cycle(freed_in: list) -> weakref.finalize:
    obj = QObject()
    obj.setObjectName("closed-dialog")
    holder = _Node()
    holder.obj = obj
    obj.holder = holder  # QObject -> holder -> QObject: garbage only the collector finds
    return weakref.finalize(holder, lambda: freed_in.append(threading.get_ident()))


def test_a_busy_worker_thread_never_frees_qt_objects(qapp, qtbot):
    collector = install_gui_thread_gc(qapp)
    assert not gc.isenabled()
    freed_in: list[int] = []
    _qt_object_in_a_cycle(freed_in)
    threshold = gc.get_threshold()[0]
    worker = threading.Thread(target=_allocate_cycles, args=(50 * threshold,), name="busy-worker")
    worker.start()
    worker.join()
    # the worker's allocations would have triggered many automatic collections by now
    assert freed_in == [] or freed_in == [threading.main_thread().ident]
    qtbot.waitUntil(lambda: bool(freed_in), timeout=5000)  # the GUI-thread timer collects it
    assert freed_in == [threading.main_thread().ident]
    assert collector.collections >= 1


def test_collector_collects_only_past_the_threshold(qapp):
    collector = install_gui_thread_gc(qapp)
    assert install_gui_thread_gc(qapp) is collector  # installed once
    gc.collect()
    assert collector.check() == 0  # nothing allocated since: nothing to do
    freed_in: list[int] = []
    _qt_object_in_a_cycle(freed_in)
    _allocate_cycles(2 * collector.thresholds[0])
    assert collector.check() > 0
    assert freed_in == [threading.main_thread().ident]


def test_quitting_gives_back_automatic_collection(qapp):
    session_collector = install_gui_thread_gc(qapp)
    gc.enable()  # as in a program that never installed one
    collector = GuiThreadGarbageCollector(qapp, interval_ms=60_000)
    try:
        assert not gc.isenabled()
        collector.restore()  # connected to aboutToQuit
        assert gc.isenabled()
    finally:
        gc.disable()  # the session's collector keeps owning collection
        collector.setParent(None)
    assert install_gui_thread_gc(qapp) is session_collector


def _ready_for_a_full_collection(collector) -> None:
    """Counts past every threshold, with the oldest generation grown, as after a long run."""
    collector.thresholds = (1, 0, 0)
    collector._long_lived = 0
    gc.collect(1)
    gc.collect(0)
    _allocate_cycles(10)


def test_no_full_collection_while_a_model_thread_runs_then_one_after(qapp, qtbot):
    from PySide6.QtCore import QThread

    install_gui_thread_gc(qapp)
    collector = GuiThreadGarbageCollector(qapp, interval_ms=60_000)  # checked by hand here
    generations: list[int] = []

    def record(phase, info):
        if phase == "start":
            generations.append(info["generation"])

    gc.callbacks.append(record)
    thread = QThread()
    try:
        collector.hold_full_collections(thread)  # what a prediction worker does
        thread.start()
        assert collector.holding
        _ready_for_a_full_collection(collector)
        generations.clear()
        collector.check()
        assert generations == [1] and collector.held_full == 1  # both young generations only
        thread.quit()
        thread.wait()
        qtbot.waitUntil(lambda: not collector.holding, timeout=5000)
        _ready_for_a_full_collection(collector)
        generations.clear()
        collector.check()
        assert generations == [2]  # the graph a finished run left is collected now
    finally:
        gc.callbacks.remove(record)
        gc.disable()
        collector.setParent(None)
