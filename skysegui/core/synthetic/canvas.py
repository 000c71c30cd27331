"""The label canvas: one map of material indices that both masks and radiance come from.

Every scene element is painted (no antialiasing) into `index`, a uint16 H x W map of
palette entries. The palette says each entry's class (0 / 1 sky / 2 object in the sky),
how it is lit and its colour. Classes and radiance are both looked up from this one map,
so the labels match the picture exactly. Drawing wraps across the 360-degree seam.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

# How a palette entry is shaded.
SKY, GROUND, FACADE, FOLIAGE, METAL, WATER, EMISSIVE, OBJECT = range(8)


@dataclass
class Palette:
    """Per-entry class, shading type, albedo, emission and aerial haze (0 near .. 1 far)."""

    classes: list[int] = field(default_factory=lambda: [1])
    shading: list[int] = field(default_factory=lambda: [SKY])
    albedo: list[tuple[float, float, float]] = field(default_factory=lambda: [(0.0, 0.0, 0.0)])
    emission: list[tuple[float, float, float]] = field(default_factory=lambda: [(0.0, 0.0, 0.0)])
    haze: list[float] = field(default_factory=lambda: [0.0])

    def add(self, shading: int, albedo=(0.0, 0.0, 0.0), emission=(0.0, 0.0, 0.0),
            haze: float = 0.0, cls: int = 0) -> int:
        if len(self.classes) >= 65535:
            raise OverflowError("too many palette entries")
        self.classes.append(cls)
        self.shading.append(shading)
        self.albedo.append(tuple(float(a) for a in albedo))
        self.emission.append(tuple(float(e) for e in emission))
        self.haze.append(float(haze))
        return len(self.classes) - 1

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "classes": np.asarray(self.classes, np.uint8),
            "shading": np.asarray(self.shading, np.uint8),
            "albedo": np.asarray(self.albedo, np.float32),
            "emission": np.asarray(self.emission, np.float32),
            "haze": np.asarray(self.haze, np.float32),
        }


class Canvas:
    """Equirectangular frame (x = azimuth 0..2pi, y = elevation +pi/2..-pi/2) and its index map."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.index = np.zeros((height, width), np.uint16)  # 0 = open sky
        self.palette = Palette()

    # --- angles <-> pixels (continuous coordinates: pixel j covers [j, j+1)) ----------
    def x_of(self, azimuth):
        return np.asarray(azimuth) * (self.width / (2 * np.pi))

    def y_of(self, elevation):
        return (0.5 - np.asarray(elevation) / np.pi) * self.height

    @property
    def px_per_rad(self) -> float:
        return self.width / (2 * np.pi)

    def azimuths(self) -> np.ndarray:
        return ((np.arange(self.width) + 0.5) * (2 * np.pi / self.width)).astype(np.float32)

    def elevations(self, y0: int = 0, y1: int | None = None) -> np.ndarray:
        y1 = self.height if y1 is None else y1
        return (np.pi / 2 - (np.arange(y0, y1) + 0.5) * (np.pi / self.height)).astype(np.float32)

    # --- painting -------------------------------------------------------------------
    def fill_below(self, top_y: np.ndarray, entry: int) -> None:
        """Paint every pixel whose centre lies below the curve top_y (one value per column)."""
        rows = np.arange(self.height, dtype=np.float32)[:, None] + 0.5
        self.index[rows >= top_y[None, :]] = entry

    def _offsets(self, xs: np.ndarray) -> list[int]:
        lo, hi = float(np.min(xs)), float(np.max(xs))
        offs = [0]
        if lo < 0:
            offs.append(self.width)
        if hi >= self.width:
            offs.append(-self.width)
        return offs

    def _pts(self, pts: np.ndarray, dx: int) -> np.ndarray:
        p = np.asarray(pts, np.float64).reshape(-1, 2)
        return np.round(p + [dx, 0]).astype(np.int32)

    def polygon(self, pts, entry: int) -> None:
        pts = np.asarray(pts, np.float64).reshape(-1, 2)
        for dx in self._offsets(pts[:, 0]):
            cv2.fillPoly(self.index, [self._pts(pts, dx)], int(entry), lineType=cv2.LINE_8)

    def polyline(self, pts, entry: int, thickness: int = 1) -> None:
        pts = np.asarray(pts, np.float64).reshape(-1, 2)
        t = max(1, int(thickness))
        for dx in self._offsets(pts[:, 0]):
            # 4-connected: a 1-px diagonal must separate the sky on its two sides, as
            # 8-connected steps would let the sky region (and its polygon) leak through.
            cv2.polylines(self.index, [self._pts(pts, dx)], False, int(entry), t, cv2.LINE_4)

    def line(self, p0, p1, entry: int, thickness: int = 1) -> None:
        self.polyline([p0, p1], entry, thickness)

    def ellipse(self, centre, axes, angle_deg: float, entry: int) -> None:
        cx, cy = centre
        ax, ay = max(1, int(round(axes[0]))), max(1, int(round(axes[1])))
        for dx in self._offsets(np.array([cx - ax, cx + ax])):
            c = (int(round(cx + dx)), int(round(cy)))
            cv2.ellipse(self.index, c, (ax, ay), float(angle_deg), 0, 360, int(entry), -1,
                        cv2.LINE_8)

    def columns(self, x0: float, x1: float) -> np.ndarray:
        """Column indices (wrapped) whose centres lie in [x0, x1)."""
        j0 = int(np.ceil(x0 - 0.5))
        j1 = int(np.ceil(x1 - 0.5))
        return np.arange(j0, max(j0, j1)) % self.width

    def region_is_sky(self, x0: float, y0: float, x1: float, y1: float) -> bool:
        cols = self.columns(x0, x1)
        r0, r1 = max(0, int(np.floor(y0))), min(self.height, int(np.ceil(y1)))
        if cols.size == 0 or r1 <= r0:
            return False
        return bool(np.all(self.index[r0:r1][:, cols] == 0))

    def classes(self) -> np.ndarray:
        lut = np.asarray(self.palette.classes, np.uint8)
        return lut[self.index]

    def remove_specks(self, min_area: int) -> None:
        """Give sky that no polygon can follow to the element around it.

        Sky specks smaller than min_area pixels (in foliage, lattices) and 1-px slivers
        (between branches) cannot be labelled as polygons, and a human would not label
        them either; the scene keeps them out of the sky. Works across the seam.
        """
        pad = 2
        has_sky = np.nonzero((self.index == 0).any(axis=1))[0]
        if has_sky.size == 0:
            return
        index_rows = self.index[: min(self.height, int(has_sky[-1]) + 2)]  # a view
        for _ in range(2):
            sky = (index_rows == 0).astype(np.uint8)
            wrapped = np.concatenate([sky[:, -pad:], sky, sky[:, :pad]], axis=1)
            opened = cv2.morphologyEx(wrapped, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8),
                                      borderType=cv2.BORDER_REPLICATE)[:, pad:-pad]
            remove = (sky == 1) & (opened == 0)
            n, lab, stats, _ = cv2.connectedComponentsWithStats(sky, connectivity=4)
            small = np.nonzero(stats[1:, cv2.CC_STAT_AREA] < min_area)[0] + 1
            if small.size:
                # components cut by the seam count with their other half
                left, right = lab[:, 0], lab[:, -1]
                both = (left > 0) & (right > 0)
                joined = set(left[both].tolist()) | set(right[both].tolist())
                small = np.array([c for c in small if c not in joined], np.int64)
                if small.size:
                    remove |= np.isin(lab, small)
            if not remove.any():
                return
            index = np.concatenate([index_rows[:, -1:], index_rows, index_rows[:, :1]], axis=1)
            grown = cv2.dilate(index, np.ones((3, 3), np.uint8))[:, 1:-1]
            index_rows[remove] = grown[remove]
