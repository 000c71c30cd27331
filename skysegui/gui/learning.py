"""The learning loop in the window: label -> train -> predict -> review -> accept -> retrain.

Docks the training and prediction panels into the main window and connects them to the
session and the viewer: a finished training run becomes the prediction model; a
prediction of the shown image appears as the prediction overlay (or its uncertainty);
the image list can be sorted by uncertainty; "Accept prediction" turns the prediction
into label polygons (holes kept) as ONE undoable command. Saved predictions in the
project's predictions/ folder are shown again when their image is opened.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtWidgets import QScrollArea, QWidget

from skysegui.core import annotations as core
from skysegui.core.errors import EditError
from skysegui.core.predictions import prediction_paths
from skysegui.gui.messages import show_error
from skysegui.gui.panels.prediction_panel import PredictionPanel, prediction_summary
from skysegui.gui.panels.training_panel import TrainingPanel
from skysegui.ml.builtin_model import default_prediction_model
from skysegui.ml.model import list_models  # no TensorFlow import until a model is built
from skysegui.ml.model_status import model_learnt, model_problem

ACCEPT_TOLERANCE_PX = 0.5  # polygon simplification of an accepted prediction (px)
ACCEPT_MIN_AREA_PX = 4.0  # specks smaller than this (px²) are dropped


def trace_prediction(mask: np.ndarray) -> list:
    """Polygons (holes kept) of a 0/1 prediction mask: 0.3-0.6 s on 8K, so run off the GUI thread."""
    return core.mask_to_polygons(
        (mask > 0).astype(np.uint8), tolerance=ACCEPT_TOLERANCE_PX, min_area=ACCEPT_MIN_AREA_PX
    )


class _TraceSignals(QObject):
    done = Signal(object, object, object)  # Path, Prediction, polygons


class _TracePrediction(QRunnable):
    def __init__(self, path: Path, prediction, signals: _TraceSignals):
        super().__init__()
        self.path, self.prediction, self.signals = path, prediction, signals

    def run(self) -> None:
        self.signals.done.emit(self.path, self.prediction, trace_prediction(self.prediction.mask))


def _scrollable(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    return area


class _LoadSignals(QObject):
    done = Signal(object, object)  # Path, Prediction or None


class _LoadSavedPrediction(QRunnable):
    """Reads a saved prediction off the GUI thread (an 8K 16-bit PNG takes ~0.5 s)."""

    def __init__(self, folder: Path, image: Path, signals: _LoadSignals):
        super().__init__()
        self.folder, self.image, self.signals = folder, image, signals

    def run(self) -> None:
        from skysegui.ml.predict import load_prediction  # no TensorFlow import

        try:
            prediction = load_prediction(self.folder, self.image.name).prepare_for_display()
        except Exception:  # a damaged file: no overlay, the user can predict again
            prediction = None
        self.signals.done.emit(self.image, prediction)


class LearningPanels(QObject):
    """Owns the training and prediction docks of one main window."""

    accepted = Signal(int)  # polygons added by "Accept prediction" (pushed on the undo stack)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.training = TrainingPanel()
        self.prediction = PredictionPanel()
        self.current_prediction = None  # Prediction of window.current_path, if any
        self._show_uncertainty = False
        self._loads = _LoadSignals(self)
        self._loads.done.connect(self._on_saved_prediction)
        self._traces = _TraceSignals(self)
        self._traces.done.connect(self._push_accepted)
        area = Qt.DockWidgetArea.RightDockWidgetArea
        # Scrollable, so the tall training form and curves never force the window taller
        # than the screen; tabbed with the undo history, the prediction tab in front.
        self.training_dock = window.add_panel("Training", _scrollable(self.training), area)
        self.prediction_dock = window.add_panel("Prediction", _scrollable(self.prediction), area)
        history = window.docks.get("history")
        if history is not None:
            window.tabifyDockWidget(history, self.training_dock)
        window.tabifyDockWidget(self.training_dock, self.prediction_dock)
        self.prediction_dock.raise_()
        self._connect()

    def _connect(self) -> None:
        w, a = self.window, self.window.actions
        w.session.opened.connect(self._on_project_opened)
        w.imageShown.connect(self._on_image_shown)
        self.training.labels_source = lambda: (w.session.labels, w.session.dirty)
        self.training.model_ready.connect(self._on_model_trained)
        self.training.error.connect(lambda text: w.status.hint(text, 10000))
        self.prediction.predictionReady.connect(self._on_prediction)
        self.prediction.scoresChanged.connect(w.image_list.set_scores)
        self.prediction.showUncertaintyChanged.connect(self._set_show_uncertainty)
        self.prediction.errorOccurred.connect(lambda exc: show_error(w, exc, "Prediction failed"))
        a.predict_current.triggered.connect(self.prediction.predict_current)
        a.predict_all.triggered.connect(self.prediction.predict_all)
        a.auto_sky.triggered.connect(lambda: self.auto_sky(every_image=False))
        a.auto_sky_all.triggered.connect(lambda: self.auto_sky(every_image=True))
        a.accept_prediction.triggered.connect(self.accept_prediction)
        a.sort_by_uncertainty.triggered.connect(self.sort_by_uncertainty)
        a.train.triggered.connect(self._show_training)

    # --- session and images ----------------------------------------------------------
    def _on_project_opened(self) -> None:
        s = self.window.session
        project = s.project
        self.current_prediction = None
        self.training.set_project(project)
        self.prediction.set_images(list(s.images))
        self.prediction.set_output_dir(None if project is None else project.predictions_dir)
        if project is None and self.prediction.model_folder is not None:
            return  # a loose image: the model in use stays
        # the project's newest model that learnt, else the built-in sky model, else the
        # project's newest (named as not working)
        models = [] if project is None else list_models(project.models_dir)
        chosen = default_prediction_model(None if project is None else project.models_dir)
        if chosen is not None or models:
            self.prediction.set_model(chosen or models[0])

    def _on_image_shown(self, path: Path) -> None:
        self.prediction.set_current_image(path)
        self.current_prediction = None
        project = self.window.session.project
        if project is not None and prediction_paths(project.predictions_dir, path).exists():
            QThreadPool.globalInstance().start(
                _LoadSavedPrediction(project.predictions_dir, Path(path), self._loads)
            )

    def _on_saved_prediction(self, path: Path, prediction) -> None:
        if prediction is not None and path == self.window.current_path and self.current_prediction is None:
            self._show(prediction)
            if prediction.source:  # not a model's: say whose it is
                self.window.status.hint(f"{Path(path).name}: saved prediction from {prediction.source}", 8000)

    # --- training ------------------------------------------------------------------------
    def _on_model_trained(self, folder: Path) -> None:
        """A model that learnt becomes the prediction model; one that did not is listed
        (the user may still pick it) but never replaces the current one behind their back."""
        folder = Path(folder)
        if model_learnt(folder) or self.prediction.model_folder is None:
            self.prediction.set_model(folder)
        else:
            self.prediction.refresh_models()
        if model_learnt(folder):
            self.window.status.hint(f"New model {folder.name} is ready: predict with it (Ctrl+R)", 10000)
        else:
            self.window.status.hint(
                f"Model {folder.name} is not usable yet: {model_problem(folder)}. "
                "Train longer or label more images", 15000)

    def _show_training(self) -> None:
        self.training_dock.show()
        self.training_dock.raise_()

    # --- prediction ----------------------------------------------------------------------
    def auto_sky(self, every_image: bool = False) -> None:
        """Auto sky (no model) for the shown image or every image, in the prediction dock's
        worker; the dock comes to the front with its progress and Cancel."""
        w = self.window
        if w.current_path is None:
            w.status.hint("Open a panorama first: auto sky then finds its sky without a model", 6000)
            return
        self.prediction_dock.show()
        self.prediction_dock.raise_()
        if every_image:
            self.prediction.auto_sky_all()
        else:
            self.prediction.auto_sky_current()

    def _on_prediction(self, path: Path, prediction) -> None:
        if Path(path) == self.window.current_path:
            self._show(prediction)
            if prediction.source:  # auto sky: say so where the user looks, with its verdict
                self.window.status.hint(prediction_summary(Path(path).name, prediction), 15000)

    def _show(self, prediction) -> None:
        self.current_prediction = prediction
        self._refresh_overlay()

    def _set_show_uncertainty(self, on: bool) -> None:
        self._show_uncertainty = on
        self._refresh_overlay()

    def _refresh_overlay(self) -> None:
        p = self.current_prediction
        if p is not None:
            if self._show_uncertainty:
                self.window.set_prediction(p.uncertainty)
            else:  # the worker made it (at most 4096 px wide): no 8K work on the GUI thread
                self.window.set_prediction(*p.display_mask)

    def sort_by_uncertainty(self) -> None:
        """Put the images whose predictions hesitate most at the top of the list."""
        if not self.prediction.scores:
            self.window.status.hint("Predict the images first: there are no uncertainty scores yet", 6000)
            return
        self.window.image_list.set_scores(self.prediction.scores)
        self.window.image_list.sort_by_score()

    def accept_prediction(self) -> bool:
        """Replace the shown image's labels by the prediction's polygons (one undo step).

        The tracing runs in the thread pool; the command is pushed when it is done, if the
        same image and prediction are still shown. Returns whether tracing started."""
        w = self.window
        p = self.current_prediction
        image_id = None if w.current_path is None else w.session.image_id(w.current_path)
        if p is not None and image_id is None:
            w.status.hint("A lone image has no labels to accept into: open its project folder "
                          "(or COCO file) to keep the prediction as polygons", 8000)
            return False
        if p is None or image_id is None:
            w.status.hint("No prediction to accept: predict this image first (Ctrl+R, or Auto Sky "
                          "Ctrl+Shift+K)", 6000)
            return False
        record = w.session.labels.images[image_id]
        if p.mask.shape != (record.height, record.width):
            show_error(w, EditError(
                f"the prediction is {p.mask.shape[1]} x {p.mask.shape[0]} but the image is "
                f"{record.width} x {record.height}: predict the image again"
            ))
            return False
        w.status.hint("Tracing the prediction into polygons...")
        QThreadPool.globalInstance().start(_TracePrediction(w.current_path, p, self._traces))
        return True

    def _push_accepted(self, path: Path, prediction, polygons: list) -> None:
        w = self.window
        if path != w.current_path or prediction is not self.current_prediction:
            return  # the user moved on; nothing is changed behind their back
        from skysegui.gui.editing.commands import EditCommand, replace_with_regions

        image_id = w.session.image_id(path)
        edit, count = replace_with_regions(w.session.labels, image_id, polygons)
        w.undo_stack.push(EditCommand(w.editor, w.session.labels, image_id, edit, "Accept prediction"))
        if count:
            w.status.hint(f"Accepted the prediction as {count} sky polygons (Ctrl+Z undoes)", 8000)
        else:
            w.status.hint("Accepted the prediction: no sky, marked as labelled (Ctrl+Z undoes)", 8000)
        self.accepted.emit(count)

    def shutdown(self, timeout_ms: int = 30_000) -> None:
        """Stop training and prediction before the window closes (both keep what they made)."""
        self.training.shutdown(timeout_ms)
        self.prediction.cancel()
        self.prediction.runner.wait(timeout_ms)
