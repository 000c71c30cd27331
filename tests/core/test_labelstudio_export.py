"""Our labels and predictions as Label Studio pre-annotations, read back by our importer
(and, for brush masks, by Label Studio's converter where it is installed)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from skysegui.core.annotations import labels_from_masks, load_labels, sky_mask
from skysegui.core.annotations.brush_rle import decode_mask
from skysegui.core.annotations.labelstudio_export import (
    LABELS_VERSION,
    LabelStudioNames,
    confidence,
    labels_to_tasks,
    prediction_tasks,
    save_tasks,
)
from skysegui.core.imageio import write_png
from skysegui.core.predictions import prediction_paths, write_source
from tests._masks import iou


@pytest.fixture(scope="module")
def gt_labels(gt_dir):
    """Our polygons (holes included: city and forest have one) of the real sky masks."""
    masks = {f"{p.stem}.exr": (cv2.imread(str(p), cv2.IMREAD_UNCHANGED) == 1).astype(np.uint8)
             for p in sorted(gt_dir.glob("*.png"))}
    return labels_from_masks(masks)


def _back(tasks, tmp_path, name="tasks.json"):
    path = tmp_path / name
    save_tasks(tasks, path)
    return load_labels(path)


@pytest.mark.parametrize("brush", [False, True])
def test_labels_round_trip_as_pre_annotations(gt_labels, tmp_path, brush):
    names = LabelStudioNames(url_prefix="/data/local-files/?d=panoramas/")
    tasks = labels_to_tasks(gt_labels, brush=brush, names=names)
    assert len(tasks) == len(gt_labels.images)  # interior: labelled, no sky, an empty result
    for task in tasks:
        assert task["data"]["image"].startswith("/data/local-files/?d=panoramas/")
        (prediction,) = task["predictions"]
        assert prediction["model_version"] == LABELS_VERSION and prediction["score"] == 1.0
        for result in prediction["result"]:
            assert result["from_name"] == "label" and result["to_name"] == "image"
            assert result["type"] == ("brushlabels" if brush else "polygonlabels")
            assert (result["original_width"], result["original_height"]) == (1024, 512)
            if not brush:
                points = np.asarray(result["value"]["points"])
                assert points.min() >= 0 and points.max() <= 100 and result["value"]["closed"]
    back = _back(tasks, tmp_path)
    used = [w for w in back.warnings if "prediction (skysegui labels) is used" in w]
    assert len(used) == len(tasks)
    # no result, no size: interior (labelled, no sky) needs the images folder to be read back
    assert [w for w in back.warnings if w not in used] == [
        f'{tmp_path / "tasks.json"}: image 2 ({names.url_prefix}interior.exr): "width"/"height" '
        "missing or invalid "
        "and no image on disk to read them from; skipped (pass the images folder)"]
    for image_id, image in gt_labels.images.items():
        record = back.labels.image_by_name(image.file_name)
        if not gt_labels.annotations_for(image_id):
            assert record is None  # a task with no result says nothing of the size
            continue
        assert iou(sky_mask(back.labels, record.id), sky_mask(gt_labels, image_id)) >= 0.999


def test_holes_become_non_sky_polygons_after_their_sky(gt_labels):
    city = next(i for i, im in gt_labels.images.items() if im.file_name == "city.exr")
    (task,) = [t for t in labels_to_tasks(gt_labels) if t["data"]["image"] == "city.exr"]
    labels = [r["value"]["polygonlabels"][0] for r in task["predictions"][0]["result"]]
    holes = sum(len(p.holes) for a in gt_labels.annotations_for(city) for p in a.polygons)
    assert holes and labels.count("non-sky") == holes
    assert labels.index("non-sky") > labels.index("sky")


def test_brush_pre_annotations_decode_with_the_converter(gt_labels):
    brush = pytest.importorskip("label_studio_converter.brush")
    for task in labels_to_tasks(gt_labels, brush=True):
        for result in task["predictions"][0]["result"]:
            w, h = result["original_width"], result["original_height"]
            alpha = brush.decode_rle(result["value"]["rle"]).reshape(h, w, 4)[..., 3]
            np.testing.assert_array_equal(alpha >= 128, decode_mask(result["value"]["rle"], w, h) == 1)


def test_a_real_label_studio_export_round_trips(label_studio_dir, hdri_dir, tmp_path):
    """Label Studio's own export -> our labels -> pre-annotations -> our labels: the same
    pixels, and the task names the image by the URL Label Studio gave it."""
    first = load_labels(label_studio_dir / "city_tasks.json", images_dir=hdri_dir).labels
    tasks = labels_to_tasks(first)
    assert tasks[0]["data"]["image"] == "/data/upload/1/cb0618f6-city.jpg"
    path = tmp_path / "pre.json"
    save_tasks(tasks, path)
    again = load_labels(path, images_dir=hdri_dir).labels
    (a,), (b,) = first.images, again.images
    assert np.array_equal(sky_mask(first, a), sky_mask(again, b))


def test_predictions_become_tasks_with_model_version_and_score(tmp_path, gt_dir):
    sky = (cv2.imread(str(gt_dir / "city.png"), cv2.IMREAD_UNCHANGED) == 1).astype(np.float32)
    prob = np.clip(cv2.GaussianBlur(sky, (0, 0), 3), 0, 1)
    folder = tmp_path / "predictions"
    paths = prediction_paths(folder, "city.exr")
    folder.mkdir()
    write_png(paths.mask, ((prob >= 0.5) * 255).astype(np.uint8))
    write_png(paths.prob_png, np.round(prob * 65535).astype(np.uint16), bits=16)
    auto = prediction_paths(folder, "sunset.exr")
    write_png(auto.mask, np.zeros((512, 1024), np.uint8))
    write_source(auto, "auto sky", "indoors")
    warnings: list[str] = []
    tasks = prediction_tasks([tmp_path / "city.exr", tmp_path / "sunset.exr", tmp_path / "forest.exr"],
                             folder, warnings=warnings)
    assert [t["data"]["image"] for t in tasks] == ["city.exr", "sunset.exr"]
    assert warnings == [f"forest.exr: no prediction in {folder}; skipped"]
    city, sunset = (t["predictions"][0] for t in tasks)
    assert city["model_version"] == "skysegui model"
    stored = cv2.imread(str(paths.prob_png), cv2.IMREAD_UNCHANGED) / 65535.0
    assert city["score"] == pytest.approx(confidence(stored), abs=1e-6) and 0.5 < city["score"] < 1
    assert sunset["model_version"] == "skysegui auto sky" and "score" not in sunset
    assert sunset["result"] == []
    back = load_labels(_write(tasks, tmp_path)).labels
    (record,) = [i for i in back.images.values() if i.file_name == "city.exr"]
    assert iou(sky_mask(back, record.id), prob >= 0.5) >= 0.995


def _write(tasks, tmp_path):
    path = tmp_path / "predictions.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    return path
