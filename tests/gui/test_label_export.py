"""File > Open Label File reads labelme and CVAT files; File > Export Labels As writes the
open labels (unsaved edits included) and the predictions in other tools' formats."""

from __future__ import annotations

import json

import numpy as np
import pytest

from skysegui.core.annotations import load_labels, sky_mask
from skysegui.core.annotations.cvat import save_cvat
from skysegui.core.imageio import write_png
from skysegui.core.predictions import prediction_paths
from skysegui.gui.label_export import EXPORTS
from tests._city import city_project
from tests.gui._window import make_window, open_and_wait


@pytest.fixture
def opened(qtbot, tmp_path, hdri_dir, label_studio_dir):
    root = city_project(tmp_path / "project", hdri_dir, label_studio_dir / "city_coco.json")
    win = make_window(qtbot, tmp_path / "s.ini")
    open_and_wait(qtbot, win, root)
    return win


def _run(qtbot, win, name, path):
    thread = win.label_export.export_to(name, path)
    assert thread is not None
    qtbot.waitUntil(thread.isFinished, timeout=30000)
    qtbot.waitUntil(lambda: win.label_export.last_result is not None or win.label_export.last_error, timeout=5000)
    assert win.label_export.last_error is None
    result, win.label_export.last_result = win.label_export.last_result, None
    return result


def test_the_file_menu_offers_every_format(opened):
    file_menu = next(a.menu() for a in opened.menuBar().actions() if a.text().replace("&", "") == "File")
    texts = [a.text().replace("&", "") for a in file_menu.actions()]
    assert "Open Label File..." in texts and "Export Labels As" in texts
    submenu = next(a.menu() for a in file_menu.actions() if a.text().replace("&", "") == "Export Labels As")
    assert [a.objectName() for a in submenu.actions()] == list(EXPORTS)
    assert all(a.statusTip() for a in submenu.actions())


@pytest.mark.parametrize("name, target", [
    ("export_label_studio", "tasks.json"), ("export_label_studio_brush", "brush.json"),
    ("export_labelme", "labelme"), ("export_cvat", "annotations.xml"),
])
def test_labels_export_in_a_worker_and_read_back(qtbot, opened, tmp_path, hdri_dir, name, target):
    session = opened.session
    (image_id,) = [i for i in session.labels.images if session.labels.annotations_for(i)]
    expected = sky_mask(session.labels, image_id)
    out = tmp_path / target
    result = _run(qtbot, opened, name, out)
    assert result.files and all(p.exists() for p in result.files)
    assert "Wrote" in opened.status.currentMessage()
    back = load_labels(out, images_dir=hdri_dir).labels
    record = back.image_by_name("city.exr")
    mask = sky_mask(back, record.id)
    assert (mask & expected).sum() / (mask | expected).sum() >= 0.999


def test_predictions_export_as_label_studio_pre_annotations(qtbot, opened, tmp_path):
    paths = prediction_paths(opened.session.project.predictions_dir, "city.exr")
    paths.mask.parent.mkdir(parents=True, exist_ok=True)
    sky = np.zeros((512, 1024), np.uint8)
    sky[:200] = 255
    write_png(paths.mask, sky)
    out = tmp_path / "pre.json"
    _run(qtbot, opened, "export_predictions_label_studio", out)
    (task,) = json.loads(out.read_text(encoding="utf-8"))
    assert task["predictions"][0]["model_version"] == "skysegui model"
    assert task["predictions"][0]["result"][0]["value"]["polygonlabels"] == ["sky"]


def test_a_cvat_file_opens_like_a_project(qtbot, tmp_path, hdri_dir, label_studio_dir):
    root = city_project(tmp_path / "project", hdri_dir)
    labels = load_labels(label_studio_dir / "city_coco.json", images_dir=root / "images").labels
    save_cvat(labels, root / "annotations.xml")
    win = make_window(qtbot, tmp_path / "s.ini")
    open_and_wait(qtbot, win, root / "annotations.xml")
    assert win.session.labels is not None and win.session.labels.annotations
    assert win.session.project.labels_path == root / "annotations.coco.json"
