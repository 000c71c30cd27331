"""Rings drawn across the 360-degree seam: exact split at x = 0 and x = W, pieces folded
into the image, compared with the ring's own mask folded modulo W (pycocotools pixels)."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from skysegui.core.annotations import (
    Polygon,
    polygons_to_mask,
    split_polygon,
    split_polygons,
    split_ring,
)
from skysegui.core.annotations.seam import signed_area

W, H = 64, 40


def folded_mask(polygon: Polygon) -> np.ndarray:
    """The polygon (x anywhere in [-W, 2W]) rasterised on three copies side by side and
    folded onto one image: what the artist sees drawn across the seam."""
    shift = np.array([W, 0.0])
    big = polygons_to_mask([Polygon(polygon.outer + shift, [h + shift for h in polygon.holes])], H, 3 * W)
    return big[:, :W] | big[:, W : 2 * W] | big[:, 2 * W :]


def near_rings(rings, tol: float) -> np.ndarray:
    """Pixels whose centre lies within `tol` of an edge of the rings (on any copy)."""
    ys, xs = np.mgrid[0:H, 0:W] + 0.5
    p = np.c_[xs.ravel(), ys.ravel()]
    out = np.zeros(len(p), bool)
    for ring in rings:
        for k in (-1, 0, 1):
            a = ring + [k * W, 0.0]
            for s, e in zip(a, np.roll(a, -1, axis=0), strict=True):
                ab = e - s
                t = np.clip((p - s) @ ab / (ab @ ab or 1.0), 0.0, 1.0)
                out |= np.hypot(*(s + t[:, None] * ab - p).T) <= tol
    return out.reshape(H, W)


def is_simple(ring: np.ndarray) -> bool:
    """No two non-adjacent edges touch (the split is defined for simple rings)."""
    n = len(ring)

    def orient(a, b, c):
        return np.sign((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))

    for i in range(n):
        a, b = ring[i], ring[(i + 1) % n]
        for j in range(i + 1, n):
            if (j + 1) % n == i or j == (i + 1) % n:
                continue
            c, d = ring[j], ring[(j + 1) % n]
            if orient(a, b, c) * orient(a, b, d) <= 0 and orient(c, d, a) * orient(c, d, b) <= 0:
                return False
    return True


def assert_same_as_folded(polygon: Polygon, pieces: list[Polygon]) -> None:
    for piece in pieces:
        for ring in piece.rings():
            assert ring[:, 0].min() >= 0 and ring[:, 0].max() <= W
    diff = folded_mask(polygon) ^ polygons_to_mask(pieces, H, W)
    diff[:, [0, W - 1]] = 0  # the cut's own edge, rasterised at the image border
    # elsewhere only boundary pixels may differ (pycocotools rounds each edge's end points)
    assert not (diff & ~near_rings(polygon.rings(), 1.0)).any()


# --- exact cases -------------------------------------------------------------------------------
def test_ring_inside_the_image_comes_back_unchanged():
    ring = np.array([[0.0, 1.0], [64.0, 1.0], [40.5, 30.25], [0.0, 30.0]])
    (piece,) = split_ring(ring, W)
    assert np.array_equal(piece, ring)


def test_ring_across_the_right_seam_becomes_two_exact_pieces():
    ring = np.array([[50.0, 5.0], [80.0, 5.0], [80.0, 25.0], [50.0, 25.0]])
    pieces = split_ring(ring, W)
    assert len(pieces) == 2
    boxes = sorted((p[:, 0].min(), p[:, 0].max(), p[:, 1].min(), p[:, 1].max()) for p in pieces)
    assert boxes == [(0.0, 16.0, 5.0, 25.0), (50.0, 64.0, 5.0, 25.0)]
    # hand-placed vertices keep their exact coordinates; the new ones lie on the seam
    real = pieces[0] if pieces[0][:, 0].max() == 64.0 else pieces[1]
    assert {(50.0, 5.0), (50.0, 25.0)} <= set(map(tuple, real))
    assert set(real[:, 0]) == {50.0, 64.0}
    assert_same_as_folded(Polygon(ring), [Polygon(p) for p in pieces])


def test_ring_across_the_left_seam_and_sloped_edges_meet_at_the_same_height():
    ring = np.array([[-10.0, 4.0], [12.0, 10.0], [-6.0, 30.0]])
    pieces = split_ring(ring, W)
    assert len(pieces) == 2
    left = next(p for p in pieces if p[:, 0].max() == W)
    right = next(p for p in pieces if p[:, 0].min() == 0)
    # where the ring crosses the seam, both pieces have a vertex at the same height
    assert sorted(left[left[:, 0] == W][:, 1]) == sorted(right[right[:, 0] == 0][:, 1])
    assert abs(sum(abs(signed_area(p)) for p in pieces) - abs(signed_area(ring))) < 1e-9
    assert_same_as_folded(Polygon(ring), [Polygon(p) for p in pieces])


def test_concave_u_crossing_the_seam_twice_gives_separate_pieces_without_slivers():
    # a U open to the left whose two arms reach over x = W: the arms must become two
    # separate polygons on the left edge, not one polygon joined by a zero-width sliver
    u = np.array([[50, 2], [75, 2], [75, 30], [50, 30], [50, 22], [70, 22], [70, 10], [50, 10]], float)
    pieces = split_ring(u, W)
    assert len(pieces) == 3
    on_real_right = [p for p in pieces if p[:, 0].min() >= 50]
    assert len(on_real_right) == 2  # the two arms, separately
    assert sorted((p[:, 1].min(), p[:, 1].max()) for p in on_real_right) == [(2.0, 10.0), (22.0, 30.0)]
    for p in pieces:
        assert abs(signed_area(p)) > 1.0
    assert_same_as_folded(Polygon(u), [Polygon(p) for p in pieces])


def test_ring_entirely_on_a_ghost_copy_is_only_shifted():
    ring = np.array([[-30.0, 5.0], [-5.0, 5.0], [-5.0, 20.0], [-30.0, 20.0]])
    (piece,) = split_ring(ring, W)
    np.testing.assert_array_equal(piece, ring + [W, 0])
    (piece,) = split_ring(ring + [2 * W, 0], W)
    np.testing.assert_array_equal(piece, ring + [W, 0])


def test_orientation_is_kept():
    ring = np.array([[50.0, 5.0], [80.0, 5.0], [80.0, 25.0], [50.0, 25.0]])
    for r in (ring, ring[::-1]):
        sign = np.sign(signed_area(r))
        assert all(np.sign(signed_area(p)) == sign for p in split_ring(r, W))


def test_vertex_exactly_on_the_seam_and_an_edge_along_it():
    touch = np.array([[40.0, 5.0], [64.0, 15.0], [40.0, 25.0]])  # touches x = W only
    (piece,) = split_ring(touch, W)
    np.testing.assert_array_equal(piece, touch)
    along = np.array([[50.0, 5.0], [64.0, 5.0], [64.0, 12.0], [70.0, 12.0], [70.0, 20.0], [50.0, 20.0]])
    pieces = split_ring(along, W)
    assert len(pieces) == 2
    assert_same_as_folded(Polygon(along), [Polygon(p) for p in pieces])
    # a notch whose tip touches the seam from inside: the strip left of it is pinched there
    notch = np.array([[50, 2], [75, 2], [75, 30], [50, 30], [50, 22], [64, 16], [50, 10]], float)
    pieces = split_ring(notch, W)
    assert all(abs(signed_area(p)) > 1.0 for p in pieces)
    assert abs(sum(abs(signed_area(p)) for p in pieces) - abs(signed_area(notch))) < 1e-9
    assert_same_as_folded(Polygon(notch), [Polygon(p) for p in pieces])


def test_hole_drawn_across_the_seam_cuts_both_pieces():
    outer = np.array([[40.0, 2.0], [90.0, 2.0], [90.0, 30.0], [40.0, 30.0]])
    hole = np.array([[58.0, 8.0], [70.0, 8.0], [70.0, 20.0], [58.0, 20.0]])
    polygon = Polygon(outer, [hole])
    pieces = split_polygon(polygon, W)
    assert len(pieces) == 2 and all(len(p.holes) == 1 for p in pieces)
    assert_same_as_folded(polygon, pieces)
    mask = polygons_to_mask(pieces, H, W)
    assert mask[14, 61] == 0 and mask[14, 2] == 0  # the hole, on both sides of the seam
    assert mask[14, 50] == 1 and mask[14, 10] == 1


def test_hole_on_one_side_stays_in_its_piece_and_several_polygons_split_together():
    outer = np.array([[40.0, 2.0], [90.0, 2.0], [90.0, 30.0], [40.0, 30.0]])
    hole = np.array([[44.0, 8.0], [50.0, 8.0], [50.0, 20.0], [44.0, 20.0]])
    other = Polygon(np.array([[10.0, 5.0], [20.0, 5.0], [20.0, 9.0]]))
    pieces = split_polygons([Polygon(outer, [hole]), other], W)
    assert len(pieces) == 3
    assert sum(len(p.holes) for p in pieces) == 1
    assert pieces[-1] == other


# --- property ---------------------------------------------------------------------------------
@st.composite
def star_rings(draw):
    """Simple rings (star-shaped around a centre anywhere over the three copies), with
    integer vertices half of the time so vertices land exactly on the seam too."""
    n = draw(st.integers(3, 12))
    angles = np.sort(draw(st.lists(st.floats(0, 2 * np.pi, allow_nan=False), min_size=n, max_size=n, unique=True)))
    radii = np.array(draw(st.lists(st.floats(1.0, 18.0), min_size=n, max_size=n)))
    cx = draw(st.floats(-30.0, W + 30.0))
    cy = draw(st.floats(15.0, H - 15.0))
    ring = np.c_[cx + 1.6 * radii * np.cos(angles), cy + radii * np.sin(angles)]
    if draw(st.booleans()):
        ring = np.round(ring)
    ring[:, 1] = np.clip(ring[:, 1], 0, H)
    return ring


@settings(max_examples=150, deadline=None)
@given(star_rings())
def test_pieces_cover_what_the_ring_covers_folded_modulo_the_width(ring):
    assume(len(np.unique(ring, axis=0)) == len(ring) and is_simple(ring) and abs(signed_area(ring)) > 0.5)
    pieces = split_ring(ring, W)
    assert abs(sum(abs(signed_area(p)) for p in pieces) - abs(signed_area(ring))) < 1e-6
    inside = ring[(ring[:, 0] > 0) & (ring[:, 0] < W)]
    got = {tuple(v) for p in pieces for v in p}
    assert {tuple(v) for v in inside} <= got  # hand-placed vertices are kept exactly
    assert_same_as_folded(Polygon(ring), [Polygon(p) for p in pieces])
