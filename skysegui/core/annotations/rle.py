"""COCO run-length encodings (RLE), read safely.

pycocotools trusts its input: counts that add up to more than height x width write past
its buffer. So RLE from a file is parsed and checked here (compressed strings with the
same algorithm as pycocotools' rleFrString) and expanded with numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

from skysegui.core.annotations.validate import MAX_PIXELS, as_size


class RleFormatError(ValueError):
    """The RLE is malformed (the message says how)."""


def counts_from_string(text: str) -> list[int]:
    """Run lengths of a compressed COCO RLE string (pycocotools' LEB128-like format)."""
    counts: list[int] = []
    p, n = 0, len(text)
    while p < n:
        x = 0
        k = 0
        more = True
        while more:
            if p >= n:
                raise RleFormatError("compressed counts end in the middle of a number")
            c = ord(text[p]) - 48
            if not 0 <= c < 64:
                raise RleFormatError(f"character {text[p]!r} is not valid in compressed counts")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if k > 13:
                raise RleFormatError("a run length in compressed counts is too long")
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def rle_to_mask(segmentation: dict[str, Any]) -> np.ndarray:
    """uint8 H x W mask of a COCO RLE dict {"size": [h, w], "counts": str | list[int]}."""
    size = segmentation.get("size")
    if not isinstance(size, list | tuple) or len(size) != 2:
        raise RleFormatError('"size" must be [height, width]')
    height, width = as_size(size[0]), as_size(size[1])
    if height is None or width is None or height * width > MAX_PIXELS:
        raise RleFormatError(f'"size" {size!r} is not a usable image size')
    counts = segmentation.get("counts")
    if isinstance(counts, bytes):
        try:
            counts = counts.decode("ascii")
        except UnicodeDecodeError as exc:
            raise RleFormatError("compressed counts are not ASCII") from exc
    if isinstance(counts, str):
        runs = counts_from_string(counts)
    elif isinstance(counts, list) and all(
        isinstance(c, int) and not isinstance(c, bool) for c in counts
    ):
        runs = counts
    else:
        raise RleFormatError('"counts" must be a string or a list of integers')
    if any(r < 0 for r in runs):
        raise RleFormatError("counts hold a negative run length")
    if sum(runs) != height * width:
        raise RleFormatError(
            f"counts cover {sum(runs)} pixels but size {height}x{width} has {height * width}"
        )
    values = np.zeros(len(runs), dtype=np.uint8)
    values[1::2] = 1
    flat = np.repeat(values, np.asarray(runs, dtype=np.int64))
    return np.ascontiguousarray(flat.reshape(width, height).T)


def mask_to_rle(mask: np.ndarray) -> dict[str, Any]:
    """Compressed COCO RLE of a 2-D mask, JSON-ready (counts as a str)."""
    rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}
