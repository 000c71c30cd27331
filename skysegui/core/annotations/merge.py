"""Merge two versions of one label file image by image (three-way, against the version
both started from).

Two windows (or a window and Label Studio exporting into the project) may each change
the labels. For every image: changed on one side only -> that side's labels; changed on
both sides to the same result -> either; changed on both sides differently -> a
conflict the caller asks the user about. An image is compared by a digest of what it
holds (its annotations' categories, polygons and kept fields, its own kept fields), not by
ids, which a save may renumber.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from skysegui.core.annotations.json_clean import json_safe
from skysegui.core.annotations.model import Annotation, AnnotationSet, Category, ImageRecord
from skysegui.core.annotations.names import file_key, label_stem


def image_key(record: ImageRecord) -> str:
    """What identifies an image across two loads of one project."""
    if record.path is not None:
        return file_key(record.path.name)
    return label_stem(record.file_name).casefold()


def _annotation_text(labels: AnnotationSet, ann: Annotation) -> str:
    category = labels.categories.get(ann.category_id)
    return json.dumps(json_safe({
        "category": category.name if category is not None else repr(ann.category_id),
        "iscrowd": ann.iscrowd,
        "polygons": [[p.outer.tolist(), [h.tolist() for h in p.holes]] for p in ann.polygons],
        "extra": copy.deepcopy(ann.extra),
    }), sort_keys=True, default=str)


def image_digests(labels: AnnotationSet) -> dict[str, str]:
    """{image_key: digest of what the image holds} for every image of `labels`."""
    by_image: dict = {iid: [] for iid in labels.images}
    for ann in labels.annotations.values():
        if ann.image_id in by_image:
            by_image[ann.image_id].append(_annotation_text(labels, ann))
    out = {}
    for iid, record in labels.images.items():
        text = json.dumps({"extra": json_safe(copy.deepcopy(record.extra)),
                           "annotations": sorted(by_image[iid])}, sort_keys=True, default=str)
        out[image_key(record)] = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()
    return out


@dataclass
class MergeResult:
    taken: list[str] = field(default_factory=list)  # images whose labels came from disk
    kept: list[str] = field(default_factory=list)  # images only we changed
    conflicts: dict[str, str] = field(default_factory=dict)  # image -> "mine" | "theirs"


def conflicts(base: dict[str, str], mine: AnnotationSet, theirs: AnnotationSet) -> list[str]:
    """Names of the images both sides changed, differently."""
    m, t = image_digests(mine), image_digests(theirs)
    return sorted(k for k in t if k in m and t[k] != m[k] and m[k] != base.get(k) and t[k] != base.get(k))


def merge_into(base: dict[str, str], mine: AnnotationSet, theirs: AnnotationSet,
               choose: Callable[[str], str]) -> MergeResult:
    """Bring `theirs` into `mine` (in place), image by image, against `base` (image_digests
    of the version both started from). choose(image_key) -> "mine" | "theirs" decides each
    conflict. Unknown top-level fields and categories only `theirs` has are added."""
    result = MergeResult()
    m, t = image_digests(mine), image_digests(theirs)
    theirs_by_key = {image_key(r): r for r in theirs.images.values()}
    for key, digest in t.items():
        if m.get(key) == digest:
            continue
        b = base.get(key)
        if key in m and digest == b:
            result.kept.append(key)  # only we changed it
            continue
        if key in m and m[key] != b:
            answer = choose(key)
            result.conflicts[key] = answer
            if answer != "theirs":
                continue
        adopt_image(mine, theirs, theirs_by_key[key])
        result.taken.append(key)
    for name, value in theirs.extra.items():
        mine.extra.setdefault(name, copy.deepcopy(value))
    return result


def _category_in(mine: AnnotationSet, category: Category | None, fallback) -> object:
    if category is None:
        return fallback
    for cid, own in mine.categories.items():
        if own.name == category.name:
            return cid
    cid = category.id if category.id not in mine.categories else mine.new_id(mine.categories)
    mine.categories[cid] = Category(cid, category.name, copy.deepcopy(category.extra))
    return cid


def adopt_image(mine: AnnotationSet, theirs: AnnotationSet, record: ImageRecord) -> None:
    """Replace the labels of `record`'s image in `mine` by those `theirs` holds."""
    key = image_key(record)
    own = next((r for r in mine.images.values() if image_key(r) == key), None)
    if own is None:
        iid = record.id if record.id not in mine.images else mine.new_id(mine.images)
        own = ImageRecord(iid, record.file_name, record.width, record.height, record.path)
        mine.images[iid] = own
    own.extra = copy.deepcopy(record.extra)
    for aid in [a.id for a in mine.annotations.values() if a.image_id == own.id]:
        del mine.annotations[aid]
    for ann in theirs.annotations.values():
        if ann.image_id != record.id:
            continue
        new = ann.copy()
        new.id = mine.new_annotation_id()
        new.image_id = own.id
        new.category_id = _category_in(mine, theirs.categories.get(ann.category_id), ann.category_id)
        mine.annotations[new.id] = new
