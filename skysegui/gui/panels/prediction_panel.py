"""The prediction panel: predict the current image or all images in a worker thread,
with progress and cancel, with the chosen model or with auto sky (no model needed); hands each Prediction to whoever shows it (the viewer's
prediction overlay, "Accept prediction"), and keeps uncertainty scores so the image
list can put the worst predictions first.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from skysegui.core.errors import ModelError
from skysegui.gui.workers.predict_worker import PredictJob, PredictRunner
from skysegui.ml.model_status import model_learnt, model_problem, model_summary, model_title

MODES = (
    ("quality", "Quality (blended tiles)"),
    ("fast", "Fast (low-res + edge-aware)"),
    ("report", "Report baseline (256 px patches)"),
)


def prediction_summary(name: str, prediction) -> str:
    """One line on a finished prediction: "city.exr: 36.6 % sky (auto sky), uncertainty ...";
    a source other than a model is named, with what it said of the scene."""
    sky = prediction.sky_fraction
    made_by = f" ({prediction.source})" if prediction.source else ""
    text = (f"{name}: {100 * sky:.1f} % sky{made_by}, "
            f"uncertainty {prediction.uncertainty_score:.3f}, {prediction.seconds:.1f} s")
    if prediction.note:
        return f"{text} \u2014 {prediction.note}"
    if sky > 0.98 and not prediction.source:
        return f"{text}  Almost every pixel is sky: check the model (its card's verdict)"
    return text


def sort_by_uncertainty(paths: list[Path], scores: dict[Path, float]) -> list[Path]:
    """Most uncertain first; images without a prediction last, in their given order."""
    known = [p for p in paths if p in scores]
    unknown = [p for p in paths if p not in scores]
    return sorted(known, key=lambda p: -scores[p]) + unknown


class PredictionPanel(QWidget):
    """Standalone widget; the main window connects its signals."""

    predictionReady = Signal(object, object)  # Path, ml.predict.Prediction
    scoresChanged = Signal(object)  # dict[Path, float] (uncertainty, for ImageList.set_scores)
    showUncertaintyChanged = Signal(bool)
    runFinished = Signal(bool)  # True when cancelled
    errorOccurred = Signal(object)  # an exception; SkysegError messages say what to do

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._model_folder: Path | None = None
        self._loaded = None  # LoadedModel kept between runs
        self._images: list[Path] = []
        self._current: Path | None = None
        self._out_dir: Path | None = None
        self.scores: dict[Path, float] = {}
        self.last_prediction = None
        self.predictor_options: dict = {}

        self.model_label = QLabel("No model")
        self.model_label.setWordWrap(True)
        self.model_info = QLabel("")  # the card's figures (and what the built-in model learnt from)
        self.model_info.setWordWrap(True)
        self.model_info.setVisible(False)
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("Trained models beside the chosen one (newest first)")
        self.model_combo.setVisible(False)  # shown once there is a model to list
        self.choose_model_button = QPushButton("Model…")
        self.choose_model_button.setToolTip("Choose a trained model folder (with card.json)")
        self.mode_combo = QComboBox()
        for key, text in MODES:
            self.mode_combo.addItem(text, key)
        self.snap_box = QCheckBox("Snap to image edges")
        self.snap_box.setChecked(True)
        self.snap_box.setToolTip("Move the model's mask edge onto the panorama's own edges (a crisp skyline; "
                                 "about a second more per image). Off: the network's mask as it is.")
        self.predict_current_button = QPushButton("Predict image")
        self.predict_current_button.setToolTip("Predict the image shown in the viewer")
        self.predict_all_button = QPushButton("Predict all")
        self.predict_all_button.setToolTip("Predict every image of the project")
        self.cancel_button = QPushButton("Cancel")
        self.auto_sky_button = QPushButton("Auto sky")
        self.auto_sky_button.setToolTip("Find the sky of the shown image without a model: no training needed")
        self.auto_sky_all_button = QPushButton("Auto sky all")
        self.auto_sky_all_button.setToolTip("Auto sky for every image of the project (no model needed)")
        self._method = "model"  # of the running job: "model" or "auto"
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        self.show_uncertainty = QCheckBox("Show uncertainty")
        self.show_uncertainty.setToolTip("Show where the model hesitates instead of the mask")

        model_row = QHBoxLayout()
        model_row.addWidget(self.model_label, 1)
        model_row.addWidget(self.choose_model_button)
        form = QFormLayout()
        form.addRow("Model", model_row)
        form.addRow("", self.model_combo)
        form.addRow("", self.model_info)
        form.addRow("Method", self.mode_combo)
        form.addRow("", self.snap_box)
        buttons = QHBoxLayout()
        buttons.addWidget(self.predict_current_button)
        buttons.addWidget(self.predict_all_button)
        buttons.addWidget(self.cancel_button)
        auto_buttons = QHBoxLayout()
        auto_buttons.addWidget(self.auto_sky_button)
        auto_buttons.addWidget(self.auto_sky_all_button)
        auto_buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addLayout(auto_buttons)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addWidget(self.show_uncertainty)
        layout.addStretch(1)

        self.runner = PredictRunner(self)
        self.runner.modelLoaded.connect(self._on_model_loaded)
        self.runner.imageStarted.connect(self._on_image_started)
        self.runner.progress.connect(self._on_progress)
        self.runner.predicted.connect(self._on_predicted)
        self.runner.imageFailed.connect(self._on_image_failed)
        self.runner.failed.connect(self._on_failed)
        self.runner.finished.connect(self._on_finished)
        self.choose_model_button.clicked.connect(self._choose_model)
        self.model_combo.activated.connect(self._on_model_picked)
        self.predict_current_button.clicked.connect(self.predict_current)
        self.predict_all_button.clicked.connect(self.predict_all)
        self.cancel_button.clicked.connect(self.cancel)
        self.auto_sky_button.clicked.connect(self.auto_sky_current)
        self.auto_sky_all_button.clicked.connect(self.auto_sky_all)
        self.show_uncertainty.toggled.connect(self.showUncertaintyChanged)
        self._update_buttons()

    # --- state set by the window ----------------------------------------------------
    def set_model(self, folder: str | Path | None) -> None:
        folder = Path(folder) if folder else None
        if folder != self._model_folder:
            self._loaded = None
        self._model_folder = folder
        problem = model_problem(folder) if folder else ""
        text = model_title(folder) if folder else "No model"
        if problem:  # named as such wherever the user sees it
            text = f"{text}: not a working model ({problem})"
        self.model_label.setText(text)
        self.model_label.setStyleSheet("color: #e0a030;" if problem else "")
        self.model_label.setToolTip(str(folder) if folder else "")
        info = model_summary(folder) if folder else ""
        self.model_info.setText(info)
        self.model_info.setVisible(bool(info))
        self._list_models()
        self._update_buttons()

    @property
    def model_folder(self) -> Path | None:
        return self._model_folder

    def _list_models(self) -> None:
        """Fill the model list with the chosen model's siblings (e.g. <project>/models/*),
        so a newly trained model is listed and any earlier one can be picked again, and
        the built-in sky model last (when this installation has it)."""
        from skysegui.ml.builtin_model import builtin_model_available, builtin_model_dir, is_builtin
        from skysegui.ml.model import list_models  # reads card.json files only, no TensorFlow

        folder = self._model_folder
        folders = list_models(folder.parent) if folder is not None and not is_builtin(folder) else []
        if folder is not None and folder not in folders:
            folders.insert(0, folder)
        if builtin_model_available() and not any(is_builtin(f) for f in folders):
            folders.append(builtin_model_dir())
        self.model_combo.clear()
        for f in folders:
            title = model_title(f)
            self.model_combo.addItem(title if model_learnt(f) else f"{title} (has not learnt)", str(f))
            self.model_combo.setItemData(self.model_combo.count() - 1, str(f), Qt.ItemDataRole.ToolTipRole)
        self.model_combo.setCurrentIndex(folders.index(folder) if folder is not None else -1)
        self.model_combo.setVisible(bool(folders))  # no empty, disabled box before the first model

    def _on_model_picked(self, index: int) -> None:
        data = self.model_combo.itemData(index)
        if data:
            self.set_model(Path(data))

    def refresh_models(self) -> None:
        """List again (after a training run wrote a new model folder)."""
        self._list_models()

    def set_images(self, paths: list[Path]) -> None:
        self._images = [Path(p) for p in paths]
        self._update_buttons()

    def set_current_image(self, path: str | Path | None) -> None:
        self._current = Path(path) if path else None
        self._update_buttons()

    def set_output_dir(self, folder: str | Path | None) -> None:
        """Where predictions are saved (the project's predictions/); None keeps them in memory."""
        self._out_dir = Path(folder) if folder else None

    @property
    def mode(self) -> str:
        return self.mode_combo.currentData()

    def set_mode(self, mode: str) -> None:
        index = self.mode_combo.findData(mode)
        if index < 0:
            raise ValueError(f"unknown mode {mode!r}")
        self.mode_combo.setCurrentIndex(index)

    @property
    def busy(self) -> bool:
        return self.runner.busy

    def sorted_by_uncertainty(self, paths: list[Path] | None = None) -> list[Path]:
        return sort_by_uncertainty(list(paths if paths is not None else self._images), self.scores)

    # --- actions -------------------------------------------------------------------
    def predict_current(self) -> None:
        if self._current is not None:
            self._start([self._current])

    def predict_all(self) -> None:
        if self._images:
            self._start(self._images)

    def auto_sky_current(self) -> None:
        """Auto sky (no model) for the shown image."""
        if self._current is not None:
            self._start([self._current], method="auto")

    def auto_sky_all(self) -> None:
        if self._images:
            self._start(self._images, method="auto")

    def cancel(self) -> None:
        if self.runner.busy:
            self.runner.cancel()
            self.status_label.setText("Cancelling after the current batch…")

    def _start(self, paths: list[Path], method: str = "model") -> None:
        if self.runner.busy:  # say why nothing starts (Ctrl+R pressed again while busy)
            self.status_label.setText("A prediction is still running: wait for it or press Cancel")
            return
        if method == "auto":
            self._run(PredictJob(None, list(paths), out_dir=self._out_dir, method="auto"))
            self.status_label.setText("Auto sky…")
            return
        if self._model_folder is None:
            self._report(ModelError("choose a trained model first (Model… button)"))
            return
        job = PredictJob(
            model_folder=self._model_folder,
            paths=list(paths),
            mode=self.mode,
            out_dir=self._out_dir,
            loaded=self._loaded,
            options={"snap": self.snap_box.isChecked(), **self.predictor_options},
        )
        self._run(job)
        self.status_label.setText("Loading the model…" if self._loaded is None else "Starting…")

    def _run(self, job: PredictJob) -> None:
        self._method = job.method
        self.progress_bar.setRange(0, 0)  # busy until the first tile is done
        self.runner.start(job)
        self._update_buttons()

    def _choose_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a model folder")
        if folder:
            self.set_model(folder)

    # --- worker signals ------------------------------------------------------------
    def _on_model_loaded(self, loaded) -> None:
        self._loaded = loaded

    def _on_image_started(self, index: int, count: int, path: str) -> None:
        self._image_text = f"{Path(path).name} ({index + 1}/{count})"
        verb = "Auto sky on" if self._method == "auto" else "Predicting"
        self.status_label.setText(f"{verb} {self._image_text}")

    def _on_progress(self, done: int, total: int, _message: str) -> None:
        self.progress_bar.setRange(0, max(1, total))
        self.progress_bar.setValue(done)

    def _on_predicted(self, path: str, prediction) -> None:
        p = Path(path)
        self.last_prediction = prediction
        self.scores[p] = prediction.uncertainty_score
        self.status_label.setText(prediction_summary(p.name, prediction))
        self.predictionReady.emit(p, prediction)
        self.scoresChanged.emit(dict(self.scores))

    def _on_image_failed(self, path: str, exc) -> None:
        self.status_label.setText(f"{Path(path).name}: {exc}")
        self._report(exc)

    def _on_failed(self, exc) -> None:
        self.status_label.setText(str(exc))
        self._report(exc)

    def _on_finished(self, cancelled: bool) -> None:
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0 if cancelled else 1)
        if cancelled:
            self.status_label.setText("Auto sky cancelled" if self._method == "auto" else "Prediction cancelled")
        self._update_buttons()
        self.runFinished.emit(cancelled)

    def _report(self, exc) -> None:
        self.errorOccurred.emit(exc)

    def _update_buttons(self) -> None:
        busy = self.runner.busy
        has_model = self._model_folder is not None
        self.predict_current_button.setEnabled(not busy and has_model and self._current is not None)
        self.predict_all_button.setEnabled(not busy and has_model and bool(self._images))
        self.cancel_button.setEnabled(busy)
        self.auto_sky_button.setEnabled(not busy and self._current is not None)
        self.auto_sky_all_button.setEnabled(not busy and bool(self._images))
        self.choose_model_button.setEnabled(not busy)
        self.model_combo.setEnabled(not busy and self.model_combo.count() > 0)
        self.mode_combo.setEnabled(not busy)
