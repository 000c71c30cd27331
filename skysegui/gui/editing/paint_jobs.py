"""Brush strokes turned into edits off the GUI thread.

The core's paint_edit rasterises the sky and traces it back into polygons: about a
second on an 8K panorama, far over the 50 ms the GUI thread may block. Strokes queue
here; each is computed in a worker thread against a snapshot of the current image's
annotations, then its edit is pushed on the GUI thread. If the model changed meanwhile
(another edit, undo), the stroke is recomputed on the current model before it is pushed,
so an edit is never applied to a model it was not made for.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PySide6.QtCore import QObject, Signal

from skysegui.core.annotations import AnnotationSet
from skysegui.core.errors import SkysegError
from skysegui.gui.editing import commands

SYNC_PIXELS = 2048 * 1024  # images up to this size are painted at once on the GUI thread


def snapshot_for(labels: AnnotationSet, image_id) -> AnnotationSet:
    """A copy that a worker may read while the GUI goes on: the image's annotations are
    deep copies; other images' annotations are only referenced (their ids keep new ids
    unique)."""
    annotations = dict(labels.annotations)
    for aid, ann in annotations.items():
        if ann.image_id == image_id:
            annotations[aid] = ann.copy()
    snap = AnnotationSet(images=dict(labels.images), annotations=annotations,
                         categories=dict(labels.categories), extra=labels.extra,
                         synonyms=labels.synonyms)
    return snap


class PaintQueue(QObject):
    """Strokes in order; at most one in a worker at a time."""

    _done = Signal(object, object, object)  # job, edit or None, error message or None
    busyChanged = Signal(bool)

    def __init__(self, editor):
        super().__init__(editor)
        self.editor = editor
        self.sync_pixels = SYNC_PIXELS
        self._queue: deque = deque()
        self._running = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="skysegui-paint")
        self._done.connect(self._finished)

    @property
    def busy(self) -> bool:
        return self._running is not None or bool(self._queue)

    def submit(self, mask: np.ndarray, erase: bool, text: str, on_done=None) -> None:
        """Paint (or erase) `mask` into the current image's sky as one undoable command."""
        ed = self.editor
        job = {"labels": ed.labels, "image_id": ed.image_id, "mask": mask, "erase": erase,
               "text": text, "on_done": on_done}
        if mask.size <= self.sync_pixels and not self.busy:
            self._push(job, self._compute(job, ed.labels))
            return
        was_busy = self.busy
        self._queue.append(job)
        if not was_busy:
            self.busyChanged.emit(True)
        self._start_next()

    def _start_next(self) -> None:
        if self._running is not None or not self._queue:
            return
        job = self._queue.popleft()
        ed = self.editor
        if job["labels"] is not ed.labels:  # another label set was loaded: drop it
            self._finish_job(job)
            self._start_next()
            return
        job["stack_index"] = ed.undo_stack.index()
        job["stack_count"] = ed.undo_stack.count()
        snap = snapshot_for(job["labels"], job["image_id"])
        self._running = job
        ed.report("applying the stroke ...")

        def work():
            try:
                self._done.emit(job, commands.paint(snap, job["image_id"], job["mask"], erase=job["erase"]), None)
            except SkysegError as exc:
                self._done.emit(job, None, str(exc))
            except Exception as exc:  # a bug: report it rather than lose the stroke silently
                self._done.emit(job, None, f"the stroke could not be applied: {exc!r}")

        self._pool.submit(work)

    def _finished(self, job, edit, error) -> None:
        self._running = None
        ed = self.editor
        if error is not None:
            ed.report(error)
            self._finish_job(job)
        elif job["labels"] is ed.labels:
            stale = (ed.undo_stack.index() != job["stack_index"]
                     or ed.undo_stack.count() != job["stack_count"])
            if stale:  # the model moved on while the worker ran: redo it on the real one
                edit = self._compute(job, job["labels"])
            self._push(job, edit)
        else:
            self._finish_job(job)
        self._start_next()
        if not self.busy:
            self.busyChanged.emit(False)

    def _compute(self, job, labels):
        try:
            return commands.paint(labels, job["image_id"], job["mask"], erase=job["erase"])
        except SkysegError as exc:
            self.editor.report(str(exc))
            return None

    def _push(self, job, edit) -> None:
        ed = self.editor
        self._finish_job(job)
        if edit is None:
            ed.report("the stroke changed nothing" + (": there is no sky there" if job["erase"] else ""))
            return
        if job["labels"] is ed.labels and job["image_id"] == ed.image_id:
            ed.push(edit, job["text"])
        else:  # the user switched images meanwhile: still record it, on its own image
            ed.push_for(job["labels"], job["image_id"], edit, job["text"])

    @staticmethod
    def _finish_job(job) -> None:
        if job["on_done"] is not None:
            job["on_done"]()

    def wait(self, timeout: float = 30.0) -> None:
        """Block until every queued stroke is applied (tests, closing the image)."""
        import time

        from PySide6.QtCore import QCoreApplication

        end = time.monotonic() + timeout
        while self.busy and time.monotonic() < end:
            QCoreApplication.processEvents()
            time.sleep(0.005)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
