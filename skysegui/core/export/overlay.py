"""Overlay compositing: a tone-mapped picture with the sky mask painted over it.

This replaces the report's last step (the original and the mask at 50 % opacity in
Photoshop). Pure numpy + OpenCV, no file I/O, so the CLI, the GUI preview and the
batch export share one definition of every output pixel.

Arithmetic (documented because tests and artists rely on it): with coverage `m` in
0..1 (1 = sky; a binary mask or a soft probability) and opacity `o`, the weight of the
colour is `a = o * m` and each channel is

    out = floor(t * (1 - a) + c * a + 0.5)        (round half up)

so at 50 % opacity a fully covered pixel is exactly the mean of the tone-mapped pixel
`t` and the colour `c`, halves rounded up. Outline pixels take the outline colour
opaquely.
"""

from __future__ import annotations

import re

import cv2
import numpy as np

from skysegui.core.errors import ExportError

RGB = tuple[int, int, int]

NAMED_COLORS: dict[str, RGB] = {
    "red": (255, 0, 0),
    "green": (0, 255, 0),
    "blue": (0, 0, 255),
    "yellow": (255, 255, 0),
    "cyan": (0, 255, 255),
    "magenta": (255, 0, 255),
    "white": (255, 255, 255),
    "black": (0, 0, 0),
    "orange": (255, 165, 0),
    "purple": (128, 0, 128),
    "pink": (255, 105, 180),
    "grey": (128, 128, 128),
    "gray": (128, 128, 128),
}

_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")

# Rows composited at a time: keeps the float32 temporaries of an 8K overlay small.
BAND_ROWS = 256


def parse_color(value: str | RGB) -> RGB:
    """A colour given as a name ('red'), '#rrggbb', '#rgb' or an (r, g, b) tuple of 0..255."""
    if isinstance(value, tuple | list):
        if len(value) == 3 and all(isinstance(v, int | np.integer) and 0 <= v <= 255 for v in value):
            return (int(value[0]), int(value[1]), int(value[2]))
        raise ExportError(f"colour {value!r} must be three integers 0..255")
    text = str(value).strip().lower()
    if text in NAMED_COLORS:
        return NAMED_COLORS[text]
    match = _HEX.match(text)
    if match:
        digits = match.group(1)
        if len(digits) == 3:
            digits = "".join(d * 2 for d in digits)
        return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))
    raise ExportError(
        f"unknown colour {value!r}: use #rrggbb (e.g. '#ff3030') or one of "
        f"{', '.join(sorted(NAMED_COLORS))}"
    )


def check_opacity(opacity: float) -> float:
    opacity = float(opacity)
    if not 0.0 <= opacity <= 1.0:
        raise ExportError(f"opacity {opacity} is outside 0..1: give e.g. 0.5 for 50 %")
    return opacity


def check_mask_size(coverage: np.ndarray, image: np.ndarray) -> None:
    """A mask drawn for another image size must not be stretched or cropped silently."""
    if coverage.shape != image.shape[:2]:
        raise ExportError(
            f"mask size {coverage.shape[1]}x{coverage.shape[0]} differs from the image "
            f"{image.shape[1]}x{image.shape[0]}: re-create the labels or prediction for this image"
        )


def coverage_weights(coverage: np.ndarray) -> np.ndarray:
    """Coverage as float32 0..1: uint8 0/1 masks, uint8 0/255, uint16 probabilities or floats."""
    if coverage.dtype == np.bool_:
        return coverage.astype(np.float32)
    if coverage.dtype == np.uint8:
        scale = 255.0 if coverage.max(initial=0) > 1 else 1.0
        return coverage.astype(np.float32) * np.float32(1.0 / scale)
    if coverage.dtype == np.uint16:
        return coverage.astype(np.float32) * np.float32(1.0 / 65535.0)
    return np.clip(coverage.astype(np.float32, copy=False), 0.0, 1.0)


def binary_mask(coverage: np.ndarray) -> np.ndarray:
    """uint8 0/1: sky where the coverage is at least one half (no float copy of uint8 masks)."""
    if coverage.dtype == np.uint8:
        return (coverage >= (128 if coverage.max(initial=0) > 1 else 1)).view(np.uint8)
    if coverage.dtype == np.bool_:
        return coverage.view(np.uint8)
    return (coverage_weights(coverage) >= 0.5).view(np.uint8)


def outline_mask(mask: np.ndarray, width: int) -> np.ndarray:
    """A band `width` px wide centred on the sky boundary (ceil(w/2) inside, floor(w/2) outside).

    `mask` is binary (nonzero = sky) or a probability thresholded at 0.5. Borders are
    replicated, so the image edge itself is not outlined.
    """
    if width <= 0:
        return np.zeros(mask.shape, dtype=bool)
    binary = binary_mask(mask)
    inside, outside = (width + 1) // 2, width // 2
    band = binary.astype(bool) & ~cv2.erode(binary, _disk(inside), borderType=cv2.BORDER_REPLICATE).astype(bool)
    if outside:
        band |= cv2.dilate(binary, _disk(outside), borderType=cv2.BORDER_REPLICATE).astype(bool) & ~binary.astype(bool)
    return band


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def composite(
    toned: np.ndarray,
    coverage: np.ndarray,
    color: str | RGB = "#ff3030",
    opacity: float = 0.5,
    outline: np.ndarray | None = None,
    outline_color: str | RGB = "white",
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Blend `color` over the uint8 picture `toned` where `coverage` says sky.

    `outline` is an optional boolean band (see outline_mask) painted opaquely. `out`
    may be `toned` itself to composite in place. Returns uint8 H x W x 3.
    """
    if toned.dtype != np.uint8 or toned.ndim != 3 or toned.shape[2] != 3:
        raise ValueError("toned must be uint8 H x W x 3")
    check_mask_size(coverage, toned)
    rgb = np.asarray(parse_color(color), dtype=np.float32)
    opacity = check_opacity(opacity)
    if out is None:
        out = np.empty_like(toned)
    for y0 in range(0, toned.shape[0], BAND_ROWS):
        y1 = min(y0 + BAND_ROWS, toned.shape[0])
        a = coverage_weights(coverage[y0:y1]) * np.float32(opacity)
        a = a[..., None]
        t = toned[y0:y1].astype(np.float32)
        blended = t * (np.float32(1.0) - a) + rgb * a
        np.floor(blended + np.float32(0.5), out=blended)
        np.clip(blended, 0, 255, out=blended)
        out[y0:y1] = blended.astype(np.uint8)
    if outline is not None and outline.any():
        out[outline] = parse_color(outline_color)
    return out
