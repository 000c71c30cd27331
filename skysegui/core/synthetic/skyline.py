"""What stands below and against the sky: mountains, city, forest, sea, lake.

Each builder paints one kind of horizon onto the canvas with seamless profiles and
wrapped drawing, so the scene continues across the 360-degree seam.
"""

from __future__ import annotations

import cv2
import numpy as np

from skysegui.core.synthetic import structures
from skysegui.core.synthetic.canvas import (
    EMISSIVE,
    FACADE,
    FOLIAGE,
    GROUND,
    WATER,
    Canvas,
)
from skysegui.core.synthetic.noise import (
    periodic_profile,
    sample_profile,
    sample_texture,
    tileable_fbm,
)

SKYLINES = ("mountains", "city", "forest", "sea", "lake")
CAMERA_HEIGHT = 1.7  # metres


def _wrap(a):
    return (a + np.pi) % (2 * np.pi) - np.pi


def _profile_top(canvas: Canvas, profile: np.ndarray, base_deg: float, amp_deg: float,
                 power: float = 1.0) -> np.ndarray:
    p = sample_profile(profile, canvas.width)
    p = (p - profile.min()) / max(float(profile.max() - profile.min()), 1e-6)
    return canvas.y_of(np.radians(base_deg + amp_deg * p ** power)).astype(np.float32)


def mountain_ranges(canvas: Canvas, rng: np.random.Generator, layers: int,
                    max_deg: float = 24.0) -> None:
    """Ranges from far (pale, hazy, tall) to near (dark, low), each a fractal ridge."""
    rock = [(0.28, 0.25, 0.22), (0.22, 0.23, 0.2), (0.3, 0.26, 0.2), (0.16, 0.2, 0.12)]
    for k in range(layers):
        far = 1.0 - k / max(layers, 1)
        prof = periodic_profile(rng, beta=rng.uniform(1.5, 2.0), k_min=int(rng.integers(2, 5)))
        amp = max_deg * (0.45 + 0.55 * far) * rng.uniform(0.6, 1.0)
        top = _profile_top(canvas, prof, rng.uniform(-1.5, 0.5), amp, power=1.8)
        entry = canvas.palette.add(GROUND, rock[int(rng.integers(len(rock)))],
                                   haze=0.15 + 0.6 * far)
        canvas.fill_below(top, entry)
        if far > 0.6 and rng.random() < 0.6:  # snow on the highest peaks of a far range
            snow = canvas.palette.add(GROUND, (0.8, 0.82, 0.85), haze=0.15 + 0.6 * far)
            line = top + (canvas.y_of(0.0) - top) * rng.uniform(0.35, 0.55)
            snowline = float(np.percentile(line, 30))
            rows = np.arange(canvas.height, dtype=np.float32)[:, None] + 0.5
            region = (rows >= top[None, :]) & (rows < snowline) & (canvas.index == entry)
            canvas.index[region] = snow


def ground(canvas: Canvas, rng: np.random.Generator, below_deg: float = -0.3,
           colour=None) -> int:
    colour = colour or [(0.08, 0.065, 0.045), (0.05, 0.07, 0.03), (0.1, 0.09, 0.08)][
        int(rng.integers(3))]
    entry = canvas.palette.add(GROUND, colour)
    top = np.full(canvas.width, float(canvas.y_of(np.radians(below_deg))), np.float32)
    canvas.fill_below(top, entry)
    return entry


def mountains(canvas: Canvas, rng: np.random.Generator, kind: str) -> None:
    mountain_ranges(canvas, rng, int(rng.integers(2, 4)))
    ground(canvas, rng)
    if rng.random() < 0.5:
        structures.power_line(canvas, rng, rng.uniform(0, 2 * np.pi), np.radians(rng.uniform(40, 120)))


def sea(canvas: Canvas, rng: np.random.Generator, kind: str) -> None:
    """Open water to a flat horizon, maybe distant islands, a deck under the camera."""
    if rng.random() < 0.6:
        prof = periodic_profile(rng, beta=1.8, k_min=3)
        p = sample_profile(prof, canvas.width)
        island = canvas.palette.add(GROUND, (0.2, 0.22, 0.18), haze=0.7)
        top = canvas.y_of(np.radians(np.maximum(p - 0.45, 0) * rng.uniform(6, 12)))
        top = np.where(p > 0.45, top, canvas.height + 1).astype(np.float32)
        canvas.fill_below(top, island)
    water = canvas.palette.add(WATER, (0.01, 0.025, 0.03))
    canvas.fill_below(np.full(canvas.width, float(canvas.y_of(0.0)), np.float32), water)
    deck = canvas.palette.add(GROUND, (0.2, 0.15, 0.1))
    canvas.fill_below(np.full(canvas.width, float(canvas.y_of(np.radians(-60))), np.float32), deck)


