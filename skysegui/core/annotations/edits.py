"""Undoable edits: pure operations on an AnnotationSet, each with its exact inverse.

Every edit has apply(labels) and revert(labels); revert after apply restores the model
exactly (same arrays, same dict order), so the GUI can wrap them in QUndoCommands for
unlimited undo and redo. Arrays are replaced, never changed in place, so an old array
an edit keeps for its revert is never touched by later edits.
Vertices are addressed by (annotation id, polygon index, ring index, vertex index),
ring 0 being the outer ring and ring k the hole k-1.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from skysegui.core.annotations.categories import NON_SKY, ROLE_NAMES, SKY
from skysegui.core.annotations.model import LABELLED_KEY, Annotation, AnnotationSet, Id, Polygon
from skysegui.core.annotations.raster import polygons_to_mask, region_mask
from skysegui.core.annotations.vectorize import mask_to_polygons
from skysegui.core.errors import EditError

MIN_VERTICES = 3
EDIT_TOLERANCE = 0.5  # px: brush and boolean edits re-trace the region this finely
#: no vertex lies further from the image than this (px): NaN, Inf and absurd coordinates
#: are refused before pycocotools (which hangs or crashes on them) ever sees them
MAX_COORDINATE = 1e7


def _finite_point(point) -> np.ndarray:
    try:
        values = np.asarray(point, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise EditError(f"a vertex must be two numbers, not {point!r}") from exc
    if values.shape != (2,):
        raise EditError(f"a vertex must be two numbers, not {point!r}")
    _check_finite(values)
    return values


def _check_finite(values: np.ndarray) -> None:
    if not np.all(np.isfinite(values)):
        raise EditError("a vertex is not a finite number (NaN or infinity); the edit was refused")
    if values.size and float(np.abs(values).max()) > MAX_COORDINATE:
        raise EditError(f"a vertex lies more than {MAX_COORDINATE:g} px from the image; the edit was refused")


def _check_polygons(polygons) -> None:
    for polygon in polygons:
        for ring in (polygon.outer, *polygon.holes):
            _check_finite(np.asarray(ring, dtype=np.float64))


# --- helpers ------------------------------------------------------------------------------
def _annotation(labels: AnnotationSet, annotation_id: Id) -> Annotation:
    try:
        return labels.annotations[annotation_id]
    except KeyError:
        raise EditError(f"annotation {annotation_id!r} does not exist (was it deleted?)") from None


def _polygon(labels: AnnotationSet, annotation_id: Id, polygon: int) -> Polygon:
    ann = _annotation(labels, annotation_id)
    if not 0 <= polygon < len(ann.polygons):
        raise EditError(f"annotation {annotation_id!r} has no polygon {polygon}")
    return ann.polygons[polygon]


def _get_ring(labels: AnnotationSet, annotation_id: Id, polygon: int, ring: int) -> np.ndarray:
    poly = _polygon(labels, annotation_id, polygon)
    if not 0 <= ring <= len(poly.holes):
        raise EditError(f"polygon {polygon} of annotation {annotation_id!r} has no ring {ring}")
    return poly.outer if ring == 0 else poly.holes[ring - 1]


def _set_ring(labels: AnnotationSet, annotation_id: Id, polygon: int, ring: int,
              values: np.ndarray) -> None:
    poly = _polygon(labels, annotation_id, polygon)
    if ring == 0:
        poly.outer = values
    else:
        poly.holes[ring - 1] = values


def _remove(table: dict, key) -> tuple[int, object]:
    """Remove `key`, returning its position and value (for re-insertion at that place)."""
    position = list(table).index(key)
    return position, table.pop(key)


def _insert_at(table: dict, key, value, position: int) -> None:
    items = list(table.items())
    items.insert(position, (key, value))
    table.clear()
    table.update(items)


# --- vertex edits ---------------------------------------------------------------------------
@dataclass
class AddVertex:
    """Insert `point` so that it becomes vertex `vertex` of the ring."""

    annotation_id: Id
    polygon: int
    ring: int
    vertex: int
    point: tuple[float, float]
    text: str = "Add vertex"

    def apply(self, labels: AnnotationSet) -> None:
        ring = _get_ring(labels, self.annotation_id, self.polygon, self.ring)
        if not 0 <= self.vertex <= len(ring):
            raise EditError(f"cannot insert a vertex at position {self.vertex} of a {len(ring)}-vertex ring")
        point = _finite_point(self.point)
        new = np.insert(ring, self.vertex, point.astype(ring.dtype), axis=0)
        _set_ring(labels, self.annotation_id, self.polygon, self.ring, new)

    def revert(self, labels: AnnotationSet) -> None:
        ring = _get_ring(labels, self.annotation_id, self.polygon, self.ring)
        _set_ring(labels, self.annotation_id, self.polygon, self.ring, np.delete(ring, self.vertex, axis=0))


@dataclass
class MoveVertex:
    annotation_id: Id
    polygon: int
    ring: int
    vertex: int
    point: tuple[float, float]
    old: np.ndarray | None = field(default=None, repr=False)
    text: str = "Move vertex"

    def _move(self, labels: AnnotationSet, to) -> np.ndarray:
        ring = _get_ring(labels, self.annotation_id, self.polygon, self.ring)
        if not 0 <= self.vertex < len(ring):
            raise EditError(f"vertex {self.vertex} does not exist in a {len(ring)}-vertex ring")
        before = ring[self.vertex].copy()
        new = ring.copy()
        new[self.vertex] = to
        _set_ring(labels, self.annotation_id, self.polygon, self.ring, new)
        return before

    def apply(self, labels: AnnotationSet) -> None:
        self.old = self._move(labels, _finite_point(self.point))

    def revert(self, labels: AnnotationSet) -> None:
        self._move(labels, self.old)


@dataclass
class DeleteVertex:
    annotation_id: Id
    polygon: int
    ring: int
    vertex: int
    old: np.ndarray | None = field(default=None, repr=False)
    text: str = "Delete vertex"

    def apply(self, labels: AnnotationSet) -> None:
        ring = _get_ring(labels, self.annotation_id, self.polygon, self.ring)
        if len(ring) <= MIN_VERTICES:
            raise EditError(
                f"a polygon needs at least {MIN_VERTICES} vertices; delete the whole polygon instead"
            )
        if not 0 <= self.vertex < len(ring):
            raise EditError(f"vertex {self.vertex} does not exist in a {len(ring)}-vertex ring")
        self.old = ring[self.vertex].copy()
        _set_ring(labels, self.annotation_id, self.polygon, self.ring, np.delete(ring, self.vertex, axis=0))

    def revert(self, labels: AnnotationSet) -> None:
        ring = _get_ring(labels, self.annotation_id, self.polygon, self.ring)
        _set_ring(labels, self.annotation_id, self.polygon, self.ring,
                  np.insert(ring, self.vertex, self.old, axis=0))


# --- annotation edits -----------------------------------------------------------------------
@dataclass
class AddAnnotation:
    annotation: Annotation
    text: str = "Add polygon"

    def apply(self, labels: AnnotationSet) -> None:
        ann = self.annotation
        if ann.id in labels.annotations:
            raise EditError(f"annotation id {ann.id!r} is already used")
        if ann.image_id not in labels.images:
            raise EditError(f"image {ann.image_id!r} does not exist")
        if ann.category_id not in labels.categories:
            raise EditError(f"category {ann.category_id!r} does not exist; add it first")
        _check_polygons(ann.polygons)
        labels.annotations[ann.id] = ann.copy()

    def revert(self, labels: AnnotationSet) -> None:
        labels.annotations.pop(self.annotation.id)


@dataclass
class DeleteAnnotation:
    annotation_id: Id
    removed: tuple[int, Annotation] | None = field(default=None, repr=False)
    text: str = "Delete polygon"

    def apply(self, labels: AnnotationSet) -> None:
        _annotation(labels, self.annotation_id)
        self.removed = _remove(labels.annotations, self.annotation_id)

    def revert(self, labels: AnnotationSet) -> None:
        position, ann = self.removed
        _insert_at(labels.annotations, self.annotation_id, ann, position)


@dataclass
class MoveAnnotation:
    """Translate an annotation (or only its polygon `polygon`) by (dx, dy) pixels."""

    annotation_id: Id
    dx: float
    dy: float
    polygon: int | None = None
    old: list[Polygon] | None = field(default=None, repr=False)
    text: str = "Move polygon"

    def apply(self, labels: AnnotationSet) -> None:
        ann = _annotation(labels, self.annotation_id)
        if self.polygon is not None:
            _polygon(labels, self.annotation_id, self.polygon)
        offset = _finite_point((self.dx, self.dy))
        moved = [p for i, p in enumerate(ann.polygons) if self.polygon is None or i == self.polygon]
        _check_polygons([Polygon(p.outer + offset, [h + offset for h in p.holes]) for p in moved])
        self.old = ann.polygons
        ann.polygons = [
            Polygon(p.outer + offset, [h + offset for h in p.holes])
            if self.polygon is None or i == self.polygon else p
            for i, p in enumerate(ann.polygons)
        ]

    def revert(self, labels: AnnotationSet) -> None:
        _annotation(labels, self.annotation_id).polygons = self.old


@dataclass
class SetCategory:
    annotation_id: Id
    category_id: Id
    old: Id | None = None
    text: str = "Change category"

    def apply(self, labels: AnnotationSet) -> None:
        ann = _annotation(labels, self.annotation_id)
        if self.category_id not in labels.categories:
            raise EditError(f"category {self.category_id!r} does not exist; add it first")
        self.old = ann.category_id
        ann.category_id = self.category_id

    def revert(self, labels: AnnotationSet) -> None:
        _annotation(labels, self.annotation_id).category_id = self.old


@dataclass
class ReplaceAnnotations:
    """Remove some annotations and add others in one step (brush, union, subtract).

    remove_ids may hold ids or Annotation objects (their ids are used); an added
    annotation may reuse the id of a removed one (replace in place).
    """

    remove_ids: list[Id]
    add: list[Annotation]
    removed: list[tuple[int, Id, Annotation]] = field(default_factory=list, repr=False)
    text: str = "Replace polygons"

    def __post_init__(self) -> None:
        self.remove_ids = [a.id if isinstance(a, Annotation) else a for a in self.remove_ids]

    def apply(self, labels: AnnotationSet) -> None:
        for aid in self.remove_ids:
            _annotation(labels, aid)
        removing = set(self.remove_ids)
        clash = [a.id for a in self.add if a.id in labels.annotations and a.id not in removing]
        if clash or len({a.id for a in self.add}) != len(self.add):
            raise EditError(f"annotation ids {clash!r} are already used")
        for ann in self.add:
            _check_polygons(ann.polygons)
        positions = {aid: i for i, aid in enumerate(labels.annotations)}
        self.removed = sorted((positions[aid], aid, labels.annotations[aid]) for aid in removing)
        # an added annotation that reuses a removed id takes its place (keeps drawing order)
        in_place = {a.id: a for a in self.add if a.id in removing}
        items = []
        for aid, ann in labels.annotations.items():
            if aid not in removing:
                items.append((aid, ann))
            elif aid in in_place:
                items.append((aid, in_place[aid].copy()))
        items += [(a.id, a.copy()) for a in self.add if a.id not in in_place]
        labels.annotations.clear()
        labels.annotations.update(items)

    def revert_removed(self, labels: AnnotationSet) -> None:
        for position, aid, ann in self.removed:
            _insert_at(labels.annotations, aid, ann, position)

    def revert(self, labels: AnnotationSet) -> None:
        for ann in self.add:
            labels.annotations.pop(ann.id, None)
        self.revert_removed(labels)


# --- the image's "labelled" flag ---------------------------------------------------------------
@dataclass
class SetLabelled:
    """Set (or clear) the image record's `"skysegui_labelled"` flag.

    The record's `extra` dict is replaced, not changed in place, and revert puts the old
    dict back: the flag's presence, value and position come back exactly."""

    image_id: Id
    labelled: bool = True
    old: dict | None = field(default=None, repr=False)
    text: str = "Mark as labelled"

    def apply(self, labels: AnnotationSet) -> None:
        record = _record(labels, self.image_id)
        self.old = record.extra
        extra = dict(record.extra)
        if self.labelled:
            extra[LABELLED_KEY] = True
        else:
            extra.pop(LABELLED_KEY, None)
        record.extra = extra

    def revert(self, labels: AnnotationSet) -> None:
        _record(labels, self.image_id).extra = self.old


