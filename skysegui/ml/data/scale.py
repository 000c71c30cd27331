"""Panoramas at a model's scale (pixels per degree), for training and for prediction alike.

A model that learnt the sky at 512 px panorama width must see every panorama at that
width: an 8K panorama cut into 256 px tiles shows a glass facade with no context, and
the network calls it sky (issue 19: quality-mode IoU fell from 0.96 at 1K to 0.77 at
8K). Both sides go through resample_linear, so training crops and prediction input are
made the same way: area averaging when shrinking (in linear light, before the log
transform), bilinear when enlarging.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from skysegui.core.metrics import IGNORE
from skysegui.ml.data.cache import LabelledSource


def scaled_size(height: int, width: int, pixels_per_degree: float) -> tuple[int, int]:
    """(height, width) of an image of this size at the scale (the aspect ratio is kept)."""
    from skysegui.ml.model import panorama_width

    w = panorama_width(pixels_per_degree)
    return max(1, int(round(height * w / width))), w


def resample_linear(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """float32 linear pixels at height x width (area filter down, bilinear up)."""
    from skysegui.core import refine

    h, w = pixels.shape[:2]
    if (h, w) == (height, width):
        return np.asarray(pixels, np.float32)
    if width <= w and height <= h:
        return refine.area_downscale(pixels, width, height)
    return cv2.resize(np.asarray(pixels, np.float32), (width, height), interpolation=cv2.INTER_LINEAR)


def resample_mask(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """A 0/1/IGNORE mask at height x width: nearest up; when shrinking, an area is IGNORE
    where at least half of it is, else sky where sky is the majority of what is scored."""
    h, w = mask.shape[:2]
    mask = np.asarray(mask)
    if (h, w) == (height, width):
        return mask.astype(np.uint8, copy=False)
    if not (width <= w and height <= h):
        return cv2.resize(mask.astype(np.uint8, copy=False), (width, height), interpolation=cv2.INTER_NEAREST)
    sky = cv2.resize((mask == 1).astype(np.float32), (width, height), interpolation=cv2.INTER_AREA)
    ignored = mask == IGNORE
    if not ignored.any():
        return (sky >= 0.5).astype(np.uint8)
    share = cv2.resize(ignored.astype(np.float32), (width, height), interpolation=cv2.INTER_AREA)
    out = (2.0 * sky >= 1.0 - share).astype(np.uint8)
    out[share >= 0.5] = IGNORE
    return out


def scaled_sources(sources: Iterable[LabelledSource], pixels_per_degree: float | None,
                   input_transform: str) -> list[LabelledSource]:
    """The same labelled images, loaded at the model's scale (unchanged when None)."""
    sources = list(sources)
    if pixels_per_degree is None:
        return sources
    from skysegui.ml.augment import decode, encode

    out = []
    for src in sources:
        def load(src=src):
            x, y = src.load()
            h, w = scaled_size(y.shape[0], y.shape[1], pixels_per_degree)
            linear = resample_linear(decode(np.asarray(x, np.float32), input_transform), h, w)
            return encode(linear, input_transform), resample_mask(y, h, w)

        fingerprint = {**src.fingerprint, "pixels_per_degree": round(float(pixels_per_degree), 6)}
        out.append(LabelledSource(name=src.name, fingerprint=fingerprint, load=load))
    return out


def cache_folder_name(input_transform: str, pixels_per_degree: float | None) -> str:
    """cache/<transform> at native resolution, cache/<transform>-<width>px at a scale."""
    if pixels_per_degree is None:
        return input_transform
    from skysegui.ml.model import panorama_width

    return f"{input_transform}-{panorama_width(pixels_per_degree)}px"
