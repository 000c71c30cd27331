"""Runs a Trainer on its own QThread; the GUI thread only receives queued signals.

TensorFlow is imported inside the thread (by the Trainer), so the window never waits for
it. Cancel sets the Trainer's CancelToken: training stops after the current batch and the
model trained so far is saved, so `finished` still brings a loadable model folder.
"""

from __future__ import annotations

import traceback

from PySide6.QtCore import QObject, Qt, QThread, Signal

from skysegui.core.errors import CancelledError, SkysegError
from skysegui.core.progress import CancelToken
from skysegui.gui.gui_thread_gc import install_gui_thread_gc


class TrainWorker(QObject):
    progress = Signal(object)  # skysegui.ml.train.TrainProgress
    status = Signal(str)  # text while preparing (dataset cache, model build)
    finished = Signal(object)  # skysegui.ml.train.TrainResult
    failed = Signal(str)  # a message for the user
    stopped = Signal()  # emitted last, whatever the outcome

    def __init__(self, config, data, out_dir=None, resume: bool = False) -> None:
        super().__init__()
        self.config = config
        self.data = data
        self.out_dir = out_dir
        self.resume = resume
        self.token = CancelToken()

    def cancel(self) -> None:
        self.token.cancel()
        self.status.emit("cancelling after this batch...")

    def run(self) -> None:
        try:
            from skysegui.ml.train import Trainer

            self.status.emit("preparing the dataset and the model...")

            def on_progress(done, total, message):
                self.status.emit(message)

            from skysegui.ml.train.graph_release import release_run_graphs

            trainer = Trainer(self.config, self.data, self.out_dir, progress=on_progress,
                              cancel=self.token, listener=self.progress.emit, resume=self.resume)
            with release_run_graphs():  # the window trains many runs in one process
                result = trainer.run()
            del trainer
            self.finished.emit(result)
        except CancelledError:
            self.failed.emit("training cancelled before the first batch: no model was saved")
        except SkysegError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # a bug: keep the window alive, show one line, log the trace
            traceback.print_exc()
            self.failed.emit(f"unexpected {type(exc).__name__}: {exc}")
        finally:
            self.stopped.emit()


def start_worker(worker: TrainWorker) -> QThread:
    """Move `worker` to a new QThread and start it; the thread ends when the worker stops."""
    thread = QThread()
    # no Qt object may be garbage-collected in the training thread, and no full collection
    # may walk the model's graph while it trains (see gui_thread_gc.py)
    install_gui_thread_gc().hold_full_collections(thread)
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    # direct: quit() is thread-safe, and the GUI thread may be blocked in thread.wait()
    worker.stopped.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    thread.start()
    return thread
