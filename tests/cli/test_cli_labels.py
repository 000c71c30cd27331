"""`skysegui masks` and `skysegui polygons` through the real CLI entry point."""

from __future__ import annotations

import json

import cv2
import numpy as np

from skysegui.cli.main import main
from skysegui.core.annotations import load_labels, scored_sky_mask, sky_mask
from tests._coco_samples import pycocotools_sky


def test_masks_writes_pycocotools_pixels(tmp_path, label_studio_dir, hdri_dir, capsys):
    out = tmp_path / "masks"
    coco_file = label_studio_dir / "city_coco.json"
    code = main(["masks", "--images", str(hdri_dir), "--out", str(out), "--quiet", str(coco_file)])
    assert code == 0
    written = cv2.imread(str(out / "city.png"), cv2.IMREAD_UNCHANGED)
    assert written.dtype == np.uint8 and written.shape == (512, 1024)
    assert set(np.unique(written).tolist()) == {0, 255}
    np.testing.assert_array_equal(written == 255, pycocotools_sky(coco_file, 0))
    assert "wrote 1 mask" in capsys.readouterr().out


def test_masks_class_map_from_label_studio_tasks(tmp_path, label_studio_dir, hdri_dir):
    out = tmp_path / "classes"
    assert main(["masks", "--classes", "--quiet", "--images", str(hdri_dir), "--out", str(out),
                 str(label_studio_dir / "city_tasks.json")]) == 0
    classes = cv2.imread(str(out / "city.png"), cv2.IMREAD_UNCHANGED)
    assert set(np.unique(classes).tolist()) == {0, 1, 2}


def test_polygons_from_ground_truth_masks_and_back(tmp_path, gt_dir, hdri_dir):
    coco_file = tmp_path / "gt.json"
    assert main(["polygons", "--images", str(hdri_dir), "--out", str(coco_file), "--quiet",
                 str(gt_dir)]) == 0
    data = json.loads(coco_file.read_text())
    assert sorted(i["file_name"] for i in data["images"]) == [
        "city.exr", "forest.exr", "interior.exr", "sunset.exr"]
    labels = load_labels(coco_file, images_dir=hdri_dir).labels
    for image in labels.images.values():
        gt = cv2.imread(str(gt_dir / f"{image.path.stem}.png"), cv2.IMREAD_UNCHANGED) == 1
        ours = sky_mask(labels, image.id).astype(bool)
        if not gt.any():
            assert not ours.any()  # interior: no sky at all
            continue
        assert (gt & ours).sum() / (gt | ours).sum() >= 0.995, image.file_name  # forest was 0.992
        # the ignore band (255) came in as an unsure region, which training and scores skip
        band = cv2.imread(str(gt_dir / f"{image.path.stem}.png"), cv2.IMREAD_UNCHANGED) == 255
        unsure = scored_sky_mask(labels, image.id) == 255
        assert band.any() and (band & unsure).sum() / (band | unsure).sum() >= 0.97, image.file_name
    # and back to masks: the CLI pair round-trips
    out = tmp_path / "back"
    assert main(["masks", "--quiet", "--images", str(hdri_dir), "--out", str(out), str(coco_file)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["city.png", "forest.png", "interior.png", "sunset.png"]


def test_polygons_scales_small_masks_to_the_image(tmp_path, hdri_dir):
    masks = tmp_path / "m"
    masks.mkdir()
    half = np.zeros((256, 512), np.uint8)
    half[:100] = 255
    cv2.imwrite(str(masks / "sunset_mask.png"), half)
    coco_file = tmp_path / "s.json"
    assert main(["polygons", "--quiet", "--images", str(hdri_dir), "--out", str(coco_file), str(masks)]) == 0
    labels = load_labels(coco_file, images_dir=hdri_dir).labels
    (image,) = labels.images.values()
    assert (image.width, image.height) == (1024, 512)
    assert sky_mask(labels, image.id)[:200].all() and not sky_mask(labels, image.id)[200:].any()


def test_errors_are_one_line_messages(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["masks", "--out", str(tmp_path / "o"), str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "bad.json" in err and "Traceback" not in err
    assert main(["polygons", "--out", str(tmp_path / "x.json"), str(tmp_path / "nowhere")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_polygons_without_images_names_images_after_the_masks(tmp_path):
    masks = tmp_path / "m"
    masks.mkdir()
    mask = np.zeros((32, 64), np.uint8)
    mask[:10] = 255
    mask[3:6, 20:30] = 0  # a bird: a hole in the sky
    cv2.imwrite(str(masks / "Pano_01.mask.png"), mask)
    coco_file = tmp_path / "p.json"
    assert main(["polygons", "--quiet", "--out", str(coco_file), str(masks)]) == 0
    labels = load_labels(coco_file).labels
    image = labels.image_by_name("pano_01.exr")
    assert image is not None and image.file_name == "Pano_01.png"
    np.testing.assert_array_equal(sky_mask(labels, image.id) * 255, mask)
