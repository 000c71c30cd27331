"""Label Studio's brush RLE: a known vector from the converter's own tests, the tasks file
its converter wrote (tests/data/label_studio), and imports of brush labels."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from skysegui.core.annotations import load_labels, sky_mask
from skysegui.core.annotations.brush_rle import (
    BrushRleError,
    decode_alpha,
    decode_mask,
    decode_runs,
    encode_mask,
    encode_values,
)
from tests._masks import iou

BRUSH_TASKS = Path(__file__).resolve().parents[1] / "data" / "label_studio" / "brush_tasks.json"

# label-studio-converter's tests/test_brush.py::test_rle_encoding: these values ...
CONVERTER_VALUES = [1, 1, 1, 1, 2, 3, 5, 6, 7, 8, 4, 4, 4, 4, 4, 4, 4, 4]
# ... are stored in Label Studio as these bytes
CONVERTER_RLE = [0, 0, 0, 18, 57, 27, 252, 96, 32, 1, 0, 6, 0, 40, 0, 192, 3, 128, 17, 56, 32]


def test_known_vector_from_the_converters_tests():
    assert encode_values(CONVERTER_VALUES) == CONVERTER_RLE
    total, starts, values = decode_runs(CONVERTER_RLE)
    assert total == len(CONVERTER_VALUES)
    expanded = np.repeat(values, np.diff(np.append(starts, total)))
    assert expanded.tolist() == CONVERTER_VALUES


def test_decoded_alpha_is_every_fourth_value():
    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, size=(7, 9, 4)).astype(np.uint8)
    rgba[2:5] = 255  # long runs next to literal words
    rle = encode_values(rgba.reshape(-1))
    np.testing.assert_array_equal(decode_alpha(rle, 9, 7), rgba[..., 3])


def test_mask_round_trip_with_runs_longer_than_the_longest_field():
    mask = np.zeros((300, 400), np.uint8)  # 480,000 values: runs split at 65,536
    mask[120:, :] = 1
    mask[10:20, 30:33] = 1
    np.testing.assert_array_equal(decode_mask(encode_mask(mask), 400, 300), mask)


def _gt_mask(gt_dir: Path, stem: str) -> np.ndarray:
    return (cv2.imread(str(gt_dir / f"{stem}.png"), cv2.IMREAD_UNCHANGED) == 1).astype(np.uint8)


def _results(task: dict) -> list[dict]:
    return (task.get("annotations") or task["predictions"])[0]["result"]


def test_the_converters_file_decodes_to_the_ground_truth_and_we_write_the_same_bytes(gt_dir):
    tasks = json.loads(BRUSH_TASKS.read_text(encoding="utf-8"))
    for task in tasks:
        result = _results(task)[0]
        stem = task["data"]["image"].rsplit("-", 1)[1].split(".")[0]
        gt = _gt_mask(gt_dir, stem)
        w, h = result["original_width"], result["original_height"]
        assert (w, h) == (gt.shape[1], gt.shape[0])
        np.testing.assert_array_equal(decode_mask(result["value"]["rle"], w, h), gt)
        assert encode_mask(gt) == result["value"]["rle"]  # bit for bit what the converter wrote


def test_the_converter_still_writes_that_file(gt_dir, tmp_path):
    brush = pytest.importorskip("label_studio_converter.brush")
    city = _gt_mask(gt_dir, "city")
    stored = json.loads(BRUSH_TASKS.read_text(encoding="utf-8"))[0]
    assert brush.mask2rle(city * 255) == _results(stored)[0]["value"]["rle"]
    rng = np.random.default_rng(0)
    values = rng.integers(0, 256, size=200).tolist() + [9] * 70000
    assert brush.encode_rle(values) == encode_values(values)
    assert brush.decode_rle(encode_mask(city)).reshape(512, 1024, 4)[..., 3].tolist() == (city * 255).tolist()


def test_brush_labels_import_as_polygons(label_studio_dir, hdri_dir, gt_dir):
    """Brush results (an annotation and, in a task without one, a prediction) become sky
    polygons with holes; the masks are the converter's within tracing precision."""
    result = load_labels(BRUSH_TASKS, images_dir=hdri_dir)
    assert result.format == "label-studio"
    assert any("prediction (sky-unet v3) is used" in w for w in result.warnings)
    assert not any("skipped" in w for w in result.warnings), result.warnings
    labels = result.labels
    for stem in ("city", "forest"):
        record = labels.image_by_name(f"{stem}.exr")
        assert record is not None and record.path == hdri_dir / f"{stem}.exr"
        assert iou(sky_mask(labels, record.id), _gt_mask(gt_dir, stem)) >= 0.999
    assert any(p.holes for a in labels.annotations.values() for p in a.polygons)


def test_bad_brush_results_are_skipped_with_a_warning(tmp_path):
    good = encode_mask(np.ones((4, 6), np.uint8))
    tasks = [{"id": 1, "data": {"image": "a.jpg"}, "annotations": [{"result": [
        {"id": "short", "type": "brushlabels", "original_width": 6, "original_height": 4,
         "value": {"format": "rle", "rle": good[:8], "brushlabels": ["sky"]}},
        {"id": "size", "type": "brushlabels", "original_width": 7, "original_height": 4,
         "value": {"format": "rle", "rle": good, "brushlabels": ["sky"]}},
        {"id": "nosize", "type": "brushlabels",
         "value": {"format": "rle", "rle": good, "brushlabels": ["sky"]}},
        {"id": "ok", "type": "brushlabels", "original_width": 6, "original_height": 4,
         "value": {"format": "rle", "rle": good, "brushlabels": ["sky"]}},
    ]}]}]
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    result = load_labels(path)
    skipped = [w for w in result.warnings if "unusable rle" in w]
    assert len(skipped) == 3 and all(f"'{rid}'" in " ".join(skipped) for rid in ("short", "size", "nosize"))
    (annotation,) = result.labels.annotations.values()
    assert sky_mask(result.labels, annotation.image_id).all()


@pytest.mark.parametrize("rle", [[], [300, 1], "abc", [0, 0, 0]])
def test_malformed_rle_is_a_brush_rle_error(rle):
    with pytest.raises(BrushRleError):
        decode_mask(rle, 2, 2)
