"""COCO labels from synthetic class maps, through the annotations module.

Sky polygons (with holes, and one piece on each side where a region crosses the
360-degree seam) come from the sky mask; objects inside the sky (class 2) get
annotations of the non-sky category, so class_map() gives back the class map.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from skysegui.core.annotations import (
    NON_SKY,
    Annotation,
    AnnotationSet,
    labels_from_masks,
    mask_to_polygons,
)


def labels_from_class_maps(class_maps: Mapping[str, np.ndarray],
                           paths: Mapping[str, Path] | None = None,
                           tolerance: float = 0.5) -> AnnotationSet:
    """One image per entry (file name -> uint8 class map 0/1/2): sky and non-sky polygons."""
    skies = {name: (classes == 1).astype(np.uint8) for name, classes in class_maps.items()}
    labels = labels_from_masks(skies, paths=paths, tolerance=tolerance)
    non_sky = labels.ensure_category(NON_SKY)
    for record in list(labels.images.values()):
        objects = (class_maps[record.file_name] == 2).astype(np.uint8)
        if not objects.any():
            continue
        polygons = mask_to_polygons(objects, tolerance=tolerance, min_area=1.0)
        if polygons:
            aid = labels.new_annotation_id()
            labels.annotations[aid] = Annotation(aid, record.id, non_sky, polygons)
    return labels
