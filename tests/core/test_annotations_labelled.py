"""The per-image "labelled" flag: "no sky here" is a label (issue 19).

An image record may carry `"skysegui_labelled": true`; AnnotationSet.is_labelled says
whether an image's labels are an answer (annotations, or the flag). MarkNoSky removes an
image's annotations and sets the flag in one edit with an exact revert.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from skysegui.core.annotations import (
    LABELLED_KEY,
    Annotation,
    AnnotationSet,
    Category,
    ImageRecord,
    MarkNoSky,
    Polygon,
    SetLabelled,
    labels_from_masks,
    load_labels,
    save_coco,
)
from skysegui.core.errors import EditError

W, H = 64, 32


def _square(x: float, y: float, size: float = 8.0) -> Polygon:
    return Polygon(np.array([[x, y], [x + size, y], [x + size, y + size], [x, y + size]], dtype=np.float64))


def _labels() -> AnnotationSet:
    """Three images: 1 with sky (annotations interleaved with image 2's), 2 with sky,
    3 listed but never labelled."""
    labels = AnnotationSet(categories={1: Category(1, "sky"), 2: Category(2, "non-sky")})
    labels.images[1] = ImageRecord(1, "a.exr", W, H, extra={"note": "keep me"})
    labels.images[2] = ImageRecord(2, "b.exr", W, H)
    labels.images[3] = ImageRecord(3, "c.exr", W, H)
    labels.annotations[10] = Annotation(10, 1, 1, [_square(2, 2)])
    labels.annotations[11] = Annotation(11, 2, 1, [_square(4, 4)])
    labels.annotations[12] = Annotation(12, 1, 2, [_square(20, 10)], extra={"score": 0.5})
    return labels


def test_is_labelled_means_annotations_or_the_flag():
    labels = _labels()
    assert labels.is_labelled(1) and labels.is_labelled(2)
    assert not labels.is_labelled(3)  # listed in the labels is not evidence
    assert not labels.is_labelled(99)
    labels.images[3].extra[LABELLED_KEY] = True
    assert labels.is_labelled(3)
    labels.images[3].extra[LABELLED_KEY] = "yes"  # only a JSON true counts
    assert not labels.is_labelled(3)


def test_the_flag_round_trips_through_save_and_load(tmp_path):
    labels = _labels()
    labels.images[3].extra[LABELLED_KEY] = True
    path = tmp_path / "labels.json"
    save_coco(labels, path)
    raw = {e["id"]: e for e in json.loads(path.read_text())["images"]}
    assert raw[3][LABELLED_KEY] is True
    assert LABELLED_KEY not in raw[1] and LABELLED_KEY not in raw[2]
    loaded = load_labels(path).labels
    assert loaded.images[3].extra == {LABELLED_KEY: True}
    assert loaded.images[1].extra == {"note": "keep me"}
    assert loaded.is_labelled(3) and not loaded.annotations_for(3)
    # saved again: the same file
    save_coco(loaded, tmp_path / "again.json")
    assert json.loads((tmp_path / "again.json").read_text())["images"] == json.loads(path.read_text())["images"]


def test_a_flag_on_a_duplicate_image_entry_is_merged_into_the_first(tmp_path):
    data = {
        "images": [{"id": 1, "file_name": "a.exr", "width": W, "height": H},
                   {"id": 2, "file_name": "a.exr", "width": W, "height": H, LABELLED_KEY: True}],
        "annotations": [], "categories": [{"id": 1, "name": "sky"}],
    }
    path = tmp_path / "dup.json"
    path.write_text(json.dumps(data))
    result = load_labels(path)
    assert list(result.labels.images) == [1] and result.labels.is_labelled(1)
    assert any("same file" in w for w in result.warnings)


def test_labels_from_masks_flags_every_image_and_an_empty_mask_is_a_label():
    sky = np.zeros((H, W), np.uint8)
    sky[:12] = 1
    labels = labels_from_masks({"interior.exr": np.zeros((H, W), np.uint8), "outdoor.exr": sky})
    by_name = {r.file_name: r for r in labels.images.values()}
    interior, outdoor = by_name["interior.exr"], by_name["outdoor.exr"]
    assert interior.extra == {LABELLED_KEY: True} and outdoor.extra == {LABELLED_KEY: True}
    assert not labels.annotations_for(interior.id) and labels.is_labelled(interior.id)
    assert labels.annotations_for(outdoor.id) and labels.is_labelled(outdoor.id)


def _state(labels: AnnotationSet):
    """Everything an edit could touch, in order (dict order included)."""
    return (
        [(i, r.file_name, list(r.extra.items())) for i, r in labels.images.items()],
        list(labels.annotations),
        list(labels.categories),
    )


def test_mark_no_sky_applies_and_reverts_exactly():
    labels = _labels()
    before, before_state = labels.copy(), _state(labels)
    edit = MarkNoSky(1)
    edit.apply(labels)
    assert labels.annotations_for(1) == []
    assert [a.id for a in labels.annotations.values()] == [11]  # image 2 untouched
    assert labels.images[1].extra == {"note": "keep me", LABELLED_KEY: True}
    assert labels.is_labelled(1)
    after = labels.copy()
    edit.revert(labels)
    assert labels == before and _state(labels) == before_state
    assert LABELLED_KEY not in labels.images[1].extra
    edit.apply(labels)  # redo
    assert labels == after
    edit.revert(labels)
    assert labels == before and _state(labels) == before_state


def test_mark_no_sky_on_an_already_flagged_image_reverts_to_the_flag():
    labels = _labels()
    labels.images[2].extra = {LABELLED_KEY: True, "other": 1}
    before_state = _state(labels)
    edit = MarkNoSky(2)
    edit.apply(labels)
    assert labels.annotations_for(2) == [] and labels.is_labelled(2)
    edit.revert(labels)
    assert _state(labels) == before_state


def test_set_labelled_sets_and_clears_the_flag_exactly():
    labels = _labels()
    labels.images[1].extra = {"a": 1, LABELLED_KEY: True, "z": 2}
    before_state = _state(labels)
    clear = SetLabelled(1, False)
    clear.apply(labels)
    assert labels.images[1].extra == {"a": 1, "z": 2}
    clear.revert(labels)
    assert _state(labels) == before_state  # the key is back at its place
    on = SetLabelled(3)
    on.apply(labels)
    assert labels.is_labelled(3)
    on.revert(labels)
    assert not labels.is_labelled(3) and _state(labels) == before_state


def test_edits_on_a_missing_image_are_refused_without_changes():
    labels = _labels()
    before_state = _state(labels)
    for edit in (MarkNoSky(42), SetLabelled(42)):
        with pytest.raises(EditError, match="does not exist"):
            edit.apply(labels)
    assert _state(labels) == before_state
