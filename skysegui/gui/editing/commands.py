"""QUndoCommands over the pure edit operations of skysegui.core.annotations.

An EditCommand applies its edit once when it is made, so an edit the core refuses
(EditError: e.g. a polygon would drop below 3 vertices) raises before anything is
pushed; after that redo = apply and undo = revert, and the editor's items follow.
The small factory functions are the one place that knows the core edit signatures.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QUndoCommand

from skysegui.core import annotations as core
from skysegui.core.annotations.categories import ROLE_NAMES
from skysegui.core.annotations.seam import snap_to_seam
from skysegui.gui.editing.seam_vertices import moved_polygons


class EditCommand(QUndoCommand):
    def __init__(self, editor, labels, image_id, edit, text: str):
        super().__init__(text)
        self._editor = editor
        self._labels = labels
        self._image_id = image_id
        self.edit = edit
        edit.apply(labels)  # may raise EditError: then nothing is pushed
        self._applied_in_init = True

    def redo(self) -> None:
        if self._applied_in_init:
            self._applied_in_init = False
        else:
            self.edit.apply(self._labels)
        self._notify()

    def undo(self) -> None:
        self.edit.revert(self._labels)
        self._notify()

    def _notify(self) -> None:
        if self._editor.labels is self._labels:
            self._editor.model_changed(self._image_id)


# --- factories: GUI gestures -> core edits ------------------------------------------------
def move_vertex(labels, annotation_id, polygon_index, ring_index, vertex_index, xy):
    return core.MoveVertex(annotation_id, polygon_index, ring_index, vertex_index, _xy(xy))


def move_vertices(labels, annotation_id, moves):
    """Several vertices of one annotation moved in one edit (a seam vertex and its twins
    on the other edge): `moves` maps (polygon, ring, vertex) to the new (x, y)."""
    new = labels.annotations[annotation_id].copy()
    new.polygons = moved_polygons(new.polygons, {k: _xy(v) for k, v in moves.items()})
    return core.ReplaceAnnotations([annotation_id], [new], text="Move vertex")


def replace_polygons(labels, annotation_id, polygons, text="Replace polygons"):
    """The annotation with new polygons (same id, category and extra fields)."""
    new = labels.annotations[annotation_id].copy()
    new.polygons = [p.copy() for p in polygons]
    return core.ReplaceAnnotations([annotation_id], [new], text=text)


def add_vertex(labels, annotation_id, polygon_index, ring_index, index, xy):
    return core.AddVertex(annotation_id, polygon_index, ring_index, index, _xy(xy))


def delete_vertex(labels, annotation_id, polygon_index, ring_index, vertex_index):
    return core.DeleteVertex(annotation_id, polygon_index, ring_index, vertex_index)


def delete_annotation(labels, annotation_id):
    return core.DeleteAnnotation(annotation_id)


def move_annotation(labels, annotation_id, dx, dy):
    return core.MoveAnnotation(annotation_id, float(dx), float(dy))


def set_category(labels, annotation_id, role):
    cid, add_category = _category(labels, role)
    return _with_category(add_category, core.SetCategory(annotation_id, cid))


def add_polygon(labels, image_id, ring, role):
    """A new annotation of `role` holding one polygon; returns (edit, new annotation id)."""
    cid, add_category = _category(labels, role)
    new_id = labels.new_annotation_id()
    annotation = core.Annotation(new_id, image_id, cid, [core.Polygon(np.asarray(ring, dtype=np.float64))])
    return _with_category(add_category, core.AddAnnotation(annotation)), new_id


def add_hole(labels, annotation_id, polygon_index, ring):
    """Put `ring` into polygon `polygon_index` of the annotation as a new hole (same id)."""
    new = labels.annotations[annotation_id].copy()
    new.polygons[polygon_index].holes.append(np.asarray(ring, dtype=np.float64))
    return core.ReplaceAnnotations([annotation_id], [new])


def paint(labels, image_id, stroke_mask, erase=False):
    """The core's mask edit for a brush stroke, or None when it would change nothing."""
    if labels.category_for_role(core.SKY) is None:
        if erase:
            return None
        cid, add_category = _category(labels, core.SKY)
        polygons = core.mask_to_polygons(stroke_mask, tolerance=0.5, min_area=1.0)
        if not polygons:
            return None
        width = stroke_mask.shape[1]
        ann = core.Annotation(labels.new_annotation_id(), image_id, cid, snap_to_seam(polygons, width))
        return _with_category(add_category, core.AddAnnotation(ann))
    edit = core.paint_edit(labels, image_id, stroke_mask, erase=erase)
    if edit is not None:  # traced rings: edges beside the seam go onto it (seam.snap_to_seam)
        kept = {id(p) for a in labels.annotations_for(image_id) for p in a.polygons}
        for annotation in edit.add:
            annotation.polygons = [p if id(p) in kept else snap_to_seam([p], stroke_mask.shape[1])[0]
                                   for p in annotation.polygons]
    return edit


