"""Rings drawn across the 360-degree seam, folded back onto the image.

An equirectangular panorama's left edge (x = 0) and right edge (x = W) are the same
meridian, and the viewer shows a copy of the image on each side, so a ring drawn across
the seam has x outside [0, W]. `split_at_seam` cuts it exactly along the vertical lines
x = k*W and shifts each piece by a whole number of widths into [0, W]: the union of the
pieces covers what the ring covers, folded modulo W.

The cut is the classic split of a polygon by a line: the crossings of the ring with the
line, sorted along it, pair up into the stretches of the line that lie inside the ring;
each side's chains of the ring are joined through those stretches. So a concave ring
that enters and leaves a strip several times gives separate polygons (never zero-width
slivers along the line joining them). Vertices keep their exact coordinates (up to the
whole-width shift); new vertices lie exactly on the cut lines. numpy only.

Also: `join_at_seam` undoes the split (pieces meeting on the seam joined into one ring
running across x = W) and `move_on_panorama` moves a region round the panorama with it;
`snap_to_seam` puts traced edges that run half a pixel beside the seam onto it.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from skysegui.core.annotations.model import Polygon, as_ring

_AREA_EPS = 1e-9  # pieces with less area (square pixels) are degenerate touches


def signed_area(ring: np.ndarray) -> float:
    """Shoelace area: positive for counter-clockwise in x-right / y-up axes."""
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def needs_split(ring: np.ndarray, width: float) -> bool:
    """Whether any vertex of `ring` lies outside [0, width]."""
    ring = as_ring(ring)
    return bool(len(ring)) and bool(ring[:, 0].min() < 0 or ring[:, 0].max() > width)


def split_ring(ring, width: float) -> list[np.ndarray]:
    """The pieces of the closed `ring` (N x 2) folded into [0, width]: each an (M, 2)
    float64 ring, all with the orientation of `ring`. A ring inside [0, width] comes back
    as it is; degenerate (zero-area) pieces are dropped."""
    ring = _clean(as_ring(ring))
    if len(ring) < 3:
        return []
    if not needs_split(ring, width):
        return [ring]
    flip = signed_area(ring) < 0
    work = ring[::-1].copy() if flip else ring
    lo, hi = float(work[:, 0].min()), float(work[:, 0].max())
    pieces: list[np.ndarray] = [work]
    # cut at every multiple of the width strictly inside the ring's x range
    for k in range(math.floor(lo / width) + 1, math.ceil(hi / width)):
        a = k * width
        nxt: list[np.ndarray] = []
        for piece in pieces:
            left, right = split_by_vertical(piece, a)
            nxt += left + right
        pieces = nxt
    out = []
    for piece in pieces:
        k = _strip_of(piece, width)
        if k:
            piece = piece.copy()
            piece[:, 0] -= k * width
        out.append(piece[::-1].copy() if flip else piece)
    return out


def split_polygon(polygon: Polygon, width: float) -> list[Polygon]:
    """`polygon` (outer ring and holes, any x) folded into [0, width]: its outer ring's
    pieces, each with the pieces of the holes that lie inside it. A hole drawn across
    the seam so cuts the pieces on both sides."""
    outers = split_ring(polygon.outer, width)
    result = [Polygon(o) for o in outers]
    for hole in polygon.holes:
        for piece in split_ring(hole, width):
            point = interior_point(piece)
            if point is None:
                continue
            for target in result:
                if _inside(target.outer, point):
                    target.holes.append(piece)
                    break
    return result


def split_polygons(polygons, width: float) -> list[Polygon]:
    """Every polygon of `polygons` folded into [0, width] (see split_polygon)."""
    return [piece for p in polygons for piece in split_polygon(p, width)]


def snap_to_seam(polygons, width: float, tolerance: float = 0.5) -> list[Polygon]:
    """Copies of `polygons` whose outer-ring edges running within `tolerance` pixels of
    x = 0 or x = width are moved exactly onto that line.

    Rings traced from a mask (a brush stroke, an accepted prediction) end half a pixel
    off the image border at some corners (pixel centres, mitre limits): such an edge runs
    alongside the seam, so it is stroked as a line at the cut and the region misses a
    sliver of the last column. On the line itself the edge is the seam (not drawn) and
    meets its other side exactly. Holes are left alone: they never reach the border."""
    out = []
    for polygon in polygons:
        polygon = polygon.copy()
        polygon.outer = _snap_ring(polygon.outer, float(width), tolerance)
        out.append(polygon)
    return out


def _snap_ring(ring: np.ndarray, width: float, tolerance: float) -> np.ndarray:
    """Each run of two or more consecutive vertices within `tolerance` of a seam line is
    put onto it; the run's first and last vertex stay where they are, joined to the line
    by short horizontal steps, so the pixels on the region's side do not change."""
    for line in (0.0, width):
        near = np.abs(ring[:, 0] - line) <= tolerance
        if near.all() or not near.any():
            continue
        nxt = np.roll(ring[:, 0], -1)
        beside = near & np.roll(near, -1) & ~((ring[:, 0] == line) & (nxt == line))
        if not beside.any():
            continue
        shift = int(np.flatnonzero(~near)[0])  # start the walk off the line
        r, nr = np.roll(ring, -shift, axis=0), np.roll(near, -shift)
        out: list[np.ndarray] = []
        i, n = 0, len(r)
        while i < n:
            j = i + 1
            if nr[i]:
                while j < n and nr[j]:
                    j += 1
            run = r[i:j]
            if len(run) >= 2 and run[:, 1].min() < run[:, 1].max():
                on = run.copy()
                on[:, 0] = line
                out += [run[:1], on, run[-1:]]
            else:
                out.append(run)
            i = j
        snapped = _clean(np.vstack(out))
        if len(snapped) >= 3 and abs(signed_area(snapped)) > _AREA_EPS:
            ring = snapped
    return ring