@dataclass
class MarkNoSky:
    """"No sky in this image": remove its annotations (its unsure regions stay) and flag it
    labelled, in one edit (so it becomes a training image with an all-zero mask, unsure
    regions left out). Revert restores both."""

    image_id: Id
    removed: ReplaceAnnotations | None = field(default=None, repr=False)
    flag: SetLabelled | None = field(default=None, repr=False)
    text: str = "No sky in this image"

    def apply(self, labels: AnnotationSet) -> None:
        _record(labels, self.image_id)
        self.removed = ReplaceAnnotations(labels.answer_ids(self.image_id), [])
        self.flag = SetLabelled(self.image_id, True)
        self.removed.apply(labels)
        self.flag.apply(labels)

    def revert(self, labels: AnnotationSet) -> None:
        self.flag.revert(labels)
        self.removed.revert(labels)


def _record(labels: AnnotationSet, image_id: Id):
    try:
        return labels.images[image_id]
    except KeyError:
        raise EditError(f"image {image_id!r} does not exist") from None


# --- region edits (through masks) -------------------------------------------------------------
def _image_size(labels: AnnotationSet, image_id: Id) -> tuple[int, int]:
    if image_id not in labels.images:
        raise EditError(f"image {image_id!r} does not exist")
    image = labels.images[image_id]
    return int(image.height), int(image.width)


