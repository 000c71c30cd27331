"""The tone curves, each a pure function of exposed linear values -> display values 0..1.

Reinhard and filmic work per channel (so they can run as one float16 look-up table), then
get sRGB-encoded; per-channel Reinhard desaturates very bright colours towards white,
which is what artists expect from a film-like roll-off. "log" maps log2 of each channel
over [stops_min, stops_max]. False colour maps log2 luminance through a colour map.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from skysegui.core.tonemap.curves import REC709, srgb_encode
from skysegui.core.tonemap.settings import ToneSettings

_TINY = np.float32(2.0**-40)


def expose(values: np.ndarray, settings: ToneSettings) -> np.ndarray:
    """float32 values * 2**EV + offset, with NaN -> 0 and infinities bounded (never NaN)."""
    x = np.nan_to_num(np.asarray(values, dtype=np.float32), nan=0.0, posinf=3.0e38, neginf=-3.0e38)
    scale = np.float32(2.0 ** float(np.clip(settings.exposure, -60.0, 60.0)))
    with np.errstate(over="ignore", invalid="ignore"):
        x = x * scale
        if settings.offset:
            x += np.float32(np.clip(settings.offset, -1e30, 1e30))
    return np.nan_to_num(x, nan=0.0, posinf=3.0e38, neginf=-3.0e38)


def reinhard(x: np.ndarray, white: float) -> np.ndarray:
    """Extended Reinhard: x (1 + x / w^2) / (1 + x); w maps to 1."""
    x = np.clip(x, 0.0, np.float32(white) * 4)  # above white it is clipped anyway; avoids x*x overflow
    w2 = np.float32(white) ** 2
    return x * (1 + x / w2) / (1 + x)


def filmic(x: np.ndarray) -> np.ndarray:
    """ACES-like filmic curve: Krzysztof Narkowicz's fit of the ACES RRT+ODT."""
    x = np.clip(x, 0.0, np.float32(1e4))
    return (x * (2.51 * x + 0.03)) / (x * (2.43 * x + 0.59) + 0.14)


def log_stops(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """log2(x) spread linearly over [lo, hi] -> [0, 1]."""
    stops = np.log2(np.maximum(x, _TINY))
    return (stops - np.float32(lo)) / np.float32(hi - lo)


def curve(x: np.ndarray, settings: ToneSettings) -> np.ndarray:
    """Exposed linear values -> display values (0..1 after clipping) for per-channel operators."""
    op = settings.operator
    if op == "srgb":
        y = srgb_encode(np.clip(x, 0.0, 1.0))
    elif op == "gamma":
        y = np.power(np.clip(x, 0.0, 1.0), np.float32(1.0 / settings.gamma))
    elif op == "reinhard":
        y = srgb_encode(np.clip(reinhard(x, settings.white_point), 0.0, 1.0))
    elif op == "filmic":
        y = srgb_encode(np.clip(filmic(x), 0.0, 1.0))
    elif op == "log":
        y = log_stops(x, settings.stops_min, settings.stops_max)
    else:
        raise ValueError(f"{op} is not a per-channel operator")
    return np.clip(np.nan_to_num(y, nan=0.0), 0.0, 1.0)


def to_uint8(y: np.ndarray) -> np.ndarray:
    """0..1 display values -> uint8 (round to nearest)."""
    return (np.clip(y, 0.0, 1.0) * np.float32(255.0) + np.float32(0.5)).astype(np.uint8)


@lru_cache(maxsize=1)
def falsecolor_map() -> np.ndarray:
    """256 x 3 uint8 RGB colour map (OpenCV's Turbo, perceptually ordered like tev's)."""
    import cv2

    ramp = np.arange(256, dtype=np.uint8).reshape(256, 1)
    bgr = cv2.applyColorMap(ramp, cv2.COLORMAP_TURBO).reshape(256, 3)
    table = np.ascontiguousarray(bgr[:, ::-1])
    table.flags.writeable = False  # shared by every call
    return table


def falsecolor_index(lum: np.ndarray, settings: ToneSettings) -> np.ndarray:
    """Colour-map index (uint8) of linear luminance: log2 of the exposed value over the stops range."""
    t = log_stops(expose(lum, settings), settings.stops_min, settings.stops_max)
    return to_uint8(np.nan_to_num(t, nan=0.0))


def luminance_raw(p: np.ndarray) -> np.ndarray:
    """Rec.709 luminance in float32; a NaN channel makes the pixel NaN (shown as the
    colour map's start, exactly as the float16 table path does)."""
    if p.ndim == 2:
        return p.astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        lum = p[..., 0].astype(np.float32) * REC709[0]
        lum += p[..., 1].astype(np.float32) * REC709[1]
        lum += p[..., 2].astype(np.float32) * REC709[2]
    return lum


def colorize(index: np.ndarray) -> np.ndarray:
    """H x W uint8 colour-map indices -> H x W x 3 RGB (OpenCV: ~10x numpy's gather)."""
    import cv2

    if index.size == 0:
        return np.zeros(index.shape + (3,), dtype=np.uint8)
    table = falsecolor_map().reshape(256, 1, 3)  # applyColorMap keeps the table's channel order
    return cv2.applyColorMap(np.ascontiguousarray(index), table)


def falsecolor(pixels: np.ndarray, settings: ToneSettings) -> np.ndarray:
    """uint8 RGB: log2 of exposed luminance over [stops_min, stops_max] through the colour map."""
    return colorize(falsecolor_index(luminance_raw(np.asarray(pixels)), settings))
