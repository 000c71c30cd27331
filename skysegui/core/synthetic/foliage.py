"""Standing in a wood: near trees whose crowns close overhead, with the sky seen through
the gaps between leaves (the "canopy" skyline).

Each near crown is an ellipsoid in 3D around the camera; a pixel's ray that meets it shows
leaves unless a hole in the foliage (clumps of leaves and the gaps between them, sparser
toward the crown's edge) lets it through to what lies behind: a farther crown, a branch,
or the sky. Crowns are painted far to near onto the label canvas, so the sky seen through
a gap is labelled sky and everything else is not; specks too small to label are closed
by the canvas, as everywhere else.
"""

from __future__ import annotations

import numpy as np

from skysegui.core.synthetic.canvas import FOLIAGE, Canvas
from skysegui.core.synthetic.noise import (
    periodic_profile,
    sample_texture,
    smoothstep,
    tileable_fbm,
)
from skysegui.core.synthetic.skyline import (
    CAMERA_HEIGHT,
    _profile_top,
    forest_edge,
    ground,
    mountain_ranges,
)

# How bright leaves glow with the light they let through, per kind of sky.
_TRANSLUCENCY = {"day": 1.0, "overcast": 0.6, "dusk": 0.08, "night": 0.01}


def canopy(canvas: Canvas, rng: np.random.Generator, kind: str) -> None:
    """A wood: a far tree line, trees at the edge of a clearing, crowns overhead."""
    if rng.random() < 0.3:
        mountain_ranges(canvas, rng, 1, max_deg=10)
    prof = periodic_profile(rng, beta=1.3, k_min=4, k_max=300)
    top = _profile_top(canvas, prof, rng.uniform(2.0, 5.0), rng.uniform(5, 12))
    canvas.fill_below(top, canvas.palette.add(FOLIAGE, (0.045, 0.075, 0.03), haze=0.25))
    # the floor of a wood lies in the crowns' shade: darker than open ground
    ground(canvas, rng, colour=_pick(rng, [(0.022, 0.018, 0.011), (0.015, 0.02, 0.009), (0.03, 0.025, 0.018)]))
    forest_edge(canvas, rng, count=int(rng.integers(8, 16)))
    near_crowns(canvas, rng, kind, count=int(rng.integers(7, 15)))


def _pick(rng, items):
    return items[int(rng.integers(len(items)))]


def near_crowns(canvas: Canvas, rng: np.random.Generator, kind: str, count: int) -> int:
    """Crowns of near trees around and above the camera (with trunks and limbs); returns
    how many were drawn. The camera stands in a gap, so some sky stays straight up."""
    leaves = tileable_fbm(rng, 128, beta=1.5, k_min=3)
    clumps = tileable_fbm(rng, 128, beta=2.0, k_min=2)
    glow = _TRANSLUCENCY.get(kind, 1.0)
    trees = []
    gap = rng.uniform(-1.0, 4.0)  # how open the sky straight overhead is (m at crown height)
    for _ in range(count):
        az = rng.uniform(0, 2 * np.pi)
        radius = rng.uniform(4.0, 9.0)
        # how near the camera's zenith the crown's edge comes (negative: past it)
        reach = gap + radius * rng.uniform(-0.6, 1.2)
        depth = radius * rng.uniform(0.5, 0.9)
        bottom = rng.uniform(3.5, 9.0)               # height of the crown's underside
        horiz = max(0.5, reach + radius)
        centre = np.array([np.cos(az) * horiz, np.sin(az) * horiz, bottom + depth - CAMERA_HEIGHT])
        dist = max(1.5, horiz - radius * rng.uniform(0.2, 0.7))  # the trunk leans in
        trees.append((horiz, az, dist, radius, depth, centre))
    drawn = 0
    for _horiz, az, dist, radius, depth, centre in sorted(trees, key=lambda t: -t[0]):
        _trunk_and_limbs(canvas, rng, az, dist, centre, depth)
        if _crown(canvas, rng, centre, radius, depth, leaves, clumps, glow):
            drawn += 1
    return drawn


def _to_canvas(canvas: Canvas, points: np.ndarray, ref_x: float) -> np.ndarray:
    """Canvas (x, y) of 3D points around the camera, x unwrapped near ref_x."""
    az = np.arctan2(points[:, 1], points[:, 0]) % (2 * np.pi)
    el = np.arctan2(points[:, 2], np.hypot(points[:, 0], points[:, 1]))
    x = canvas.x_of(az)
    x = ref_x + (x - ref_x + canvas.width / 2) % canvas.width - canvas.width / 2
    return np.stack([x, canvas.y_of(el)], 1)


def _trunk_and_limbs(canvas: Canvas, rng, az, dist, centre, depth) -> None:
    """A trunk from the ground to the crown, and a few limbs up into it."""
    bark = canvas.palette.add(FOLIAGE, _pick(rng, [(0.04, 0.032, 0.024), (0.055, 0.048, 0.04), (0.03, 0.025, 0.02)]))
    base = np.array([np.cos(az) * dist, np.sin(az) * dist, -CAMERA_HEIGHT])
    fork = np.array([centre[0], centre[1], centre[2] - depth * 0.6])
    fork[:2] = base[:2] + (fork[:2] - base[:2]) * 0.3
    r = rng.uniform(0.15, 0.4)
    ref = float(canvas.x_of(az))
    steps = np.linspace(0.0, 1.0, 12)[:, None]
    spine = base[None, :] * (1 - steps) + fork[None, :] * steps
    side = np.array([-np.sin(az), np.cos(az), 0.0])
    width = r * (1.0 - 0.45 * steps)
    left = _to_canvas(canvas, spine - side[None, :] * width, ref)
    right = _to_canvas(canvas, spine + side[None, :] * width, ref)
    canvas.polygon(np.concatenate([left, right[::-1]]), bark)
    for _ in range(int(rng.integers(2, 5))):
        end = centre + rng.uniform(-0.8, 0.8, 3) * np.array([depth * 1.3, depth * 1.3, depth * 0.6])
        mid = (fork + end) / 2 + rng.uniform(-0.4, 0.4, 3)
        pts = _to_canvas(canvas, np.stack([fork, mid, end]), ref)
        near = float(np.linalg.norm(mid))
        px = r * 0.5 / max(near, 1.0) * canvas.px_per_rad
        canvas.polyline(pts, bark, thickness=max(1, int(round(px))))


