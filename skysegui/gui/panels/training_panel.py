"""The training panel: main settings, Start/Cancel, live loss and IoU curves, throughput, ETA.

A standalone widget: give it a project (set_project) or a dataset cache (set_data). It runs
the Trainer in a child process (relayed by a TrainWorker thread) and emits `model_ready(Path)` with the new model folder
when training ends (also after a cancel, which keeps what was learnt). At every epoch's end
the curves take that epoch's record from the Trainer: the row it wrote to the model's
curves.csv and TensorBoard logs (skysegui/ml/train/curves.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from skysegui.gui.panels.curves import CURVE_KEYS, TrainingCurves
from skysegui.gui.workers.train_worker import TrainWorker, start_worker


def format_eta(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class TrainingPanel(QWidget):
    model_ready = Signal(Path)  # the new model folder (card.json + weights)
    running_changed = Signal(bool)
    error = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._data = None
        #: gives (the window's labels now, whether they hold unsaved edits); a run trains on
        #: a snapshot of them, so edits made while it runs never mix into its data
        self.labels_source = None
        self._out_dir: Path | None = None
        self._worker: TrainWorker | None = None
        self._thread = None
        self._ending: list = []
        self._curves: dict[str, list[tuple[float, float]]] = {}
        self._build_ui()

    # -- ui -------------------------------------------------------------------------
    def _build_ui(self) -> None:
        from skysegui.ml.defaults import run_defaults

        d = self.defaults = run_defaults()
        form = QFormLayout()
        self.start_from = QComboBox()
        self.start_from.setToolTip(
            "Fine-tune a working model of this project (minutes), or train a new one from scratch")
        self.preset = QComboBox()
        self.preset.addItems(["cpu", "default", "tiny"])
        self.preset.setToolTip("cpu: Unet + MobileNetV2 at 512 px panorama width (fast); default: the "
                               "report's Unet + ResNet34 at 1024 px; tiny: tests")
        self.transform = QComboBox()
        self.transform.addItems(["hdr_log", "ldr"])
        self.patch = QSpinBox(minimum=32, maximum=1024, singleStep=32, value=256)
        self.budget = QDoubleSpinBox(decimals=1, minimum=0.0, maximum=10_000.0, singleStep=5.0,
                                     value=d.time_budget_min, suffix=" min")
        self.budget.setSpecialValueText("none (epochs decide)")
        self.budget.setToolTip("Training stops after the epoch that reaches this time; 0: no limit")
        self.epochs = QSpinBox(minimum=1, maximum=1000, value=d.epochs)
        self.steps = QSpinBox(minimum=1, maximum=100000, value=d.steps_per_epoch)
        self.batch = QSpinBox(minimum=1, maximum=512, value=d.batch_size)
        self.lr = QDoubleSpinBox(decimals=5, minimum=1e-5, maximum=1.0, singleStep=1e-4, value=d.learning_rate)
        self.schedule = QComboBox()
        self.schedule.addItems(["cosine", "plateau", "constant"])
        self.val_fraction = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.9, singleStep=0.05, value=0.25)
        self.val_fraction.setToolTip("share of each panorama's width held out for validation: a longitude "
                                     "sector that is never trained on (every image is still trained on)")
        self.mixed = QCheckBox("mixed precision (GPU)")
        self.name = QLineEdit()
        self.name.setPlaceholderText("automatic (date-arch-backbone)")
        for label, w in (("start from", self.start_from), ("model", self.preset), ("input", self.transform),
                         ("patch px", self.patch), ("time budget", self.budget), ("epochs (max)", self.epochs),
                         ("steps/epoch", self.steps), ("batch", self.batch),
                         ("learning rate", self.lr), ("schedule", self.schedule),
                         ("validation", self.val_fraction), ("", self.mixed), ("name", self.name)):
            form.addRow(label, w)
        self.preset.setCurrentText(d.preset)
        self.preset.currentTextChanged.connect(self._preset_changed)
        self.transform.currentTextChanged.connect(self._transform_changed)
        self.start_from.currentIndexChanged.connect(self._start_changed)
        for w in (self.budget, self.epochs, self.steps):
            w.valueChanged.connect(self._update_estimate)
        self.estimate = QLabel("")
        self.estimate.setWordWrap(True)

        self.start_button = QPushButton("Start training")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)

        self.bar = QProgressBar()
        self.status = QLabel("idle")
        self.status.setWordWrap(True)
        self.rate = QLabel("")

        self.curves_view = TrainingCurves()  # pyqtgraph is imported when it is first shown
        # where the same numbers are on disk (ml/train/curves.py), shown once a run has a folder
        self.logs_label = QLabel("")
        self.logs_label.setWordWrap(True)
        self.logs_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.estimate)
        layout.addLayout(buttons)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addWidget(self.rate)
        layout.addWidget(self.curves_view, 1)
        layout.addWidget(self.logs_label)
        self._fill_start_models()
        self._update_enabled()

    # -- start model and estimate ---------------------------------------------------------
    def _fill_start_models(self) -> None:
        """'from scratch' and the project's working models (newest first, the default when
        one has the chosen preset's network): a round of the loop fine-tunes, not restarts."""
        from skysegui.ml.builtin_model import BUILTIN_NAME
        from skysegui.ml.model import PRESETS, list_models
        from skysegui.ml.model_status import model_learnt
        from skysegui.ml.train.start import builtin_start_model, find_start_model

        self.start_from.blockSignals(True)
        self.start_from.clear()
        self.start_from.addItem("from scratch", "")
        models_dir = getattr(self._data, "models_dir", None)
        if models_dir is not None:
            for folder in list_models(models_dir):
                if model_learnt(folder):
                    self.start_from.addItem(f"fine-tune {folder.name}", str(folder))
        builtin = builtin_start_model()
        if builtin is not None:  # the usual start of a new project's first round
            self.start_from.addItem(f"fine-tune the {BUILTIN_NAME}", str(builtin))
        best = find_start_model(models_dir, PRESETS[self.preset.currentText()])
        if best is not None:
            self.start_from.setCurrentIndex(max(0, self.start_from.findData(str(best))))
        self.start_from.blockSignals(False)
        self._start_changed()

    def _start_changed(self, *_args) -> None:
        fine_tune = bool(self.start_from.currentData())
        for w in (self.preset, self.transform, self.patch):
            w.setEnabled(not fine_tune)  # the network, input and crop are the started model's
        d = self.defaults
        self.lr.setValue(d.fine_tune_learning_rate if fine_tune else d.learning_rate)
        self.budget.setValue(d.fine_tune_budget_min if fine_tune else d.time_budget_min)
        self._update_estimate()

    def _update_estimate(self, *_args) -> None:
        budget = self.budget.value()
        rate = getattr(self, "_last_steps_per_s", None)
        steps = self.epochs.value() * self.steps.value()
        parts = []
        if budget > 0:
            parts.append(f"Takes at most about {budget:g} min (the time budget), plus preparing the data")
        if rate:
            by_steps = steps / rate / 60
            if not budget or by_steps < budget:
                parts = [f"About {by_steps:.0f} min for {steps} steps at the last run's speed"]
        elif not budget:
            parts.append("Time unknown until the first steps (no time budget)")
        self.estimate.setText(". ".join(parts) + ".")

    def _preset_changed(self, name: str) -> None:
        from skysegui.ml.model import DEFAULT_PATCH, PRESETS

        patch = PRESETS[name].patch_size
        if patch == DEFAULT_PATCH["hdr_log"]:
            patch = DEFAULT_PATCH[self.transform.currentText()]
        self.patch.setValue(patch)

    def _transform_changed(self, transform: str) -> None:
        """The report's crop sizes follow the input: 256 px for HDR, 512 px for LDR."""
        from skysegui.ml.model import DEFAULT_PATCH

        if self.patch.value() in DEFAULT_PATCH.values():
            self.patch.setValue(DEFAULT_PATCH[transform])

    # -- data -------------------------------------------------------------------------
    def set_project(self, project) -> None:
        """Train on this core Project; models go to its models/ folder."""
        self._data = project
        self._out_dir = None
        self._fill_start_models()
        self._update_enabled()

    def set_data(self, cache, out_dir: str | Path) -> None:
        """Train on a built DatasetCache, saving the model into out_dir."""
        self._data = cache
        self._out_dir = Path(out_dir)
        self._update_enabled()

    @property
    def running(self) -> bool:
        return self._worker is not None

    def _update_enabled(self) -> None:
        self.start_button.setEnabled(self._data is not None and not self.running)
        self.cancel_button.setEnabled(self.running)

    def config(self):
        """The TrainConfig for the current settings (no TensorFlow needed)."""
        from skysegui.ml.model import PRESETS
        from skysegui.ml.train import TrainConfig

        model = dataclasses.replace(PRESETS[self.preset.currentText()],
                                    input_transform=self.transform.currentText(),
                                    patch_size=self.patch.value(), mixed_precision=self.mixed.isChecked())
        return TrainConfig(model=model, name=self.name.text().strip(), epochs=self.epochs.value(),
                           steps_per_epoch=self.steps.value(), batch_size=self.batch.value(),
                           learning_rate=self.lr.value(), lr_schedule=self.schedule.currentText(),
                           val_fraction=self.val_fraction.value(),
                           time_budget_min=self.budget.value(),
                           init_from=self.start_from.currentData() or "")

    # -- run --------------------------------------------------------------------------
    def start(self, config=None) -> None:
        """Start training with `config` (default: the panel's settings) in a child process."""
        if self._data is None or self.running:
            return
        config = config or self.config()
        self._curves = {k: [] for k in CURVE_KEYS}
        self.curves_view.clear()
        self.bar.setRange(0, config.epochs * config.steps_per_epoch)
        self.bar.setValue(0)
        self._worker = TrainWorker(config, self._training_data(), self._out_dir)
        self._worker.progress.connect(self._on_progress)
        self._worker.status.connect(self.status.setText)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._worker.stopped.connect(self._on_stopped)
        self._thread = start_worker(self._worker)
        self._update_enabled()
        self.running_changed.emit(True)

    def _training_data(self):
        """The project frozen with the labels as the window shows them now, else the data
        as given (a dataset cache, or a project with no window labels)."""
        labels, unsaved = self.labels_source() if self.labels_source is not None else (None, False)
        if labels is None or not hasattr(self._data, "snapshot"):
            return self._data
        note = "trained on the labels as shown in the window, unsaved edits included" if unsaved else ""
        return self._data.snapshot(labels, note)

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self.cancel_button.setEnabled(False)

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Cancel a running training and wait for its thread (call when the window closes).

        Returns False if the thread did not end in time (it then still saves its model)."""
        thread = self._thread
        if thread is None:
            return True
        self.cancel()
        return bool(thread.wait(timeout_ms))

    def curve(self, key: str) -> list[tuple[float, float]]:
        """The points (epoch, value) plotted for 'loss', 'iou', 'val_loss', 'val_iou' or
        'val_miou'. Every whole epoch holds that epoch's row of the model's curves.csv."""
        return list(self._curves.get(key, []))

    def _on_progress(self, p) -> None:
        self.bar.setValue((p.epoch - 1) * p.steps + p.batch)
        x = (p.epoch - 1) + p.batch / max(1, p.steps)
        if p.event == "batch":
            self._add("loss", x, p.loss)
            self._add("iou", x, p.iou)
        elif p.event == "epoch" and p.record is not None:
            # the epoch's record, as written to curves.csv and TensorBoard: one source
            for key in CURVE_KEYS:
                if key in p.record:
                    self._add(key, float(p.epoch), p.record[key])
        if p.event == "epoch":
            self._epoch_text = p.summary + (f"  {p.verdict}" if p.verdict else "")
        self.status.setText(f"epoch {p.epoch}/{p.epochs}  batch {p.batch}/{p.steps}  "
                            f"loss {p.loss:.3f}  IoU {p.iou:.3f}\n{getattr(self, '_epoch_text', '')}".strip())
        self.rate.setText(f"{p.crops_per_s:.1f} crops/s   ETA {format_eta(p.eta_s)}")
        if p.crops_per_s > 0:
            self._last_steps_per_s = p.crops_per_s / max(1, self.batch.value())

    def _add(self, key: str, x: float, y: float) -> None:
        if y != y:  # NaN
            return
        pts = self._curves.setdefault(key, [])
        if pts and pts[-1][0] == x:  # the epoch's record replaces its last batch's running mean
            pts[-1] = (x, y)
        else:
            pts.append((x, y))
        self.curves_view.set_points(key, pts)

    def _on_finished(self, result) -> None:
        state = "cancelled" if result.cancelled else "done"
        if result.budget_reached:
            state += " (time budget reached)"
        self.status.setText(f"{state}: {result.epochs_done} epochs, {result.summary or 'no score'}"
                            f" -> {Path(result.model_dir).name}")
        self.show_logs(Path(result.model_dir))
        self._fill_start_models()  # the new model is the next round's starting point
        self.model_ready.emit(Path(result.model_dir))

    def show_logs(self, folder: Path) -> None:
        """Say where a run's curves are on disk (only when it wrote them)."""
        from skysegui.ml.train.curves import CURVES_NAME, LOGS_NAME

        if (folder / CURVES_NAME).is_file():
            self.logs_label.setText(f"These curves: {folder / CURVES_NAME}; TensorBoard: "
                                    f"tensorboard --logdir {folder / LOGS_NAME}")

    def _on_failed(self, message: str) -> None:
        self.status.setText(f"error: {message}")
        self.error.emit(message)

    def _on_stopped(self) -> None:
        thread = self._thread
        self._worker = None
        self._thread = None
        if thread is not None:  # keep it referenced until its event loop has ended
            self._ending.append(thread)
            thread.finished.connect(lambda t=thread: self._ending.remove(t))
        self._update_enabled()
        self.running_changed.emit(False)
