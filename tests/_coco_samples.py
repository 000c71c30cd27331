"""Reference results from pycocotools itself, shared by the core and CLI label tests."""

from __future__ import annotations

import numpy as np
from pycocotools.coco import COCO


def pycocotools_sky(coco_path, image_id) -> np.ndarray:
    """The pipeline's own rasterisation: sky annotations minus non-sky ones, by name (uint8 0/1)."""
    coco = COCO(str(coco_path))
    names = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    info = coco.imgs[image_id]
    sky = np.zeros((info["height"], info["width"]), bool)
    cut = np.zeros_like(sky)
    for ann in coco.loadAnns(coco.getAnnIds(imgIds=[image_id])):
        m = coco.annToMask(ann).astype(bool)
        if names[ann["category_id"]] == "sky":
            sky |= m
        else:
            cut |= m
    return (sky & ~cut).astype(np.uint8)
