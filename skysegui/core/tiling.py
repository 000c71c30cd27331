"""Tile grids, blend windows and a streaming blend-merge for tiled inference (pure numpy).

A network sees a big panorama tile by tile. Two ways of putting the tiles back:

- overlapping tiles weighted by a smooth window (Hann or Tukey) and streamed into running
  sums of p*w and w, divided at the end: no steps at tile borders (the pipeline report's
  TODO, an unpatchify that merges overlaps);
- non-overlapping patches put back side by side (`overlap=0`, flat window): the report's
  plain unpatchify, kept as a baseline; it leaves seams at every patch border.

A 360-degree panorama wraps around horizontally, so the grid is laid over a copy padded
on the left and right with the other side of the image ("wrap padding"); predictions that
fall into that padding are folded back onto the columns they came from, so column 0 and
column W-1 are predicted with the same context and agree. Above the top row of a panorama
is the zenith and what lies beyond it, the top rows half a turn round ("pole padding",
`pole_indices`); below the bottom row likewise the nadir's. An image that does not wrap
is padded by reflection. Tiles are cut out one at a time with index arrays, so the padded
panorama is never materialised and only the tiles of one batch are in memory at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

WINDOWS = ("hann", "tukey", "flat")


def round_up(value: int, multiple: int) -> int:
    return int(math.ceil(value / multiple) * multiple)


def reflect_indices(index: np.ndarray, length: int) -> np.ndarray:
    """Map any integer positions into 0..length-1 by mirror reflection (no edge repeat)."""
    if length == 1:
        return np.zeros_like(index)
    period = 2 * (length - 1)
    folded = np.mod(index, period)
    return np.where(folded < length, folded, period - folded)


def wrap_indices(index: np.ndarray, length: int) -> np.ndarray:
    """Map any integer positions into 0..length-1 around a 360-degree seam."""
    return np.mod(index, length)


def pole_indices(rows: np.ndarray, cols: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows[:, None], cols 2-D) of an equirectangular panorama read past its poles.

    Row -1 lies just beyond the zenith: it is row 0 seen from the other side, half a turn
    round (the same for the nadir). Reflection would put a mirrored copy of the same
    side there instead, a view no camera gives, which the network then sees only at
    prediction time. Training crops (ml.data.sampler) and prediction tiles use this one
    mapping, so the network sees the poles the same way in both."""
    over = rows < 0
    under = rows >= height
    folded = np.where(over, -rows - 1, np.where(under, 2 * height - 1 - rows, rows))
    folded = np.clip(folded, 0, height - 1)  # past both poles at once: only for tiny images
    shift = np.where(over | under, width // 2, 0)
    return folded[:, None], np.mod(cols[None, :] + shift[:, None], width)


@dataclass(frozen=True)
class TilePlan:
    """Where the tiles of one image go. Tile starts (ys, xs) are in padded coordinates."""

    height: int
    width: int
    tile_h: int
    tile_w: int
    pad_top: int
    pad_bottom: int
    pad_left: int
    pad_right: int
    ys: tuple[int, ...]
    xs: tuple[int, ...]
    wrap: bool

    @property
    def padded_shape(self) -> tuple[int, int]:
        return (
            self.height + self.pad_top + self.pad_bottom,
            self.width + self.pad_left + self.pad_right,
        )

    @property
    def n_tiles(self) -> int:
        return len(self.ys) * len(self.xs)

    def boxes(self) -> Iterator[tuple[int, int]]:
        """(y0, x0) of every tile in padded coordinates, row by row."""
        for y0 in self.ys:
            for x0 in self.xs:
                yield y0, x0

    def source_index(self, y0: int, x0: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, cols) index arrays of the original image that the tile at (y0, x0) shows:
        a panorama that wraps is read past its poles, anything else reflected."""
        if not self.wrap:
            return self.source_rows(y0)[:, None], self.source_cols(x0)[None, :]
        rows = np.arange(y0, y0 + self.tile_h) - self.pad_top
        cols = np.arange(x0, x0 + self.tile_w) - self.pad_left
        return pole_indices(rows, cols, self.height, self.width)

    def source_rows(self, y0: int) -> np.ndarray:
        """Rows of the original image that the tile starting at padded row y0 shows."""
        rows = np.arange(y0, y0 + self.tile_h) - self.pad_top
        return reflect_indices(rows, self.height)

    def source_cols(self, x0: int) -> np.ndarray:
        """Columns of the original image that the tile starting at padded column x0 shows."""
        cols = np.arange(x0, x0 + self.tile_w) - self.pad_left
        return wrap_indices(cols, self.width) if self.wrap else reflect_indices(cols, self.width)


def plan_tiles(
    height: int,
    width: int,
    tile: int = 1024,
    overlap: float = 0.25,
    wrap: bool = True,
    multiple: int = 32,
) -> TilePlan:
    """Plan overlapping tiles (edge length a multiple of `multiple`) over a padded image.

    With overlap > 0 every side gets a margin of half the overlap, so even the outermost
    pixels are seen away from a tile edge; with `wrap` that margin left and right is the
    other side of the panorama. With overlap == 0 this is the report's grid: patches
    side by side from the top-left corner, the image padded at the bottom and right up
    to a whole number of patches.
    """
    if height < 1 or width < 1:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    if tile < multiple or tile % multiple:
        raise ValueError(f"tile size {tile} must be a positive multiple of {multiple}")
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap {overlap} must be in [0, 1)")
    if overlap == 0:
        th = min(tile, round_up(height, multiple))
        tw = min(tile, round_up(width, multiple))
        ph, pw = round_up(height, th), round_up(width, tw)
        return TilePlan(
            height, width, th, tw, 0, ph - height, 0, pw - width,
            tuple(range(0, ph, th)), tuple(range(0, pw, tw)), wrap,
        )
    margin = max(1, int(round(tile * overlap / 2)))
    th = min(tile, round_up(height + 2 * margin, multiple))
    tw = min(tile, round_up(width + 2 * margin, multiple))
    pad_bottom = max(margin, th - height - margin)
    pad_right = max(margin, tw - width - margin)
    ph = height + margin + pad_bottom
    pw = width + margin + pad_right
    th, ys = _axis(ph, th, overlap, multiple)
    tw, xs = _axis(pw, tw, overlap, multiple)
    return TilePlan(height, width, th, tw, margin, pad_bottom, margin, pad_right, ys, xs, wrap)


def _axis(length: int, tile: int, overlap: float, multiple: int) -> tuple[int, tuple[int, ...]]:
    """Fewest tiles of at most `tile` covering `length` with at least `overlap`; then the
    smallest tile (a multiple of `multiple`) that still covers, so little work is wasted."""
    if length <= tile:
        return tile, (0,)
    min_overlap = int(tile * overlap)
    count = int(math.ceil((length - tile) / (tile - min_overlap))) + 1
    shrunk = round_up(int(math.ceil((length + (count - 1) * min_overlap) / count)), multiple)
    tile = max(multiple, min(tile, shrunk))
    starts = tuple(int(round(i * (length - tile) / (count - 1))) for i in range(count))
    return tile, starts


def tile_window(tile_h: int, tile_w: int, kind: str = "hann", overlap: float = 0.25) -> np.ndarray:
    """A separable blend window, float32, strictly positive (so every pixel has weight).

    hann: sin^2 over the whole tile, favours tile centres where the network sees the
    most context. tukey: flat in the middle with raised-cosine ramps as wide as the
    overlap. flat: all ones (plain unpatchify).
    """
    if kind not in WINDOWS:
        raise ValueError(f"unknown window {kind!r}; use one of {', '.join(WINDOWS)}")

    def one_axis(n: int) -> np.ndarray:
        if kind == "flat":
            return np.ones(n, np.float32)
        pos = (np.arange(n, dtype=np.float64) + 0.5) / n
        if kind == "hann":
            w = np.sin(np.pi * pos) ** 2
        else:
            ramp = max(overlap, 1e-6)
            rising = np.clip(pos / ramp, 0, 1)
            falling = np.clip((1 - pos) / ramp, 0, 1)
            w = np.sin(0.5 * np.pi * np.minimum(rising, falling)) ** 2
        return np.maximum(w, 1e-3).astype(np.float32)

    return np.outer(one_axis(tile_h), one_axis(tile_w)).astype(np.float32)


def extract_tile(image: np.ndarray, plan: TilePlan, y0: int, x0: int) -> np.ndarray:
    """Cut one tile (tile_h x tile_w [x C]) out of the virtually padded image."""
    rows, cols = plan.source_index(y0, x0)
    return image[rows, cols]


def iter_tiles(image: np.ndarray, plan: TilePlan) -> Iterator[tuple[int, int, np.ndarray]]:
    for y0, x0 in plan.boxes():
        yield y0, x0, extract_tile(image, plan, y0, x0)


class BlendAccumulator:
    """Running sums of p*w and w over the padded grid; result() folds and divides once.

    Memory: two float32 arrays of the padded size, whatever the number of tiles.
    """

    def __init__(self, plan: TilePlan, window: np.ndarray) -> None:
        if window.shape != (plan.tile_h, plan.tile_w):
            raise ValueError(f"window {window.shape} does not match tiles {plan.tile_h}x{plan.tile_w}")
        self.plan = plan
        self.window = window.astype(np.float32)
        self.sum_pw = np.zeros(plan.padded_shape, np.float32)
        self.sum_w = np.zeros(plan.padded_shape, np.float32)
        self.added = 0

    def add(self, y0: int, x0: int, values: np.ndarray) -> None:
        """Add one tile of values (tile_h x tile_w) whose top-left is (y0, x0) padded."""
        h, w = self.plan.tile_h, self.plan.tile_w
        if values.shape[:2] != (h, w):
            raise ValueError(f"tile values {values.shape} do not match tiles {h}x{w}")
        values = values.reshape(h, w).astype(np.float32, copy=False)
        self.sum_pw[y0 : y0 + h, x0 : x0 + w] += values * self.window
        self.sum_w[y0 : y0 + h, x0 : x0 + w] += self.window
        self.added += 1

    def result(self) -> np.ndarray:
        """The blended H x W float32 map. Wrap margins are folded onto their source columns."""
        p = self.plan
        pw = self._fold(self.sum_pw)
        w = self._fold(self.sum_w)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(w > 0, pw / np.maximum(w, 1e-12), 0.0)
        return out.astype(np.float32).reshape(p.height, p.width)

    def _fold(self, padded: np.ndarray) -> np.ndarray:
        p = self.plan
        rows = padded[p.pad_top : p.pad_top + p.height]
        core = rows[:, p.pad_left : p.pad_left + p.width].copy()
        if p.wrap:
            # Every padded column is a real column of the panorama: give it back its sums.
            cols = wrap_indices(np.arange(-p.pad_left, 0), p.width)
            np.add.at(core, (slice(None), cols), rows[:, : p.pad_left])
            right = rows[:, p.pad_left + p.width :]
            cols = wrap_indices(np.arange(p.width, p.width + right.shape[1]), p.width)
            np.add.at(core, (slice(None), cols), right)
        return core


def blend_tiles(
    image: np.ndarray, plan: TilePlan, fn, window: np.ndarray | None = None
) -> np.ndarray:
    """Apply fn(tile) -> tile_h x tile_w map to every tile and blend (one tile at a time)."""
    acc = BlendAccumulator(plan, window if window is not None else tile_window(plan.tile_h, plan.tile_w))
    for y0, x0, tile in iter_tiles(image, plan):
        acc.add(y0, x0, fn(tile))
    return acc.result()
