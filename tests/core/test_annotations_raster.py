"""Polygons to masks: exactly pycocotools' pixels; holes subtract; classes by name."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from skysegui.core.annotations import (
    NON_SKY,
    SKY,
    Annotation,
    AnnotationSet,
    Category,
    ImageRecord,
    Polygon,
    class_map,
    polygons_to_mask,
    sky_mask,
)


def _coco_pixels(rings, h, w):
    rles = coco_mask.frPyObjects([np.asarray(r, float).reshape(-1).tolist() for r in rings], h, w)
    return coco_mask.decode(coco_mask.merge(rles))


@pytest.mark.parametrize("seed", range(5))
def test_same_pixels_as_pycocotools(seed):
    rng = np.random.default_rng(seed)
    h, w = 37, 61
    rings = [rng.uniform(-2, [w + 2, h + 2], size=(int(rng.integers(3, 12)), 2)) for _ in range(3)]
    rings = [np.clip(r, 0, [w, h]) for r in rings]
    ours = polygons_to_mask([Polygon(r) for r in rings], h, w)
    assert ours.dtype == np.uint8 and ours.shape == (h, w) and ours.flags.c_contiguous
    np.testing.assert_array_equal(ours, _coco_pixels(rings, h, w))


def test_holes_subtract_and_islands_add():
    outer = [[2, 2], [18, 2], [18, 18], [2, 18]]
    hole = [[6, 6], [14, 6], [14, 14], [6, 14]]
    island = [[9, 9], [11, 9], [11, 11], [9, 11]]
    mask = polygons_to_mask([Polygon(outer, [hole]), Polygon(island)], 20, 20)
    expected = _coco_pixels([outer], 20, 20) & (1 - _coco_pixels([hole], 20, 20))
    expected |= _coco_pixels([island], 20, 20)
    np.testing.assert_array_equal(mask, expected)
    assert mask[10, 10] == 1 and mask[7, 7] == 0 and mask[3, 3] == 1


def test_class_map_uses_category_names_not_ids():
    # Label Studio without category=: "non-sky" = 0, "sky" = 1 (alphabetical)
    labels = AnnotationSet()
    labels.categories = {0: Category(0, "non-sky"), 1: Category(1, "Sky")}
    labels.images[0] = ImageRecord(0, "a.exr", 16, 8)
    labels.annotations[0] = Annotation(0, 0, 1, [Polygon([[0, 0], [16, 0], [16, 5], [0, 5]])])
    labels.annotations[1] = Annotation(1, 0, 0, [Polygon([[4, 1], [8, 1], [8, 3], [4, 3]])])
    classes = class_map(labels, 0)
    assert classes[0, 0] == SKY and classes[2, 5] == NON_SKY and classes[6, 0] == 0
    sky = sky_mask(labels, 0)
    assert sky[0, 0] == 1 and sky[2, 5] == 0 and sky.sum() == 16 * 5 - 4 * 2


def test_synonyms_are_configurable():
    labels = AnnotationSet(synonyms={SKY: ["Himmelbereich"], NON_SKY: ["Kran"]})
    labels.categories = {5: Category(5, "himmelbereich"), 6: Category(6, "KRAN"), 7: Category(7, "tree")}
    assert labels.role_of(5) == SKY and labels.role_of(6) == NON_SKY and labels.role_of(7) == 0
    assert AnnotationSet().role_of(5) == 0
    labels2 = AnnotationSet()
    labels2.categories = {3: Category(3, "Non Sky"), 4: Category(4, "nonsky"), 9: Category(9, "object")}
    assert {labels2.role_of(c) for c in (3, 4, 9)} == {NON_SKY}
