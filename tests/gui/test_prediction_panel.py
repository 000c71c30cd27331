"""The prediction panel and its QThread worker, offscreen, with a real tiny saved model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from skysegui.core.errors import ImageReadError, ModelError
from skysegui.core.predictions import prediction_paths
from skysegui.gui.panels.prediction_panel import PredictionPanel, sort_by_uncertainty

WAIT_MS = 120_000  # a shared 2-core machine: model build + prediction can take a while


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    import tf_keras as keras

    from skysegui.ml.model import ModelCard, build_model, preset, save_model

    keras.utils.set_random_seed(0)
    cfg = preset("tiny")
    folder = tmp_path_factory.mktemp("gui-models") / "tiny"
    save_model(build_model(cfg), ModelCard(config=cfg), folder)
    return folder


@pytest.fixture()
def images(tmp_path):
    from skysegui.core.imageio import write_exr
    from skysegui.core.synthetic import make_panorama

    paths = []
    for seed in (1, 2):
        path = tmp_path / f"pano{seed}.exr"
        write_exr(path, make_panorama(128, 64, seed=seed).pixels)
        paths.append(path)
    return paths


@pytest.fixture()
def panel(qtbot, model_dir, images, tmp_path):
    widget = PredictionPanel()
    qtbot.addWidget(widget)
    widget.predictor_options = {"tile": 64}
    widget.set_model(model_dir)
    widget.set_images(images)
    widget.set_output_dir(tmp_path / "predictions")
    yield widget
    widget.runner.wait(WAIT_MS)


def test_buttons_follow_the_state(qtbot):
    widget = PredictionPanel()
    qtbot.addWidget(widget)
    assert not widget.predict_current_button.isEnabled()
    assert not widget.predict_all_button.isEnabled()
    assert not widget.cancel_button.isEnabled()
    widget.set_model("/some/model")
    widget.set_images([Path("a.exr")])
    assert widget.predict_all_button.isEnabled() and not widget.predict_current_button.isEnabled()
    widget.set_current_image("a.exr")
    assert widget.predict_current_button.isEnabled()
    widget.set_mode("fast")
    assert widget.mode == "fast"


def test_predict_current_image_emits_the_prediction_and_saves_it(qtbot, panel, images, tmp_path):
    panel.set_current_image(images[1])
    received = []
    panel.predictionReady.connect(lambda path, pred: received.append((path, pred)))
    with qtbot.waitSignal(panel.runFinished, timeout=WAIT_MS) as finished:
        qtbot.mouseClick(panel.predict_current_button, _left())
        assert panel.busy and panel.cancel_button.isEnabled()
        assert not panel.predict_all_button.isEnabled()
    assert finished.args == [False]
    assert [p for p, _ in received] == [images[1]]
    pred = received[0][1]
    assert pred.prob.shape == (64, 128) and pred.mask.dtype == np.uint8
    assert panel.scores[images[1]] == pytest.approx(pred.uncertainty_score)
    assert prediction_paths(tmp_path / "predictions", images[1]).exists()
    assert not panel.busy and panel.predict_all_button.isEnabled()
    assert panel.progress_bar.value() == panel.progress_bar.maximum()


def test_predict_all_then_sort_by_uncertainty(qtbot, panel, images):
    scores_seen = []
    panel.scoresChanged.connect(scores_seen.append)
    with qtbot.waitSignal(panel.runFinished, timeout=WAIT_MS):
        panel.predict_all()
    assert set(panel.scores) == set(images)
    assert scores_seen[-1] == panel.scores
    ordered = panel.sorted_by_uncertainty()
    assert [panel.scores[p] for p in ordered] == sorted(panel.scores.values(), reverse=True)
    # the loaded model is kept: the next run does not rebuild it
    assert panel._loaded is not None


def test_cancel_stops_the_run(qtbot, panel, images):
    received = []
    panel.predictionReady.connect(lambda path, pred: received.append(path))
    panel.set_images(images * 5)
    with qtbot.waitSignal(panel.runFinished, timeout=WAIT_MS) as finished:
        panel.predict_all()
        panel.cancel()
    assert finished.args == [True]
    assert len(received) < len(images) * 5
    assert "cancel" in panel.status_label.text().lower()


def test_a_bad_image_is_reported_and_the_others_still_predict(qtbot, panel, images, tmp_path):
    broken = tmp_path / "broken.exr"
    broken.write_bytes(b"not an exr at all")
    errors, received = [], []
    panel.errorOccurred.connect(errors.append)
    panel.predictionReady.connect(lambda path, pred: received.append(path))
    panel.set_images([broken, images[0]])
    with qtbot.waitSignal(panel.runFinished, timeout=WAIT_MS):
        panel.predict_all()
    assert len(errors) == 1 and isinstance(errors[0], ImageReadError)
    assert received == [images[0]]


def test_a_folder_that_is_not_a_model_is_reported(qtbot, images, tmp_path):
    widget = PredictionPanel()
    qtbot.addWidget(widget)
    errors = []
    widget.errorOccurred.connect(errors.append)
    widget.set_model(tmp_path)
    widget.set_images(images)
    with qtbot.waitSignal(widget.runFinished, timeout=WAIT_MS):
        widget.predict_all()
    assert len(errors) == 1 and isinstance(errors[0], ModelError)
    assert "card.json" in widget.status_label.text()


def test_sort_by_uncertainty_puts_unscored_images_last():
    a, b, c, d = (Path(n) for n in "abcd")
    assert sort_by_uncertainty([a, b, c, d], {b: 0.1, d: 0.7, a: 0.3}) == [d, a, b, c]


def _left():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_trained_models_are_listed_and_selectable(qtbot, tmp_path):
    import os

    from skysegui.ml.model import CARD_NAME, ModelCard, preset

    models = tmp_path / "models"

    def write_card(name, mtime):
        folder = models / name
        folder.mkdir(parents=True)
        (folder / CARD_NAME).write_text(ModelCard(config=preset("tiny"), name=name).to_json())
        os.utime(folder / CARD_NAME, (mtime, mtime))
        return folder

    old = write_card("old", 1_000_000)
    (models / "not-a-model").mkdir()
    widget = PredictionPanel()
    qtbot.addWidget(widget)
    widget.set_model(old)
    assert [widget.model_combo.itemText(i) for i in range(widget.model_combo.count())] == ["old"]
    # a training run ends: its folder becomes the model and the older one stays selectable
    new = write_card("new", 2_000_000)
    widget.set_model(new)
    assert [widget.model_combo.itemText(i) for i in range(widget.model_combo.count())] == ["new", "old"]
    assert widget.model_combo.currentText() == "new" and widget.model_label.text() == "new"
    widget.model_combo.activated.emit(1)
    assert widget.model_label.text() == "old" and widget.model_combo.currentText() == "old"
    widget.set_images([tmp_path / "a.exr"])
    assert widget.predict_all_button.isEnabled()