def replace_with_regions(labels, image_id, polygons, role=core.SKY, text="Accept prediction"):
    """Replace the image's labels by one `role` annotation per polygon (holes kept); its
    unsure regions stay (AnnotationSet.answer_ids).

    Returns (edit, number of annotations added). A missing category is added inside the
    same edit, so one undo leaves the labels exactly as they were. With no polygons
    (a prediction without sky) the image is also flagged labelled in the same edit:
    "no sky" is then the accepted answer, and training takes it as a negative."""
    if not polygons:
        return core.MarkNoSky(image_id, text=text), 0
    cid, add_category = _category(labels, role)
    first = labels.new_annotation_id()
    width = labels.images[image_id].width
    polygons = snap_to_seam(polygons, width)  # traced: no edge half a pixel beside the seam
    added = [core.Annotation(first + i, image_id, cid, [p]) for i, p in enumerate(polygons)]
    edit = core.ReplaceAnnotations(labels.answer_ids(image_id), added, text=text)
    return _with_category(add_category, edit), len(added)


def mark_no_sky(labels, image_id):
    """"No sky in this image": its annotations removed and the image flagged labelled."""
    return core.MarkNoSky(image_id)


def _xy(xy) -> tuple[float, float]:
    return (float(xy[0]), float(xy[1]))


def _category(labels, role):
    """(category id, the Category to add first or None): labels without a category of
    `role` get one (named as in ROLE_NAMES), as part of the same undoable edit."""
    cid = labels.category_for_role(role)
    if cid is not None:
        return cid, None
    cid = labels.new_id(labels.categories)
    return cid, core.Category(cid, ROLE_NAMES[role])


class _AddCategoryThen:
    """Add a missing category, then apply `edit`; revert undoes both."""

    def __init__(self, category, edit):
        self.category = category
        self.edit = edit

    def apply(self, labels) -> None:
        labels.categories[self.category.id] = self.category
        try:
            self.edit.apply(labels)
        except Exception:
            del labels.categories[self.category.id]
            raise

    def revert(self, labels) -> None:
        self.edit.revert(labels)
        del labels.categories[self.category.id]


def _with_category(category, edit):
    return edit if category is None else _AddCategoryThen(category, edit)


# --- the 360-degree seam: one gesture, several polygons (added by the seam work) ------------
def add_polygons(labels, image_id, polygons, role):
    """A new annotation of `role` holding several polygons (the pieces of a ring drawn
    across the seam): one edit, so one undo removes all of them. Returns (edit, new id)."""
    cid, add_category = _category(labels, role)
    new_id = labels.new_annotation_id()
    annotation = core.Annotation(new_id, image_id, cid, [p.copy() for p in polygons])
    return _with_category(add_category, core.AddAnnotation(annotation)), new_id


def add_holes(labels, placements):
    """Put several rings in as holes in one edit: `placements` is a list of
    (annotation id, polygon index, ring); annotations keep their ids."""
    changed: dict = {}
    for annotation_id, polygon_index, ring in placements:
        new = changed.setdefault(annotation_id, labels.annotations[annotation_id].copy())
        new.polygons[polygon_index].holes.append(np.asarray(ring, dtype=np.float64))
    return core.ReplaceAnnotations(list(changed), list(changed.values()))