def lake(canvas: Canvas, rng: np.random.Generator, kind: str) -> None:
    """Mountains across a calm lake that mirrors them; a shore in the foreground."""
    mountain_ranges(canvas, rng, int(rng.integers(1, 3)), max_deg=18)
    water = canvas.palette.add(WATER, (0.01, 0.02, 0.02))
    canvas.fill_below(np.full(canvas.width, float(canvas.y_of(np.radians(-0.2))), np.float32), water)
    prof = periodic_profile(rng, beta=1.7, k_min=1)
    shore = _profile_top(canvas, prof, -40, 32, power=2.0)
    entry = canvas.palette.add(GROUND, (0.12, 0.1, 0.06))
    canvas.fill_below(shore, entry)
    if rng.random() < 0.5:
        forest_edge(canvas, rng, count=int(rng.integers(2, 6)))


def city(canvas: Canvas, rng: np.random.Generator, kind: str) -> None:
    """Far blocks, near buildings with gaps and windows, roof antennas, often a crane."""
    lit_p = {"day": 0.03, "overcast": 0.05, "dusk": 0.3, "night": 0.45}[kind]
    _far_blocks(canvas, rng)
    ground(canvas, rng, colour=(0.07, 0.07, 0.07))
    buildings = []
    az = rng.uniform(0, 2 * np.pi)
    end = az + 2 * np.pi
    while az < end - np.radians(2):
        span = np.radians(rng.uniform(6, 28))
        if rng.random() < 0.3:
            az += np.radians(rng.uniform(2, 10))  # a gap: sky down to the far blocks
            continue
        span = min(span, end - az)
        dist = rng.uniform(25, 120)
        height = float(np.clip(rng.lognormal(np.log(22), 0.5), 6, 80))
        height = min(height, np.tan(np.radians(40)) * dist + CAMERA_HEIGHT)
        buildings.append((az + span / 2, span, dist, height))
        az += span
    if rng.random() < 0.7:
        structures.crane(canvas, rng, rng.uniform(0, 2 * np.pi))
    for centre, span, dist, height in sorted(buildings, key=lambda b: -b[2]):
        _building(canvas, rng, centre, span, dist, height, lit_p)
        if rng.random() < 0.25 and span > np.radians(10):  # a set-back upper storey
            _building(canvas, rng, centre + rng.uniform(-0.2, 0.2) * span, span * 0.5,
                      dist + 4, height + rng.uniform(5, 15), lit_p)


def _far_blocks(canvas: Canvas, rng: np.random.Generator) -> None:
    tops = np.full(canvas.width, canvas.height + 1.0, np.float32)
    az = 0.0
    while az < 2 * np.pi:
        w = np.radians(rng.uniform(0.6, 4))
        if rng.random() > 0.2:
            cols = canvas.columns(float(canvas.x_of(az)), float(canvas.x_of(az + w)))
            tops[cols] = canvas.y_of(np.radians(rng.uniform(0.8, 5)))
        az += w
    entry = canvas.palette.add(FACADE, (0.25, 0.25, 0.27), haze=0.6)
    canvas.fill_below(tops, entry)


