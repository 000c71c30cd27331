"""Masks to polygons with holes and islands (the inverse of raster.polygons_to_mask).

OpenCV traces contours through the centres of boundary pixels; COCO polygons run along
pixel edges. Each simplified ring is therefore pushed half a pixel away from the region
(a mitred offset; one-pixel spurs get a square cap), so rasterising the unsimplified
rings gives back the mask. Simplification is error-bounded: each ring takes the largest
Douglas-Peucker distance up to `tolerance` that changes at most 0.3 % of its pixels, so
smooth skylines stay light while foliage, thin strips and small windows of sky keep their
pixels (IoU >= 0.995 on every real panorama's mask at the default tolerance).
RETR_CCOMP gives outer rings with their holes; islands inside holes come out as outer
rings of their own. Rings are clamped to the image, so a region touching both the left
and right edge (the 360-degree seam) stays one valid polygon reaching x = 0 and x = width.
"""

from __future__ import annotations

import cv2
import numpy as np
from pycocotools import mask as coco_mask

from skysegui.core.annotations.model import Polygon
from skysegui.core.annotations.seam import snap_to_seam

DEFAULT_TOLERANCE = 1.0  # px: the largest Douglas-Peucker distance; rings change at most 0.3 %
_MITER_LIMIT = 2.0  # at most 2 x 0.5 px for sharp corners
_SMALL_RING_FRACTION = 0.02  # simplification of a ring at most 2 % of its perimeter
_MAX_RING_ERROR = 0.003  # simplifying may change at most 0.3 % of a ring's pixels
_MIN_EPSILON = 0.25  # below this Douglas-Peucker keeps the staircase: use the exact ring


def _signed_area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def _offset_ring(ring: np.ndarray, distance: float) -> np.ndarray:
    """Move each vertex `distance` px to the left of the ring's direction (mitred).

    A sharp turn (a one-pixel spur's tip, a 135-degree step) that points to the side the
    ring moves to gets a square cap of two vertices: a mitre there would be longer than
    the limit, and leaving the vertex where it was cuts the last pixel of the spur off."""
    if len(ring) < 2 or distance == 0:
        return ring
    prev_edge = ring - np.roll(ring, 1, axis=0)
    next_edge = np.roll(ring, -1, axis=0) - ring

    def unit(edges: np.ndarray) -> np.ndarray:
        length = np.hypot(edges[:, 0], edges[:, 1])
        length[length == 0] = 1.0
        return edges / length[:, None]

    t1, t2 = unit(prev_edge), unit(next_edge)
    # image coordinates (y down): the left of direction (dx, dy) is (dy, -dx)
    n1 = np.stack([t1[:, 1], -t1[:, 0]], axis=1)
    n2 = np.stack([t2[:, 1], -t2[:, 0]], axis=1)
    bisector = n1 + n2
    denom = 1.0 + np.einsum("ij,ij->i", n1, n2)
    sharp = denom <= 1.0 / (_MITER_LIMIT**2 / 2.0)
    scale = np.where(sharp, 0.0, 1.0 / np.maximum(denom, 1e-9))
    moved = ring + distance * bisector * scale[:, None]
    cross = t1[:, 0] * t2[:, 1] - t1[:, 1] * t2[:, 0]
    # the turn points to the offset side when it turns away from it (or turns back)
    cap = sharp & (cross * distance >= 0) & (np.abs(t1).sum(axis=1) > 0) & (np.abs(t2).sum(axis=1) > 0)
    if not cap.any():
        return moved
    reach = abs(distance)
    first = ring + distance * n1 + reach * t1
    second = ring + distance * n2 - reach * t2
    out = np.repeat(moved, np.where(cap, 2, 1), axis=0)
    where = np.flatnonzero(cap) + np.arange(int(cap.sum()))  # index of each cap's first vertex
    out[where] = first[cap]
    out[where + 1] = second[cap]
    return out


def _square_concave_corners(pts: np.ndarray, outer: bool) -> np.ndarray:
    """Undo the diagonal short-cut OpenCV's 8-connected tracing takes around a concave
    corner of the region: the single diagonal step A->B between a horizontal and a
    vertical run becomes the corner pixel C, so the ring follows the real pixel edges
    (and simplification no longer tilts the neighbouring edges)."""
    n = len(pts)
    if n < 4:
        return pts
    edge = np.roll(pts, -1, axis=0) - pts            # edge i: vertex i -> i+1
    prev_e, next_e = np.roll(edge, 1, axis=0), np.roll(edge, -1, axis=0)
    diagonal = (np.abs(edge[:, 0]) == 1) & (np.abs(edge[:, 1]) == 1)
    prev_axis = (prev_e[:, 0] == 0) ^ (prev_e[:, 1] == 0)
    next_axis = (next_e[:, 0] == 0) ^ (next_e[:, 1] == 0)
    cross = prev_e[:, 0] * next_e[:, 1] - prev_e[:, 1] * next_e[:, 0]
    orientation = np.sign(_signed_area(pts.astype(np.float64)))
    # convex w.r.t. the ring when cross has the ring's orientation; a region's concave
    # corner is a concave turn of an outer ring and a convex turn of a hole ring
    concave = (cross * orientation < 0) if outer else (cross * orientation > 0)
    hits = np.flatnonzero(diagonal & prev_axis & next_axis & concave & (cross != 0))
    if hits.size == 0:
        return pts
    out = pts.copy()
    a, b = pts[hits], pts[(hits + 1) % n]
    vertical_in = prev_e[hits, 0] == 0
    out[hits, 0] = np.where(vertical_in, a[:, 0], b[:, 0])
    out[hits, 1] = np.where(vertical_in, b[:, 1], a[:, 1])
    keep = np.ones(n, dtype=bool)
    keep[(hits + 1) % n] = False
    keep[hits] = True
    return out[keep]


