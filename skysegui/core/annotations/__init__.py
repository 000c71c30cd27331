"""Annotation model; COCO, Label Studio, labelme and CVAT files; polygon <-> mask; edits.

Pure data (numpy, no Qt): the GUI, the CLI and training all use these names.
"""

from skysegui.core.annotations.categories import DEFAULT_SYNONYMS, NON_SKY, ROLE_NAMES, SKY, UNSURE
from skysegui.core.annotations.coco_write import coco_dict, save_coco
from skysegui.core.annotations.edits import (
    AddAnnotation,
    AddVertex,
    DeleteAnnotation,
    DeleteVertex,
    MarkNoSky,
    MoveAnnotation,
    MoveVertex,
    ReplaceAnnotations,
    SetCategory,
    SetLabelled,
    paint_edit,
    subtract_edit,
    union_edit,
)
from skysegui.core.annotations.from_masks import binary_sky, labels_from_masks
from skysegui.core.annotations.load import LoadResult, labels_from_data, load_labels
from skysegui.core.annotations.model import (
    LABELLED_KEY,
    Annotation,
    AnnotationSet,
    Category,
    ImageRecord,
    Polygon,
)
from skysegui.core.annotations.names import clean_name, index_images, name_key
from skysegui.core.annotations.raster import (
    class_map,
    polygons_to_mask,
    region_mask,
    scored_sky_mask,
    sky_mask,
)
from skysegui.core.annotations.seam import split_polygon, split_polygons, split_ring
from skysegui.core.annotations.vectorize import mask_to_polygons

__all__ = [
    "SKY", "NON_SKY", "UNSURE", "ROLE_NAMES", "DEFAULT_SYNONYMS", "LABELLED_KEY",
    "Category", "Polygon", "Annotation", "ImageRecord", "AnnotationSet", "LoadResult",
    "load_labels", "labels_from_data", "save_coco", "coco_dict",
    "polygons_to_mask", "class_map", "sky_mask", "scored_sky_mask", "region_mask", "mask_to_polygons",
    "labels_from_masks", "binary_sky", "clean_name", "name_key", "index_images",
    "AddVertex", "MoveVertex", "DeleteVertex", "AddAnnotation", "DeleteAnnotation",
    "MoveAnnotation", "SetCategory", "ReplaceAnnotations", "paint_edit", "union_edit",
    "subtract_edit", "SetLabelled", "MarkNoSky",
    "split_ring", "split_polygon", "split_polygons",
]
