"""DisplayPyramid: mip levels of one image so any view is tone-mapped from the level that
matches the zoom, and only its visible region is processed.

Levels are float16 area averages (2x2 boxes; odd edges repeat their last row/column), built
in row blocks with float32 sums, each next level half the size, down to about min_size px.
For an 8K panorama the levels below full resolution add 1/3 of its memory. A first,
coarse picture is available before any level is built (first_picture / preview): it takes
every n-th pixel of the full image, which costs almost nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from skysegui.core.progress import CancelToken, ProgressFn, check, report
from skysegui.core.tonemap.apply import tonemap
from skysegui.core.tonemap.settings import ToneSettings


@dataclass
class RenderedView:
    """uint8 H x W x 3 pixels of `level`, covering rect_full_res = (x0, y0, x1, y1) of the
    full-resolution image (the pixels span it exactly; edge pixels may be clipped)."""

    pixels: np.ndarray
    level: int
    rect_full_res: tuple[int, int, int, int]


def _to_float32(block: np.ndarray) -> np.ndarray:
    if block.dtype == np.float16:  # OpenCV converts half floats several times faster than numpy
        return cv2.multiply(np.ascontiguousarray(block), 1.0, dtype=cv2.CV_32F)
    return block.astype(np.float32)


def half_size(level: np.ndarray, rows_per_block: int = 128) -> np.ndarray:
    """2x2 area average -> ceil(h/2) x ceil(w/2), same dtype as the input (float32 maths).

    Row blocks bound the float32 temporaries; OpenCV's INTER_AREA at exactly half size is
    the 2x2 mean.
    """
    h, w = level.shape[:2]
    oh, ow = (h + 1) // 2, (w + 1) // 2
    out = np.empty((oh, ow) + level.shape[2:], dtype=level.dtype)
    for oy in range(0, oh, rows_per_block):
        oy1 = min(oh, oy + rows_per_block)
        block = _to_float32(level[2 * oy : 2 * oy1])
        if block.shape[0] % 2:
            block = np.concatenate([block, block[-1:]], axis=0)
        if w % 2:
            block = np.concatenate([block, block[:, -1:]], axis=1)
        small = cv2.resize(block, (ow, oy1 - oy), interpolation=cv2.INTER_AREA)
        small = small.reshape((oy1 - oy, ow) + level.shape[2:])
        if level.dtype == np.float16:
            out[oy:oy1] = cv2.multiply(small, 1.0, dtype=cv2.CV_16F).reshape(small.shape)
        else:
            out[oy:oy1] = small
    return out


def _level_count(h: int, w: int, min_size: int) -> int:
    count, size = 1, max(h, w)
    while size > min_size:
        size = (size + 1) // 2
        count += 1
    return count


class DisplayPyramid:
    """Mip levels of one H x W x 3 image (float16 recommended: half the memory, and the
    float16 look-up-table tone map). levels[0] is the image itself (not copied)."""

    def __init__(
        self,
        pixels: np.ndarray,
        min_size: int = 256,
        build: bool = True,
        progress: ProgressFn | None = None,
        cancel: CancelToken | None = None,
    ) -> None:
        if pixels.ndim != 3 or pixels.shape[2] != 3:
            raise ValueError(f"DisplayPyramid needs H x W x 3 pixels, got {pixels.shape}")
        self.full = pixels
        self.height, self.width = pixels.shape[:2]
        self.count = _level_count(self.height, self.width, max(1, min_size))
        self._levels: list[np.ndarray] = [pixels]
        if build:
            self.build(progress=progress, cancel=cancel)

    @property
    def levels(self) -> list[np.ndarray]:
        """All levels ([0] full resolution); builds the missing ones first."""
        self.build()
        return self._levels

    def level(self, index: int) -> np.ndarray:
        """One level, building it (and those above it) on demand."""
        index = max(0, min(int(index), self.count - 1))
        while len(self._levels) <= index:
            self._levels.append(half_size(self._levels[-1]))
        return self._levels[index]

    def build(self, progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> None:
        """Build every level (meant for a worker thread; each level is cancellable)."""
        while len(self._levels) < self.count:
            check(cancel)
            report(progress, len(self._levels), self.count, "building display levels")
            self._levels.append(half_size(self._levels[-1]))
        report(progress, self.count, self.count, "display levels ready")

    @property
    def built(self) -> bool:
        return len(self._levels) == self.count

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self._levels)

    def level_for_scale(self, scale: float) -> int:
        """The coarsest level still at least as sharp as the screen (scale = screen px per
        image px): scale 1 or more -> 0, 0.5 -> 1, 0.3 -> 1, 0.25 -> 2."""
        if not scale > 0:
            return self.count - 1
        k = math.floor(math.log2(1.0 / scale) + 1e-9)
        return max(0, min(k, self.count - 1))

    def render(
        self,
        settings: ToneSettings | None = None,
        scale: float = 1.0,
        region: tuple[float, float, float, float] | None = None,
    ) -> RenderedView:
        """Tone-map `region` (x0, y0, x1, y1 in full-resolution pixels; None = everything)
        at the level matching `scale`."""
        k = self.level_for_scale(scale)
        level = self.level(k)
        f = 1 << k
        if region is None:
            region = (0, 0, self.width, self.height)
        x0, y0, x1, y1 = region
        lh, lw = level.shape[:2]
        lx0 = min(max(0, math.floor(x0 / f)), lw)
        ly0 = min(max(0, math.floor(y0 / f)), lh)
        lx1 = min(max(lx0, math.ceil(x1 / f)), lw)
        ly1 = min(max(ly0, math.ceil(y1 / f)), lh)
        tile = level[ly0:ly1, lx0:lx1]
        pixels = tonemap(tile, settings or ToneSettings())
        rect = (lx0 * f, ly0 * f, min(lx1 * f, self.width), min(ly1 * f, self.height))
        return RenderedView(pixels=pixels, level=k, rect_full_res=rect)

    def preview(self, settings: ToneSettings | None = None, max_size: int = 1024) -> RenderedView:
        """A whole-image picture at once, before any level is built (see first_picture)."""
        return first_picture(self.full, settings, max_size)


def first_picture(
    pixels: np.ndarray, settings: ToneSettings | None = None, max_size: int = 1024
) -> RenderedView:
    """The whole image tone-mapped from every 2**k-th pixel (no averaging), at most
    max_size px on its long side: something to show the moment the file is decoded."""
    h, w = pixels.shape[:2]
    k = max(0, math.ceil(math.log2(max(h, w) / max_size))) if max(h, w) > max_size else 0
    step = 1 << k
    sample = pixels[::step, ::step]
    return RenderedView(tonemap(sample, settings or ToneSettings()), k, (0, 0, w, h))
