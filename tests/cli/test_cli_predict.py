"""`skysegui predict` and `skysegui evaluate` end to end, with a real (tiny, random-init) model."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from skysegui.cli.main import main
from skysegui.core.predictions import prediction_paths


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    import tf_keras as keras

    from skysegui.ml.model import ModelCard, build_model, preset, save_model

    keras.utils.set_random_seed(0)
    cfg = preset("tiny")
    folder = tmp_path_factory.mktemp("cli-models") / "tiny"
    save_model(build_model(cfg), ModelCard(config=cfg), folder)
    return folder


@pytest.fixture()
def image_dir(tmp_path):
    from skysegui.core.imageio import write_exr, write_png
    from skysegui.core.synthetic import make_panorama

    folder = tmp_path / "pics"
    folder.mkdir()
    for seed in (1, 2):
        write_exr(folder / f"pano{seed}.exr", make_panorama(128, 64, seed=seed).pixels)
    write_png(folder / "proxy.png", np.full((64, 128, 3), 120, np.uint8))
    (folder / "notes.txt").write_text("not an image")
    return folder


def _run(*argv) -> int:
    return main([str(a) for a in argv])


def test_predict_a_folder_writes_mask_probability_and_uncertainty(model_dir, image_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert _run("predict", "--model", model_dir, "--out", out, "--tile", 64, image_dir) == 0
    for stem in ("pano1", "pano2", "proxy"):
        paths = prediction_paths(out, f"{stem}.exr")
        mask = cv2.imread(str(paths.mask), cv2.IMREAD_UNCHANGED)
        prob = cv2.imread(str(paths.prob_png), cv2.IMREAD_UNCHANGED)
        unc = cv2.imread(str(paths.uncertainty), cv2.IMREAD_UNCHANGED)
        assert mask.shape == prob.shape == unc.shape == (64, 128)
        assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 255}
        assert prob.dtype == np.uint16 and unc.dtype == np.uint8
        assert np.array_equal(mask > 0, prob >= 32768)
    table = capsys.readouterr().out
    assert "pano1.exr" in table and "proxy.png" in table and "notes" not in table


def test_existing_outputs_are_skipped_unless_forced(model_dir, image_dir, tmp_path, capsys):
    out = tmp_path / "out"
    image = image_dir / "pano1.exr"
    assert _run("predict", "--model", model_dir, "--out", out, "--tile", 64, image) == 0
    mask = prediction_paths(out, image).mask
    mask.write_bytes(b"marker")  # a skipped image keeps its files untouched
    assert _run("predict", "--model", model_dir, "--out", out, "--tile", 64, image) == 0
    assert mask.read_bytes() == b"marker"
    assert "--force" in capsys.readouterr().err
    assert _run("predict", "--model", model_dir, "--out", out, "--tile", 64, "--force", image) == 0
    assert mask.read_bytes() != b"marker"


@pytest.mark.parametrize("mode", ["fast", "report"])
def test_other_modes_and_float_tiff_probabilities(model_dir, image_dir, tmp_path, mode):
    import tifffile

    out = tmp_path / "out"
    image = image_dir / "pano2.exr"
    rc = _run("predict", "--model", model_dir, "--out", out, "--mode", mode, "--fast-size", 64,
              "--prob-format", "tiff", image)
    assert rc == 0
    paths = prediction_paths(out, image)
    prob = tifffile.imread(paths.prob_tif)
    assert prob.dtype == np.float32 and prob.shape == (64, 128)
    assert not paths.prob_png.exists()


def test_a_project_predicts_into_its_predictions_folder(model_dir, tmp_path):
    from skysegui.core.imageio import write_exr
    from skysegui.core.project import Project
    from skysegui.core.synthetic import make_panorama

    project = Project.create(tmp_path / "proj")
    write_exr(project.images_dir / "sky.exr", make_panorama(128, 64, seed=4).pixels)
    assert _run("predict", "--model", model_dir, "--tile", 64, project.root) == 0
    assert prediction_paths(project.predictions_dir, "sky.exr").exists()


def test_user_errors_are_one_line_messages(model_dir, image_dir, tmp_path, capsys):
    assert _run("predict", "--model", model_dir, "--out", tmp_path, tmp_path / "missing.exr") == 2
    assert "does not exist" in capsys.readouterr().err
    assert _run("predict", "--model", tmp_path, "--out", tmp_path / "o", image_dir) == 2
    assert "card.json" in capsys.readouterr().err
    assert _run("predict", "--model", model_dir, image_dir) == 2
    assert "--out" in capsys.readouterr().err
    assert _run("predict", "--model", model_dir, "--out", tmp_path, "--tile", 50, image_dir) == 2
    assert "multiple of 32" in capsys.readouterr().err


# --- evaluate ---------------------------------------------------------------------------
def _write_masks(pred_dir, gt_dir):
    pred_dir.mkdir()
    gt_dir.mkdir()
    gt = np.zeros((4, 6), np.uint8)
    gt[:2] = 1
    gt[2, :] = 255  # ignore band
    pred = np.zeros((4, 6), np.uint8)
    pred[:2, :3] = 255
    pred[2:, :] = 255  # row 2 is ignored; row 3 is 6 false positives
    cv2.imwrite(str(gt_dir / "a.png"), gt)
    cv2.imwrite(str(pred_dir / "a.mask.png"), pred)
    cv2.imwrite(str(gt_dir / "b.png"), gt)
    cv2.imwrite(str(pred_dir / "b.mask.png"), np.where(gt == 1, 255, 0).astype(np.uint8))
    cv2.imwrite(str(pred_dir / "lonely.mask.png"), pred)


def test_evaluate_against_a_mask_folder_with_ignore(tmp_path, capsys):
    pred_dir, gt_dir = tmp_path / "pred", tmp_path / "gt"
    _write_masks(pred_dir, gt_dir)
    assert _run("evaluate", "--pred", pred_dir, "--gt", gt_dir, "--json") == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    scores = {s["name"]: s for s in result["images"]}
    # a: tp = 6, fn = 6, fp = 6 (row 2 ignored) -> IoU 6/18, F1 12/24
    assert scores["a"]["iou"] == pytest.approx(1 / 3)
    assert scores["a"]["f1"] == pytest.approx(0.5)
    assert scores["b"]["iou"] == 1.0 and scores["b"]["boundary_f"] == 1.0
    assert result["mean"]["iou"] == pytest.approx((1 / 3 + 1) / 2)
    assert "lonely" in captured.err  # a prediction without ground truth is reported

    assert _run("evaluate", "--pred", pred_dir, "--gt", gt_dir) == 0
    table = capsys.readouterr().out
    assert "mean (2 images)" in table and "0.3333" in table


def test_evaluate_against_coco_labels(tmp_path, capsys):
    from skysegui.core.annotations import labels_from_masks, save_coco

    sky = np.zeros((32, 48), np.uint8)
    sky[:12, :] = 1
    sky[12:20, 10:20] = 1
    save_coco(labels_from_masks({"pano.exr": sky}), tmp_path / "labels.json")
    pred_dir = tmp_path / "pred"
    pred_dir.mkdir()
    cv2.imwrite(str(pred_dir / "pano.mask.png"), sky * 255)
    assert _run("evaluate", "--pred", pred_dir, "--gt", tmp_path / "labels.json", "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["images"][0]["iou"] >= 0.99


def test_evaluate_matches_label_studio_upload_names(label_studio_dir, hdri_dir, tmp_path, capsys):
    from skysegui.core.annotations import load_labels, sky_mask

    coco = label_studio_dir / "city_coco.json"
    labels = load_labels(coco, images_dir=hdri_dir).labels
    record = labels.image_by_name("city")  # file_name is /data/upload/1/cb0618f6-city.jpg
    pred = sky_mask(labels, record.id).copy()
    pred[:8] = 0  # 8 rows of missed sky at the top
    pred_dir = tmp_path / "pred"
    pred_dir.mkdir()
    cv2.imwrite(str(pred_dir / "city.mask.png"), pred * 255)
    rc = _run("evaluate", "--pred", pred_dir, "--gt", coco, "--images", hdri_dir, "--json")
    assert rc == 0
    score = json.loads(capsys.readouterr().out)["images"][0]
    sky = sky_mask(labels, record.id)
    assert score["name"] == "city"
    assert score["iou"] == pytest.approx(pred.sum() / sky.sum())
    assert score["precision"] == 1.0


def test_evaluate_the_real_ground_truth_against_itself(gt_dir, tmp_path, capsys):
    pred_dir = tmp_path / "pred"
    pred_dir.mkdir()
    for path in sorted(gt_dir.glob("*.png")):
        gt = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        cv2.imwrite(str(pred_dir / f"{path.stem}.mask.png"), np.where(gt == 1, 255, 0).astype(np.uint8))
    assert _run("evaluate", "--pred", pred_dir, "--gt", gt_dir, "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["images"]) == 4
    assert all(s["iou"] == 1.0 and s["boundary_f"] == 1.0 for s in result["images"])


def test_evaluate_errors_say_what_to_do(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _run("evaluate", "--pred", empty, "--gt", empty) == 2
    assert "skysegui predict" in capsys.readouterr().err


def test_crf_without_pydensecrf_is_said_not_silently_skipped(model_dir, image_dir, tmp_path, capsys):
    from skysegui.core.refine import crf_available

    out = tmp_path / "out"
    assert _run("predict", "--model", model_dir, "--out", out, "--mode", "fast", "--fast-size", "64",
                "--crf", image_dir / "pano1.exr") == 0
    assert prediction_paths(out, "pano1.exr").exists()
    err = capsys.readouterr().err
    assert ("pydensecrf2" in err) == (not crf_available())


def test_evaluate_refuses_a_negative_tolerance_with_a_message(gt_dir, tmp_path, capsys):
    pred = tmp_path / "pred"
    pred.mkdir()
    gt = cv2.imread(str(gt_dir / "city.png"), cv2.IMREAD_UNCHANGED)
    cv2.imwrite(str(pred / "city.mask.png"), ((gt == 1) * 255).astype(np.uint8))
    assert _run("evaluate", "--pred", pred, "--gt", gt_dir, "--bf-tolerance", "-1") == 2
    err = capsys.readouterr().err
    assert "tolerance" in err and "unexpected" not in err
    assert _run("evaluate", "--pred", pred, "--gt", gt_dir, "--gt-sky-value", "300") == 2
    assert "8-bit" in capsys.readouterr().err
    assert _run("evaluate", "--pred", pred, "--gt", gt_dir, "--bf-tolerance", "0") == 0