def _building(canvas: Canvas, rng: np.random.Generator, centre: float, span: float,
              dist: float, height: float, lit_p: float) -> None:
    """A box facing the camera: its roof line curves as a straight edge does in a panorama."""
    facades = [(0.35, 0.33, 0.3), (0.42, 0.3, 0.22), (0.25, 0.27, 0.3), (0.45, 0.43, 0.38)]
    entry = canvas.palette.add(FACADE, facades[int(rng.integers(len(facades)))],
                               haze=min(0.08, dist / 1500))
    cols = canvas.columns(float(canvas.x_of(centre - span / 2)), float(canvas.x_of(centre + span / 2)))
    if cols.size == 0:
        return
    az = (cols + 0.5) * (2 * np.pi / canvas.width)
    cos_d = np.cos(_wrap(az - centre)).astype(np.float32)
    top = canvas.y_of(np.arctan((height - CAMERA_HEIGHT) * cos_d / dist))
    base = canvas.y_of(np.arctan(-CAMERA_HEIGHT * cos_d / dist))
    r0 = max(0, int(np.floor(top.min())))
    r1 = min(canvas.height, int(np.ceil(base.max())) + 1)
    rows = np.arange(r0, r1, dtype=np.float32)[:, None] + 0.5
    inside = (rows >= top[None, :]) & (rows < base[None, :])
    block = canvas.index[r0:r1][:, cols]
    block[inside] = entry
    # Windows on a floor grid in facade coordinates (u along, v up), if big enough to see.
    floor = rng.uniform(3.0, 3.6)
    bay = rng.uniform(2.0, 4.0)
    if floor / dist * canvas.px_per_rad >= 4:
        el = (np.pi / 2 - rows * (np.pi / canvas.height))
        u = dist * np.tan(_wrap(az - centre))[None, :]
        v = np.tan(el) * dist / cos_d[None, :] + CAMERA_HEIGHT
        fu, fv = (u / bay) % 1.0, (v / floor) % 1.0
        win = inside & (fu > 0.25) & (fu < 0.75) & (fv > 0.3) & (fv < 0.8) & (v > floor) & (v < height - 1.0)
        table = rng.random(4096)
        key = (np.floor(u / bay).astype(np.int64) * 73 + np.floor(v / floor).astype(np.int64) * 151) % 4096
        lit = table[key] < lit_p
        warm = rng.uniform(1.5, 6.0)
        e_lit = canvas.palette.add(EMISSIVE, (0, 0, 0), emission=(warm, warm * 0.75, warm * 0.45),
                                   haze=min(0.08, dist / 1500))
        e_dark = canvas.palette.add(FACADE, (0.002, 0.0025, 0.003), haze=min(0.1, dist / 1000))
        block[win & lit] = e_lit
        block[win & ~lit] = e_dark
    canvas.index[r0:r1, cols] = block
    if rng.random() < 0.35 and cols.size > 4:
        j = int(rng.integers(1, cols.size - 1))
        structures.antenna(canvas, rng, float(cols[j]) + 0.5,
                           float(top[j]))


# --- trees --------------------------------------------------------------------------
def forest(canvas: Canvas, rng: np.random.Generator, kind: str) -> None:
    """A distant tree line, maybe hills behind, and near trees: leafy, conifer and bare."""
    if rng.random() < 0.5:
        mountain_ranges(canvas, rng, 1, max_deg=14)
    prof = periodic_profile(rng, beta=1.3, k_min=4, k_max=300)
    top = _profile_top(canvas, prof, 1.0, rng.uniform(4, 8))
    canvas.fill_below(top, canvas.palette.add(FOLIAGE, (0.05, 0.08, 0.035), haze=0.35))
    ground(canvas, rng, colour=(0.04, 0.06, 0.025))
    forest_edge(canvas, rng, count=int(rng.integers(5, 12)))
    if rng.random() < 0.35:
        structures.power_line(canvas, rng, rng.uniform(0, 2 * np.pi), np.radians(rng.uniform(30, 90)))


def forest_edge(canvas: Canvas, rng: np.random.Generator, count: int) -> None:
    leaves = tileable_fbm(rng, 128, beta=1.6, k_min=3)
    placed = []
    for _ in range(count):
        placed.append((rng.uniform(0, 2 * np.pi), rng.uniform(8, 40)))
    for az, dist in sorted(placed, key=lambda t: -t[1]):
        kind = rng.choice(["leafy", "conifer", "bare"], p=[0.5, 0.3, 0.2])
        height = rng.uniform(8, 25)
        x = float(canvas.x_of(az))
        y_base = float(canvas.y_of(np.arctan(-CAMERA_HEIGHT / dist)))
        y_top = float(canvas.y_of(np.arctan(min(height - CAMERA_HEIGHT, dist * 1.2) / dist)))
        h_px = y_base - y_top
        if h_px < 6:
            continue
        if kind == "conifer":
            _conifer(canvas, rng, x, y_base, h_px)
        else:
            _broadleaf(canvas, rng, x, y_base, h_px, leaves if kind == "leafy" else None)


