"""`skysegui convert` through the real CLI entry point: labels through every format and
back, predictions as Label Studio pre-annotations, and its one-line errors."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

from skysegui.cli.main import main
from skysegui.core.annotations import load_labels, sky_mask
from skysegui.core.annotations.brush_rle import decode_mask
from skysegui.core.imageio import write_png
from skysegui.core.label_formats import FORMATS
from skysegui.core.predictions import prediction_paths


def test_labels_go_through_every_format_and_come_back(tmp_path, gt_dir, hdri_dir, capsys):
    """polygons (masks -> COCO) -> labelme -> CVAT -> Label Studio -> COCO: the sky pixels
    of the real masks survive, holes included."""
    coco = tmp_path / "gt.json"
    assert main(["polygons", "--quiet", "--images", str(hdri_dir), "--out", str(coco), str(gt_dir)]) == 0
    steps = [(coco, "labelme", tmp_path / "labelme"), (tmp_path / "labelme", "cvat", tmp_path / "a.xml"),
             (tmp_path / "a.xml", "label-studio", tmp_path / "tasks.json"),
             (tmp_path / "tasks.json", "coco", tmp_path / "back.json")]
    for source, fmt, out in steps:
        assert main(["convert", str(source), "--to", fmt, "--out", str(out), "--images", str(hdri_dir),
                     "--quiet"]) == 0, capsys.readouterr().err
        assert f"({fmt}) to" in capsys.readouterr().out
    first = load_labels(coco, images_dir=hdri_dir).labels
    last = load_labels(tmp_path / "back.json", images_dir=hdri_dir).labels
    compared = 0
    for image in first.images.values():
        if not first.annotations_for(image.id):
            continue
        other = last.image_by_name(image.file_name)
        a, b = sky_mask(first, image.id), sky_mask(last, other.id)
        assert (a & b).sum() / (a | b).sum() >= 0.999, image.file_name
        compared += 1
    assert compared == 3  # city, forest, sunset (interior has no sky)


def test_predictions_become_label_studio_brush_pre_annotations(tmp_path, hdri_dir, gt_dir, capsys):
    project = tmp_path / "project"
    (project / "images").mkdir(parents=True)
    for name in ("city.exr", "sunset.exr"):
        shutil.copy(hdri_dir / name, project / "images" / name)
    sky = (cv2.imread(str(gt_dir / "city.png"), cv2.IMREAD_UNCHANGED) == 1).astype(np.uint8)
    paths = prediction_paths(project / "predictions", "city.exr")
    paths.mask.parent.mkdir()
    write_png(paths.mask, sky * 255)
    prob = sky.astype(np.uint16) * 60000 + 2000
    write_png(paths.prob_png, prob, bits=16)
    out = tmp_path / "pre.json"
    assert main(["convert", str(project), "--source", "prediction", "--to", "label-studio", "--brush",
                 "--model-version", "sky-unet 7", "--from-name", "brush", "--out", str(out)]) == 0
    (task,) = json.loads(out.read_text(encoding="utf-8"))
    assert task["data"] == {"image": "city.exr"}
    (prediction,) = task["predictions"]
    assert prediction["model_version"] == "sky-unet 7"
    assert prediction["score"] == pytest.approx(np.abs(2 * prob.astype(float) / 65535 - 1).mean(), abs=1e-4)
    (result,) = prediction["result"]
    assert result["from_name"] == "brush" and result["value"]["brushlabels"] == ["sky"]
    np.testing.assert_array_equal(decode_mask(result["value"]["rle"], 1024, 512), sky)
    assert "sunset.exr: no prediction" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--to", "labelme", "--source", "prediction"], "use --to label-studio"),
    (["--to", "label-studio", "--source", "prediction"], "not a project folder"),
    (["--to", "cvat"], "already exists"),
])
def test_errors_are_one_line_messages(tmp_path, label_studio_dir, capsys, args, message):
    out = tmp_path / "out.xml"
    out.write_text("<annotations/>", encoding="utf-8")
    code = main(["convert", str(label_studio_dir / "city_tasks.json"), "--out", str(out), *args])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error:") and message in err and "Traceback" not in err


def test_overwriting_needs_force(tmp_path, label_studio_dir):
    out = tmp_path / "labels.xml"
    out.write_text("old", encoding="utf-8")
    assert main(["convert", str(label_studio_dir / "city_tasks.json"), "--to", "cvat", "--out", str(out),
                 "--force", "--quiet"]) == 0
    assert out.read_text(encoding="utf-8").startswith("<?xml")


def test_help_names_every_format_and_what_happens_to_holes(capsys):
    with pytest.raises(SystemExit):
        main(["convert", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert all(fmt in text for fmt in FORMATS)
    assert "hole" in text and "non-sky" in text and "--brush" in text and "--model-version" in text
