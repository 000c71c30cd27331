"""AnnotationSet -> COCO dict and file (atomic, with .bak), readable by pycocotools and
Label Studio.

COCO polygons cannot have holes. A polygon with holes is written as one "keyhole" ring
(keyhole.py): outer ring and holes joined by zero-width bridges, which pycocotools fills
to exactly outer minus holes and Label Studio shows as one polygon. The exact rings are
kept beside it in `"skysegui_polygons"`, so we get the holes back on load. Where parity
would not give our pixels (overlapping holes), the annotation is written as an RLE
instead (pycocotools reads it exactly; Label Studio's COCO importer cannot read RLE).
An annotation with several polygons (sky plus islands) is written as one COCO annotation
per polygon, the extra ones marked `"skysegui_part_of": [id, index]` and merged back on
load: Label Studio's COCO importer reads only the first polygon of an annotation, and
for pycocotools the union of same-category annotations is the same sky.
Unknown keys of the file, images, categories and annotations are written back as read.
Area is the polygon (shoelace) area, outer minus holes, as Label Studio's export writes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from skysegui.core.annotations.coco_read import PART_KEY, POLYGONS_KEY
from skysegui.core.annotations.json_clean import json_safe
from skysegui.core.annotations.keyhole import keyhole_matches, keyhole_ring
from skysegui.core.annotations.model import Annotation, AnnotationSet, Polygon
from skysegui.core.annotations.raster import polygons_to_mask
from skysegui.core.annotations.rle import mask_to_rle
from skysegui.core.atomicio import atomic_write
from skysegui.core.errors import SaveError


def _flat(ring: np.ndarray) -> list[float]:
    return ring.astype(np.float64, copy=False).reshape(-1).tolist()


def _bbox(rings: list[np.ndarray]) -> list[float]:
    pts = np.concatenate(rings, axis=0)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    return [float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])]


def _ring_area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    twice = np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1]) + x[-1] * y[0] - x[0] * y[-1]
    return 0.5 * abs(float(twice))


def _area(polygons: list[Polygon]) -> float:
    """Polygon area (shoelace, outer minus holes), as Label Studio's COCO export computes it."""
    return sum(_ring_area(p.outer) - sum(_ring_area(h) for h in p.holes) for p in polygons)


def _entry(ann: Annotation, segmentation: Any, area: float, bbox: list[float],
           extra: dict | None = None) -> dict[str, Any]:
    out = {"id": ann.id, "image_id": ann.image_id, "category_id": ann.category_id,
           "segmentation": segmentation, "area": area, "bbox": bbox, "iscrowd": ann.iscrowd}
    out.update(ann.extra)
    if extra:
        out.update(extra)
    return out


def _annotation_entry(ann: Annotation, h: int, w: int) -> dict[str, Any]:
    bbox = _bbox([p.outer for p in ann.polygons])
    area = _area(ann.polygons)
    if not any(p.holes for p in ann.polygons):
        return _entry(ann, [_flat(p.outer) for p in ann.polygons], area, bbox)
    exact = {POLYGONS_KEY: [{"outer": _flat(p.outer), "holes": [_flat(r) for r in p.holes]}
                            for p in ann.polygons]}
    rings = [keyhole_ring(p) if p.holes else p.outer for p in ann.polygons]
    if all(keyhole_matches(p, r, h, w) for p, r in zip(ann.polygons, rings, strict=True) if p.holes):
        return _entry(ann, [_flat(r) for r in rings], area, bbox, exact)
    return _entry(ann, mask_to_rle(polygons_to_mask(ann.polygons, h, w)), area, bbox, exact)


def coco_dict(labels: AnnotationSet) -> dict[str, Any]:
    """The COCO structure of `labels` (JSON-ready)."""
    images = []
    for image in labels.images.values():
        entry = {"id": image.id, "file_name": image.file_name,
                 "width": int(image.width), "height": int(image.height)}
        entry.update(image.extra)
        images.append(entry)
    categories = []
    for category in labels.categories.values():
        entry = {"id": category.id, "name": category.name}
        entry.update(category.extra)
        categories.append(entry)
    annotations: list[dict[str, Any]] = []
    next_id = labels.new_annotation_id()
    for ann in labels.annotations.values():
        image = labels.images.get(ann.image_id)
        if image is None or not ann.polygons:
            continue
        h, w = int(image.height), int(image.width)
        first = Annotation(ann.id, ann.image_id, ann.category_id, ann.polygons[:1], ann.iscrowd, ann.extra)
        annotations.append(_annotation_entry(first, h, w))
        for index, polygon in enumerate(ann.polygons[1:], start=1):
            part = Annotation(next_id, ann.image_id, ann.category_id, [polygon], ann.iscrowd)
            next_id += 1
            entry = _annotation_entry(part, h, w)
            entry[PART_KEY] = [ann.id, index]
            annotations.append(entry)
    out: dict[str, Any] = {}
    out.update(labels.extra)
    out["images"] = images
    out["annotations"] = annotations
    out["categories"] = categories
    return out


def save_coco(labels: AnnotationSet, path: str | Path, keep_backup: bool = True) -> None:
    """Write `labels` as COCO JSON atomically; the previous file is kept as <name>.bak."""
    try:
        # json_safe: a value no UTF-8 JSON can hold (a lone surrogate, NaN) never fails a save
        text = json.dumps(json_safe(coco_dict(labels)), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise SaveError(f"labels cannot be written as JSON ({exc}); nothing was saved") from exc
    with atomic_write(path, keep_backup=keep_backup) as tmp:
        tmp.write_text(text, encoding="utf-8")
