"""Checks on label-file values: every problem is collected with where it is.

Loading never stops at the first bad entry: each problem becomes one warning line naming
the file, the image and the annotation, and the entry is skipped or repaired (clamped).
Only a file that cannot be used at all raises AnnotationError.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from skysegui.core.errors import AnnotationError

MAX_SIDE = 1 << 16           # no panorama side is larger; guards RLE decoding
MAX_PIXELS = 16384 * 8192  # as core.imageio: the largest panorama the program opens


@dataclass
class Problems:
    """Warnings collected while reading one file."""

    source: str
    warnings: list[str] = field(default_factory=list)

    def warn(self, where: str, message: str) -> None:
        self.warnings.append(f"{self.source}: {where}: {message}" if where else f"{self.source}: {message}")

    def fail(self, message: str) -> AnnotationError:
        return AnnotationError(f"{self.source}: {message}")


def source_name(path: str | Path | None) -> str:
    return str(path) if path is not None else "labels"


def is_id(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and value != ""
    )


def as_id(value: Any) -> int | str | None:
    """An int or non-empty string id; integral floats (7.0) become ints; else None."""
    if is_id(value):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def as_size(value: Any) -> int | None:
    """A positive image side (int, or integral float), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and 0 < value <= MAX_SIDE:
        return value
    return None


#: no coordinate of a label file lies further out than this: larger values (1e308) are
#: refused on load, so no arithmetic on them overflows (numpy's warnings on stderr)
MAX_COORDINATE = 1e9


def as_number_list(value: Any) -> np.ndarray | None:
    """A flat list of finite numbers (at most MAX_COORDINATE in size) as float64, or None
    if it is anything else."""
    if not isinstance(value, list | tuple) or not value:
        return None
    try:
        arr = np.array(value)
    except (OverflowError, ValueError, TypeError):
        return None
    if arr.ndim != 1 or arr.dtype.kind not in "iuf":
        return None
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)) or float(np.abs(arr).max()) > MAX_COORDINATE:
        return None
    return arr


def clamp_ring(ring: np.ndarray, width: int, height: int) -> tuple[np.ndarray, bool]:
    """The ring clamped into 0..width x 0..height, and whether anything moved."""
    lo, hi = ring.min(axis=0), ring.max(axis=0)
    if lo[0] >= 0 and lo[1] >= 0 and hi[0] <= width and hi[1] <= height:
        return ring, False
    clamped = np.clip(ring, 0.0, [float(width), float(height)])
    return clamped, True


def has_area(ring: np.ndarray) -> bool:
    """At least 3 distinct points (a ring that can enclose anything)."""
    if len(ring) < 3:
        return False
    x, y = ring[:, 0], ring[:, 1]
    with np.errstate(over="ignore", invalid="ignore"):  # absurd coordinates: no stderr noise
        twice_area = np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1]) + x[-1] * y[0] - x[0] * y[-1]
    if np.isfinite(twice_area) and twice_area != 0:
        return True  # a non-zero area needs three distinct points: the common case, fast
    differs = np.any(ring != ring[0], axis=1)
    if not differs.any():
        return False
    second = ring[int(np.argmax(differs))]
    return bool(np.any(differs & np.any(ring != second, axis=1)))


_SMALL_RING = 96  # rings up to this many vertices are checked pair by pair in one go
_MAX_PAIRS = 20_000_000  # beyond this many candidate segment pairs the check gives up (no warning)


def crosses_itself(ring: np.ndarray, block: int = 1_000_000) -> bool:
    """Do two non-adjacent edges of the closed ring properly cross (a bow tie)?

    Touching and overlapping edges (the zero-width bridges of keyhole rings) do not count.
    Edges are sorted by their left end so only pairs whose x-ranges overlap are tested,
    which keeps long skyline rings near linear; pathological rings stop at _MAX_PAIRS.
    """
    n = len(ring)
    if n < 4:
        return False
    a = np.asarray(ring, dtype=np.float64)
    if n <= _SMALL_RING:
        return _small_ring_crosses(a)
    b = np.concatenate((a[1:], a[:1]))
    xmin, xmax = np.minimum(a[:, 0], b[:, 0]), np.maximum(a[:, 0], b[:, 0])
    ymin, ymax = np.minimum(a[:, 1], b[:, 1]), np.maximum(a[:, 1], b[:, 1])
    order = np.argsort(xmin, kind="stable")
    end = np.searchsorted(xmin[order], xmax[order], side="right")
    counts = np.maximum(end - np.arange(1, n + 1), 0)
    if int(counts.sum()) > _MAX_PAIRS:
        return False
    start = 0
    while start < n:
        stop = start + 1
        budget = int(counts[start])
        while stop < n and budget + int(counts[stop]) <= block:
            budget += int(counts[stop])
            stop += 1
        k = np.arange(start, stop)
        c = counts[start:stop]
        first = np.repeat(k, c)
        offsets = np.arange(int(c.sum())) - np.repeat(np.cumsum(c) - c, c)
        i, j = order[first], order[first + 1 + offsets]
        gap = np.abs(i - j)
        keep = (gap != 1) & (gap != n - 1) & (ymin[i] <= ymax[j]) & (ymin[j] <= ymax[i])
        i, j = i[keep], j[keep]
        if len(i) and _proper_crossings(a[i], b[i], a[j], b[j]):
            return True
        start = stop
    return False


def _small_ring_crosses(a: np.ndarray) -> bool:
    """All edge pairs at once (few numpy calls: most label files hold many small rings).

    Edges that share a vertex (neighbours, or an edge with itself) have that vertex on the
    other's line, a zero side, so they never count as crossing and need no mask. The ring
    is closed by appending its first vertex rather than rolled: np.roll costs more than
    the arithmetic on rings this small.
    """
    closed = np.concatenate((a, a[:1]))
    d = closed[1:] - a
    # side[i, j]: which side of edge i's line vertex j is on; edge j runs from vertex j to j + 1
    side = np.sign(d[:, :1] * (closed[:, 1] - a[:, 1:]) - d[:, 1:] * (closed[:, 0] - a[:, :1]))
    straddles = side[:, :-1] * side[:, 1:] < 0  # edge j has its ends on both sides
    return bool((straddles & straddles.T).any())


def _proper_crossings(p1: np.ndarray, p2: np.ndarray, q1: np.ndarray, q2: np.ndarray) -> bool:
    def side(o, d, p):
        return np.sign((d[:, 0] - o[:, 0]) * (p[:, 1] - o[:, 1]) - (d[:, 1] - o[:, 1]) * (p[:, 0] - o[:, 0]))

    return bool(np.any((side(p1, p2, q1) * side(p1, p2, q2) < 0) & (side(q1, q2, p1) * side(q1, q2, p2) < 0)))