def _region(labels, annotations: list[Annotation], h: int, w: int) -> np.ndarray:
    return polygons_to_mask([p for a in annotations for p in a.polygons], h, w)


def _near(stroke: np.ndarray):
    """Test: does a polygon's box come within a pixel of the stroke's box?"""
    rows, cols = np.flatnonzero(stroke.any(axis=1)), np.flatnonzero(stroke.any(axis=0))
    if rows.size == 0:
        return lambda polygon: False
    x0, x1, y0, y1 = cols[0] - 1, cols[-1] + 2, rows[0] - 1, rows[-1] + 2

    def near(polygon: Polygon) -> bool:
        lo, hi = polygon.outer.min(axis=0), polygon.outer.max(axis=0)
        return bool(lo[0] <= x1 and hi[0] >= x0 and lo[1] <= y1 and hi[1] >= y0)

    return near


def _replacement(labels: AnnotationSet, base: list[Annotation], mask: np.ndarray,
                 image_id: Id, category_id: Id, next_id: int) -> tuple[list[Annotation], int]:
    polygons = mask_to_polygons(mask, tolerance=EDIT_TOLERANCE, min_area=1.0)
    if not polygons:
        return [], next_id
    if base:
        keep = base[0]
        return [Annotation(keep.id, image_id, keep.category_id, polygons, keep.iscrowd,
                           copy.deepcopy(keep.extra))], next_id
    return [Annotation(next_id, image_id, category_id, polygons)], next_id + 1


