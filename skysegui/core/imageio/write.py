"""Writers for EXR, float TIFF, PNG (8/16-bit), JPEG and Radiance .hdr.

Every one writes through atomic_write, so a failed write leaves the previous file intact.
Pixels are RGB (or RGBA / single channel) in the program's order; OpenCV's BGR is handled here.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import tifffile

from skysegui.core.atomicio import atomic_write
from skysegui.core.errors import ImageWriteError, UnsupportedFormatError
from skysegui.core.imageio.exr import write_exr_file


def write_exr(path: str | os.PathLike, pixels, half: bool = True, channels=None) -> None:
    """H x W (Y), H x W x 3 (RGB) or H x W x 4 (RGBA) as half (default) or float EXR, ZIP compressed.

    `channels` names the channels instead (e.g. ("diffuse.R", "diffuse.G", "diffuse.B")).
    Finite values beyond the half range saturate at +-65504; infinities stay infinite.
    """
    with atomic_write(path) as tmp:
        try:
            write_exr_file(tmp, pixels, half, channels)
        except (RuntimeError, OSError) as exc:
            raise ImageWriteError(
                f"could not write {path} ({exc}); the previous version is intact: "
                "free some disk space or choose another folder"
            ) from exc


def write_tiff(path: str | os.PathLike, pixels) -> None:
    """float32 TIFF (deflate-compressed), H x W or H x W x C."""
    data = np.ascontiguousarray(pixels, dtype=np.float32)
    photometric = "rgb" if data.ndim == 3 and data.shape[2] in (3, 4) else "minisblack"
    extra = ("unassalpha",) if data.ndim == 3 and data.shape[2] == 4 else None
    with atomic_write(path) as tmp:
        tifffile.imwrite(tmp, data, photometric=photometric, compression="zlib", extrasamples=extra)


def _to_integer(pixels, bits: int) -> np.ndarray:
    data = np.asarray(pixels)
    target = np.uint8 if bits == 8 else np.uint16
    if data.dtype == target:
        return data
    if data.dtype.kind in "ui":
        if data.dtype == np.uint8 and bits == 16:
            return data.astype(np.uint16) * 257
        if data.dtype == np.uint16 and bits == 8:
            return ((data.astype(np.uint32) + 128) // 257).astype(np.uint8)
        return np.clip(data, 0, np.iinfo(target).max).astype(target)
    top = float(np.iinfo(target).max)
    scaled = np.nan_to_num(np.asarray(data, dtype=np.float32), nan=0.0) * top + 0.5
    return np.clip(scaled, 0, top).astype(target)


def _to_bgr(data: np.ndarray) -> np.ndarray:
    if data.ndim == 3 and data.shape[2] == 3:
        return data[..., ::-1]
    if data.ndim == 3 and data.shape[2] == 4:
        return data[..., [2, 1, 0, 3]]
    return data


def _write_encoded(path, ext: str, data: np.ndarray, params=()) -> None:
    ok, buf = cv2.imencode(ext, np.ascontiguousarray(_to_bgr(data)), list(params))
    if not ok:
        raise ImageWriteError(f"could not encode {path} as {ext}")
    with atomic_write(path) as tmp:
        buf.tofile(tmp)


def write_png(path: str | os.PathLike, pixels, bits: int = 8) -> None:
    """8- or 16-bit PNG: uint8/uint16 as they are, floats 0..1 scaled (and clipped).

    Values are written as given (no sRGB encoding here: encode or tone-map first).
    """
    if bits not in (8, 16):
        raise ValueError("PNG bits must be 8 or 16")
    _write_encoded(path, ".png", _to_integer(pixels, bits))


def write_jpg(path: str | os.PathLike, pixels, quality: int = 95) -> None:
    """8-bit JPEG (uint8, or floats 0..1 scaled)."""
    _write_encoded(path, ".jpg", _to_integer(pixels, 8), (cv2.IMWRITE_JPEG_QUALITY, int(quality)))


def write_hdr(path: str | os.PathLike, pixels) -> None:
    """Radiance RGBE .hdr of linear float RGB (negatives and NaN become 0)."""
    data = np.nan_to_num(np.asarray(pixels, dtype=np.float32), nan=0.0, posinf=0.0)
    data = np.clip(data, 0.0, None)
    if data.ndim == 2:
        data = np.repeat(data[..., None], 3, axis=2)
    _write_encoded(path, ".hdr", data[..., :3])


def write_image(path: str | os.PathLike, pixels, **kw) -> None:
    """Write by extension: .exr, .tif/.tiff (float32), .png, .jpg/.jpeg, .hdr."""
    ext = Path(path).suffix.lower()
    if ext == ".exr":
        write_exr(path, pixels, **kw)
    elif ext in (".tif", ".tiff"):
        write_tiff(path, pixels, **kw)
    elif ext == ".png":
        write_png(path, pixels, **kw)
    elif ext in (".jpg", ".jpeg"):
        write_jpg(path, pixels, **kw)
    elif ext == ".hdr":
        write_hdr(path, pixels, **kw)
    else:
        raise UnsupportedFormatError(
            f"cannot write {Path(path).name}: use .exr, .tif, .png, .jpg or .hdr"
        )
