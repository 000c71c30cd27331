"""Unsure regions in the labels: from masks (255 = ignore), from other tools' category
names, into the training mask as IGNORE, and through a COCO file unchanged."""

from __future__ import annotations

import json

import numpy as np

from skysegui.core.annotations import (
    SKY,
    UNSURE,
    labels_from_masks,
    load_labels,
    save_coco,
    scored_sky_mask,
    sky_mask,
)
from skysegui.core.metrics import IGNORE


def _truth() -> np.ndarray:
    """The shared ground truth's convention: 0 not sky, 1 sky, 255 a band left unlabelled."""
    gt = np.zeros((64, 128), np.uint8)
    gt[:24] = 1
    gt[24:30] = IGNORE
    return gt


def test_a_zero_one_ignore_mask_becomes_sky_and_an_unsure_region():
    labels = labels_from_masks({"a.exr": _truth()})
    roles = sorted(labels.role_of(a.category_id) for a in labels.annotations.values())
    assert roles == [SKY, UNSURE]
    assert np.array_equal(scored_sky_mask(labels, 1), _truth())
    assert not sky_mask(labels, 1)[24:30].any()  # exported sky masks keep 0/1


def test_a_plain_zero_255_mask_stays_a_sky_mask():
    mask = np.zeros((64, 128), np.uint8)
    mask[:24] = 255  # Photoshop's white sky: no 1 anywhere, so 255 is sky, not "ignore"
    labels = labels_from_masks({"a.exr": mask})
    assert [labels.role_of(a.category_id) for a in labels.annotations.values()] == [SKY]
    assert set(np.unique(scored_sky_mask(labels, 1)).tolist()) == {0, 1}


def test_a_caller_that_knows_its_convention_says_where_the_unsure_region_is():
    """An interior whose truth is 0 and 255 only reads as 0/255 sky by value; the caller
    passes the sky and the unsure region apart."""
    gt = np.zeros((64, 128), np.uint8)
    gt[10:14, 40:60] = IGNORE
    labels = labels_from_masks({"room.exr": (gt == 1).astype(np.uint8)},
                               unsure={"room.exr": (gt == IGNORE).astype(np.uint8)})
    assert np.array_equal(scored_sky_mask(labels, 1), gt)
    assert labels.is_labelled(1)


def test_other_tools_names_for_ignore_are_unsure_and_survive_a_coco_round_trip(tmp_path):
    coco = {
        "images": [{"id": 1, "file_name": "a.exr", "width": 128, "height": 64}],
        "categories": [{"id": 0, "name": "Sky"}, {"id": 1, "name": "Don't care"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 0, "iscrowd": 0,
             "segmentation": [[0, 0, 128, 0, 128, 30, 0, 30]]},
            {"id": 2, "image_id": 1, "category_id": 1, "iscrowd": 0,
             "segmentation": [[20, 20, 60, 20, 60, 40, 20, 40]]},
        ],
    }
    path = tmp_path / "labels.json"
    path.write_text(json.dumps(coco))
    loaded = load_labels(path)
    assert not loaded.warnings  # a known name: no "neither sky nor object" warning
    mask = scored_sky_mask(loaded.labels, 1)
    assert mask[25, 40] == IGNORE and mask[35, 40] == IGNORE  # over sky and ground alike
    assert mask[10, 100] == 1 and mask[50, 100] == 0
    save_coco(loaded.labels, tmp_path / "again.json")
    again = load_labels(tmp_path / "again.json").labels
    assert np.array_equal(scored_sky_mask(again, 1), mask)


def _image_with_unsure_region_only():
    """A new panorama on which the artist has only marked a fence as unsure so far."""
    from skysegui.core.annotations import Annotation, AnnotationSet, Category, ImageRecord, Polygon

    labels = AnnotationSet()
    labels.categories[1] = Category(1, "sky")
    labels.categories[3] = Category(3, "unsure")
    labels.images[1] = ImageRecord(1, "a.exr", 128, 64)
    ring = np.array([[20, 20], [60, 20], [60, 40], [20, 40]], np.float64)
    labels.annotations[1] = Annotation(1, 1, 3, [Polygon(ring)])
    return labels


def test_unsure_regions_alone_do_not_make_an_image_a_no_sky_negative():
    labels = _image_with_unsure_region_only()
    assert not labels.is_labelled(1)  # or training would learn "no sky" everywhere else
    from skysegui.core.annotations import Annotation, Polygon

    sky = np.array([[0, 0], [128, 0], [128, 10], [0, 10]], np.float64)
    labels.annotations[2] = Annotation(2, 1, 1, [Polygon(sky)])
    assert labels.is_labelled(1)


def test_no_sky_and_a_new_answer_keep_the_unsure_regions():
    from skysegui.core.annotations import Annotation, MarkNoSky, Polygon, ReplaceAnnotations

    labels = _image_with_unsure_region_only()
    sky = np.array([[0, 0], [128, 0], [128, 10], [0, 10]], np.float64)
    labels.annotations[2] = Annotation(2, 1, 1, [Polygon(sky)])
    assert labels.answer_ids(1) == [2]
    edit = MarkNoSky(1)
    edit.apply(labels)
    assert list(labels.annotations) == [1] and labels.is_labelled(1)
    mask = scored_sky_mask(labels, 1)
    assert mask[30, 40] == IGNORE and mask[5, 100] == 0
    edit.revert(labels)
    assert sorted(labels.annotations) == [1, 2] and labels.is_labelled(1)
    ReplaceAnnotations(labels.answer_ids(1), []).apply(labels)
    assert list(labels.annotations) == [1]
