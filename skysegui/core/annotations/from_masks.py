"""Masks made elsewhere (Photoshop, other tools, predictions) -> labels."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from skysegui.core.annotations.categories import NON_SKY, ROLE_NAMES, SKY, UNSURE
from skysegui.core.annotations.model import (
    LABELLED_KEY,
    Annotation,
    AnnotationSet,
    Category,
    ImageRecord,
)
from skysegui.core.annotations.vectorize import mask_to_polygons
from skysegui.core.metrics import IGNORE


def binary_sky(mask: np.ndarray) -> np.ndarray:
    """Sky = 1 from a mask file's values: 0/1 (255 = ignore, not sky here: see unsure_region),
    0/255, any 8/16-bit grey (>= half), or float 0..1 (>= 0.5). RGB uses channel 0; with
    an alpha channel (grey+alpha or RGBA, e.g. a sky layer exported from Photoshop on a
    transparent background) a pixel is sky only where it is also at least half opaque."""
    mask = np.asarray(mask)
    if mask.ndim == 3 and mask.shape[2] in (2, 4):
        return binary_sky(mask[..., 0]) & _opaque(mask[..., -1])
    if mask.ndim == 3:
        mask = mask[..., 0]
    if mask.dtype.kind == "f":
        return (np.nan_to_num(mask) >= 0.5).astype(np.uint8)
    if mask.dtype == np.bool_:
        return mask.astype(np.uint8)
    if _is_zero_one_ignore(mask):
        return (mask == 1).astype(np.uint8)
    top = 65535 if mask.dtype == np.uint16 else 255
    return (mask.astype(np.int64) * 2 >= top).astype(np.uint8)


def _is_zero_one_ignore(mask: np.ndarray) -> bool:
    """The shared ground truth's convention: 0 not sky, 1 sky, 255 ignore (1 present, so a
    plain 0/255 mask stays a sky mask)."""
    values = np.unique(mask)
    return bool(values.size) and set(values.tolist()) <= {0, 1, 255} and 1 in values


def unsure_region(mask: np.ndarray) -> np.ndarray:
    """1 where a 0/1/255 mask says "ignore" (255), else 0: those pixels become an unsure
    region, neither trained on nor scored. Other mask forms have no such value."""
    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.dtype.kind not in "ui" or not _is_zero_one_ignore(mask):
        return np.zeros(mask.shape[:2], np.uint8)
    return (mask == IGNORE).astype(np.uint8)


def _opaque(alpha: np.ndarray) -> np.ndarray:
    """1 where an alpha channel is at least half opaque."""
    if alpha.dtype.kind == "f":
        return (np.nan_to_num(alpha) >= 0.5).astype(np.uint8)
    top = 65535 if alpha.dtype == np.uint16 else 255
    return (alpha.astype(np.int64) * 2 >= top).astype(np.uint8)


def labels_from_masks(
    masks: Mapping[str, np.ndarray],
    sizes: Mapping[str, tuple[int, int]] | None = None,
    paths: Mapping[str, Path] | None = None,
    tolerance: float = 1.0,
    min_area: float = 4.0,
    unsure: Mapping[str, np.ndarray] | None = None,
) -> AnnotationSet:
    """One image and one sky annotation (polygons with holes) per mask, and an unsure
    annotation where a 0/1/255 mask says "ignore" (its category is added when needed).

    Every image is flagged labelled (`"skysegui_labelled": true`): a mask without sky
    says "no sky here", which is a label (a training negative), not a missing one.

    masks: image file name -> mask (any form `binary_sky` understands).
    sizes: image file name -> (width, height) of the real image when the mask is a
    different resolution; polygons are scaled to it.
    unsure: image file name -> mask of its unsure region (nonzero), for callers that
    know their convention; otherwise a 0/1/255 mask's 255 is taken (unsure_region). A
    0/255 mask is a sky mask either way: the value alone cannot tell it apart.
    """
    labels = AnnotationSet()
    labels.categories[SKY] = Category(SKY, "sky")
    labels.categories[NON_SKY] = Category(NON_SKY, "non-sky")
    for index, (name, mask) in enumerate(masks.items(), start=1):
        sky = binary_sky(mask)
        mh, mw = sky.shape
        width, height = (sizes or {}).get(name, (mw, mh))
        factor = np.array([width / mw, height / mh])
        path = (paths or {}).get(name)
        labels.images[index] = ImageRecord(index, name, int(width), int(height), path,
                                           {LABELLED_KEY: True})
        doubt = unsure_region(mask) if unsure is None else (np.asarray(unsure[name]) != 0).astype(np.uint8)
        for role, region in ((SKY, sky), (UNSURE, doubt)):
            polygons = _traced(region, factor, tolerance, min_area)
            if polygons:
                if role not in labels.categories:
                    labels.categories[role] = Category(role, ROLE_NAMES[role])
                aid = labels.new_annotation_id()
                labels.annotations[aid] = Annotation(aid, index, role, polygons)
    return labels


def _traced(region: np.ndarray, factor: np.ndarray, tolerance: float, min_area: float) -> list:
    """The region's polygons, scaled by `factor` (image size / mask size)."""
    if not region.any():
        return []
    polygons = mask_to_polygons(region, tolerance=tolerance, min_area=min_area)
    if not np.allclose(factor, 1.0):
        for p in polygons:
            p.outer = p.outer * factor
            p.holes = [h * factor for h in p.holes]
    return polygons
