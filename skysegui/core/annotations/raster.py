"""Polygons to masks with exactly pycocotools' pixels (what the training pipeline saw).

A polygon's pixels are pycocotools' rasterisation of its outer ring minus the union of
its holes; several polygons are a union. Class maps follow the pipeline report:
0 background, 1 sky, 2 non-sky object (drawn over sky); the sky mask cuts class 2 out.
Unsure regions (category role UNSURE) are in no class; the scored sky mask marks them
IGNORE (255), the value the shared ground truth uses for what is neither trained on nor
scored.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np
from pycocotools import mask as coco_mask

from skysegui.core.annotations.categories import NON_SKY, SKY, UNSURE
from skysegui.core.annotations.model import AnnotationSet, Id, Polygon
from skysegui.core.annotations.rle import counts_from_string
from skysegui.core.metrics import IGNORE

# pycocotools decodes column-major (H x W in Fortran order), which is a C-ordered W x H
# array seen through .T. Set operations run on RLEs (holes are subtracted by intersecting
# with the complement), one decode gives the W x H array, and one cv2.transpose (far
# faster than a numpy order copy) makes it H x W.


def _rings_rle(rings: list[np.ndarray], height: int, width: int):
    """Union of closed rings as one RLE, or None (rings of < 3 points ignored)."""
    flat = [r.reshape(-1).tolist() for r in rings if len(r) >= 3]
    if not flat:
        return None
    rles = coco_mask.frPyObjects(flat, height, width)
    return coco_mask.merge(rles) if len(rles) > 1 else rles[0]


def _rle_not(rle, height: int, width: int):
    """Complement of an RLE (pycocotools has union and intersection only)."""
    counts = counts_from_string(rle["counts"].decode("ascii"))
    counts = counts[1:] if counts and counts[0] == 0 else [0, *counts]
    return coco_mask.frPyObjects({"size": [height, width], "counts": counts}, height, width)


def _polygons_rle(polygons: list[Polygon], height: int, width: int):
    plain = [p.outer for p in polygons if not p.holes]
    parts = [] if not plain else [_rings_rle(plain, height, width)]
    for polygon in polygons:
        if not polygon.holes:
            continue
        outer = _rings_rle([polygon.outer], height, width)
        holes = _rings_rle(polygon.holes, height, width)
        if outer is None:
            continue
        if holes is not None:
            outer = coco_mask.merge([outer, _rle_not(holes, height, width)], intersect=True)
        parts.append(outer)
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    return coco_mask.merge(parts) if len(parts) > 1 else parts[0]


def _polygons_mask_t(polygons: list[Polygon], height: int, width: int) -> np.ndarray:
    """W x H C-ordered mask of the polygons."""
    rle = _polygons_rle(polygons, height, width)
    if rle is None:
        return np.zeros((width, height), dtype=np.uint8)
    return coco_mask.decode(rle).T


def _untranspose(mask_t: np.ndarray) -> np.ndarray:
    if mask_t.size == 0:
        return np.ascontiguousarray(mask_t.T)
    return cv2.transpose(np.ascontiguousarray(mask_t))


def polygons_to_mask(polygons: Polygon | Iterable[Polygon], height: int, width: int) -> np.ndarray:
    """uint8 H x W mask, 1 inside: union over polygons of (outer minus holes)."""
    if isinstance(polygons, Polygon):
        polygons = [polygons]
    return _untranspose(_polygons_mask_t(list(polygons), int(height), int(width)))


def class_map(labels: AnnotationSet, image_id: Id) -> np.ndarray:
    """uint8 H x W: 0 background, 1 sky, 2 non-sky object (drawn over the sky)."""
    image = labels.images[image_id]
    h, w = int(image.height), int(image.width)
    sky: list[Polygon] = []
    objects: list[Polygon] = []
    for ann in labels.annotations_for(image_id):
        role = labels.role_of(ann.category_id)
        if role == SKY:
            sky.extend(ann.polygons)
        elif role == NON_SKY:
            objects.extend(ann.polygons)
    out = _polygons_mask_t(sky, h, w)
    if objects:
        out = np.maximum(out, _polygons_mask_t(objects, h, w) * np.uint8(NON_SKY))
    return _untranspose(out)


def sky_mask(labels: AnnotationSet, image_id: Id) -> np.ndarray:
    """uint8 H x W, 1 where sky: sky polygons minus non-sky objects."""
    return (class_map(labels, image_id) == SKY).astype(np.uint8)


def scored_sky_mask(labels: AnnotationSet, image_id: Id) -> np.ndarray:
    """uint8 H x W for training and scoring: 1 sky, 0 not sky, IGNORE where the labeller
    marked the region unsure (over sky and objects alike)."""
    image = labels.images[image_id]
    h, w = int(image.height), int(image.width)
    unsure = [p for ann in labels.annotations_for(image_id)
              if labels.role_of(ann.category_id) == UNSURE for p in ann.polygons]
    mask = sky_mask(labels, image_id)
    if unsure:
        mask[_untranspose(_polygons_mask_t(unsure, h, w)) != 0] = IGNORE
    return mask


def region_mask(labels: AnnotationSet, annotation_ids: Iterable[Id]) -> np.ndarray:
    """Union of the given annotations' polygons (all on one image) as a uint8 mask."""
    annotation_ids = list(annotation_ids)
    if not annotation_ids:
        raise ValueError("region_mask needs at least one annotation")
    image = labels.images[labels.annotations[annotation_ids[0]].image_id]
    polygons = [p for a in annotation_ids for p in labels.annotations[a].polygons]
    return polygons_to_mask(polygons, int(image.height), int(image.width))
