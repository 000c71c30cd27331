"""What a click at a scene point would take: a vertex, an edge or a polygon.

Pure (numpy, no Qt) so the rules are testable on their own. Priority: a vertex of the
selected annotation, an edge of the selected annotation, a vertex of any other
annotation, then the smallest annotation whose area contains the point (so an object
cut out of the sky is picked before the sky around it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from skysegui.gui.editing import hit_test


@dataclass(frozen=True)
class Pick:
    kind: str  # "vertex" | "edge" | "polygon"
    annotation_id: object
    polygon_index: int = -1
    ring_index: int = -1
    vertex_index: int = -1  # the vertex; for an edge, its first vertex
    point: tuple[float, float] | None = None  # for an edge: the closest point on it

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.polygon_index, self.ring_index, self.vertex_index)


def ring_area(ring: np.ndarray) -> float:
    """Absolute shoelace area of a closed ring."""
    x, y = ring[:, 0], ring[:, 1]
    return abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2.0


def _vertex(annotation, point, tolerance) -> Pick | None:
    best: tuple[float, Pick] | None = None
    for pi, polygon in enumerate(annotation.polygons):
        for ri, ring in enumerate(polygon.rings()):
            vi = hit_test.nearest_vertex(ring, point, tolerance)
            if vi is None:
                continue
            d = float(np.hypot(*(ring[vi] - np.asarray(point, dtype=np.float64))))
            if best is None or d < best[0]:
                best = (d, Pick("vertex", annotation.id, pi, ri, vi))
    return None if best is None else best[1]


def _nearest_shown_edge(ring, point, tolerance, hidden_x) -> tuple[int, np.ndarray] | None:
    """hit_test.nearest_edge without the edges that run along a line x in `hidden_x`."""
    if not hidden_x:
        return hit_test.nearest_edge(ring, point, tolerance)
    if len(ring) < 2:
        return None
    dist, t = hit_test.edge_distances(ring, point)
    xs, nxt = ring[:, 0], np.roll(ring[:, 0], -1)
    for x in hidden_x:
        dist = np.where((xs == x) & (nxt == x), np.inf, dist)
    i = int(np.argmin(dist))
    if dist[i] > tolerance:
        return None
    a, b = np.asarray(ring[i], dtype=np.float64), np.asarray(ring[(i + 1) % len(ring)], dtype=np.float64)
    return i, a + (b - a) * t[i]


def _edge(annotation, point, tolerance, hidden_x=()) -> Pick | None:
    best: tuple[float, Pick] | None = None
    for pi, polygon in enumerate(annotation.polygons):
        for ri, ring in enumerate(polygon.rings()):
            hit = _nearest_shown_edge(ring, point, tolerance, hidden_x)
            if hit is None:
                continue
            ei, q = hit
            d = float(np.hypot(*(q - np.asarray(point, dtype=np.float64))))
            if best is None or d < best[0]:
                best = (d, Pick("edge", annotation.id, pi, ri, ei, (float(q[0]), float(q[1]))))
    return None if best is None else best[1]


def pick(
    annotations: Sequence,
    point: Sequence[float],
    tolerance: float,
    selected=None,
    hidden_x=(),
    wrap_width: float | None = None,
) -> Pick | None:
    """The thing under `point` (scene units) with `tolerance` in scene units. Edges along
    a vertical line x in `hidden_x` (the 360-degree seam, where the outline is not drawn)
    are not offered: a click there selects or moves the region, never inserts a vertex.
    With `wrap_width` (a 360-degree panorama) a region is also picked by its area on the
    seam line and on the wrapped copies beside the image; vertices only on the image."""
    by_id = {a.id: a for a in annotations}
    current = by_id.get(selected) if selected is not None else None
    if current is not None:
        hit = _vertex(current, point, tolerance) or _edge(current, point, tolerance, hidden_x)
        if hit is not None:
            return hit
    nearest: tuple[float, Pick] | None = None
    for a in annotations:
        if a is current:
            continue
        hit = _vertex(a, point, tolerance)
        if hit is not None:
            ring = a.polygons[hit.polygon_index].rings()[hit.ring_index]
            d = float(np.hypot(*(ring[hit.vertex_index] - np.asarray(point, dtype=np.float64))))
            if nearest is None or d < nearest[0]:
                nearest = (d, hit)
    if nearest is not None:
        return nearest[1]
    hit = _inside(annotations, point)
    if hit is None and wrap_width:
        # on the seam line itself, or on a wrapped copy of the panorama: the same place
        # of the image one width over (the pieces of a region drawn across the seam)
        x, y = float(point[0]), float(point[1])
        for shifted in (x - wrap_width, x + wrap_width):
            hit = hit or _inside(annotations, (shifted, y))
    return hit


def _inside(annotations, point) -> Pick | None:
    """The smallest polygon whose area holds `point`."""
    inside: tuple[float, Pick] | None = None
    for a in annotations:
        for pi, polygon in enumerate(a.polygons):
            if hit_test.point_in_polygon(polygon.outer, polygon.holes, point):
                area = ring_area(polygon.outer)
                if inside is None or area < inside[0]:
                    inside = (area, Pick("polygon", a.id, pi))
    return None if inside is None else inside[1]
