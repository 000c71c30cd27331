"""Randomly damaged label files: only AnnotationError, never a crash or a hang."""

from __future__ import annotations

import copy
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skysegui.core.annotations import (
    Annotation,
    AnnotationSet,
    Category,
    ImageRecord,
    Polygon,
    coco_dict,
    labels_from_data,
    load_labels,
    sky_mask,
)
from skysegui.core.errors import AnnotationError

BASE = {
    "info": {"year": 2026},
    "images": [{"id": 0, "file_name": "/data/upload/1/cb0618f6-a.jpg", "width": 64, "height": 32},
               {"id": 1, "file_name": "b.exr", "width": 64, "height": 32}],
    "categories": [{"id": 0, "name": "non-sky"}, {"id": 1, "name": "sky"}],
    "annotations": [
        {"id": 0, "image_id": 0, "category_id": 1, "iscrowd": 0,
         "segmentation": [[0, 0, 64, 0, 64, 12, 0, 14]]},
        {"id": 1, "image_id": 0, "category_id": 0, "iscrowd": 0,
         "segmentation": [[5, 2, 9, 2, 9, 6]]},
        {"id": 2, "image_id": 1, "category_id": 1, "iscrowd": 1,
         "segmentation": {"size": [32, 64], "counts": [10, 20, 2018]}},
    ],
}

# one annotation with a hole, as our writer stores it (keyhole ring + exact rings)
_holed = AnnotationSet()
_holed.categories = {1: Category(1, "sky")}
_holed.images = {1: ImageRecord(1, "b.exr", 64, 32)}
_holed.annotations = {9: Annotation(9, 1, 1, [Polygon([[0, 0], [64, 0], [64, 20], [0, 20]],
                                                      [[[10, 4], [30, 4], [30, 16]]])])}
BASE["annotations"].append(coco_dict(_holed)["annotations"][0])

junk = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


PATHS = list(_paths(BASE))


def _mutate(data, path, action, value):
    data = copy.deepcopy(data)
    if not path:
        return value
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    if action == "delete":
        del parent[key]
    elif action == "replace":
        parent[key] = value
    elif isinstance(parent, list):
        parent.insert(key, value)
    else:
        parent[f"{key}_x"] = value
    return data


def _use(result):
    for image_id in result.labels.images:
        sky_mask(result.labels, image_id)


@settings(max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(PATHS), st.sampled_from(["delete", "replace", "insert"]), junk),
                min_size=1, max_size=4))
def test_mutated_coco_only_raises_annotation_error(mutations):
    data = BASE
    for path, action, value in mutations:
        try:
            data = _mutate(data, path, action, value)
        except (KeyError, IndexError, TypeError):
            continue
    try:
        _use(labels_from_data(data, "fuzz.json"))
    except AnnotationError:
        pass


def test_the_unmutated_base_loads_cleanly():
    result = labels_from_data(BASE, "base.json")
    assert result.warnings == []
    assert len(result.labels.annotations) == 4
    assert result.labels.annotations[9].polygons[0].holes


@settings(max_examples=60, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 2000), st.binary(max_size=8))
def test_truncated_or_corrupted_bytes(tmp_path, cut, noise):
    text = json.dumps(BASE).encode()
    path = tmp_path / "cut.json"
    path.write_bytes(text[:cut] + noise)
    try:
        _use(load_labels(path))
    except AnnotationError:
        pass
