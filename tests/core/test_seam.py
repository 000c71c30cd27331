"""Rings drawn across the 360-degree seam: exact split at x = 0 and x = W, pieces folded
into the image, compared with the ring's own mask folded modulo W (pycocotools pixels)."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from skysegui.core.annotations import (
    Polygon,
    polygons_to_mask,
    split_polygon,
    split_polygons,
    split_ring,
)
from skysegui.core.annotations.seam import join_at_seam, move_on_panorama, signed_area, snap_to_seam

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


# --- traced rings beside the seam ----------------------------------------------------------------
def test_snap_puts_a_traced_edge_beside_the_seam_onto_it_and_keeps_the_pixels():
    # as mask_to_polygons traces a sky reaching the right edge down to row 20 at a corner
    # pixel: the edge back up to the top corner runs half a pixel beside the seam
    ring = np.array([[0.0, 0.0], [W, 0.0], [W - 0.5, 20.5], [W - 10.0, 22.0], [0.0, 25.0]])
    hole = np.array([[W - 0.5 - 5, 5.0], [W - 0.5, 5.0], [W - 0.5, 10.0], [W - 5.5, 10.0]])
    (snapped,) = snap_to_seam([Polygon(ring, [hole])], W)
    # the edge now lies on x = W; the corner vertex stays, joined to it by a short step
    np.testing.assert_array_equal(
        snapped.outer, [[0, 0], [W, 0], [W, 20.5], [W - 0.5, 20.5], [W - 10, 22], [0, 25]])
    np.testing.assert_array_equal(snapped.holes[0], hole)  # holes never reach the border
    before = polygons_to_mask([Polygon(ring, [hole])], H, W)
    after = polygons_to_mask([snapped], H, W)
    assert (before != after)[:, : W - 1].sum() == 0  # only the last column may gain pixels


def test_snap_leaves_rings_off_the_seam_and_on_it_alone():
    inside = np.array([[3.0, 3.0], [20.0, 3.0], [20.0, 10.0]])
    on_seam = np.array([[40.0, 0.0], [W, 0.0], [W, 30.0], [40.0, 30.0]])
    snapped = snap_to_seam([Polygon(inside), Polygon(on_seam)], W)
    np.testing.assert_array_equal(snapped[0].outer, inside)
    np.testing.assert_array_equal(snapped[1].outer, on_seam)


def test_snap_of_traced_masks_reaching_the_seam_only_helps_the_border_columns():
    import cv2

    from skysegui.core.annotations import mask_to_polygons

    rng = np.random.default_rng(3)
    wrong_before = wrong_after = 0
    for _ in range(20):
        mask = (cv2.resize(rng.random((5, 8)), (W, H), interpolation=cv2.INTER_CUBIC) > 0.5).astype(np.uint8)
        traced = mask_to_polygons(mask, tolerance=0.5, min_area=4.0)
        snapped = snap_to_seam(traced, W)
        a, b = polygons_to_mask(traced, H, W), polygons_to_mask(snapped, H, W)
        assert not (a != b)[:, 1 : W - 1].any()
        wrong_before += int((a != mask).sum())
        wrong_after += int((b != mask).sum())
        for polygon in snapped:
            r, n = polygon.outer, np.roll(polygon.outer, -1, axis=0)
            for line in (0.0, W):
                beside = (np.abs(r[:, 0] - line) <= 0.5) & (np.abs(n[:, 0] - line) <= 0.5)
                assert ((r[beside, 0] == line) & (n[beside, 0] == line) | (r[beside, 1] == n[beside, 1])).all()
    assert wrong_after <= wrong_before


def test_snap_closes_the_one_pixel_gap_of_a_real_label_studio_sky_at_the_seam(label_studio_dir, hdri_dir):
    """Label Studio's export of a sky that touches both edges stops at x = W - 1 on the
    right (the last pixel clicked), so its mask misses the last column: a gap across the
    seam. Snapped with a one-pixel tolerance it reaches x = W and meets its left side."""
    from skysegui.core.annotations import load_labels

    labels = load_labels(label_studio_dir / "city_tasks.json", images_dir=hdri_dir).labels
    (image,) = labels.images.values()
    w, h = image.width, image.height
    (sky,) = [a for a in labels.annotations.values() if labels.role_of(a.category_id) == 1]
    before = polygons_to_mask(sky.polygons, h, w)
    assert before[:, 0].sum() > 100 and before[:, -1].sum() == 0  # the gap at the seam
    after = polygons_to_mask(snap_to_seam(sky.polygons, w, tolerance=1.0), h, w)
    assert abs(int(after[:, -1].sum()) - int(after[:, 0].sum())) <= 2
    assert not (before != after)[:, : w - 1].any()  # nothing else changes


# --- moving a region across the seam ------------------------------------------------------------
def test_join_undoes_the_split_holes_included():
    ring = np.array([[50.0, 5.0], [80.0, 8.0], [78.0, 30.0], [52.0, 28.0]])
    hole = np.array([[60.0, 12.0], [70.0, 12.0], [70.0, 20.0], [60.0, 20.0]])
    pieces = split_polygon(Polygon(ring, [hole]), W)
    assert len(pieces) == 2
    (joined,) = join_at_seam(pieces, W)
    assert {tuple(v) for v in joined.outer} == {tuple(v) for v in ring}  # the cut vertices go
    assert len(joined.holes) == 1 and {tuple(v) for v in joined.holes[0]} == {tuple(v) for v in hole}


def test_a_ring_round_the_whole_panorama_cannot_be_joined_or_moved_sideways():
    band = Polygon(np.array([[0.0, 0.0], [W, 0.0], [W, 10.0], [0.0, 12.0]]))
    assert join_at_seam([band], W) is None
    assert move_on_panorama([band], 5.0, 0.0, W) is None


@settings(max_examples=100, deadline=None)
@given(star_rings(), st.floats(-70.0, 70.0), st.floats(-5.0, 5.0))
# found by Hypothesis: an edge lying on the seam itself left a zero-width spike in a piece,
# and the join cancelled both of its edges against one edge of the other piece
@example(np.array([[2.0, 15.0], [-1.0, 16.0], [-0.0, 14.0], [0.0, 15.0]]), 1.0, 0.0)
def test_moving_the_pieces_is_moving_the_drawn_region(ring, dx, dy):
    assume(len(np.unique(ring, axis=0)) == len(ring) and is_simple(ring) and abs(signed_area(ring)) > 0.5)
    assume(ring[:, 0].max() - ring[:, 0].min() < W - 1)  # not round the whole panorama
    pieces = [Polygon(p) for p in split_ring(ring, W)]
    moved = move_on_panorama(pieces, dx, dy, W)
    shifted = ring + [dx, dy]
    assume(shifted[:, 1].min() >= 0 and shifted[:, 1].max() <= H)
    assume(shifted[:, 0].min() > -W and shifted[:, 0].max() < 2 * W)  # what folded_mask draws
    assert moved is not None
    assert_same_as_folded(Polygon(shifted), moved)
    # no cut inside the image: pieces meet only on the seam
    assert len(moved) == len(split_ring(shifted, W))
