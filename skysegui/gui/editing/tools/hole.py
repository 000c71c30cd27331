"""Hole and object tools: draw a polygon like the polygon tool, then

- "hole": cut it out of the sky. When the ring lies inside one sky polygon and clear of
  its holes it is added to that polygon as an exact hole; otherwise it is subtracted
  from the sky region through the mask edit (paint_edit with erase).
- "object": add it as a non-sky object (class 2), cut out of the sky when masks are made.

A ring drawn across the 360-degree seam is first cut into its pieces on the image (see
draw_polygon.py); a hole then goes into each sky polygon holding a piece, in one edit.
"""

from __future__ import annotations

import numpy as np

from skysegui.core.annotations import NON_SKY, SKY, polygons_to_mask
from skysegui.core.annotations import Polygon as CorePolygon
from skysegui.core.annotations.seam import interior_point
from skysegui.gui.editing import colors, commands, hit_test
from skysegui.gui.editing.tools.draw_polygon import DrawPolygonTool


class HoleTool(DrawPolygonTool):
    name = "hole"
    hint = "Click the vertices of a hole to cut out of the sky; Enter or double-click closes it; Esc cancels"
    color = colors.ERASER

    def finish(self, ring: np.ndarray) -> None:
        ed = self.editor
        pieces = [p.outer for p in self.pieces(ring)]
        if not pieces:
            ed.report("the hole has no area: draw it larger")
            return
        targets = [self._containing_polygon(piece) for piece in pieces]
        if len(pieces) == 1 and targets[0] is not None:
            aid, pi = targets[0]
            ed.push(commands.add_hole(ed.labels, aid, pi, pieces[0]), "Cut hole")
            ed.select(aid)
            return
        if all(t is not None for t in targets) and not _pieces_overlap(pieces, targets):
            placements = [(aid, pi, piece) for (aid, pi), piece in zip(targets, pieces, strict=True)]
            ed.push(commands.add_holes(ed.labels, placements), "Cut hole")
            ed.select(targets[0][0])
            return
        w, h = ed.image_size()
        stroke = polygons_to_mask([CorePolygon(p) for p in pieces], h, w)
        if not stroke.any():
            ed.report("the hole covers no pixel: draw it larger")
            return
        ed.paint_queue.submit(stroke, True, "Cut hole")

    def _containing_polygon(self, ring: np.ndarray):
        """(annotation id, polygon index) of the one sky polygon that the hole can go into:
        it holds the ring clear of its holes, and no other sky polygon overlaps the ring
        (a hole in one of two overlapping skies would leave the other's sky there)."""
        ed = self.editor
        sky = [(a.id, pi, p) for a in ed.annotations() if ed.role(a) == SKY for pi, p in enumerate(a.polygons)]
        for aid, pi, polygon in sky:
            if not _inside(ring, polygon.outer, ed.image_size()[0]):
                continue
            if any(_overlap(ring, hole) for hole in polygon.holes):
                continue
            if any(_overlap(ring, other.outer) for oid, opi, other in sky if (oid, opi) != (aid, pi)):
                return None  # the mask edit cuts it out of every sky region
            return aid, pi
        return None


def _inside(ring: np.ndarray, outer: np.ndarray, width: float) -> bool:
    """`ring` lies inside `outer`. Vertices on the seam (x = 0 or x = width: where a hole
    drawn across it was cut) may lie on the outer ring's own seam edge."""
    off_seam = ring[(ring[:, 0] != 0) & (ring[:, 0] != width)]
    if len(off_seam) == len(ring):
        return hit_test.ring_inside_ring(ring, outer)
    point = interior_point(ring)
    return (point is not None and hit_test.point_in_ring(outer, point)
            and all(hit_test.point_in_ring(outer, p) for p in off_seam)
            and not hit_test.rings_intersect(ring, outer))


def _pieces_overlap(pieces, targets) -> bool:
    """Whether two pieces meant for the same polygon touch (only a ring drawn wider than
    the whole panorama folds onto itself): then the mask edit merges them instead."""
    for i in range(len(pieces)):
        for j in range(i + 1, len(pieces)):
            if targets[i] == targets[j] and _overlap(pieces[i], pieces[j]):
                return True
    return False


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two rings touch: crossing edges or one inside the other."""
    return (
        hit_test.rings_intersect(a, b)
        or hit_test.point_in_ring(b, a[0])
        or hit_test.point_in_ring(a, b[0])
    )


class ObjectTool(DrawPolygonTool):
    name = "object"
    hint = "Click the vertices of a non-sky object (cut out of the sky); Enter or double-click closes it; Esc cancels"
    color = colors.outline_color(NON_SKY)

    def finish(self, ring: np.ndarray) -> None:
        self.add_annotation(ring, NON_SKY, "Draw non-sky object")
