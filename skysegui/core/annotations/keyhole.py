"""Polygons with holes as single COCO rings ("keyhole" polygons).

COCO polygons have no holes, but pycocotools fills a ring by crossing parity, so a
ring that walks the outer boundary, runs along a zero-width bridge to each hole, goes
round the hole and comes back the same way covers exactly outer minus holes: the bridge
is crossed twice and cancels. Label Studio and every COCO reader see one ordinary
polygon. `keyhole_matches` checks that parity really gives our pixels (overlapping
holes, or holes sticking out of the outer ring, do not) by comparing RLEs, which are
canonical; the writer falls back to an RLE when it does not.
"""

from __future__ import annotations

import numpy as np
from pycocotools import mask as coco_mask

from skysegui.core.annotations.model import Polygon


def keyhole_ring(polygon: Polygon) -> np.ndarray:
    """One ring: the outer ring with each hole spliced in over its shortest bridge."""
    ring = polygon.outer
    for hole in polygon.holes:
        d = ((ring[:, None, :] - hole[None, :, :]) ** 2).sum(axis=2)
        i, j = np.unravel_index(int(np.argmin(d)), d.shape)
        hole = np.roll(hole, -int(j), axis=0)
        ring = np.concatenate([ring[: i + 1], hole, hole[:1], ring[i:]])
    return ring


def keyhole_matches(polygon: Polygon, ring: np.ndarray, height: int, width: int) -> bool:
    """Does pycocotools rasterise `ring` to exactly outer minus holes?"""
    from skysegui.core.annotations.raster import _polygons_rle

    ours = _polygons_rle([polygon], height, width)
    theirs = coco_mask.frPyObjects([ring.reshape(-1).tolist()], height, width)[0]
    if ours is None:
        return False
    return ours["counts"] == theirs["counts"]
