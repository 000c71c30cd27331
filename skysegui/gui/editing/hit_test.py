"""Pure geometry for picking: nearest vertex, nearest edge, point in polygon.

All inputs are in scene units (image pixels). Callers convert a tolerance given in
screen pixels with `tolerance / view_scale`, so picking feels the same at every zoom.
Vectorised with numpy: a 5,000-vertex ring is searched in well under a millisecond.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def nearest_vertex(ring: np.ndarray, point: Sequence[float], tolerance: float) -> int | None:
    """Index of the vertex of `ring` (N x 2) closest to `point`, if within `tolerance`."""
    if len(ring) == 0:
        return None
    d2 = np.sum((np.asarray(ring, dtype=np.float64) - np.asarray(point, dtype=np.float64)) ** 2, axis=1)
    i = int(np.argmin(d2))
    return i if d2[i] <= tolerance * tolerance else None


def edge_distances(ring: np.ndarray, point: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Distance from `point` to every edge i -> i+1 of the closed `ring`, and the
    parameter t in [0, 1] of the closest point on each edge."""
    a = np.asarray(ring, dtype=np.float64)
    b = np.roll(a, -1, axis=0)
    p = np.asarray(point, dtype=np.float64)
    ab = b - a
    len2 = np.sum(ab * ab, axis=1)
    safe = np.where(len2 > 0, len2, 1.0)
    t = np.clip(np.sum((p - a) * ab, axis=1) / safe, 0.0, 1.0)
    t = np.where(len2 > 0, t, 0.0)
    closest = a + ab * t[:, None]
    return np.sqrt(np.sum((closest - p) ** 2, axis=1)), t


def nearest_edge(
    ring: np.ndarray, point: Sequence[float], tolerance: float
) -> tuple[int, np.ndarray] | None:
    """The edge (index i: from vertex i to vertex i+1, wrapping) of the closed `ring`
    closest to `point` within `tolerance`, and the closest point on it."""
    if len(ring) < 2:
        return None
    dist, t = edge_distances(ring, point)
    i = int(np.argmin(dist))
    if dist[i] > tolerance:
        return None
    a = np.asarray(ring[i], dtype=np.float64)
    b = np.asarray(ring[(i + 1) % len(ring)], dtype=np.float64)
    return i, a + (b - a) * t[i]


def point_in_ring(ring: np.ndarray, point: Sequence[float]) -> bool:
    """Even-odd (crossing number) test of `point` against the closed `ring`."""
    if len(ring) < 3:
        return False
    a = np.asarray(ring, dtype=np.float64)
    b = np.roll(a, -1, axis=0)
    x, y = float(point[0]), float(point[1])
    crosses = (a[:, 1] > y) != (b[:, 1] > y)
    if not np.any(crosses):
        return False
    a, b = a[crosses], b[crosses]
    x_at = a[:, 0] + (y - a[:, 1]) * (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
    return bool(np.count_nonzero(x < x_at) % 2)


def point_in_polygon(outer: np.ndarray, holes: Sequence[np.ndarray], point: Sequence[float]) -> bool:
    """Inside the outer ring and outside every hole (the COCO meaning of a polygon with holes)."""
    if not point_in_ring(outer, point):
        return False
    return not any(point_in_ring(h, point) for h in holes)


def ring_inside_ring(inner: np.ndarray, outer: np.ndarray) -> bool:
    """True when every vertex of `inner` is inside `outer` and no edges cross
    (enough to accept a drawn ring as a hole of `outer`)."""
    if not all(point_in_ring(outer, p) for p in inner):
        return False
    return not rings_intersect(inner, outer)


def rings_intersect(r1: np.ndarray, r2: np.ndarray) -> bool:
    """Whether any edge of closed ring `r1` properly crosses an edge of closed ring `r2`."""
    a1 = np.asarray(r1, dtype=np.float64)
    b1 = np.roll(a1, -1, axis=0)
    a2 = np.asarray(r2, dtype=np.float64)
    b2 = np.roll(a2, -1, axis=0)
    # bounding boxes first, to keep the pairwise test small
    lo1, hi1 = np.minimum(a1, b1), np.maximum(a1, b1)
    lo2, hi2 = np.minimum(a2, b2), np.maximum(a2, b2)
    for i in range(len(a1)):
        near = np.all((lo2 <= hi1[i]) & (hi2 >= lo1[i]), axis=1)
        if not np.any(near):
            continue
        p, r = a1[i], b1[i] - a1[i]
        q, s = a2[near], b2[near] - a2[near]
        denom = r[0] * s[:, 1] - r[1] * s[:, 0]
        qp = q - p
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (qp[:, 0] * s[:, 1] - qp[:, 1] * s[:, 0]) / denom
            u = (qp[:, 0] * r[1] - qp[:, 1] * r[0]) / denom
        hit = (denom != 0) & (t > 0) & (t < 1) & (u > 0) & (u < 1)
        if np.any(hit):
            return True
    return False
