"""Predicts images in a QThread: loads the model (TensorFlow) and runs the Predictor off the
GUI thread, reports progress, stops cleanly between batches when cancelled. A job with
method "auto" runs auto sky instead (no model, no TensorFlow).

The GUI thread only receives finished objects through queued signals: a Prediction per
image, the loaded model (so the next run need not rebuild it), errors as exceptions.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from skysegui.core.errors import CancelledError, SkysegError
from skysegui.core.progress import CancelToken
from skysegui.gui.gui_thread_gc import install_gui_thread_gc


@dataclass
class PredictJob:
    """What to predict and how. `loaded` reuses an already loaded model (skips the rebuild).
    method "auto": auto sky (ml/autosky_predict.py), no model_folder needed."""

    model_folder: Path | None
    paths: list[Path]
    mode: str = "quality"
    out_dir: Path | None = None  # save each prediction here (e.g. <project>/predictions)
    loaded: object | None = None
    options: dict = field(default_factory=dict)  # Predictor keyword arguments (tile, ...)
    method: str = "model"  # "model" or "auto"


class PredictWorker(QObject):
    """Lives in its own QThread; `run` does the whole job."""

    modelLoaded = Signal(object)  # LoadedModel, for reuse by the next job
    imageStarted = Signal(int, int, str)  # index, count, path
    progress = Signal(int, int, str)  # done, total, message (tiles of the current image)
    predicted = Signal(str, object)  # path, Prediction
    imageFailed = Signal(str, object)  # path, exception
    failed = Signal(object)  # the job could not run at all (e.g. the model does not load)
    finished = Signal(bool)  # True when cancelled

    def __init__(self, job: PredictJob) -> None:
        super().__init__()
        self.job = job
        self.token = CancelToken()

    def cancel(self) -> None:
        """Thread-safe: the work stops at the next batch boundary."""
        self.token.cancel()

    @Slot()
    def run(self) -> None:
        cancelled = False
        try:
            predictor = self._predictor()
            count = len(self.job.paths)
            for index, path in enumerate(self.job.paths):
                self.token.check()
                self.imageStarted.emit(index, count, str(path))
                self._predict_one(predictor, Path(path))
        except CancelledError:
            cancelled = True
        except Exception as exc:  # shown to the user as a message
            _keep_traceback(exc)
            self.failed.emit(exc)
        self.finished.emit(cancelled)
        self.thread().quit()  # thread-safe: the thread ends once run() returns

    def _predictor(self):
        if self.job.method == "auto":
            from skysegui.ml.autosky_predict import AutoSkyPredictor

            return AutoSkyPredictor()
        from skysegui.ml.model import load_model
        from skysegui.ml.predict import Predictor

        loaded = self.job.loaded
        if loaded is None:
            loaded = load_model(self.job.model_folder)
            self.modelLoaded.emit(loaded)
        return Predictor(loaded, **self.job.options)

    def _predict_one(self, predictor, path: Path) -> None:
        from skysegui.ml.predict import read_for_prediction, save_prediction

        try:
            image = read_for_prediction(path)
            prediction = predictor.predict(
                image, mode=self.job.mode, progress=self.progress.emit, cancel=self.token
            )
            if self.job.out_dir is not None:
                save_prediction(prediction, self.job.out_dir, path)
        except CancelledError:
            raise
        except SkysegError as exc:
            self.imageFailed.emit(str(path), exc)
            return
        self.predicted.emit(str(path), prediction.prepare_for_display())


def _keep_traceback(exc: BaseException) -> None:
    if not isinstance(exc, SkysegError):
        exc.__traceback_text__ = traceback.format_exc()


class PredictRunner(QObject):
    """Owns one QThread + PredictWorker at a time and forwards the worker's signals."""

    modelLoaded = Signal(object)
    imageStarted = Signal(int, int, str)
    progress = Signal(int, int, str)
    predicted = Signal(str, object)
    imageFailed = Signal(str, object)
    failed = Signal(object)
    finished = Signal(bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: PredictWorker | None = None

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def start(self, job: PredictJob) -> None:
        if self.busy:
            raise RuntimeError("a prediction is already running")  # the panel disables its buttons
        thread = QThread(self)
        # no Qt object may be garbage-collected in the prediction thread, and no full
        # collection may walk the model's graph while it predicts (see gui_thread_gc.py)
        install_gui_thread_gc().hold_full_collections(thread)
        worker = PredictWorker(job)
        worker.moveToThread(thread)
        for name in ("modelLoaded", "imageStarted", "progress", "predicted", "imageFailed", "failed"):
            getattr(worker, name).connect(getattr(self, name))
        worker.finished.connect(self._on_finished)
        thread.started.connect(worker.run)
        # deleted in its own thread as the thread ends: a deleteLater() after that is never
        # carried out, and every finished worker stayed, holding its job's loaded model
        # (one model per training round kept in memory; found by benchmarks/bench_soak.py)
        thread.finished.connect(worker.deleteLater)
        self._thread, self._worker = thread, worker
        thread.start()

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.cancel()

    def wait(self, msecs: int = 30000) -> bool:
        """Block until the thread ends (tests and shutdown only)."""
        return self._thread.wait(msecs) if self._thread is not None else True

    def _on_finished(self, cancelled: bool) -> None:
        thread, worker = self._thread, self._worker
        self._thread = self._worker = None
        if thread is not None:
            thread.quit()
            thread.wait(10_000)  # run() has returned; never hang the GUI on a stuck thread
            thread.deleteLater()
        if worker is not None:
            worker.job = None  # the loaded model goes with the next job, not with this worker
        self.finished.emit(cancelled)