def paint_edit(labels: AnnotationSet, image_id: Id, stroke_mask: np.ndarray, erase: bool = False,
               role: int = SKY) -> ReplaceAnnotations | None:
    """Paint (or erase) `stroke_mask` (H x W, nonzero = brushed) into the region of `role`.

    The role's annotations on the image become one annotation traced from the new region
    (holes kept). Painting sky also takes the stroke out of non-sky objects, so the
    painted pixels really become sky. Returns None when the stroke changes nothing
    (so no empty step lands on the undo stack).
    """
    h, w = _image_size(labels, image_id)
    stroke = np.asarray(stroke_mask)
    if stroke.shape != (h, w):
        raise EditError(f"the brush mask is {stroke.shape[::-1]} but the image is {w}x{h}")
    stroke = stroke != 0
    category_id = labels.category_for_role(role)
    if category_id is None:
        raise EditError(f"the labels have no '{ROLE_NAMES[role]}' category; add one before painting")
    anns = labels.annotations_for(image_id)
    mine = [a for a in anns if labels.role_of(a.category_id) == role]
    # polygons far from the stroke are kept exactly; only the others are re-traced
    near = _near(stroke)
    kept = [p for a in mine for p in a.polygons if not near(p)]
    touched = [p for a in mine for p in a.polygons if near(p)]
    region = polygons_to_mask(touched, h, w).astype(bool)
    new_region = region & ~stroke if erase else region | stroke
    remove: list[Id] = []
    add: list[Annotation] = []
    next_id = labels.new_annotation_id()
    if not np.array_equal(region, new_region):
        remove += [a.id for a in mine]
        add, next_id = _replacement(labels, mine, new_region, image_id, category_id, next_id)
        if kept:
            if add:
                add[0].polygons = kept + add[0].polygons
            else:
                base = mine[0]
                add = [Annotation(base.id, image_id, base.category_id, kept, base.iscrowd,
                                  copy.deepcopy(base.extra))]
    if role == SKY and not erase:
        for obj in (a for a in anns if labels.role_of(a.category_id) == NON_SKY):
            if not any(near(p) for p in obj.polygons):
                continue
            obj_region = _region(labels, [obj], h, w).astype(bool)
            if np.any(obj_region & stroke):
                remove.append(obj.id)
                more, next_id = _replacement(labels, [obj], obj_region & ~stroke, image_id,
                                             obj.category_id, next_id)
                add += more
    if not remove and not add:
        return None
    return ReplaceAnnotations(remove, add, text="Erase" if erase else "Paint")


