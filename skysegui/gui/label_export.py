"""File > Export Labels As: the open labels (unsaved edits included) or the project's
predictions in the formats of other labeling tools (core annotations.exchange, as the
CLI's `convert`). Written in a thread: brush encoding and tracing predictions take
seconds on 8K panoramas, and the GUI thread must not wait."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QThread
from PySide6.QtWidgets import QFileDialog

from skysegui.core.errors import ProjectError
from skysegui.gui.dialogs.export_dialog import _start
from skysegui.gui.messages import show_error

# action name: (format, brush, from predictions, file dialog filter; None = a folder)
EXPORTS: dict[str, tuple[str, bool, bool, str | None]] = {
    "export_label_studio": ("label-studio", False, False, "Label Studio tasks (*.json)"),
    "export_label_studio_brush": ("label-studio", True, False, "Label Studio tasks (*.json)"),
    "export_predictions_label_studio": ("label-studio", False, True, "Label Studio tasks (*.json)"),
    "export_labelme": ("labelme", False, False, None),
    "export_cvat": ("cvat", False, False, "CVAT for images 1.1 (*.xml)"),
}


class LabelExport(QObject):
    """Asks where, then writes in a worker; the window's status bar says what came out."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self._threads: list[tuple[QThread, QObject]] = []
        self.last_result = None
        self.last_error: BaseException | None = None

    def ask(self, name: str) -> None:
        """The menu action `name`: choose the destination, then export."""
        fmt, _brush, _predictions, pattern = EXPORTS[name]
        if not self._check_open():
            return
        if pattern is None:
            path = QFileDialog.getExistingDirectory(self.window, "Export labelme files to folder")
        else:
            path, _ = QFileDialog.getSaveFileName(self.window, "Export labels", "", pattern)
        if path:
            self.export_to(name, Path(path))

    def _check_open(self) -> bool:
        session = self.window.session
        if session.project is None or session.labels is None:
            show_error(self.window, ProjectError(
                "export works on a project: open a project folder or a label file first"))
            return False
        return True

    def export_to(self, name: str, path: Path) -> QThread | None:
        """Write to `path` in a worker thread (returned, for tests to wait on)."""
        from skysegui.core.annotations.exchange import write_labels, write_prediction_tasks

        if not self._check_open():
            return None
        fmt, brush, predictions, _pattern = EXPORTS[name]
        session = self.window.session
        if predictions:
            images, folder = list(session.images), session.project.predictions_dir

            def work(_progress):
                return write_prediction_tasks(images, folder, path, brush)
        else:
            labels = session.labels.copy()  # the worker never sees later edits

            def work(_progress):
                return write_labels(labels, fmt, path, brush)

        thread, call = _start(self, work)
        call.done.connect(lambda result: self._done(result, path))
        call.failed.connect(self._failed)
        self._threads.append((thread, call))
        self.window.status.hint(f"Exporting labels to {path.name}...", 4000)
        return thread

    def _done(self, result, path: Path) -> None:
        self.last_result = result
        text = f"Wrote {len(result.files)} file(s) to {path}"
        if result.warnings:
            text += f" ({len(result.warnings)} warning(s): {result.warnings[0]})"
        self.window.status.hint(text, 10000)

    def _failed(self, exc: BaseException) -> None:
        self.last_error = exc
        show_error(self.window, exc, "Export labels")

    def wait(self, msecs: int = 5000) -> None:
        """Let running exports finish (the window is closing)."""
        for thread, _call in self._threads:
            thread.wait(msecs)