def _conifer(canvas: Canvas, rng, x, y_base, h_px) -> None:
    entry = canvas.palette.add(FOLIAGE, (0.03, 0.06, 0.03))
    w = h_px * rng.uniform(0.18, 0.28)
    n = max(3, int(h_px / 6))
    left, right = [], []
    for k in range(n + 1):
        t = k / n
        y = y_base - h_px * 0.1 - (h_px * 0.9) * t
        half = w * (1 - t) * (1.0 if k % 2 == 0 else 0.7)
        left.append((x - half, y))
        right.append((x + half, y))
    canvas.polygon(left + right[::-1], entry)
    trunk = canvas.palette.add(FOLIAGE, (0.08, 0.05, 0.03))
    canvas.line((x, y_base), (x, y_base - h_px * 0.15), trunk, thickness=max(1, int(w * 0.15)))


def _broadleaf(canvas: Canvas, rng, x, y_base, h_px, leaves) -> None:
    """Trunk and recursive branches (down to 1 px); leaf clusters with holes if leafy."""
    bark = canvas.palette.add(FOLIAGE, (0.09, 0.07, 0.05))
    trunk_w = max(2, int(h_px * 0.035))
    y_fork = y_base - h_px * rng.uniform(0.3, 0.45)
    segments: list[tuple] = []
    tips: list[tuple[float, float, float]] = []

    def grow(px, py, angle, length, width, depth):
        ex, ey = px + np.sin(angle) * length, py - np.cos(angle) * length
        segments.append(((px, py), (ex, ey), width))
        if depth == 0 or length < 3:
            tips.append((ex, ey, length))
            return
        for _ in range(int(rng.integers(2, 4))):
            grow(ex, ey, angle + rng.uniform(-0.7, 0.7), length * rng.uniform(0.6, 0.8),
                 max(1, int(width * 0.65)), depth - 1)

    for _ in range(int(rng.integers(2, 5))):
        grow(x, y_fork, rng.uniform(-0.8, 0.8), (y_fork - (y_base - h_px)) * rng.uniform(0.35, 0.55),
             max(1, int(trunk_w * 0.7)), 3 if leaves is not None else 4)
    if leaves is not None:
        crown_x0 = min(min(s[0][0], s[1][0]) for s in segments) - h_px * 0.15
        crown_x1 = max(max(s[0][0], s[1][0]) for s in segments) + h_px * 0.15
        crown_y0 = min(min(s[0][1], s[1][1]) for s in segments) - h_px * 0.15
        foliage = canvas.palette.add(FOLIAGE, (0.04, 0.08, 0.025) if rng.random() < 0.7 else (0.09, 0.08, 0.02))
        r0, r1 = max(0, int(crown_y0)), min(canvas.height, int(y_fork + h_px * 0.1))
        cols = canvas.columns(crown_x0, crown_x1)
        if r1 > r0 and cols.size:
            crown = np.zeros((r1 - r0, cols.size), np.uint8)
            x_origin = np.ceil(crown_x0 - 0.5)
            for tx, ty, _length in tips:
                r = h_px * rng.uniform(0.06, 0.11)
                cv2.ellipse(crown, (int(round(tx - x_origin)), int(round(ty - r0))),
                            (max(1, int(r * 1.3)), max(1, int(r))), 0, 0, 360, 1, -1)
            scale = 128 / max(12.0, h_px * 0.25)
            yy, xx = np.mgrid[r0:r1, 0:cols.size].astype(np.float32)
            holes = (sample_texture(leaves, xx * scale + x * 0.37, yy * scale) < 0.3).astype(np.uint8)
            holes = cv2.morphologyEx(holes, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)) > 0
            block = canvas.index[r0:r1][:, cols]
            block[(crown == 1) & ~holes] = foliage
            canvas.index[r0:r1, cols] = block
    canvas.polygon([(x - trunk_w / 2, y_base), (x - trunk_w * 0.35, y_fork),
                    (x + trunk_w * 0.35, y_fork), (x + trunk_w / 2, y_base)], bark)
    for p0, p1, width in segments:
        canvas.line(p0, p1, bark, thickness=width)


BUILDERS = {"mountains": mountains, "city": city, "forest": forest, "sea": sea, "lake": lake}
