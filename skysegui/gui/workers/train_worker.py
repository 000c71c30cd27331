"""Relays a training run in a child process (ml.train.child_process) to the window.

The run itself never executes in the window's process: a run in a thread here shared the
interpreter lock with the GUI thread and froze it while graphs were built (issue 15). This
worker lives on a QThread of its own, starts the child, and turns its pipe's messages into
queued signals, so the GUI thread only ever handles small objects. Cancel sets the
child's cancel flag: training stops after the current batch and the model trained so far
is saved, so `finished` still brings a loadable model folder.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QThread, Signal

from skysegui.ml.train.child_process import TrainingProcess


class TrainWorker(QObject):
    progress = Signal(object)  # skysegui.ml.train.TrainProgress
    status = Signal(str)  # text while preparing (dataset cache, model build)
    finished = Signal(object)  # skysegui.ml.train.TrainResult
    failed = Signal(str)  # a message for the user
    stopped = Signal()  # emitted last, whatever the outcome

    def __init__(self, config, data, out_dir=None, resume: bool = False) -> None:
        super().__init__()
        self._process = TrainingProcess(config, data, out_dir, resume)
        self._emit = {"progress": self.progress.emit, "status": self.status.emit,
                      "finished": self.finished.emit, "failed": self.failed.emit}

    def cancel(self) -> None:
        self._process.cancel()
        self.status.emit("cancelling after this batch...")

    def kill(self) -> None:
        """End the run now (the window is closing and it did not stop in time)."""
        self._process.kill()

    def run(self) -> None:
        try:
            self.status.emit("starting the training process...")
            try:
                self._process.start()
            except Exception as exc:  # no process could start (resources, a broken install)
                self.failed.emit(f"cannot start the training process: {exc}")
                return
            for kind, payload in self._process.messages():
                self._emit[kind](payload)
        finally:
            self.stopped.emit()


def start_worker(worker: TrainWorker) -> QThread:
    """Move `worker` to a new QThread and start it; the thread ends when the worker stops."""
    thread = QThread()
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    # direct: quit() is thread-safe, and the GUI thread may be blocked in thread.wait()
    worker.stopped.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    thread.start()
    return thread
