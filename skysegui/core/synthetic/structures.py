"""Thin man-made structures against the sky: cranes, power lines, antennas (class 0).

They are drawn 1-3 pixels wide at every resolution, the hard case for a sky mask.
"""

from __future__ import annotations

import numpy as np

from skysegui.core.synthetic.canvas import METAL, Canvas


def _steel(canvas: Canvas, rng: np.random.Generator, haze: float = 0.1, dark: bool = False) -> int:
    colours = [(0.5, 0.38, 0.06), (0.35, 0.35, 0.36), (0.6, 0.6, 0.58), (0.1, 0.1, 0.11)]
    colour = colours[int(rng.integers(1, 4)) if dark else int(rng.integers(len(colours)))]
    return canvas.palette.add(METAL, colour, haze=haze)


def _lattice(canvas: Canvas, x0, y0, x1, y1, width: float, entry: int) -> None:
    """A lattice girder from (x0, y0) to (x1, y1): two chords and zig-zag bracing."""
    p0, p1 = np.array([x0, y0], float), np.array([x1, y1], float)
    length = float(np.hypot(*(p1 - p0)))
    if length < 1:
        return
    along = (p1 - p0) / length
    normal = np.array([-along[1], along[0]]) * width / 2
    if width < 7:  # too narrow for open bracing to survive as polygons: a solid girder
        canvas.line(p0, p1, entry, thickness=max(1, int(round(width)) - 1))
        return
    canvas.line(p0 + normal, p1 + normal, entry)
    canvas.line(p0 - normal, p1 - normal, entry)
    n = max(1, int(length / (width * 1.2)))
    pts = [p0 + along * (length * k / n) + normal * (1 if k % 2 else -1) for k in range(n + 1)]
    canvas.polyline(pts, entry)


def crane(canvas: Canvas, rng: np.random.Generator, azimuth: float) -> None:
    """A tower crane: lattice mast, jib and counter-jib, tie cables, hook line."""
    ppr = canvas.px_per_rad
    x = float(canvas.x_of(azimuth))
    y_base = float(canvas.y_of(np.radians(-2.0)))
    y_top = float(canvas.y_of(np.radians(rng.uniform(22, 42))))
    width = max(2.0, np.radians(rng.uniform(0.35, 0.6)) * ppr)
    steel = _steel(canvas, rng)
    _lattice(canvas, x, y_base, x, y_top, width, steel)
    side = rng.choice([-1.0, 1.0])
    jib = np.radians(rng.uniform(10, 22)) * ppr
    counter = np.radians(rng.uniform(3, 6)) * ppr
    y_jib = y_top + width * 0.5
    _lattice(canvas, x - side * counter, y_jib, x + side * jib, y_jib, width * 0.8, steel)
    apex = (x, y_top - max(3.0, np.radians(rng.uniform(3, 5)) * ppr))
    canvas.line((x, y_top), apex, steel, thickness=max(1, int(width / 3)))
    canvas.line(apex, (x + side * jib * 0.95, y_jib), steel)           # tie cables, 1 px
    canvas.line(apex, (x - side * counter, y_jib), steel)
    block_w, block_h = max(2.0, counter * 0.45), max(2.0, width * 1.3)
    bx = x - side * counter
    canvas.polygon([(bx, y_jib), (bx + side * block_w, y_jib),
                    (bx + side * block_w, y_jib + block_h), (bx, y_jib + block_h)], steel)
    trolley = x + side * jib * rng.uniform(0.4, 0.9)
    hook_y = y_jib + np.radians(rng.uniform(3, 12)) * ppr
    canvas.line((trolley, y_jib), (trolley, hook_y), steel)
    s = max(1.5, width * 0.4)
    canvas.polygon([(trolley - s, hook_y), (trolley + s, hook_y),
                    (trolley + s, hook_y + 2 * s), (trolley - s, hook_y + 2 * s)], steel)


def power_line(canvas: Canvas, rng: np.random.Generator, start: float, span: float) -> None:
    """Pylons across `span` radians of azimuth from `start`, with sagging 1-px wires."""
    ppr = canvas.px_per_rad
    n = int(rng.integers(3, 7))
    azs = start + np.sort(rng.uniform(0, span, n))
    steel = _steel(canvas, rng, haze=0.15, dark=True)
    tops = []
    for az in azs:
        x = float(canvas.x_of(az))
        h = np.radians(rng.uniform(7, 14))
        y_top = float(canvas.y_of(h))
        y_base = float(canvas.y_of(np.radians(-1.5)))
        w = max(2.0, h * ppr * 0.08)
        canvas.polygon([(x - w, y_base), (x - w * 0.25, y_top), (x + w * 0.25, y_top),
                        (x + w, y_base)], steel) if w >= 3 else canvas.line(
            (x, y_base), (x, y_top), steel, thickness=2)
        arm = max(3.0, w * 2.2)
        arm_y = y_top + max(1.0, (y_base - y_top) * 0.08)
        canvas.line((x - arm, arm_y), (x + arm, arm_y), steel, thickness=1 if arm < 6 else 2)
        tops.append((x, arm_y, arm))
    for k in range(len(tops) - 1):
        (xa, ya, arm_a), (xb, yb, arm_b) = tops[k], tops[k + 1]
        sag = abs(xb - xa) * rng.uniform(0.03, 0.08)
        offsets = (-0.9, 0.0, 0.9) if min(arm_a, arm_b) * 0.9 >= 4 else (0.0,)
        for off in offsets:
            t = np.linspace(0, 1, max(8, int(abs(xb - xa) / 4)))
            xs = (xa + off * arm_a) * (1 - t) + (xb + off * arm_b) * t
            ys = ya * (1 - t) + yb * t + sag * 4 * t * (1 - t)
            canvas.polyline(np.stack([xs, ys], 1), steel)


def antenna(canvas: Canvas, rng: np.random.Generator, x: float, y_roof: float) -> None:
    """A thin mast on a roof, sometimes with a cross bar."""
    ppr = canvas.px_per_rad
    top = y_roof - max(3.0, np.radians(rng.uniform(1.5, 5)) * ppr)
    steel = _steel(canvas, rng, haze=0.2)
    canvas.line((x, y_roof), (x, top), steel)
    if rng.random() < 0.5:
        bar = max(2.0, (y_roof - top) * 0.15)
        yb = top + (y_roof - top) * 0.25
        canvas.line((x - bar, yb), (x + bar, yb), steel)
