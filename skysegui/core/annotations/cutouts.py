"""Holes in the labeling tools that have none (Label Studio, labelme, CVAT).

Written: a polygon's hole becomes a polygon of its own with the opposite label right
after it ("non-sky" cut out of a sky polygon, "sky" inside a non-sky object), and each
polygon gets a group of its own that its holes share (labelme's group_id; not in CVAT,
whose groups merge into one instance mask). Every tool that draws later shapes over
earlier ones (labelme's masks, CVAT's z order, which CVAT's documentation advises for
holes) and our own rule (non-sky is cut out of the sky) then make the same mask.
Read (labelme, CVAT): a shape with a group is a hole of the first shape of its group
when it has the opposite label and lies in it, so our own files come back exactly.
Shapes without a group (CVAT, hand-made labelme files): a non-sky polygon lying inside
a sky polygon becomes a hole of the smallest such polygon, and a sky polygon inside a
non-sky one becomes its hole when it also lies on sky; the sky mask never changes. A
cut-out that crosses the sky's outline stays a non-sky annotation.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from skysegui.core.annotations.categories import NON_SKY, SKY
from skysegui.core.annotations.model import Annotation, AnnotationSet, Id, Polygon

GROUP_KEY = "skysegui_group"  # an imported shape's group (labelme group_id), until merged
_SUBPIXEL_BITS = 3
_INSIDE = 0.99  # share of a ring's pixels that must lie in the host polygon


@dataclass
class Shape:
    """One hole-less polygon as a tool stores it."""

    label: str
    ring: np.ndarray
    group: int | None = None  # one per polygon, shared with its holes
    hole: bool = False


def image_shapes(labels: AnnotationSet, image_id: Id, warnings: list[str] | None = None) -> list[Shape]:
    """The image's polygons as hole-less shapes: sky first, then non-sky, then the rest,
    each outer ring followed by its holes."""
    sky_cid, cut_cid = labels.category_for_role(SKY), labels.category_for_role(NON_SKY)
    sky = labels.categories[sky_cid].name if sky_cid is not None else "sky"
    cut = labels.categories[cut_cid].name if cut_cid is not None else "non-sky"
    shapes: list[Shape] = []
    group = 0
    for role in (SKY, NON_SKY, 0):
        for ann in labels.annotations_for(image_id):
            if labels.role_of(ann.category_id) != role:
                continue
            label = labels.categories[ann.category_id].name
            for polygon in ann.polygons:
                group += 1
                shapes.append(Shape(label, polygon.outer, group))
                if not polygon.holes:
                    continue
                if role == 0:
                    if warnings is not None:
                        warnings.append(f"{labels.images[image_id].file_name}: the holes of a {label!r} "
                                        "polygon are left out (it is neither sky nor non-sky)")
                    continue
                opposite = cut if role == SKY else sky
                shapes.extend(Shape(opposite, hole, group, True) for hole in polygon.holes)
    return shapes


def _area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y)))


def _fill(rings: list[np.ndarray], origin: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Pixels (centres) inside the rings, in a window of `size` (h, w) at `origin`."""
    canvas = np.zeros(size, np.uint8)
    scale = 1 << _SUBPIXEL_BITS
    pts = [np.round((r - origin - 0.5) * scale).astype(np.int32) for r in rings if len(r) >= 3]
    if pts:
        cv2.fillPoly(canvas, pts, 1, lineType=cv2.LINE_8, shift=_SUBPIXEL_BITS)
    return canvas


def _lies_in(ring: np.ndarray, host: Polygon) -> bool:
    """Does `ring` lie in the host's region (inside its outer ring, not in its holes)?"""
    lo, hi = ring.min(axis=0), ring.max(axis=0)
    if np.any(lo < host.outer.min(axis=0) - 1e-6) or np.any(hi > host.outer.max(axis=0) + 1e-6):
        return False
    origin = np.floor(lo)
    size = (int(np.ceil(hi[1] - origin[1])) + 1, int(np.ceil(hi[0] - origin[0])) + 1)
    inner = _fill([ring], origin, size).astype(bool)
    count = int(inner.sum())
    if count == 0:
        return False
    region = _fill([host.outer], origin, size).astype(bool)
    if host.holes:
        region &= ~_fill(host.holes, origin, size).astype(bool)
    return int((inner & region).sum()) >= _INSIDE * count


def holes_from_cutouts(labels: AnnotationSet) -> int:
    """Turn opposite-label shapes back into holes (see the module text); returns how many.
    Shapes read with a group (GROUP_KEY) are holes of the first shape of their group only;
    the others follow the containment rule. Annotations left without polygons go."""
    moved = 0
    for image_id in list(labels.images):
        anns = labels.annotations_for(image_id)
        grouped = [a for a in anns if GROUP_KEY in a.extra]
        moved += _merge_groups(labels, grouped)
        free = [a for a in anns if GROUP_KEY not in a.extra and a.polygons]
        sky = [a for a in anns if labels.role_of(a.category_id) == SKY and a.polygons]
        cut = [a for a in free if labels.role_of(a.category_id) == NON_SKY]
        moved += _merge(cut, sky)
        # a sky polygon in a non-sky one is its hole only where there is sky beneath
        free_sky = [a for a in free if labels.role_of(a.category_id) == SKY]
        objects = [a for a in anns if labels.role_of(a.category_id) == NON_SKY and a.polygons]
        moved += _merge(free_sky, objects, on_sky=sky)
        for ann in anns:
            ann.extra.pop(GROUP_KEY, None)
            if not ann.polygons:
                del labels.annotations[ann.id]
    return moved


def _merge_groups(labels: AnnotationSet, grouped: list[Annotation]) -> int:
    moved = 0
    groups: dict = {}
    for ann in grouped:
        groups.setdefault(ann.extra[GROUP_KEY], []).append(ann)
    for members in groups.values():
        host = members[0]
        role = labels.role_of(host.category_id)
        if role not in (SKY, NON_SKY) or len(host.polygons) != 1:
            continue
        opposite = NON_SKY if role == SKY else SKY
        for ann in members[1:]:
            if labels.role_of(ann.category_id) != opposite:
                continue
            for polygon in list(ann.polygons):
                if not polygon.holes and _lies_in(polygon.outer, host.polygons[0]):
                    host.polygons[0].holes.append(polygon.outer)
                    ann.polygons = [p for p in ann.polygons if p is not polygon]
                    moved += 1
    return moved


def _on(polygon: Polygon, anns: list[Annotation]) -> bool:
    return any(_lies_in(polygon.outer, q) for a in anns for q in a.polygons if q is not polygon)


def _merge(cut_anns: list[Annotation], host_anns: list[Annotation],
           on_sky: list[Annotation] | None = None) -> int:
    cuts = [(ann, p) for ann in cut_anns for p in ann.polygons if not p.holes]
    cuts.sort(key=lambda item: -_area(item[1].outer))  # big holes first: islands come later
    moved = 0
    for ann, polygon in cuts:
        hosts = [q for host in host_anns for q in host.polygons if q is not polygon
                 and _lies_in(polygon.outer, q)]
        if not hosts or (on_sky is not None and not _on(polygon, on_sky)):
            continue
        min(hosts, key=lambda q: _area(q.outer)).holes.append(polygon.outer)
        ann.polygons = [p for p in ann.polygons if p is not polygon]
        moved += 1
    return moved
