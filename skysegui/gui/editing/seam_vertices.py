"""Vertices on the 360-degree seam that are one point of the panorama.

A ring drawn across the seam is stored as pieces cut exactly at x = 0 and x = W
(core.annotations.seam): the cut point (W, y) of one piece and (0, y) of the other are
the same place on the sphere. Dragging one of them alone would open a gap (or an
overlap) at the seam, so the select tool drags such a vertex along the seam and its
twins with it, in one edit. numpy only.
"""

from __future__ import annotations

import numpy as np

VertexKey = tuple[int, int, int]  # (polygon index, ring index, vertex index)


def seam_twins(polygons, key: VertexKey, width: float) -> list[VertexKey]:
    """The other vertices of `polygons` at the same seam point as vertex `key`: x on
    0 or `width` and exactly the same y. Empty when the vertex is not on the seam or
    nothing meets it there (a region that merely touches the image edge)."""
    pi, ri, vi = key
    x, y = (float(v) for v in polygons[pi].rings()[ri][vi])
    if x not in (0.0, float(width)):
        return []
    twins = []
    for pj, polygon in enumerate(polygons):
        for rj, ring in enumerate(polygon.rings()):
            on_seam = ((ring[:, 0] == 0.0) | (ring[:, 0] == float(width))) & (ring[:, 1] == y)
            twins += [(pj, rj, int(vj)) for vj in np.flatnonzero(on_seam) if (pj, rj, int(vj)) != key]
    return twins


def moved_polygons(polygons, moves: dict[VertexKey, tuple[float, float]]) -> list:
    """Copies of `polygons` with the vertices of `moves` at their new positions."""
    out = [p.copy() for p in polygons]
    for (pi, ri, vi), (x, y) in moves.items():
        ring = out[pi].outer if ri == 0 else out[pi].holes[ri - 1]
        ring[vi] = (x, y)
    return out


def without_vertices(polygons, keys) -> list | None:
    """Copies of `polygons` without the vertices `keys`; None if a ring would keep fewer
    than 3 vertices."""
    out = [p.copy() for p in polygons]
    by_ring: dict[tuple[int, int], list[int]] = {}
    for pi, ri, vi in keys:
        by_ring.setdefault((pi, ri), []).append(vi)
    for (pi, ri), vertices in by_ring.items():
        ring = np.delete(out[pi].rings()[ri], vertices, axis=0)
        if len(ring) < 3:
            return None
        if ri == 0:
            out[pi].outer = ring
        else:
            out[pi].holes[ri - 1] = ring
    return out
