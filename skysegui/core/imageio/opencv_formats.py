"""PNG, JPEG (8/16-bit, sRGB) and Radiance .hdr (linear float) through OpenCV.

Files are read with np.fromfile + cv2.imdecode, which works for any path (OpenCV's own
file functions fail on non-ASCII paths on Windows) and reports damage as None.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from skysegui.core.errors import CorruptImageError
from skysegui.core.imageio.detect import check_size
from skysegui.core.imageio.headers import hdr_header, jpeg_header, png_header
from skysegui.core.imageio.model import ImageInfo
from skysegui.core.tonemap.curves import srgb_decode_table

_NAMES = {1: ("Y",), 2: ("Y", "A"), 3: ("R", "G", "B"), 4: ("R", "G", "B", "A")}


def probe_opencv(path: Path, source_type: str) -> ImageInfo:
    if source_type == "png":
        width, height, bits, count = png_header(path)
    elif source_type == "jpg":
        width, height, count = jpeg_header(path)
        bits = 8
    else:
        width, height = hdr_header(path)
        bits, count = 32, 3
    check_size(path, width, height)
    hdr = source_type == "hdr"
    return ImageInfo(
        path=path, source_type=source_type, width=width, height=height,
        channels=_NAMES.get(count, ("R", "G", "B")), is_hdr=hdr, bit_depth=bits, dtype="",
        transfer="linear" if hdr else "srgb",
    )


def decode_opencv(path: Path) -> np.ndarray:
    """The decoded array as OpenCV gives it (BGR order, uint8/uint16/float32)."""
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise CorruptImageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    flags = cv2.IMREAD_UNCHANGED
    decoded = cv2.imdecode(raw, flags)
    if decoded is None:
        raise CorruptImageError(
            f"{path} is damaged or truncated and cannot be decoded; copy or export it again"
        )
    return decoded


@lru_cache(maxsize=4)
def _decode_table(bits: int, dtype_name: str) -> np.ndarray:
    return srgb_decode_table(bits).astype(dtype_name)


def to_linear_rgb(decoded: np.ndarray, dtype, srgb: bool) -> np.ndarray:
    """BGR(A)/grey OpenCV output -> H x W x 3 RGB of `dtype`; integer sRGB codes decoded."""
    if decoded.ndim == 2:
        decoded = decoded[..., None]
    count = decoded.shape[2]
    order = [0, 0, 0] if count < 3 else [2, 1, 0]  # grey -> RGB, BGR(A) -> RGB, alpha dropped
    if decoded.dtype in (np.uint8, np.uint16):
        bits = 8 if decoded.dtype == np.uint8 else 16
        if srgb:
            table = _decode_table(bits, np.dtype(dtype).name)
        else:
            table = (np.arange(1 << bits) / ((1 << bits) - 1)).astype(dtype)
        out = np.empty(decoded.shape[:2] + (3,), dtype=dtype)
        for i, c in enumerate(order):
            np.take(table, decoded[..., c], out=out[..., i])
        return out
    out = np.empty(decoded.shape[:2] + (3,), dtype=decoded.dtype)
    for i, c in enumerate(order):
        out[..., i] = decoded[..., c]
    return out