def move_on_panorama(polygons, dx: float, dy: float, width: float) -> list[Polygon] | None:
    """`polygons` (one annotation, all inside [0, width]) moved by (dx, dy) on the
    360-degree panorama: the pieces of a region cut at the seam are joined back into the
    region first, so it moves as one and is cut again where it now crosses the seam; a
    polygon moved over the seam is cut there. None when a ring wraps all the way round
    the panorama (a full-width sky band): it cannot move sideways."""
    joined = join_at_seam(polygons, width)
    if joined is None:
        return None
    offset = np.array([dx, dy], dtype=np.float64)
    moved = [Polygon(p.outer + offset, [h + offset for h in p.holes]) for p in joined]
    return split_polygons(moved, width)


def join_at_seam(polygons, width: float) -> list[Polygon] | None:
    """The inverse of the split: polygons whose rings meet along x = width and x = 0
    (the pieces of one region) joined into rings that run across x = width (the pieces at
    the left edge shifted one width right). Polygons that do not meet come back as they
    are. None when one ring touches both edges itself (it wraps all the way round)."""
    width = float(width)
    polygons = [p.copy() for p in polygons]
    if any(_along(r, 0.0) and _along(r, width) for p in polygons for r in p.rings()):
        return None
    if not any(_along(r, width) for p in polygons for r in p.rings()):
        return polygons
    if not any(_along(r, 0.0) for p in polygons for r in p.rings()):
        return polygons
    rings = []  # outer rings counter-clockwise (y down: negative signed area), holes clockwise
    for p in polygons:
        shift = np.array([width, 0.0]) if _along(p.outer, 0.0) else np.zeros(2)
        rings.append(_oriented(p.outer + shift, True))
        rings += [_oriented(h + shift, False) for h in p.holes]
    loops = _dissolve(rings, width)
    outers = [Polygon(r) for r in loops if signed_area(r) > 0]
    for hole in (r for r in loops if signed_area(r) < 0):
        point = interior_point(hole)
        target = next((o for o in outers if point is not None and _inside(o.outer, point)), None)
        if target is None:
            return polygons  # not a clean join: leave the pieces as they were
        target.holes.append(hole)
    return outers


def _along(ring: np.ndarray, line: float) -> bool:
    """Whether some edge of the ring lies on the vertical line x = line."""
    x = ring[:, 0]
    return bool(np.any((x == line) & (np.roll(x, -1) == line)))


