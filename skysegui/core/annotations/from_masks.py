"""Masks made elsewhere (Photoshop, other tools, predictions) -> labels."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from skysegui.core.annotations.categories import NON_SKY, SKY
from skysegui.core.annotations.model import (
    LABELLED_KEY,
    Annotation,
    AnnotationSet,
    Category,
    ImageRecord,
)
from skysegui.core.annotations.vectorize import mask_to_polygons


def binary_sky(mask: np.ndarray) -> np.ndarray:
    """Sky = 1 from a mask file's values: 0/1 (255 = ignore, counted as not sky),
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
    values = np.unique(mask)
    if values.size and set(values.tolist()) <= {0, 1, 255} and 1 in values:
        return (mask == 1).astype(np.uint8)
    top = 65535 if mask.dtype == np.uint16 else 255
    return (mask.astype(np.int64) * 2 >= top).astype(np.uint8)


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
) -> AnnotationSet:
    """One image and one sky annotation (polygons with holes) per mask.

    Every image is flagged labelled (`"skysegui_labelled": true`): a mask without sky
    says "no sky here", which is a label (a training negative), not a missing one.

    masks: image file name -> mask (any form `binary_sky` understands).
    sizes: image file name -> (width, height) of the real image when the mask is a
    different resolution; polygons are scaled to it.
    """
    labels = AnnotationSet()
    labels.categories[SKY] = Category(SKY, "sky")
    labels.categories[NON_SKY] = Category(NON_SKY, "non-sky")
    for index, (name, mask) in enumerate(masks.items(), start=1):
        sky = binary_sky(mask)
        mh, mw = sky.shape
        width, height = (sizes or {}).get(name, (mw, mh))
        polygons = mask_to_polygons(sky, tolerance=tolerance, min_area=min_area)
        if (width, height) != (mw, mh):
            factor = np.array([width / mw, height / mh])
            for p in polygons:
                p.outer = p.outer * factor
                p.holes = [h * factor for h in p.holes]
        path = (paths or {}).get(name)
        labels.images[index] = ImageRecord(index, name, int(width), int(height), path,
                                           {LABELLED_KEY: True})
        if polygons:
            aid = labels.new_annotation_id()
            labels.annotations[aid] = Annotation(aid, index, SKY, polygons)
    return labels
