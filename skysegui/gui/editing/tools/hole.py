"""Hole and object tools: draw a polygon like the polygon tool, then

- "hole": cut it out of the sky. When the ring lies inside one sky polygon and clear of
  its holes it is added to that polygon as an exact hole; otherwise it is subtracted
  from the sky region through the mask edit (paint_edit with erase).
- "object": add it as a non-sky object (class 2), cut out of the sky when masks are made.
"""

from __future__ import annotations

import numpy as np

from skysegui.core.annotations import NON_SKY, SKY, polygons_to_mask
from skysegui.core.annotations import Polygon as CorePolygon
from skysegui.gui.editing import colors, commands, hit_test
from skysegui.gui.editing.tools.draw_polygon import DrawPolygonTool


class HoleTool(DrawPolygonTool):
    name = "hole"
    hint = "Click the vertices of a hole to cut out of the sky; Enter or double-click closes it; Esc cancels"
    color = colors.ERASER

    def finish(self, ring: np.ndarray) -> None:
        ed = self.editor
        target = self._containing_polygon(ring)
        if target is not None:
            aid, pi = target
            ed.push(commands.add_hole(ed.labels, aid, pi, ring), "Cut hole")
            ed.select(aid)
            return
        w, h = ed.image_size()
        stroke = polygons_to_mask([CorePolygon(ring)], h, w)
        if not stroke.any():
            ed.report("the hole covers no pixel: draw it larger")
            return
        ed.paint_queue.submit(stroke, True, "Cut hole")

    def _containing_polygon(self, ring: np.ndarray):
        ed = self.editor
        for annotation in ed.annotations():
            if ed.role(annotation) != SKY:
                continue
            for pi, polygon in enumerate(annotation.polygons):
                if not hit_test.ring_inside_ring(ring, polygon.outer):
                    continue
                if any(_overlap(ring, hole) for hole in polygon.holes):
                    continue
                return annotation.id, pi
        return None


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