def _crown(canvas: Canvas, rng, centre, radius, depth, leaves, clumps, glow) -> bool:
    """Paint one crown's leaves (not its holes) over whatever is already on the canvas."""
    h, w = canvas.height, canvas.width
    dist = float(np.linalg.norm(centre))
    reach = max(radius, depth) * 1.25
    scaled = centre / np.array([radius, radius, depth])
    if float(scaled @ scaled) <= 1.2:   # the camera would stand in the leaves
        return False
    if dist <= reach or centre[2] - depth <= 0:  # it spans the sky overhead: all columns
        low = np.arctan2(centre[2] - depth, float(np.hypot(centre[0], centre[1])) + radius)
        r0, r1 = 0, min(h, int(np.ceil(canvas.y_of(low))) + 1)
        cols = np.arange(w)
    else:
        ang = np.arcsin(reach / dist)
        el_c = np.arctan2(centre[2], np.hypot(centre[0], centre[1]))
        r0 = max(0, int(np.floor(canvas.y_of(min(np.pi / 2, el_c + ang)))) - 1)
        r1 = min(h, int(np.ceil(canvas.y_of(max(-np.pi / 2, el_c - ang)))) + 1)
        if el_c + ang >= np.pi / 2 - 1e-3 or np.cos(el_c) < np.sin(ang):
            cols = np.arange(w)
        else:
            az_c = np.arctan2(centre[1], centre[0])
            half = np.arcsin(min(1.0, np.sin(ang) / max(np.cos(el_c), 1e-6)))
            cols = canvas.columns(float(canvas.x_of(az_c - half)) - 1, float(canvas.x_of(az_c + half)) + 2)
            if cols.size == 0:
                return False
    if r1 <= r0:
        return False
    az = canvas.azimuths()[cols]
    el = canvas.elevations(r0, r1)
    ce = np.cos(el)[:, None]
    shape = (el.size, az.size)
    d = np.stack([ce * np.cos(az)[None, :], ce * np.sin(az)[None, :],
                  np.broadcast_to(np.sin(el)[:, None], shape)], -1).astype(np.float32)
    scale = np.array([radius, radius, depth], np.float32)
    dd = d / scale
    oc = -centre.astype(np.float32) / scale
    a = np.sum(dd * dd, axis=-1)
    b = 2.0 * np.sum(dd * oc, axis=-1)
    c = float(oc @ oc) - 1.0
    rho2 = c + 1.0 - b * b / (4.0 * a)   # squared distance of the ray from the centre (scaled)
    # a ragged silhouette: the crown's edge wanders with the direction
    edge_noise = sample_texture(clumps, np.broadcast_to(az[None, :] * 12.0, shape),
                                np.broadcast_to(el[:, None] * 40.0, shape))
    limit = 1.0 - 0.35 * edge_noise
    inside = rho2 < limit
    if not inside.any():
        return False
    disc = np.maximum(b * b - 4 * a * c, 0.0)
    t = (-b - np.sqrt(disc)) / (2 * a)
    t = np.where(t > 0, t, (-b + np.sqrt(disc)) / (2 * a))
    inside &= t > 0
    p = d * t[..., None]
    # leaves in clumps: holes between clumps, and small gaps between leaves
    k_clump = clumps.shape[0] / rng.uniform(6.0, 12.0)   # texels per metre
    k_leaf = leaves.shape[0] / rng.uniform(1.5, 3.0)
    u = p[..., 0] + 0.45 * p[..., 2]
    v = p[..., 1] - 0.35 * p[..., 2]
    cl = sample_texture(clumps, u * k_clump + centre[0] * 7.0, v * k_clump)
    lf = sample_texture(leaves, u * k_leaf, v * k_leaf + centre[1] * 7.0)
    edge = smoothstep(0.35, 1.0, np.sqrt(np.clip(rho2 / np.maximum(limit, 1e-3), 0.0, 1.0)))
    open_ = rng.uniform(0.08, 0.28)  # how open the foliage is
    e2 = edge * edge
    holes = (cl < open_ + 0.35 * e2) | (lf < open_ * 0.6 + 0.3 * e2)
    leafy = inside & ~holes
    if not leafy.any():
        return False
    base = _pick(rng, [(0.035, 0.07, 0.02), (0.05, 0.085, 0.025), (0.07, 0.09, 0.02)])
    shade = canvas.palette.add(FOLIAGE, base)
    tint = np.asarray((0.45, 0.75, 0.12), np.float32) * 0.06 * glow * rng.uniform(0.5, 1.5)
    lit = canvas.palette.add(FOLIAGE, tuple(np.asarray(base) * 1.6), emission=tuple(tint))
    # the underside is in shade; leaves near the crown's edge let light through
    bright = (edge > 0.45) & (lf > 0.55)
    block = canvas.index[r0:r1][:, cols]
    block[leafy & ~bright] = shade
    block[leafy & bright] = lit
    canvas.index[r0:r1, cols] = block
    return True
