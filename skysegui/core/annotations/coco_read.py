"""COCO dict -> AnnotationSet, with every problem reported and nothing unknown lost.

Handles what real exports contain: ids from 0 or strings, polygons, lists of polygons,
RLE (compressed or not; turned into polygons with holes), repeated image entries for
one file (merged), upload-path file names matched to the images on disk, and sizes
reported by a browser (the size on disk wins; coordinates are rescaled when the labels
were drawn on a proxy of another resolution). Holes written by coco_write.py (keyhole
rings with the exact rings in `skysegui_polygons`) come back as holes, unless another
program changed the segmentation since: then the segmentation wins. Extra polygons
written as annotations of their own (`skysegui_part_of`) rejoin their annotation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from skysegui.core.annotations.json_clean import clean_json
from skysegui.core.annotations.model import (
    LABELLED_KEY,
    Annotation,
    AnnotationSet,
    Category,
    Id,
    ImageRecord,
    Polygon,
)
from skysegui.core.annotations.names import find_image, index_images, label_stem, name_key
from skysegui.core.annotations.rle import RleFormatError, rle_to_mask
from skysegui.core.annotations.validate import (
    MAX_PIXELS,
    Problems,
    as_id,
    as_number_list,
    as_size,
    clamp_ring,
    crosses_itself,
    has_area,
)
from skysegui.core.annotations.vectorize import mask_to_polygons

POLYGONS_KEY = "skysegui_polygons"   # exact rings of polygons with holes
PART_KEY = "skysegui_part_of"        # [annotation id, polygon index] of an extra polygon
IMAGE_KEYS = ("id", "file_name", "width", "height")
ANNOTATION_KEYS = ("id", "image_id", "category_id", "segmentation", "iscrowd", "area", "bbox")
CATEGORY_KEYS = ("id", "name")
TOP_KEYS = ("images", "annotations", "categories")
RLE_TOLERANCE = 0.5


def parse_coco(data: Any, problems: Problems, images_dir: str | Path | None = None,
               synonyms=None) -> AnnotationSet:
    data = clean_json(data, problems.warn)  # every load can be saved again
    if not isinstance(data, dict):
        raise problems.fail("this is not a COCO file (the top level must be an object with "
                            '"images", "annotations" and "categories"); export COCO from your labeling tool')
    images = data.get("images")
    if not isinstance(images, list):
        raise problems.fail('has no "images" list, so labels cannot be matched to images; '
                            "export it again as COCO")
    if "annotations" not in data:
        # COCO without the key is a file of images only: say so rather than hand out
        # every image as an empty (no sky) mask
        problems.warn("", f'has {len(images)} image(s) but no "annotations": no labels were found; '
                          "export the labels again (with annotations) from your labeling tool")
    annotations = data.get("annotations", [])
    if not isinstance(annotations, list):
        raise problems.fail('"annotations" must be a list; export the file again as COCO')
    categories = data.get("categories", [])
    if not isinstance(categories, list):
        problems.warn("", '"categories" is not a list; ignored')
        categories = []
    labels = AnnotationSet(extra={k: v for k, v in data.items() if k not in TOP_KEYS},
                           synonyms=synonyms)
    _read_categories(labels, categories, problems)
    scales, aliases = _read_images(labels, images, problems, images_dir)
    _read_annotations(labels, annotations, problems, scales, aliases)
    return labels


def _entry_id(entry: Any, problems: Problems, where: str) -> Id | None:
    """The id of a category or image entry, or None (warned) when the entry is unusable."""
    if not isinstance(entry, dict):
        problems.warn(where, "is not an object; skipped")
        return None
    eid = as_id(entry.get("id"))
    if eid is None:
        problems.warn(where, f'"id" {entry.get("id")!r} is missing or not a number/string; skipped')
    return eid


# --- categories -------------------------------------------------------------------------
def _read_categories(labels: AnnotationSet, entries: list, problems: Problems) -> None:
    for n, entry in enumerate(entries):
        cid = _entry_id(entry, problems, f"category #{n}")
        if cid is None:
            continue
        name = entry.get("name")
        if not isinstance(name, str):
            problems.warn(f"category {cid!r}", '"name" is missing or not text; skipped')
            continue
        if cid in labels.categories:
            problems.warn(f"category {cid!r}", "appears twice; the second entry is ignored")
            continue
        extra = {k: v for k, v in entry.items() if k not in CATEGORY_KEYS}
        labels.categories[cid] = Category(cid, name, extra)


# --- images -------------------------------------------------------------------------------
def _disk_size(path: Path, problems: Problems, where: str) -> tuple[int, int] | None:
    from skysegui.core.errors import SkysegError
    from skysegui.core.imageio import probe_image

    try:
        info = probe_image(path)
    except SkysegError as exc:
        problems.warn(where, f"cannot read the size of {path.name}: {exc}")
        return None
    return int(info.width), int(info.height)


def _read_images(labels: AnnotationSet, entries: list, problems: Problems,
                 images_dir: str | Path | None):
    on_disk = index_images(images_dir)
    by_key: dict[str, Id] = {}
    scales: dict[Id, tuple[float, float]] = {}
    aliases: dict[Id, Id] = {}
    for n, entry in enumerate(entries):
        iid = _entry_id(entry, problems, f"image #{n}")
        if iid is None:
            continue
        file_name = entry.get("file_name")
        if not isinstance(file_name, str) or not file_name.strip():
            problems.warn(f"image {iid!r}", '"file_name" is missing or not text; skipped')
            continue
        where = f"image {iid!r} ({file_name})"
        path = find_image(on_disk, file_name)
        # one file: the same panorama on disk, or (not found) the same cleaned name
        key = f"path:{path}" if path is not None else f"name:{label_stem(file_name).casefold()}"
        if iid in labels.images or iid in aliases:
            problems.warn(where, "has the id of an earlier image; skipped")
            continue
        if key in by_key:
            first = by_key[key]
            problems.warn(where, f"is the same file as image {first!r}; its labels are merged into it")
            aliases[iid] = first
            if entry.get(LABELLED_KEY) is True:  # "labelled (no sky)" is merged too
                labels.images[first].extra[LABELLED_KEY] = True
            # its labels may have been drawn at another size than the first entry's
            aw, ah = as_size(entry.get("width")), as_size(entry.get("height"))
            kept = labels.images[first]
            if aw is not None and ah is not None:
                scales[iid] = (kept.width / aw, kept.height / ah)
            else:
                scales[iid] = scales[first]
            continue
        width, height = as_size(entry.get("width")), as_size(entry.get("height"))
        if images_dir is not None and path is None:
            problems.warn(where, f"no image named {name_key(file_name)!r} in {images_dir}")
        scale = (1.0, 1.0)
        if path is not None:
            real = _disk_size(path, problems, where)
            if real is not None:
                if width is not None and height is not None and (width, height) != real:
                    problems.warn(where, f"file says {width}x{height} but {path.name} is "
                                         f"{real[0]}x{real[1]}; coordinates rescaled to the real size")
                    scale = (real[0] / width, real[1] / height)
                width, height = real
        if width is None or height is None:
            problems.warn(where, '"width"/"height" missing or invalid and no image on disk to '
                                 "read them from; skipped (pass the images folder)")
            continue
        if width * height > MAX_PIXELS:
            problems.warn(where, f"{width}x{height} is larger than the program supports; skipped")
            continue
        extra = {k: v for k, v in entry.items() if k not in IMAGE_KEYS}
        labels.images[iid] = ImageRecord(iid, file_name, width, height, path, extra)
        by_key[key] = iid
        scales[iid] = scale
    return scales, aliases


# --- annotations ----------------------------------------------------------------------------
def _ring(values: Any, image: ImageRecord, scale, problems: Problems, where: str):
    flat = as_number_list(values)
    if flat is None or len(flat) % 2:
        problems.warn(where, "a polygon is not an even-length list of numbers (finite, "
                             "within 1e9 of the image); skipped")
        return None
    ring = flat.reshape(-1, 2)
    if scale != (1.0, 1.0):
        ring = ring * np.asarray(scale)
    if len(ring) < 3 or not has_area(ring):
        problems.warn(where, f"a polygon has {len(np.unique(ring, axis=0))} distinct points, "
                             "needs at least 3; skipped")
        return None
    ring, moved = clamp_ring(ring, image.width, image.height)
    if moved:
        problems.warn(where, f"points outside the {image.width}x{image.height} image were "
                             "clamped to its border")
    if crosses_itself(ring):
        problems.warn(where, "a polygon crosses itself; kept as drawn (pixels inside follow "
                             "the even-odd rule): redraw it in the editor")
    return ring


def _exact_polygons(value: Any, image, scale, problems, where) -> list[Polygon] | None:
    if not isinstance(value, list):
        return None
    polygons = []
    for item in value:
        if not isinstance(item, dict):
            return None
        outer = _ring(item.get("outer"), image, scale, problems, where)
        holes_in = item.get("holes", [])
        if outer is None or not isinstance(holes_in, list):
            return None
        holes = [h for h in (_ring(v, image, scale, problems, where) for v in holes_in)
                 if h is not None]
        polygons.append(Polygon(outer, holes))
    return polygons


def _raw_polygons(value: Any) -> list[Polygon] | None:
    """Polygons from a `skysegui_polygons` value, or None if it is malformed."""
    if not isinstance(value, list) or not value:
        return None
    polygons = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("holes", []), list):
            return None
        rings = [as_number_list(r) for r in [item.get("outer"), *item.get("holes", [])]]
        if any(r is None or len(r) % 2 or len(r) < 6 for r in rings):
            return None
        polygons.append(Polygon(rings[0].reshape(-1, 2), [r.reshape(-1, 2) for r in rings[1:]]))
    return polygons


def _exact_still_valid(polygons: list[Polygon], seg: Any) -> bool:
    """Is the segmentation still what coco_write made of these exact polygons?"""
    from skysegui.core.annotations.keyhole import keyhole_ring
    from skysegui.core.annotations.raster import polygons_to_mask
    from skysegui.core.annotations.rle import mask_to_rle

    if isinstance(seg, list):
        if len(seg) != len(polygons):
            return False
        for polygon, ring in zip(polygons, seg, strict=True):
            flat = as_number_list(ring)
            expected = (keyhole_ring(polygon) if polygon.holes else polygon.outer).reshape(-1)
            if flat is None or not np.array_equal(flat, expected):
                return False
        return True
    if isinstance(seg, dict) and isinstance(seg.get("counts"), str):
        size = seg.get("size")
        if not isinstance(size, list) or len(size) != 2 or None in (as_size(size[0]), as_size(size[1])):
            return False
        h, w = int(size[0]), int(size[1])
        if h * w > MAX_PIXELS:
            return False
        return mask_to_rle(polygons_to_mask(polygons, h, w))["counts"] == seg["counts"]
    return False


def _segmentation(entry: dict, image: ImageRecord, scale, problems: Problems, where: str):
    seg = entry.get("segmentation")
    if POLYGONS_KEY in entry:
        raw = _raw_polygons(entry[POLYGONS_KEY])
        if raw is not None and _exact_still_valid(raw, seg):
            exact = _exact_polygons(entry[POLYGONS_KEY], image, scale, problems, where)
            if exact:
                return exact
        problems.warn(where, f'"{POLYGONS_KEY}" no longer matches the segmentation (edited '
                             "by another program?); the segmentation is used")
    if isinstance(seg, dict):
        try:
            mask = rle_to_mask(seg)
        except RleFormatError as exc:
            problems.warn(where, f"RLE segmentation unusable ({exc}); skipped")
            return None
        if mask.shape != (image.height, image.width):
            mask = cv2.resize(mask, (image.width, image.height), interpolation=cv2.INTER_NEAREST)
        return mask_to_polygons(mask, tolerance=RLE_TOLERANCE, min_area=1.0)
    if isinstance(seg, list) and seg and all(isinstance(v, int | float) for v in seg):
        seg = [seg]  # one flat polygon instead of a list of them
    if not isinstance(seg, list):
        problems.warn(where, '"segmentation" is missing or neither polygons nor RLE; skipped')
        return None
    rings = [_ring(v, image, scale, problems, where) for v in seg]
    return [Polygon(r) for r in rings if r is not None]


def _read_annotations(labels: AnnotationSet, entries: list, problems: Problems,
                      scales, aliases) -> None:
    pending_ids: list[Annotation] = []
    parts: list[tuple[Annotation, Any, str]] = []
    for n, entry in enumerate(entries):
        where = f"annotation #{n}"
        if not isinstance(entry, dict):
            problems.warn(where, "is not an object; skipped")
            continue
        aid = as_id(entry.get("id"))
        if aid is not None:
            where = f"annotation {aid!r}"
        listed_id = as_id(entry.get("image_id"))
        image_id = aliases.get(listed_id, listed_id)
        image = labels.images.get(image_id) if image_id is not None else None
        if image is None:
            problems.warn(where, f'"image_id" {entry.get("image_id")!r} names no usable image; skipped')
            continue
        where += f" (image {image.file_name})"
        category_id = as_id(entry.get("category_id"))
        if category_id not in labels.categories:
            problems.warn(where, f'unknown category {entry.get("category_id")!r}; skipped')
            continue
        scale = scales.get(listed_id, scales.get(image_id, (1.0, 1.0)))
        polygons = _segmentation(entry, image, scale, problems, where)
        if not polygons:
            if polygons is not None:
                problems.warn(where, "has no usable polygon; skipped")
            continue
        iscrowd = entry.get("iscrowd", 0)
        if not isinstance(iscrowd, int) or isinstance(iscrowd, bool) or iscrowd not in (0, 1):
            problems.warn(where, f'"iscrowd" {iscrowd!r} is not 0 or 1; using 0')
            iscrowd = 0
        extra = {k: v for k, v in entry.items()
                 if k not in ANNOTATION_KEYS and k not in (POLYGONS_KEY, PART_KEY)}
        ann = Annotation(aid, image_id, category_id, polygons, iscrowd, extra)
        if PART_KEY in entry:
            parts.append((ann, entry[PART_KEY], where))
            continue
        if aid is None or aid in labels.annotations:
            problems.warn(where, "has a missing or repeated id; given a new one")
            pending_ids.append(ann)
            continue
        labels.annotations[aid] = ann
    _join_parts(labels, parts, pending_ids, problems)
    for ann in pending_ids:
        ann.id = labels.new_annotation_id()
        labels.annotations[ann.id] = ann


def _join_parts(labels: AnnotationSet, parts, standalone: list[Annotation], problems: Problems) -> None:
    """Put extra polygons written as separate annotations back into their annotation."""
    def order(item):
        ref = item[1]
        return ref[1] if isinstance(ref, list) and len(ref) == 2 and isinstance(ref[1], int) else 0

    for ann, ref, where in sorted(parts, key=order):
        parent = None
        if isinstance(ref, list) and len(ref) == 2 and as_id(ref[0]) is not None:
            parent = labels.annotations.get(as_id(ref[0]))
        if (parent is not None and parent.image_id == ann.image_id
                and parent.category_id == ann.category_id):
            parent.polygons.extend(ann.polygons)
            continue
        problems.warn(where, "belonged to an annotation that is gone or was changed elsewhere; "
                             "kept as an annotation of its own")
        if ann.id is None or ann.id in labels.annotations:
            standalone.append(ann)
        else:
            labels.annotations[ann.id] = ann