def union_edit(labels: AnnotationSet, annotation_ids: list[Id]) -> ReplaceAnnotations:
    """Merge annotations (of one image) into the first one: the union of their regions."""
    anns = [_annotation(labels, a) for a in annotation_ids]
    if len({a.image_id for a in anns}) != 1:
        raise EditError("only polygons of the same image can be merged")
    _image_size(labels, anns[0].image_id)
    add, _ = _replacement(labels, anns[:1], region_mask(labels, annotation_ids), anns[0].image_id,
                          anns[0].category_id, labels.new_annotation_id())
    return ReplaceAnnotations(list(annotation_ids), add, text="Merge polygons")


def subtract_edit(labels: AnnotationSet, target_id: Id, cutter_ids: list[Id]) -> ReplaceAnnotations:
    """Cut the regions of `cutter_ids` out of annotation `target_id` (cutters stay)."""
    target = _annotation(labels, target_id)
    cutters = [_annotation(labels, a) for a in cutter_ids]
    if any(c.image_id != target.image_id for c in cutters):
        raise EditError("only polygons of the same image can be subtracted")
    h, w = _image_size(labels, target.image_id)
    mask = _region(labels, [target], h, w) & (1 - _region(labels, cutters, h, w))
    add, _ = _replacement(labels, [target], mask, target.image_id, target.category_id,
                          labels.new_annotation_id())
    return ReplaceAnnotations([target_id], add, text="Subtract polygons")