def _ring_from_contour(contour: np.ndarray, tolerance: float, outward: bool,
                       width: int, height: int) -> np.ndarray:
    """Simplified ring on pixel edges; `outward` moves it away from what it encloses."""
    pts = _square_concave_corners(contour.reshape(-1, 2).astype(np.int64), outward)
    pts = pts.astype(np.float64) + 0.5  # pixel centres
    if len(pts) < 3:
        # a 1- or 2-point contour (single pixel, thin line): its pixel-edge box
        lo, hi = pts.min(axis=0) - 0.5, pts.max(axis=0) + 0.5
        pts = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])
    else:
        # With a positive signed area (y down) the left normal points out of the ring.
        direction = 1.0 if _signed_area(pts) > 0 else -1.0
        pts = _offset_ring(pts, 0.5 * (direction if outward else -direction))
    pts[:, 0] = np.clip(pts[:, 0], 0.0, float(width))
    pts[:, 1] = np.clip(pts[:, 1], 0.0, float(height))
    if tolerance > 0 and len(pts) > 4:
        pts = _simplify(pts, tolerance)
    return np.round(pts, 3)  # a thousandth of a pixel: exact enough, short in JSON


def _simplify(exact: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas-Peucker at the largest distance <= tolerance that keeps the ring's pixels.

    One distance does not suit every ring: a smooth skyline loses nothing at a pixel, but
    foliage, thin strips and small windows of sky would lose percents of their area. The
    distance is halved until the simplified ring differs from the exact one (as
    pycocotools rasterises both) by at most _MAX_RING_ERROR of its area."""
    ring = exact.astype(np.float32).reshape(-1, 1, 2)
    epsilon = min(tolerance, _SMALL_RING_FRACTION * cv2.arcLength(ring, True))
    while epsilon >= _MIN_EPSILON:
        simple = cv2.approxPolyDP(ring, epsilon, True).reshape(-1, 2).astype(np.float64)
        if len(simple) >= 3 and _ring_error(exact, simple) <= _MAX_RING_ERROR:
            return simple
        epsilon /= 2.0
    return exact


def _ring_error(exact: np.ndarray, simple: np.ndarray) -> float:
    """Pixels that differ between two rings (pycocotools' rasterisation, on the rings'
    bounding box), as a fraction of the exact ring's pixels."""
    lo = np.floor(exact.min(axis=0))
    size = np.ceil(exact.max(axis=0) - lo).astype(int) + 1
    h, w = int(size[1]), int(size[0])
    rles = coco_mask.frPyObjects([(exact - lo).reshape(-1).tolist(),
                                  (simple - lo).reshape(-1).tolist()], h, w)
    a, b = (float(v) for v in coco_mask.area(rles))
    both = float(coco_mask.area(coco_mask.merge(rles, intersect=True)))
    return (a + b - 2.0 * both) / max(a, 1.0)


def mask_to_polygons(mask: np.ndarray, tolerance: float = DEFAULT_TOLERANCE,
                     min_area: float = 4.0) -> list[Polygon]:
    """Polygons (outer ring + holes) of the nonzero pixels of a 2-D mask.

    tolerance: the largest Douglas-Peucker distance in pixels (0 keeps every corner); a
    ring whose pixels it would change by more than 0.3 % is simplified less.
    min_area: regions and holes smaller than this many pixels are dropped.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask_to_polygons needs a 2-D mask, got shape {mask.shape}")
    height, width = mask.shape
    binary = np.ascontiguousarray(mask != 0, dtype=np.uint8)
    contours, hierarchy = cv2.findContours(binary, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None or len(contours) == 0:
        return []
    hierarchy = hierarchy.reshape(-1, 4)
    polygons: list[Polygon] = []
    for index, contour in enumerate(contours):
        if hierarchy[index, 3] != -1:
            continue  # a hole: handled with its parent
        if _pixel_area(contour) < min_area:
            continue
        outer = _ring_from_contour(contour, tolerance, True, width, height)
        holes = []
        child = hierarchy[index, 2]
        while child != -1:
            hole_contour = contours[child]
            if _pixel_area(hole_contour, hole=True) >= min_area:
                # hole contours run along the region's pixels around the hole: shrink the
                # region into the hole by the same half pixel.
                hole = _ring_from_contour(hole_contour, tolerance, False, width, height)
                holes.append(hole)
            child = hierarchy[child, 0]
        polygons.append(Polygon(outer, holes))
    # a panorama's left and right edges are one meridian: edges traced half a pixel beside
    # them go onto them, so no line is drawn at the seam and no sliver of column is lost
    return snap_to_seam(polygons, width)


def _pixel_area(contour: np.ndarray, hole: bool = False) -> float:
    """Approximate pixel count enclosed by a contour through pixel centres."""
    area = abs(cv2.contourArea(contour))
    perimeter = cv2.arcLength(contour, True)
    # the half-pixel border around the centre line adds about perimeter / 2 (+1 for corners)
    return area - perimeter / 2.0 if hole else area + perimeter / 2.0 + 1.0
