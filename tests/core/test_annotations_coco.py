"""COCO and Label Studio import/export: real exports, round trips, holes, RLE, proxies."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO

from skysegui.core.annotations import (
    NON_SKY,
    SKY,
    Annotation,
    AnnotationSet,
    Category,
    ImageRecord,
    Polygon,
    load_labels,
    polygons_to_mask,
    save_coco,
    sky_mask,
)
from skysegui.core.errors import AnnotationError
from tests._coco_samples import pycocotools_sky


# --- the real Label Studio exports -------------------------------------------------------
def test_both_label_studio_files_give_pycocotools_mask(label_studio_dir, hdri_dir):
    coco_file = label_studio_dir / "city_coco.json"
    from_coco = load_labels(coco_file, images_dir=hdri_dir)
    from_tasks = load_labels(label_studio_dir / "city_tasks.json", images_dir=hdri_dir)
    assert from_coco.format == "coco" and from_tasks.format == "label-studio"
    assert from_coco.warnings == [] and from_tasks.warnings == []
    (a,) = from_coco.labels.images.values()
    (b,) = from_tasks.labels.images.values()
    assert a.path == hdri_dir / "city.exr" == b.path
    assert (a.width, a.height) == (b.width, b.height) == (1024, 512)
    mask_coco = sky_mask(from_coco.labels, a.id)
    mask_tasks = sky_mask(from_tasks.labels, b.id)
    expected = pycocotools_sky(coco_file, 0)
    assert 0 < expected.sum() < expected.size
    np.testing.assert_array_equal(mask_coco, expected)
    np.testing.assert_array_equal(mask_tasks, expected)
    # the rough sky label spans the seam: from x = 0 to the last pixel column
    xs = np.concatenate([p.outer[:, 0] for ann in from_tasks.labels.annotations.values()
                         for p in ann.polygons])
    assert xs.min() == 0 and xs.max() >= a.width - 1


def test_label_studio_coco_round_trip_is_lossless(label_studio_dir, hdri_dir, tmp_path):
    first = load_labels(label_studio_dir / "city_coco.json", images_dir=hdri_dir).labels
    out = tmp_path / "labels.json"
    save_coco(first, out)
    second = load_labels(out, images_dir=hdri_dir).labels
    assert second == first
    data = json.loads(out.read_text())
    assert data["info"]["contributor"] == "Label Studio"
    assert all(ann["ignore"] == 0 for ann in data["annotations"])
    assert data["images"][0]["file_name"] == "/data/upload/1/cb0618f6-city.jpg"
    np.testing.assert_array_equal(pycocotools_sky(out, 0), sky_mask(second, 0))


def test_label_studio_tasks_number_categories_by_name(label_studio_dir):
    labels = load_labels(label_studio_dir / "city_tasks.json").labels
    roles = {c.name: labels.role_of(c.id) for c in labels.categories.values()}
    assert roles == {"sky": SKY, "non-sky": NON_SKY}


# --- synthetic files --------------------------------------------------------------------------
def _coco(**overrides):
    data = {
        "info": {"description": "test", "x-custom": [1, 2]},
        "licenses": [{"id": 3, "name": "CC0"}],
        "images": [{"id": 0, "file_name": "a.exr", "width": 40, "height": 20, "coco_url": "u"}],
        "categories": [{"id": 0, "name": "non sky", "color": "#f00"}, {"id": 1, "name": "sky"}],
        "annotations": [
            {"id": 0, "image_id": 0, "category_id": 1, "iscrowd": 0, "note": "keep me",
             "segmentation": [[0, 0, 40, 0, 40, 10, 0, 10], [30, 12, 38, 12, 38, 18]]},
            {"id": "x7", "image_id": 0, "category_id": 0, "iscrowd": 0,
             "segmentation": [[5, 2, 9, 2, 9, 6, 5, 6]]},
        ],
    }
    data.update(overrides)
    return data


def _write(path, data):
    path.write_text(json.dumps(data))
    return path


def test_unknown_fields_and_odd_ids_survive(tmp_path):
    src = _write(tmp_path / "in.json", _coco())
    result = load_labels(src)
    assert result.warnings == []
    labels = result.labels
    assert set(labels.annotations) == {0, "x7"}
    out = tmp_path / "out.json"
    save_coco(labels, out)
    data = json.loads(out.read_text())
    assert data["info"] == {"description": "test", "x-custom": [1, 2]}
    assert data["licenses"] == [{"id": 3, "name": "CC0"}]
    assert data["images"][0]["coco_url"] == "u"
    assert data["categories"][0]["color"] == "#f00"
    by_id = {a["id"]: a for a in data["annotations"]}
    assert by_id[0]["note"] == "keep me"
    # the second polygon of annotation 0 is an annotation of its own (Label Studio's COCO
    # importer reads one polygon per annotation), marked so that it rejoins on load
    assert all(len(a["segmentation"]) == 1 for a in data["annotations"])
    part = next(a for a in data["annotations"] if "skysegui_part_of" in a)
    assert part["skysegui_part_of"] == [0, 1] and part["id"] == 1 and part["category_id"] == 1
    assert "note" not in part
    assert by_id[0]["bbox"] == [0.0, 0.0, 40.0, 10.0] and part["bbox"] == [30.0, 12.0, 8.0, 6.0]
    coco = COCO(str(out))
    for ann in coco.loadAnns(coco.getAnnIds()):  # shoelace area, as Label Studio writes it
        pixels = float(coco.annToMask(ann).sum())
        assert ann["area"] > 0 and abs(ann["area"] - pixels) <= 0.1 * pixels + 4
    assert by_id["x7"]["area"] == 16.0 and by_id[0]["area"] == 400.0 and part["area"] == 24.0
    assert load_labels(out).labels == labels


def test_holes_survive_and_readers_get_the_same_sky(tmp_path):
    labels = AnnotationSet()
    labels.categories = {1: Category(1, "sky"), 2: Category(2, "non-sky")}
    labels.images[1] = ImageRecord(1, "pano.exr", 64, 32)
    outer = [[0, 0], [64, 0], [64, 20], [0, 20]]
    hole = [[10, 4], [30, 4], [30, 16], [10, 16]]
    island = [[15, 8], [20, 8], [20, 12], [15, 12]]
    labels.annotations[1] = Annotation(1, 1, 1, [Polygon(outer, [hole]), Polygon(island)])
    # a non-sky object with a window of sky in it: stored as RLE + exact rings
    labels.annotations[2] = Annotation(2, 1, 2, [Polygon([[40, 2], [60, 2], [60, 18], [40, 18]],
                                                          [[[45, 6], [55, 6], [55, 14], [45, 14]]])])
    out = tmp_path / "holes.json"
    save_coco(labels, out)
    again = load_labels(out).labels
    assert again == labels
    expected = sky_mask(labels, 1)
    assert expected[10, 12] == 0 and expected[10, 17] == 1
    assert expected[4, 50] == 0 and expected[10, 50] == 1  # object cut out, its window is sky
    np.testing.assert_array_equal(pycocotools_sky(out, 1), expected)
    coco = COCO(str(out))
    rle_ann = next(a for a in coco.loadAnns(coco.getAnnIds()) if a["id"] == 2)
    np.testing.assert_array_equal(coco.annToMask(rle_ann), polygons_to_mask(labels.annotations[2].polygons, 32, 64))
    # saving what was loaded gives the same file again
    save_coco(again, tmp_path / "again.json")
    assert json.loads((tmp_path / "again.json").read_text()) == json.loads(out.read_text())


def test_rle_compressed_and_uncompressed(tmp_path):
    mask = np.zeros((30, 50), np.uint8)
    mask[:18, :] = 1
    mask[5:10, 20:30] = 0
    rle = coco_mask.encode(np.asfortranarray(mask))
    compressed = {"size": rle["size"], "counts": rle["counts"].decode()}
    runs, flat, value, count = [], mask.T.reshape(-1), 0, 0
    for v in flat:
        if v != value:
            runs.append(count)
            value, count = v, 0
        count += 1
    runs.append(count)
    uncompressed = {"size": [30, 50], "counts": runs}
    data = _coco(images=[{"id": 1, "file_name": "r.png", "width": 50, "height": 30}],
                 categories=[{"id": 1, "name": "sky"}],
                 annotations=[{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 1, "segmentation": compressed},
                              {"id": 2, "image_id": 1, "category_id": 1, "iscrowd": 1, "segmentation": uncompressed}])
    labels = load_labels(_write(tmp_path / "rle.json", data)).labels
    for aid in (1, 2):
        polygons = labels.annotations[aid].polygons
        assert any(p.holes for p in polygons)
        np.testing.assert_array_equal(polygons_to_mask(polygons, 30, 50), mask)


def test_repeated_images_are_merged(tmp_path):
    # the second entry was labelled in a browser that reported half the size
    data = _coco(images=[{"id": 0, "file_name": "/data/upload/1/cb0618f6-a.jpg", "width": 40, "height": 20},
                         {"id": 1, "file_name": "/data/upload/2/0badf00d-A.jpg", "width": 20, "height": 10}])
    data["annotations"][1]["image_id"] = 1
    result = load_labels(_write(tmp_path / "rep.json", data))
    assert list(result.labels.images) == [0]
    assert {a.image_id for a in result.labels.annotations.values()} == {0}
    assert any("same file as image 0" in w for w in result.warnings)
    np.testing.assert_array_equal(result.labels.annotations["x7"].polygons[0].outer,
                                  [[10, 4], [18, 4], [18, 12], [10, 12]])


def test_proxy_labels_are_rescaled_to_the_real_image(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    cv2.imwrite(str(images / "a.png"), np.zeros((40, 80, 3), np.uint8))
    cv2.imwrite(str(images / "a.jpg"), np.zeros((20, 40, 3), np.uint8))  # LDR proxy, same stem
    result = load_labels(_write(tmp_path / "p.json", _coco()), images_dir=images)
    image = result.labels.images[0]
    assert image.path == images / "a.png" and (image.width, image.height) == (80, 40)
    assert any("40x20" in w and "80x40" in w for w in result.warnings)
    np.testing.assert_array_equal(result.labels.annotations["x7"].polygons[0].outer,
                                  [[10, 4], [18, 4], [18, 12], [10, 12]])


def test_validation_lists_every_problem(tmp_path):
    data = _coco()
    data["images"].append({"id": 5, "file_name": "missing.exr", "width": "wide", "height": 10})
    data["images"].append({"id": 6, "file_name": "b.exr", "width": 40, "height": 20})
    data["annotations"] += [
        {"id": 10, "image_id": 0, "category_id": 1, "segmentation": [[1, 1, 5, 5]]},
        {"id": 11, "image_id": 0, "category_id": 1, "segmentation": [[-5, -5, 50, 0, 50, 30]]},
        {"id": 12, "image_id": 0, "category_id": 99, "segmentation": [[1, 1, 5, 1, 5, 5]]},
        {"id": 13, "image_id": 42, "category_id": 1, "segmentation": [[1, 1, 5, 1, 5, 5]]},
        {"id": 14, "image_id": 0, "category_id": 1},
        {"id": 15, "image_id": 0, "category_id": 1, "segmentation": [["a", 1, 5, 1, 5, 5]]},
        "not an annotation",
    ]
    images = tmp_path / "images"
    images.mkdir()
    result = load_labels(_write(tmp_path / "bad.json", data), images_dir=images)
    text = "\n".join(result.warnings)
    for needle in ("annotation 10", "needs at least 3", "annotation 11", "clamped", "annotation 12",
                   "unknown category 99", "annotation 13", "annotation 14", "annotation 15",
                   "annotation #8", "image 5", "no image named 'b'"):
        assert needle in text, needle
    assert all(w.startswith(str(tmp_path / "bad.json")) for w in result.warnings)
    labels = result.labels
    assert set(labels.annotations) == {0, "x7", 11}
    np.testing.assert_array_equal(labels.annotations[11].polygons[0].outer, [[0, 0], [40, 0], [40, 20]])


@pytest.mark.parametrize(
    "content",
    [b"", b"{", b'{"images": [', b"[1, 2, 3]", b'"text"', b'{"annotations": []}',
     b'{"images": {}, "annotations": []}', b"\xff\xfe\x00garbage", b'{"images": [], "annotations": 7}'],
)
def test_unusable_files_raise_annotation_error(tmp_path, content):
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    with pytest.raises(AnnotationError, match="broken.json"):
        load_labels(path)


def test_missing_file_raises_annotation_error(tmp_path):
    with pytest.raises(AnnotationError, match="not found"):
        load_labels(tmp_path / "nope.json")


def test_save_is_atomic_and_keeps_a_backup(tmp_path):
    out = tmp_path / "labels.json"
    labels = load_labels(_write(tmp_path / "in.json", _coco())).labels
    save_coco(labels, out)
    first = out.read_text()
    del labels.annotations["x7"]
    new_id = labels.new_annotation_id()
    assert new_id == 1
    labels.annotations[new_id] = Annotation(new_id, 0, 1, [Polygon([[1, 1], [3, 1], [3, 3]])])
    save_coco(labels, out)
    assert (tmp_path / "labels.json.bak").read_text() == first
    assert [p.name for p in tmp_path.iterdir() if ".tmp" in p.name] == []
    assert {a["id"] for a in json.loads(out.read_text())["annotations"]} == {0, 1, 2}  # 2: a part of 0


def _one_image_labels(polygons, category=1):
    labels = AnnotationSet()
    labels.categories = {1: Category(1, "sky"), 2: Category(2, "non-sky")}
    labels.images[1] = ImageRecord(1, "pano.exr", 64, 32)
    labels.annotations[1] = Annotation(1, 1, category, polygons)
    return labels


def test_holes_are_written_as_keyhole_rings_every_reader_fills_right(tmp_path):
    labels = _one_image_labels([
        Polygon([[0, 0], [64, 0], [64, 20], [0, 20]],
                [[[10, 4], [30, 4], [30, 16], [10, 16]], [[40, 4], [44, 4], [42, 9]]])])
    out = tmp_path / "keyhole.json"
    save_coco(labels, out)
    (ann,) = json.loads(out.read_text())["annotations"]
    # one plain ring, as Label Studio's COCO importer reads it (segmentation[0], x/y pairs)
    assert len(ann["segmentation"]) == 1 and len(ann["segmentation"][0]) % 2 == 0
    assert ann["area"] == 64 * 20 - 20 * 12 - 10.0
    np.testing.assert_array_equal(pycocotools_sky(out, 1), sky_mask(labels, 1))
    assert load_labels(out).labels == labels


def test_overlapping_holes_fall_back_to_rle(tmp_path):
    labels = _one_image_labels([
        Polygon([[0, 0], [64, 0], [64, 30], [0, 30]],
                [[[10, 4], [30, 4], [30, 16], [10, 16]], [[20, 10], [40, 10], [40, 20], [20, 20]]])])
    out = tmp_path / "overlap.json"
    save_coco(labels, out)
    (ann,) = json.loads(out.read_text())["annotations"]
    assert isinstance(ann["segmentation"], dict)
    np.testing.assert_array_equal(pycocotools_sky(out, 1), sky_mask(labels, 1))
    assert sky_mask(labels, 1)[12, 25] == 0
    assert load_labels(out).labels == labels


def test_a_part_changed_elsewhere_stays_on_its_own(tmp_path):
    labels = _one_image_labels([Polygon([[0, 0], [64, 0], [64, 10]]), Polygon([[0, 20], [9, 20], [9, 29]])])
    out = tmp_path / "parts.json"
    save_coco(labels, out)
    data = json.loads(out.read_text())
    data["annotations"][1]["category_id"] = 2  # relabelled as non-sky in another tool
    out.write_text(json.dumps(data))
    result = load_labels(out)
    assert any("of its own" in w for w in result.warnings)
    assert [len(a.polygons) for a in result.labels.annotations.values()] == [1, 1]
    assert result.labels.annotations[2].category_id == 2


def test_segmentation_edited_elsewhere_wins_over_stale_exact_rings(tmp_path):
    labels = _one_image_labels([Polygon([[0, 0], [64, 0], [64, 20], [0, 20]],
                                        [[[10, 4], [30, 4], [30, 16], [10, 16]]])])
    out = tmp_path / "edited.json"
    save_coco(labels, out)
    data = json.loads(out.read_text())
    data["annotations"][0]["segmentation"] = [[0, 0, 64, 0, 64, 25, 0, 25]]  # hole removed
    out.write_text(json.dumps(data))
    result = load_labels(out)
    assert any("no longer matches" in w for w in result.warnings)
    (polygon,) = result.labels.annotations[1].polygons
    assert polygon.holes == [] and polygon.outer[:, 1].max() == 25


def test_label_studio_task_variants(tmp_path):
    def result(rid, kind, value):
        return {"id": rid, "type": kind, "from_name": "label", "to_name": "image",
                "original_width": 200, "original_height": 100, "value": value}

    tasks = [
        {"id": 1, "data": {"image": "/data/upload/3/0a1b2c3d-pano.jpg"}, "annotations": [
            {"was_cancelled": True, "result": [result("c", "polygonlabels", {
                "points": [[0, 0], [100, 0], [100, 100]], "polygonlabels": ["sky"]})]},
            {"result": [
                result("p", "polygonlabels", {"points": [[0, 0], [100, 0], [100, 50], [0, 40]],
                                              "polygonlabels": ["Sky"]}),
                result("r", "rectanglelabels", {"x": 10, "y": 10, "width": 5, "height": 10,
                                                "rotation": 0, "rectanglelabels": ["object"]}),
                result("b", "brushlabels", {"rle": [1, 2], "brushlabels": ["sky"]}),
            ]}]},
        {"id": 2, "data": {"img": "C:\\\\shots\\\\other.png"}, "completions": [
            {"result": [result("q", "polygonlabels", {"points": [[0, 0], [50, 0], [50, 50]],
                                                      "polygonlabels": ["sky"]})]}]},
    ]
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(tasks))
    loaded = load_labels(path)
    assert loaded.format == "label-studio"
    assert any("brush result 'b' has an unusable rle" in w for w in loaded.warnings)  # a broken brush
    labels = loaded.labels
    assert labels.image_by_name("PANO").id == 1 and labels.image_by_name("other.exr").id == 2
    sky = sky_mask(labels, 1)
    assert sky.shape == (100, 200) and sky[5, 50] == 1 and sky[30, 180] == 1 and sky[60, 180] == 0
    assert sky[15, 21] == 0  # the rectangle "object" is cut out of the sky
    np.testing.assert_array_equal(
        next(a for a in labels.annotations.values() if labels.role_of(a.category_id) == NON_SKY)
        .polygons[0].outer, [[20, 10], [30, 10], [30, 20], [20, 20]])


def test_old_label_studio_exports_without_sizes_use_the_image_on_disk(tmp_path, label_studio_dir, hdri_dir):
    tasks = json.loads((label_studio_dir / "city_tasks.json").read_text())
    for task in tasks:
        for run in task["annotations"]:
            for r in run["result"]:
                del r["original_width"], r["original_height"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(tasks))
    old = load_labels(path, images_dir=hdri_dir)
    assert any("no original_width" in w for w in old.warnings)
    (image,) = old.labels.images.values()
    assert (image.width, image.height) == (1024, 512)
    np.testing.assert_array_equal(sky_mask(old.labels, image.id),
                                  pycocotools_sky(label_studio_dir / "city_coco.json", 0))


def test_a_category_that_is_neither_sky_nor_object_is_a_warning_naming_it(tmp_path):
    from skysegui.core.annotations import load_labels

    square = [[0, 0, 10, 0, 10, 10, 0, 10]]
    data = {
        "images": [{"id": 1, "file_name": "pano.exr", "width": 64, "height": 32}],
        "categories": [{"id": 1, "name": "sky"}, {"id": 2, "name": "cloud"}, {"id": 3, "name": "tree"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "segmentation": square},
            {"id": 2, "image_id": 1, "category_id": 2, "segmentation": square},
            {"id": 3, "image_id": 1, "category_id": 2, "segmentation": square},
        ],
    }
    path = tmp_path / "labels.json"
    path.write_text(json.dumps(data))
    result = load_labels(path)
    about = [w for w in result.warnings if "category" in w]
    assert len(about) == 1, result.warnings  # 'tree' has no annotations: nothing to say
    assert "labels.json" in about[0] and "'cloud'" in about[0] and "2 annotation(s)" in about[0]
    assert len(result.labels.annotations) == 3  # nothing is dropped


def test_coco_with_images_but_no_annotations_key_says_no_labels_were_found(tmp_path):
    """It used to load silently, and `masks` wrote an empty (no sky) mask per image."""
    path = tmp_path / "images_only.json"
    path.write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.jpg", "width": 8, "height": 4},
                   {"id": 2, "file_name": "b.jpg", "width": 8, "height": 4}],
        "categories": [{"id": 1, "name": "sky"}],
    }), encoding="utf-8")
    result = load_labels(path)
    assert result.warnings == [
        f'{path}: has 2 image(s) but no "annotations": no labels were found; export the labels '
        "again (with annotations) from your labeling tool"]
    assert len(result.labels.images) == 2 and not result.labels.annotations
    path.write_text(json.dumps({"images": [], "annotations": [], "categories": []}), encoding="utf-8")
    assert load_labels(path).warnings == []  # an empty key is an answer, not a missing one
