"""Surface patterns of man-made interiors, in metres on the surface: plaster, wood planks,
tiles, concrete, carpet, brick, acoustic ceiling grids, corrugated metal, painted sky.

Every function takes flat arrays of surface coordinates (u, v) and the footprint of one
pixel on the surface (fp, metres), and returns an albedo (N x 3) or a factor (N). Lines
and cells fade to their average where a pixel covers several of them, so far floors and
grazing walls average out instead of aliasing into moire.
"""

from __future__ import annotations

import numpy as np

from skysegui.core.synthetic.noise import sample_texture, smoothstep


def cell_random(i: np.ndarray, j: np.ndarray, salt: int = 0) -> np.ndarray:
    """A repeatable pseudo-random value in 0..1 per integer cell (i, j)."""
    h = (np.asarray(i, np.int64) * 73856093) ^ (np.asarray(j, np.int64) * 19349663) ^ (salt * 83492791)
    h = (h ^ (h >> 13)) * 1274126177
    h = h ^ (h >> 16)
    return ((h & 0xFFFF).astype(np.float32) / 65536.0)


def fade(fp: np.ndarray, period: float) -> np.ndarray:
    """0 where a pixel is much smaller than `period`, 1 where it covers it."""
    return smoothstep(0.15 * period, 0.6 * period, fp)


def lines(coord: np.ndarray, period: float, width: float, fp: np.ndarray,
          offset: float = 0.0) -> np.ndarray:
    """Coverage (0..1) of lines `width` wide every `period` along coord, antialiased."""
    x = (coord - offset) / period
    d = np.abs(x - np.round(x)) * period
    soft = np.maximum(fp, 1e-4)
    val = np.clip((width * 0.5 + soft * 0.5 - d) / soft, 0.0, 1.0)
    mean = min(width / period, 1.0)
    f = fade(fp, period)
    return (val * (1 - f) + mean * f).astype(np.float32)


def fbm(texture: np.ndarray, u: np.ndarray, v: np.ndarray, metres: float,
        fp: np.ndarray | None = None) -> np.ndarray:
    """A tileable noise texture laid over the surface, one tile every `metres` (0..1 values,
    flattened toward 0.5 where the pixel is bigger than the texture's detail)."""
    size = texture.shape[0]
    t = sample_texture(texture, u * (size / metres), v * (size / metres))
    if fp is not None:
        t = 0.5 + (t - 0.5) * (1.0 - 0.7 * fade(fp, metres / 8))
    return t.astype(np.float32)


def _rgb(colour) -> np.ndarray:
    return np.asarray(colour, np.float32)[None, :]


def plaster(u, v, fp, colour, tex) -> np.ndarray:
    t = fbm(tex, u * 1.3 + 3.1, v * 1.3, 3.0, fp)
    return _rgb(colour) * (0.95 + 0.08 * t)[:, None]


def concrete(u, v, fp, colour, tex) -> np.ndarray:
    """Cast or troweled concrete: a fine grain, faint cloudy patches, a few darker stains."""
    a = fbm(tex, u, v, 6.0, fp)
    b = fbm(tex, v * 0.7 + 11.0, u * 0.7, 1.3, fp)
    c = fbm(tex, u * 3.0 + 5.0, v * 3.0, 0.4, fp)
    stains = smoothstep(0.8, 0.95, a)
    return _rgb(colour) * (0.86 + 0.1 * b + 0.08 * c - 0.12 * stains)[:, None]


def wood_planks(u, v, fp, colour, tex, width: float = 0.14, length: float = 1.6,
                seed: int = 0) -> np.ndarray:
    """Planks along u, `width` wide across v, staggered ends, grain and a thin dark gap."""
    row = np.floor(v / width)
    shift = cell_random(row, 0, seed) * length
    col = np.floor((u + shift) / length)
    tone = cell_random(row, col, seed + 1)
    grain = fbm(tex, (u + shift) * 0.25, v * 6.0 + row * 0.37, 2.0, fp * 4)
    gap = np.maximum(lines(v, width, 0.004, fp), lines(u + shift, length, 0.004, fp) * 0.7)
    k = (0.72 + 0.45 * tone) * (0.85 + 0.3 * grain)
    f = fade(fp, width)
    k = k * (1 - f) + f * 0.98 * (0.85 + 0.3 * grain)
    albedo = _rgb(colour) * k[:, None]
    tint = (0.5 - tone)[:, None] * np.asarray((0.05, 0.02, -0.02), np.float32)[None, :]
    albedo = albedo * (1 + tint * (1 - f)[:, None])
    return albedo * (1 - 0.55 * gap)[:, None]