def _oriented(ring: np.ndarray, positive: bool) -> np.ndarray:
    ring = _clean(as_ring(ring))
    return ring if (signed_area(ring) > 0) == positive else ring[::-1].copy()


def _dissolve(rings: list[np.ndarray], line: float) -> list[np.ndarray]:
    """Rings with the edges they share on x = line (opposite directions) removed and the
    rest linked into closed loops: the union along that line."""
    cuts = sorted({float(y) for r in rings for x, y in r if x == line})
    edges: list[tuple[tuple[float, float], tuple[float, float]]] = []
    for ring in rings:
        pts = [tuple(map(float, v)) for v in ring]
        for a, b in zip(pts, pts[1:] + pts[:1], strict=True):
            if a[0] == line and b[0] == line:  # on the line: split at every cut height
                lo, hi = sorted((a[1], b[1]))
                ys = [y for y in cuts if lo < y < hi]
                ys = ys if a[1] < b[1] else ys[::-1]
                chain = [a, *((line, y) for y in ys), b]
                edges += list(zip(chain, chain[1:], strict=False))
            else:
                edges.append((a, b))
    # an edge cancels one edge the other way, as a count: a ring with an edge along the
    # line itself (a zero-width spike after the cut) keeps what is not matched
    count = Counter(edges)
    left = {e: count[e] - count.get((e[1], e[0]), 0) for e in count}
    remaining = []
    for e in edges:
        if left[e] > 0:
            remaining.append(e)
            left[e] -= 1
    outgoing: dict[tuple[float, float], list[tuple[float, float]]] = {}
    for a, b in remaining:
        outgoing.setdefault(a, []).append(b)
    loops = []
    while outgoing:
        start = next(iter(outgoing))
        loop, at = [start], start
        while True:
            nexts = outgoing.get(at)
            if not nexts:
                break
            to = nexts.pop()
            if not nexts:
                del outgoing[at]
            if to == start:
                break
            loop.append(to)
            at = to
        ring = _drop_collinear_on(np.asarray(loop, dtype=np.float64), line)
        if len(ring) >= 3 and abs(signed_area(ring)) > _AREA_EPS:
            loops.append(ring)
    return loops


def _drop_collinear_on(ring: np.ndarray, line: float) -> np.ndarray:
    """Drop the vertices on x = line that the cut added in the middle of a straight edge."""
    prev, nxt = np.roll(ring, 1, axis=0), np.roll(ring, -1, axis=0)
    cross = (ring[:, 0] - prev[:, 0]) * (nxt[:, 1] - prev[:, 1]) - (ring[:, 1] - prev[:, 1]) * (nxt[:, 0] - prev[:, 0])
    scale = np.hypot(*(nxt - prev).T) * np.hypot(*(ring - prev).T) + 1e-300
    straight = (ring[:, 0] == line) & (np.abs(cross) / scale < 1e-9)
    straight &= ((ring[:, 0] - prev[:, 0]) * (nxt[:, 0] - ring[:, 0]) >= 0)
    return ring[~straight] if (~straight).sum() >= 3 else ring


