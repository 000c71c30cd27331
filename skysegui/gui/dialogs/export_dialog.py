"""The export dialog: the CLI's export choices, a live preview, and a cancellable batch run.

All decisions about output pixels and files live in skysegui.core.export; this dialog
only gathers options, shows `core.export.batch.preview` of a downscaled copy of the
current image, and runs `export_images` in a QThread with a progress dialog. Nothing
heavy runs on the GUI thread: the preview source is loaded in a thread too.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtGui import QColor, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from skysegui.core.errors import CancelledError, ExportError, SkysegError
from skysegui.core.export.batch import (
    EXPORT_KINDS,
    OVERLAY_FORMATS,
    ExportOptions,
    ExportResult,
    FilesExistError,
    check_conflicts,
    export_images,
    hdr_dtype,
    plan_export,
    preview,
)
from skysegui.core.export.sources import SOURCES, make_source
from skysegui.core.progress import CancelToken

PREVIEW_WIDTH = 480


class _Call(QObject):
    """Runs one function in a QThread and reports its result or error as signals."""

    progress = Signal(int, int, str)
    done = Signal(object)
    failed = Signal(object)

    def __init__(self, fn) -> None:
        super().__init__()
        self._fn = fn

    def run(self) -> None:
        try:
            result = self._fn(self.progress.emit)
        except Exception as exc:  # shown to the user by the dialog
            self.failed.emit(exc)
        else:
            self.done.emit(result)


def _start(owner: QObject, fn) -> tuple[QThread, _Call]:
    thread = QThread(owner)
    call = _Call(fn)
    call.moveToThread(thread)
    thread.started.connect(call.run)
    call.done.connect(thread.quit)
    call.failed.connect(thread.quit)
    thread.start()
    return thread, call


def load_preview_source(image_path: Path, labels, predictions_dir, width: int = PREVIEW_WIDTH) -> dict:
    """A downscaled copy of the image and of each available coverage (for the preview).

    Keys: "pixels" (float32 RGB) and (source, soft) for every coverage that exists.
    """
    from skysegui.core import imageio

    info = imageio.probe_image(image_path)
    image = imageio.read_image(image_path, dtype=hdr_dtype(info))
    h, w = image.pixels.shape[:2]
    size = (min(width, w), max(1, round(h * min(width, w) / w)))
    step = max(1, w // (2 * size[0]))  # cheap pre-shrink: no full-size float32 copy
    pixels = image.pixels[::step, ::step].astype(np.float32)
    del image
    small = {"pixels": cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)}
    wanted = [("labels", False), ("prediction", False), ("prediction", True)]
    for name, soft in wanted:
        try:
            source = make_source(name, labels=labels, predictions_dir=predictions_dir)
            if source.missing_reason(image_path, soft) is not None:
                continue
            cov = source.coverage(image_path, w, h, soft=soft)
        except SkysegError:
            continue
        cov = cov[::step, ::step].astype(np.float32)
        small[(name, soft)] = cv2.resize(cov, size, interpolation=cv2.INTER_AREA)
    return small


class ExportDialog(QDialog):
    """Export overlays, masks or sky-alpha EXRs of a project's images.

    `project` is a core Project; `current` the image shown in the main window (the
    preview's subject); `tone` the viewer's current ToneSettings.
    """

    exported = Signal(object)  # ExportResult

    def __init__(self, project, current: Path | None = None, tone=None, parent: QWidget | None = None):
        super().__init__(parent)
        from skysegui.core.tonemap import OPERATORS, ToneSettings

        self.setWindowTitle("Export")
        self.project = project
        self.image_paths = [Path(p) for p in project.image_paths()]
        self.current = Path(current) if current else (self.image_paths[0] if self.image_paths else None)
        self.tone = tone or ToneSettings()
        self.labels = None
        self.label_warnings: list[str] = []
        self.result: ExportResult | None = None
        self.overwrite_box: QMessageBox | None = None
        self.preview_data: dict | None = None
        self.cancel_token: CancelToken | None = None
        self._threads: list[tuple[QThread, _Call]] = []
        self._preview_rgb: np.ndarray | None = None

        self.what = QComboBox()
        self.what.addItems(EXPORT_KINDS)
        self.source = QComboBox()
        self.source.addItems(SOURCES)
        self.soft = QCheckBox("use the probability (prediction)")
        self.opacity = QDoubleSpinBox()
        self.opacity.setRange(0.0, 1.0)
        self.opacity.setSingleStep(0.05)
        self.opacity.setValue(0.5)
        self.color = QLineEdit("#ff3030")
        self.color_button = QPushButton("Pick...")
        self.color_button.clicked.connect(self._pick_color)
        self.outline = QSpinBox()
        self.outline.setRange(0, 100)
        self.outline.setSuffix(" px")
        self.outline_color = QLineEdit("white")
        self.format = QComboBox()
        self.format.addItems(OVERLAY_FORMATS)
        self.invert = QCheckBox("ground instead of sky")
        self.exposure = QDoubleSpinBox()
        self.exposure.setRange(-20.0, 20.0)
        self.exposure.setSingleStep(0.5)
        self.exposure.setSuffix(" EV")
        self.exposure.setValue(float(self.tone.exposure))
        self.operator = QComboBox()
        self.operator.addItems(OPERATORS)
        if self.tone.operator not in OPERATORS:  # "ocio": the viewer's OpenColorIO view
            self.operator.addItem(self.tone.operator)
        self.operator.setCurrentText(self.tone.operator)
        self.images = QListWidget()
        self.images.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        for p in self.image_paths:
            self.images.addItem(p.name)
        self.images.selectAll()
        self.out_dir = QLineEdit(str(Path(project.root) / "export"))
        browse = QPushButton("Browse...")
        browse.clicked.connect(self._browse)
        self.preview_label = QLabel("loading preview...")
        self.preview_label.setMinimumSize(PREVIEW_WIDTH // 2, PREVIEW_WIDTH // 4)
        self.preview_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        self.buttons.accepted.connect(self.start_export)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow("Export", self.what)
        form.addRow("Mask from", self.source)
        form.addRow("", self.soft)
        form.addRow("Opacity", self.opacity)
        color_row = QHBoxLayout()
        color_row.addWidget(self.color)
        color_row.addWidget(self.color_button)
        form.addRow("Colour", color_row)
        form.addRow("Outline", self.outline)
        form.addRow("Outline colour", self.outline_color)
        form.addRow("Overlay format", self.format)
        form.addRow("Invert", self.invert)
        form.addRow("Exposure", self.exposure)
        form.addRow("Tone map", self.operator)
        form.addRow("Images", self.images)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out_dir)
        out_row.addWidget(browse)
        form.addRow("Output folder", out_row)
        left = QVBoxLayout()
        left.addLayout(form)
        right = QVBoxLayout()
        right.addWidget(self.preview_label)
        right.addWidget(self.status)
        right.addStretch(1)
        top = QHBoxLayout()
        top.addLayout(left)
        top.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.buttons)

        for w in (self.what, self.source, self.format, self.operator):
            w.currentIndexChanged.connect(self._options_changed)
        for w in (self.soft, self.invert):
            w.toggled.connect(self._options_changed)
        for w in (self.opacity, self.exposure):
            w.valueChanged.connect(self._options_changed)
        self.outline.valueChanged.connect(self._options_changed)
        for w in (self.color, self.outline_color):
            w.editingFinished.connect(self._options_changed)
        self._options_changed()
        self._load_preview()

    # --- options --------------------------------------------------------------------

    def options(self) -> ExportOptions:
        """The choices in the dialog as core ExportOptions (validated)."""
        from dataclasses import replace

        tone = replace(self.tone, exposure=self.exposure.value(), operator=self.operator.currentText())
        return ExportOptions(
            what=self.what.currentText(),
            source=self.source.currentText(),
            opacity=self.opacity.value(),
            color=self.color.text().strip(),
            outline=self.outline.value(),
            outline_color=self.outline_color.text().strip(),
            tone=tone,
            format=self.format.currentText(),
            invert=self.invert.isChecked(),
            soft=self.soft.isChecked(),
        ).validated()

    def selected_images(self) -> list[Path]:
        rows = sorted(self.images.row(item) for item in self.images.selectedItems())
        return [self.image_paths[r] for r in rows]

    def _options_changed(self, *_args) -> None:
        what = self.what.currentText()
        is_overlay = what == "overlay"
        for w in (self.opacity, self.color, self.color_button, self.outline, self.outline_color, self.format):
            w.setEnabled(is_overlay)
        self.soft.setEnabled(self.source.currentText() == "prediction")
        self.update_preview()

    def _pick_color(self) -> None:
        chosen = QColorDialog.getColor(QColor(self.color.text()), self, "Overlay colour")
        if chosen.isValid():
            self.color.setText(chosen.name())
            self._options_changed()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to", self.out_dir.text())
        if folder:
            self.out_dir.setText(folder)

    # --- preview --------------------------------------------------------------------

    def _load_preview(self) -> None:
        if self.current is None:
            self.preview_label.setText("no image to preview")
            return
        current = self.current
        project = self.project

        def work(_progress):
            labels, warnings = None, []
            try:
                loaded = project.load_labels()
                labels, warnings = loaded.labels, list(loaded.warnings)
            except SkysegError as exc:
                warnings = [str(exc)]
            data = load_preview_source(current, labels, project.predictions_dir)
            return labels, warnings, data

        thread, call = _start(self, work)
        call.done.connect(self._preview_loaded)
        call.failed.connect(lambda exc: self.preview_label.setText(f"no preview: {exc}"))
        self._threads.append((thread, call))

    def _preview_loaded(self, payload) -> None:
        self.labels, self.label_warnings, self.preview_data = payload
        self.update_preview()

    def preview_pixels(self) -> np.ndarray | None:
        """The preview's uint8 RGB (None while loading or when there is no mask)."""
        return self._preview_rgb

    def update_preview(self) -> None:
        self._preview_rgb = None
        if self.preview_data is None:
            return
        try:
            options = self.options()
        except SkysegError as exc:
            self.preview_label.setText(str(exc))
            return
        key = (options.source, options.wants_soft)
        cov = self.preview_data.get(key)
        if cov is None:
            self.preview_label.setText(f"{self.current.name}: no {options.source} to export")
            return
        rgb = np.ascontiguousarray(preview(self.preview_data["pixels"], cov, options))
        self._preview_rgb = rgb
        h, w = rgb.shape[:2]
        qimage = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        self.preview_label.setPixmap(QPixmap.fromImage(qimage))

    # --- export ---------------------------------------------------------------------

    def start_export(self) -> None:
        """OK: check for files in the way (ask before overwriting), then run the batch."""
        try:
            options = self.options()
            images = self.selected_images()
            if not images:
                raise ExportError("select at least one image to export")
            labels = self._labels_for(options)
            source = make_source(options.source, labels=labels, predictions_dir=self.project.predictions_dir)
            check_conflicts(plan_export(images, options, Path(self.out_dir.text()), source))
        except FilesExistError as exc:
            self._ask_overwrite(str(exc))
            return
        except SkysegError as exc:
            self._show_error(exc)
            return
        self._run(overwrite=False)

    def _labels_for(self, options: ExportOptions):
        if options.source != "labels":
            return None
        if self.labels is None:
            loaded = self.project.load_labels()
            self.labels, self.label_warnings = loaded.labels, list(loaded.warnings)
        return self.labels

    def _ask_overwrite(self, message: str) -> None:
        box = QMessageBox(self)
        box.setObjectName("exportOverwriteBox")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Overwrite files?")
        box.setText(message.replace("; choose another folder or allow overwriting (--force)", "."))
        box.setInformativeText("Overwrite them?")
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.finished.connect(
            lambda code: self._run(overwrite=True) if code == QMessageBox.StandardButton.Yes else None
        )
        self.overwrite_box = box
        box.open()

    def _run(self, overwrite: bool) -> None:
        options = self.options()
        images = self.selected_images()
        labels = self._labels_for(options)
        out_dir = Path(self.out_dir.text())
        predictions_dir = self.project.predictions_dir
        token = CancelToken()
        self.cancel_token = token

        def work(progress):
            return export_images(
                images,
                options,
                out_dir,
                labels=labels,
                predictions_dir=predictions_dir,
                overwrite=overwrite,
                progress=progress,
                cancel=token,
            )

        self.progress_dialog = QProgressDialog("Exporting...", "Cancel", 0, len(images), self)
        self.progress_dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.progress_dialog.setMinimumDuration(300)
        self.progress_dialog.canceled.connect(token.cancel)
        self.buttons.setEnabled(False)
        thread, call = _start(self, work)
        call.progress.connect(self._on_progress)
        call.done.connect(self._on_done)
        call.failed.connect(self._on_failed)
        self._threads.append((thread, call))

    def _on_progress(self, done: int, total: int, message: str) -> None:
        self.progress_dialog.setMaximum(max(total, 1))
        self.progress_dialog.setValue(done)
        self.progress_dialog.setLabelText(f"Exporting {message}")

    def _finish_progress(self) -> None:
        self.buttons.setEnabled(True)
        self.progress_dialog.canceled.disconnect()
        self.progress_dialog.reset()
        self.progress_dialog.hide()

    def _on_done(self, result: ExportResult) -> None:
        self._finish_progress()
        self.result = result
        self.exported.emit(result)
        summary = f"Wrote {len(result.written)} file(s) to {self.out_dir.text()}."
        if result.warnings:
            self.status.setText(summary + "\n" + "\n".join(result.warnings[:10]))
            return
        self.status.setText(summary)
        self.accept()

    def _on_failed(self, exc: BaseException) -> None:
        self._finish_progress()
        self.status.setText(str(exc))
        if isinstance(exc, CancelledError):
            return
        self._show_error(exc)

    def _show_error(self, exc: BaseException) -> None:
        from skysegui.gui.messages import show_error

        show_error(self, exc, "Export")

    def is_busy(self) -> bool:
        return any(thread.isRunning() for thread, _call in self._threads)

    def release(self) -> None:
        """Forget the finished workers. Their signals hold this dialog's slots in C++,
        where the garbage collector cannot see the cycle: kept, a closed dialog and its
        preview images were never freed (one per export, found by bench_soak.py)."""
        self._threads = [(thread, call) for thread, call in self._threads if thread.isRunning()]

    def done(self, code: int) -> None:  # noqa: D401 - QDialog.done
        if self.cancel_token is not None:
            self.cancel_token.cancel()
        for thread, _call in self._threads:
            thread.quit()
            thread.wait(5000)
        self.release()
        super().done(code)