def tiles(u, v, fp, colour, tex, size: float = 0.45, grout: float = 0.006,
          grout_colour=(0.45, 0.45, 0.43), colour2=None, vary: float = 0.08,
          seed: int = 0) -> np.ndarray:
    """Square tiles with grout lines, each tile a little different; a checkerboard if colour2."""
    i, j = np.floor(u / size), np.floor(v / size)
    tone = 1.0 + vary * (cell_random(i, j, seed) - 0.5) * 2
    base = np.broadcast_to(_rgb(colour), (u.size, 3))
    if colour2 is not None:
        check = ((i + j) % 2 == 1)
        f = fade(fp, size)[:, None]
        mixed = 0.5 * (_rgb(colour) + _rgb(colour2))
        base = np.where(check[:, None], _rgb(colour2), _rgb(colour)) * (1 - f) + mixed * f
    t = fbm(tex, u * 2.0, v * 2.0, 1.5, fp)
    albedo = base * (tone * (0.95 + 0.1 * t))[:, None]
    g = np.maximum(lines(u, size, grout, fp), lines(v, size, grout, fp))[:, None]
    return albedo * (1 - g) + _rgb(grout_colour) * g


def carpet(u, v, fp, colour, tex) -> np.ndarray:
    t = fbm(tex, u * 3.0, v * 3.0, 0.8, fp)
    w = fbm(tex, v + 7.0, u, 5.0, fp)
    return _rgb(colour) * (0.85 + 0.15 * t + 0.12 * (w - 0.5))[:, None]


def brick(u, v, fp, colour, tex, seed: int = 0) -> np.ndarray:
    h, length = 0.075, 0.225
    row = np.floor(v / h)
    shift = (row % 2) * length * 0.5
    col = np.floor((u + shift) / length)
    tone = 0.75 + 0.45 * cell_random(row, col, seed)
    mortar = np.maximum(lines(v, h, 0.01, fp), lines(u + shift, length, 0.01, fp))
    f = fade(fp, h)
    tone = tone * (1 - f) + 0.97 * f
    t = fbm(tex, u * 2, v * 2, 1.0, fp)
    albedo = _rgb(colour) * (tone * (0.9 + 0.2 * t))[:, None]
    return albedo * (1 - mortar[:, None]) + _rgb((0.55, 0.53, 0.5)) * mortar[:, None]


def ceiling_grid(u, v, fp, colour, tex, size: float = 0.6) -> np.ndarray:
    """Suspended ceiling: mineral tiles in a thin metal grid."""
    t = fbm(tex, u * 4, v * 4, 0.5, fp)
    g = np.maximum(lines(u, size, 0.02, fp), lines(v, size, 0.02, fp))
    albedo = _rgb(colour) * (0.93 + 0.1 * t)[:, None]
    return albedo * (1 - 0.3 * g)[:, None]


def corrugated(u, v, fp, colour, tex, pitch: float = 0.12) -> np.ndarray:
    """Ribbed metal sheet: the ribs run along v and shade with their slope."""
    phase = np.sin(u * (2 * np.pi / pitch))
    f = fade(fp, pitch)
    ribs = 1.0 + 0.18 * phase * (1 - f)
    t = fbm(tex, u * 0.5, v * 0.5, 3.0, fp)
    seams = lines(v, 3.0, 0.015, fp)
    return _rgb(colour) * (ribs * (0.93 + 0.12 * t) * (1 - 0.4 * seams))[:, None]