# --- the cut by one line ---------------------------------------------------------------------
def split_by_vertical(ring: np.ndarray, a: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Split a positively oriented ring by the line x = a into (pieces with x <= a,
    pieces with x >= a). Vertices on the line count as right of it."""
    n = len(ring)
    right = ring[:, 0] >= a
    if right.all():
        return [], [ring]
    if not right.any():
        return [ring], []
    # crossings: on the edge i -> i+1 when the side changes
    crossings = []  # (y, goes_right, edge index, point)
    for i in range(n):
        j = (i + 1) % n
        if right[i] == right[j]:
            continue
        p, q = ring[i], ring[j]
        if p[0] == a:
            y = p[1]
        elif q[0] == a:
            y = q[1]
        else:
            t = (a - p[0]) / (q[0] - p[0])
            y = p[1] + t * (q[1] - p[1])
        crossings.append((float(y), bool(right[j]), i))
    order = _sorted_alternating(crossings)
    rank = {c: r for r, c in enumerate(order)}  # crossing index -> position along the line
    # chain starting at each crossing: the ring's vertices up to the next crossing
    m = len(crossings)
    chains: dict[int, np.ndarray] = {}
    for c in range(m):
        y, _goes_right, i = crossings[c]
        end_y, _, end_i = crossings[(c + 1) % m]
        idx = [(k % n) for k in range(i + 1, (end_i if end_i > i else end_i + n) + 1)]
        pts = [(a, y), *map(tuple, ring[idx]), (a, end_y)]
        chains[c] = np.asarray(pts, dtype=np.float64)
    left_pieces, right_pieces = [], []
    for side_right, out in ((False, left_pieces), (True, right_pieces)):
        starts = [c for c in range(m) if crossings[c][1] == side_right]
        used: set[int] = set()
        for s in starts:
            if s in used:
                continue
            parts = []
            c = s
            while c not in used:
                used.add(c)
                parts.append(chains[c])
                end = (c + 1) % m  # the crossing where this chain leaves the side
                r = rank[end]
                partner = order[r ^ 1] if (r ^ 1) < m else order[r]  # the stretch's other end
                c = partner
            piece = _clean(np.vstack(parts))
            if len(piece) >= 3 and abs(signed_area(piece)) > _AREA_EPS:
                out.append(piece)
    return left_pieces, right_pieces


def _sorted_alternating(crossings) -> list[int]:
    """Crossing indices sorted along the line (by y). For a positively oriented simple
    ring they alternate: going right, going left, going right... Ties (a vertex touching
    the line) are ordered to keep that alternation."""
    by_y = sorted(range(len(crossings)), key=lambda c: crossings[c][0])
    out: list[int] = []
    i = 0
    while i < len(by_y):
        j = i
        while j < len(by_y) and crossings[by_y[j]][0] == crossings[by_y[i]][0]:
            j += 1
        group = by_y[i:j]
        goes = [c for c in group if crossings[c][1]]
        back = [c for c in group if not crossings[c][1]]
        while goes or back:
            want_right = len(out) % 2 == 0
            first, second = (goes, back) if want_right else (back, goes)
            out.append(first.pop(0) if first else second.pop(0))
        i = j
    return out


# --- small geometry helpers ------------------------------------------------------------------
def _clean(ring: np.ndarray) -> np.ndarray:
    """Drop consecutive repeated vertices (and a last one equal to the first)."""
    if len(ring) == 0:
        return ring
    keep = np.any(ring != np.roll(ring, 1, axis=0), axis=1)
    if not keep.any():
        return ring[:1]
    return np.ascontiguousarray(ring[keep])


def _strip_of(piece: np.ndarray, width: float) -> int:
    """Which copy of the image the piece lies on: k with kW <= x <= (k+1)W."""
    mid = 0.5 * (float(piece[:, 0].min()) + float(piece[:, 0].max()))
    return math.floor(mid / width)


def interior_point(ring: np.ndarray) -> tuple[float, float] | None:
    """A point strictly inside the ring (even-odd), or None for a degenerate ring: the
    middle of the first inside stretch of a horizontal line between vertex heights."""
    ys = np.unique(ring[:, 1])
    if len(ys) < 2:
        return None
    gaps = np.diff(ys)
    k = int(np.argmax(gaps))
    y = 0.5 * (ys[k] + ys[k + 1])
    p, q = ring, np.roll(ring, -1, axis=0)
    hit = (p[:, 1] < y) != (q[:, 1] < y)
    if not hit.any():
        return None
    t = (y - p[hit, 1]) / (q[hit, 1] - p[hit, 1])
    xs = np.sort(p[hit, 0] + t * (q[hit, 0] - p[hit, 0]))
    if len(xs) < 2:
        return None
    return float(0.5 * (xs[0] + xs[1])), float(y)


def _inside(ring: np.ndarray, point) -> bool:
    """Even-odd point-in-ring test."""
    x, y = point
    p, q = ring, np.roll(ring, -1, axis=0)
    hit = (p[:, 1] > y) != (q[:, 1] > y)
    if not hit.any():
        return False
    t = (y - p[hit, 1]) / (q[hit, 1] - p[hit, 1])
    xs = p[hit, 0] + t * (q[hit, 0] - p[hit, 0])
    return bool(np.count_nonzero(xs > x) % 2)
