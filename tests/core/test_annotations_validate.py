"""The self-intersection check against a plain pair-by-pair reference.

crosses_itself has two fast paths (all pairs at once for small rings, an x-sorted sweep for
long ones); both must find exactly the proper crossings a textbook O(n^2) loop finds.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from skysegui.core.annotations.keyhole import keyhole_ring
from skysegui.core.annotations.model import Polygon
from skysegui.core.annotations.validate import _SMALL_RING, crosses_itself


def _side(o, d, p) -> float:
    return float(np.sign((d[0] - o[0]) * (p[1] - o[1]) - (d[1] - o[1]) * (p[0] - o[0])))


def reference_crosses(ring: np.ndarray) -> bool:
    """Two non-adjacent edges whose ends lie strictly on both sides of each other."""
    n = len(ring)
    edges = [(ring[i], ring[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # neighbours through the closing edge
            (p1, p2), (q1, q2) = edges[i], edges[j]
            if (_side(p1, p2, q1) * _side(p1, p2, q2) < 0
                    and _side(q1, q2, p1) * _side(q1, q2, p2) < 0):
                return True
    return False


def _grid_rings(sizes):
    """Random rings on a coarse grid: many touching and collinear edges, some crossings."""
    coords = st.integers(0, 12).map(float)
    return st.integers(*sizes).flatmap(
        lambda n: st.lists(st.tuples(coords, coords), min_size=n, max_size=n)
    ).map(lambda pts: np.array(pts, dtype=np.float64))


@settings(max_examples=300, deadline=None)
@given(_grid_rings((4, 30)))
def test_small_rings_match_the_reference(ring):
    assert crosses_itself(ring) == reference_crosses(ring)


@settings(max_examples=25, deadline=None)
@given(_grid_rings((_SMALL_RING + 1, _SMALL_RING + 40)))
def test_long_rings_match_the_reference(ring):
    assert crosses_itself(ring) == reference_crosses(ring)


def _star(n: int, seed: int, jitter: float = 30.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radius = 20 + rng.uniform(0, jitter, n)
    return np.c_[100 + radius * np.cos(angles), 100 + radius * np.sin(angles)]


def test_simple_rings_of_both_sizes_pass():
    for n in (8, _SMALL_RING, _SMALL_RING + 1, 500):
        assert not crosses_itself(_star(n, n)), n


def test_one_swapped_vertex_makes_a_bow_tie_in_both_sizes():
    for n in (8, 60, 300):
        ring = _star(n, n, jitter=0.0)  # on a circle: the quad 0-1-2-3 is convex
        ring[[1, 2]] = ring[[2, 1]]  # the edges 0-2 and 1-3 now cross
        assert reference_crosses(ring)
        assert crosses_itself(ring), n


def test_keyhole_bridges_do_not_count_as_crossings():
    outer = np.array([[0, 0], [40, 0], [40, 40], [0, 40]], float)
    holes = [np.array([[10, 10], [15, 10], [15, 15], [10, 15]], float),
             np.array([[25, 25], [30, 25], [30, 30], [25, 30]], float)]
    ring = keyhole_ring(Polygon(outer, holes)).reshape(-1, 2)
    assert not reference_crosses(ring)
    assert not crosses_itself(ring)
