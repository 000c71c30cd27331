"""Objects inside the sky (class 2): hot-air balloons and birds, cut out of the sky mask."""

from __future__ import annotations

import numpy as np

from skysegui.core.synthetic.canvas import OBJECT, Canvas

NON_SKY_OBJECT = 2


def balloon(canvas: Canvas, rng: np.random.Generator, x: float, y: float, size: float) -> bool:
    """A striped envelope, ropes and a basket; size = envelope half-width in pixels."""
    a, b = size, size * 1.2
    if not canvas.region_is_sky(x - a - 2, y - b - 2, x + a + 2, y + b * 2.2 + 2):
        return False
    hue = rng.random()
    c1 = (0.75, 0.15 + 0.5 * hue, 0.1) if hue < 0.5 else (0.15, 0.3 + 0.3 * hue, 0.7)
    c2 = (0.8, 0.75, 0.2)
    e1 = canvas.palette.add(OBJECT, c1, cls=NON_SKY_OBJECT)
    e2 = canvas.palette.add(OBJECT, c2, cls=NON_SKY_OBJECT)
    basket = canvas.palette.add(OBJECT, (0.25, 0.15, 0.07), cls=NON_SKY_OBJECT)
    canvas.polygon([(x - a * 0.8, y + b * 0.5), (x + a * 0.8, y + b * 0.5),
                    (x + a * 0.3, y + b * 1.3), (x - a * 0.3, y + b * 1.3)], e1)
    canvas.ellipse((x, y), (a, b), 0, e1)
    if a >= 4:
        canvas.ellipse((x, y), (a * 0.62, b), 0, e2)
        canvas.ellipse((x, y), (a * 0.25, b), 0, e1)
    by = y + b * 1.3 + max(2.0, b * 0.5)
    bw = max(1.0, a * 0.22)
    canvas.line((x - a * 0.3, y + b * 1.3), (x - bw, by), e1)
    canvas.line((x + a * 0.3, y + b * 1.3), (x + bw, by), e1)
    canvas.polygon([(x - bw, by), (x + bw, by), (x + bw, by + max(2.0, bw * 1.2)),
                    (x - bw, by + max(2.0, bw * 1.2))], basket)
    return True


def bird_flock(canvas: Canvas, rng: np.random.Generator, x: float, y: float, span: float) -> int:
    """A few dark birds with spread wings (2 px thick) around (x, y); returns how many."""
    entry = canvas.palette.add(OBJECT, (0.03, 0.03, 0.03), cls=NON_SKY_OBJECT)
    drawn = 0
    for _ in range(int(rng.integers(1, 6))):
        bx, by = x + rng.uniform(-span, span), y + rng.uniform(-span, span) * 0.4
        s = max(3.0, span * rng.uniform(0.08, 0.16))
        if not canvas.region_is_sky(bx - s - 2, by - s - 2, bx + s + 2, by + s + 2):
            continue
        lift = s * rng.uniform(0.2, 0.5)
        pts = [(bx - s, by - lift * 0.2), (bx - s * 0.45, by - lift), (bx, by),
               (bx + s * 0.45, by - lift), (bx + s, by - lift * 0.2)]
        canvas.polyline(pts, entry, thickness=2)
        canvas.ellipse((bx, by + 0.5), (max(1.0, s * 0.18), 1), 0, entry)
        drawn += 1
    return drawn