def panels(u, v, fp, colour, tex, width: float = 0.3) -> np.ndarray:
    """Vertical wood panelling or slats: boards along v with gaps across u."""
    col = np.floor(u / width)
    tone = 0.82 + 0.3 * cell_random(col, 3)
    grain = fbm(tex, u * 5 + col * 0.31, v * 0.3, 2.0, fp * 4)
    f = fade(fp, width)
    tone = tone * (1 - f) + 0.97 * f
    gap = lines(u, width, 0.006, fp)
    return _rgb(colour) * (tone * (0.88 + 0.24 * grain) * (1 - 0.6 * gap))[:, None]


def painted_sky(u, v, fp, tex, span_u: float, span_v: float, seed: int = 0,
                vertical: bool = False) -> np.ndarray:
    """A picture of a sky as an albedo (a mural or print): pale blue with soft white clouds.

    It reflects light like the wall it is on; nothing in it is brighter than white paint.
    vertical: the picture hangs on a wall (darker blue at the top, paler toward its bottom).
    """
    s = max(span_u, span_v)
    if vertical:
        g = np.clip(1.0 - v / max(span_v, 1e-3), 0.0, 1.0)  # 0 at the top .. 1 at the bottom
    else:
        g = np.clip(np.hypot(u / span_u - 0.5, v / span_v - 0.5) * 1.6, 0.0, 1.0)
    top = np.asarray((0.18, 0.36, 0.72), np.float32)
    low = np.asarray((0.55, 0.68, 0.8), np.float32)
    blue = top[None, :] * (1 - g[:, None]) + low[None, :] * g[:, None]
    c = fbm(tex, u * 3.0 / s + seed * 0.13, v * 3.0 / s, 3.0, None)
    d = fbm(tex, v * 7.0 / s + 5.0, u * 7.0 / s, 3.0, None)
    cloud = smoothstep(0.5, 0.75, c * 0.75 + d * 0.25)[:, None]
    white = np.asarray((0.85, 0.85, 0.83), np.float32)[None, :] * (0.8 + 0.2 * d)[:, None]
    return (blue * (1 - cloud) + white * cloud).astype(np.float32)


def abstract_print(u, v, fp, tex, seed: int = 0) -> np.ndarray:
    """A picture that is not a sky: blotches of two colours."""
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0.05, 0.7, 3), rng.uniform(0.05, 0.7, 3)
    t = fbm(tex, u * 1.7 + seed, v * 1.7, 1.2, None)[:, None]
    return (a[None, :] * t + b[None, :] * (1 - t)).astype(np.float32)


def books(u, v, fp, tex, seed: int = 0) -> np.ndarray:
    """A bookcase seen from the front: shelf boards every 0.36 m, books of random widths,
    heights and colours between them (a random colour per book from a small palette)."""
    palette = np.asarray([(0.5, 0.1, 0.08), (0.1, 0.2, 0.45), (0.75, 0.7, 0.6), (0.15, 0.3, 0.15),
                          (0.6, 0.45, 0.15), (0.08, 0.08, 0.08), (0.8, 0.78, 0.72), (0.35, 0.2, 0.3)],
                         np.float32)
    shelf = 0.36
    row = np.floor(v / shelf)
    width = 0.035
    col = np.floor((u + cell_random(row, 0, seed) * 3.0) / width)
    r = cell_random(col, row, seed + 1)
    colour = palette[(r * palette.shape[0]).astype(np.int64) % palette.shape[0]]
    height = 0.22 + 0.1 * cell_random(col, row, seed + 2)
    above = (v - row * shelf) > height                      # the dark gap above the books
    gap = cell_random(col, row, seed + 3) < 0.12           # a missing book
    dark = np.asarray((0.03, 0.025, 0.02), np.float32)
    out = np.where((above | gap)[:, None], dark[None, :], colour)
    board = lines(v, shelf, 0.025, fp)[:, None]
    out = out * (1 - board) + np.asarray((0.45, 0.32, 0.2), np.float32)[None, :] * board
    f = fade(fp, width * 2)[:, None]  # far away: the average of a bookcase
    return (out * (1 - f) + np.asarray((0.25, 0.2, 0.17), np.float32)[None, :] * f).astype(np.float32)
