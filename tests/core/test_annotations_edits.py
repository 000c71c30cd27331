"""Every edit, then its revert, restores the model exactly (arrays, ids, dict order)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from skysegui.core.annotations import (
    NON_SKY,
    SKY,
    AddAnnotation,
    AddVertex,
    Annotation,
    AnnotationSet,
    Category,
    DeleteAnnotation,
    DeleteVertex,
    ImageRecord,
    MoveAnnotation,
    MoveVertex,
    Polygon,
    ReplaceAnnotations,
    SetCategory,
    paint_edit,
    polygons_to_mask,
    sky_mask,
    subtract_edit,
    union_edit,
)
from skysegui.core.errors import EditError

H, W = 40, 80


def make_labels() -> AnnotationSet:
    labels = AnnotationSet(extra={"info": {"v": 1}})
    labels.categories = {0: Category(0, "non-sky"), 1: Category(1, "sky")}
    labels.images = {0: ImageRecord(0, "pano.exr", W, H), 1: ImageRecord(1, "other.exr", W, H)}
    sky = Polygon([[0, 0], [80, 0], [80, 20], [0, 22.5]], [[[10, 5], [20, 5], [20, 12], [10, 12]]])
    labels.annotations = {
        3: Annotation(3, 0, 1, [sky, Polygon([[30, 30], [40, 30], [40, 36]])], extra={"note": "x"}),
        0: Annotation(0, 0, 0, [Polygon([[50, 4], [60, 4], [60, 10], [50, 10]])]),
        "s": Annotation("s", 1, 1, [Polygon([[0, 0], [80, 0], [80, 10]])]),
    }
    return labels


def stroke(x0, y0, x1, y1) -> np.ndarray:
    m = np.zeros((H, W), np.uint8)
    m[y0:y1, x0:x1] = 1
    return m


def edits(labels):
    new = Annotation(7, 0, 1, [Polygon([[1, 30], [5, 30], [5, 35]])])
    return [
        AddVertex(3, 0, 0, 2, (70.5, 25.25)),
        AddVertex(3, 0, 1, 4, (15.0, 13.0)),
        MoveVertex(3, 0, 0, 1, (79.0, 1.5)),
        MoveVertex(3, 0, 1, 0, (11.0, 6.0)),
        DeleteVertex(3, 0, 0, 3),
        DeleteVertex(0, 0, 0, 0),
        AddAnnotation(new),
        DeleteAnnotation(3),
        DeleteAnnotation(0),
        MoveAnnotation(3, 0.1, -0.7),
        MoveAnnotation(3, 2.5, 1.0, polygon=1),
        SetCategory(3, 0),
        ReplaceAnnotations([3, 0], [Annotation(3, 0, 1, [Polygon([[0, 0], [9, 0], [9, 9]])])]),
        paint_edit(labels, 0, stroke(30, 25, 60, 35)),
        paint_edit(labels, 0, stroke(45, 0, 70, 15)),        # through the non-sky object
        paint_edit(labels, 0, stroke(0, 0, 30, 10), erase=True),
        paint_edit(labels, 0, stroke(12, 6, 18, 9), role=NON_SKY),
        union_edit(labels, [3, 0]),
        subtract_edit(labels, 3, [0]),
    ]


@pytest.mark.parametrize("index", range(19))
def test_apply_then_revert_restores_exactly(index):
    labels = make_labels()
    edit = edits(labels)[index]
    before = copy.deepcopy(labels)
    order = list(labels.annotations)
    edit.apply(labels)
    assert labels != before, "the edit must change something"
    after = copy.deepcopy(labels)
    edit.revert(labels)
    assert labels == before
    assert list(labels.annotations) == order
    edit.apply(labels)  # redo gives the same result again
    assert labels == after


def test_a_long_undo_redo_sequence():
    labels = make_labels()
    original = copy.deepcopy(labels)
    done, states = [], [copy.deepcopy(labels)]
    for edit in (MoveVertex(3, 0, 0, 1, (79.0, 1.5)), AddVertex(3, 0, 0, 2, (70.0, 25.0)),
                 SetCategory(0, 1), DeleteVertex(3, 0, 0, 0), MoveAnnotation(0, 1.25, 1.25)):
        edit.apply(labels)
        done.append(edit)
        states.append(copy.deepcopy(labels))
    for edit, state in zip(reversed(done), reversed(states[:-1]), strict=True):
        edit.revert(labels)
        assert labels == state
    assert labels == original


def test_never_below_three_vertices():
    labels = make_labels()
    with pytest.raises(EditError, match="at least 3"):
        DeleteVertex("s", 0, 0, 1).apply(labels)
    assert labels == make_labels()


def test_invalid_edits_raise_edit_error():
    labels = make_labels()
    for edit in (MoveVertex(99, 0, 0, 0, (1, 1)), MoveVertex(3, 5, 0, 0, (1, 1)),
                 MoveVertex(3, 0, 9, 0, (1, 1)), MoveVertex(3, 0, 0, 99, (1, 1)),
                 AddAnnotation(Annotation(3, 0, 1, [])), SetCategory(3, 42),
                 ReplaceAnnotations([3], [Annotation(0, 0, 1, [])])):
        with pytest.raises(EditError):
            edit.apply(labels)
        assert labels == make_labels()


def test_paint_and_erase_change_the_sky_as_brushed():
    labels = make_labels()
    paint_edit(labels, 0, stroke(45, 0, 70, 15)).apply(labels)
    sky = sky_mask(labels, 0)
    assert sky[5:10, 50:60].all(), "painting sky over a non-sky object makes it sky"
    assert not sky[5:12, 10:20].any(), "the existing hole is kept"
    paint_edit(labels, 0, stroke(0, 0, 8, 8), erase=True).apply(labels)
    sky = sky_mask(labels, 0)
    assert not sky[:8, :8].any() and sky[:8, 8:10].all()
    assert paint_edit(labels, 0, stroke(0, 0, 8, 8), erase=True) is None  # nothing left to erase
    assert labels.role_of(labels.annotations[3].category_id) == SKY
    assert labels.annotations[3].extra == {"note": "x"}


def test_union_and_subtract_regions():
    labels = make_labels()
    union_edit(labels, [3, 0]).apply(labels)
    assert 0 not in labels.annotations
    region = sky_mask(labels, 0)
    assert region[5:10, 50:60].all()
    labels = make_labels()
    target_before = polygons_to_mask(labels.annotations[3].polygons, H, W)
    cutter = polygons_to_mask(labels.annotations[0].polygons, H, W)
    subtract_edit(labels, 3, [0]).apply(labels)
    target = polygons_to_mask(labels.annotations[3].polygons, H, W)
    assert cutter.any() and not (target & cutter).any()
    expected = target_before & (1 - cutter)
    assert (target != expected).sum() <= 0.01 * expected.sum()  # re-traced at 0.5 px
    assert 0 in labels.annotations


def test_painting_keeps_far_polygons_exactly():
    labels = make_labels()
    big = labels.annotations[3].polygons[0].copy()
    paint_edit(labels, 0, stroke(30, 25, 60, 35)).apply(labels)
    assert labels.annotations[3].polygons[0] == big
    assert sky_mask(labels, 0)[25:35, 30:60].all()


def test_replacing_an_annotation_keeps_its_place():
    labels = make_labels()
    new = labels.annotations[3].copy()
    new.polygons[0].holes.append(np.array([[60.0, 12.0], [70.0, 12.0], [65.0, 16.0]]))
    edit = ReplaceAnnotations([labels.annotations[3]], [new])  # Annotation objects work too
    edit.apply(labels)
    assert list(labels.annotations) == [3, 0, "s"]
    assert len(labels.annotations[3].polygons[0].holes) == 2
    edit.revert(labels)
    assert labels == make_labels()
