"""Mask, probability and uncertainty files read exactly as stored (no colour decoding).

One reader for every 8/16-bit mask PNG/JPG and float TIFF the program reads back (label
masks, saved predictions, export sources), so each gets the same typed error and the
decoders' own complaints never reach stderr (see skysegui.core.native_stderr).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from skysegui.core.errors import CorruptImageError, SkysegError
from skysegui.core.imageio.opencv_formats import decode_opencv


def read_stored(path: str | Path, error: type[SkysegError] = CorruptImageError,
                advice: str = "copy or export it again") -> np.ndarray:
    """The file's samples as stored: H x W or H x W x C (OpenCV's BGR(A) order), uint8,
    uint16 or float. A file that cannot be read raises `error` naming it and `advice`."""
    path = Path(path)
    try:
        if path.suffix.lower() in (".tif", ".tiff"):
            import tifffile

            try:
                return np.asarray(tifffile.imread(path))
            except Exception as exc:  # tifffile raises many types for damaged data
                raise CorruptImageError(f"{path} is damaged or truncated ({exc})") from exc
        return decode_opencv(path)[0]
    except CorruptImageError as exc:  # the caller's error type and advice, the reader's reason
        reason = str(exc).split("; ")[0]
        raise error(f"{reason}; {advice}") from exc


def read_plane(path: str | Path, error: type[SkysegError] = CorruptImageError,
               advice: str = "copy or export it again") -> np.ndarray:
    """The first channel of read_stored (masks saved as grey or as equal RGB channels)."""
    data = read_stored(path, error, advice)
    return data if data.ndim == 2 else data[..., 0]
