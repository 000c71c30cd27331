"""read_image / probe_image: one entry point for every format we read.

Steps: check the file (exists, not empty, magic bytes match the extension), read the
header and refuse images over MAX_PIXELS, decode, sanitise (NaN/Inf/negatives, counted)
in the file's own precision, then convert to the dtype the caller wants (and to Rec.709
primaries when the file declares others, see primaries.py). A picture the
decoder complained about but still decoded (a damaged JPEG scan) keeps the complaints in
ImageInfo.decoder_warnings and issues a DecoderWarning.
"""

from __future__ import annotations

import os
import warnings

import cv2
import numpy as np

from skysegui.core.errors import ImageReadError
from skysegui.core.imageio.detect import check_file, out_of_memory
from skysegui.core.imageio.exr import HALF_MAX, probe_exr, read_exr_pixels
from skysegui.core.imageio.model import DecoderWarning, Image, ImageInfo
from skysegui.core.imageio.opencv_formats import decode_opencv, probe_opencv, to_linear_rgb
from skysegui.core.imageio.primaries import convert_to_rec709, needs_conversion
from skysegui.core.imageio.sanitise import sanitise_inplace
from skysegui.core.imageio.tiff import probe_tiff, read_tiff_array
from skysegui.core.tonemap.curves import srgb_decode_table

_DTYPES = (np.dtype(np.float32), np.dtype(np.float16))


def probe_image(path: str | os.PathLike) -> ImageInfo:
    """Size, channels, type and bit depth from the header, without decoding the pixels."""
    path, source_type = check_file(path)
    if source_type == "exr":
        return probe_exr(path)
    if source_type == "tiff":
        return probe_tiff(path)
    return probe_opencv(path, source_type)


def read_image(path: str | os.PathLike, dtype=np.float32, sanitise: bool = True,
               rec709: bool = True) -> Image:
    """Linear RGB pixels (H x W x 3, float32 or float16) and metadata of an image file.

    LDR files (8/16-bit PNG, JPEG, TIFF) are sRGB-decoded to linear. With sanitise, NaN
    becomes 0, +Inf the largest finite value of the file's sample type (65504 for half
    floats; float32 values beyond it saturate there when float16 is asked for), -Inf and
    negatives 0, and the counts are in the returned info.

    With rec709 (the default: the display, the network and every tone curve work in
    Rec.709 / sRGB primaries) an EXR that declares other primaries (ACES AP0, ...) is
    converted into them, after sanitising, and info.converted_to_rec709 says so; colours
    outside Rec.709 clip at 0. rec709=False keeps the file's own pixels (export does,
    so an exported EXR is the same image as its input).
    """
    dtype = np.dtype(dtype)
    if dtype not in _DTYPES:
        raise ValueError(f"read_image returns float32 or float16 pixels, not {dtype}")
    info = probe_image(path)
    try:
        return _read(info, dtype, sanitise, rec709)
    except MemoryError as exc:  # a size within MAX_PIXELS can still be too much for this machine
        raise out_of_memory(info.path, info.width, info.height) from exc


def _read(info: ImageInfo, dtype: np.dtype, sanitise: bool, rec709: bool) -> Image:
    path = info.path
    if info.source_type == "exr":
        raw, _used = read_exr_pixels(path, info)
    elif info.source_type == "tiff":
        raw = read_tiff_array(path)
        if raw.dtype.kind != "f":
            raw = _ldr_tiff_to_linear(raw, dtype)
        else:
            raw = _float_channels_to_rgb(raw)
    else:
        decoded, info.decoder_warnings = decode_opencv(path)
        raw = to_linear_rgb(decoded, dtype, srgb=info.source_type != "hdr")
    if raw.shape[:2] != (info.height, info.width):
        raise ImageReadError(
            f"{path}: decoded size {raw.shape[1]} x {raw.shape[0]} differs from the header's "
            f"{info.width} x {info.height}; the file is damaged, export it again"
        )
    if sanitise and raw.dtype.kind == "f":
        counts = sanitise_inplace(raw)
        info.sanitised_nan, info.sanitised_inf = counts.nan, counts.inf
        info.sanitised_negative = counts.negative
    if rec709 and needs_conversion(info.chromaticities):
        pixels = convert_to_rec709(raw, info.chromaticities, dtype)
        info.converted_to_rec709 = True
    else:
        pixels = _convert(raw, dtype, clip_to_half=sanitise)
    info.dtype = pixels.dtype.name
    if info.decoder_warnings:
        warnings.warn(info.decoder_note, DecoderWarning, stacklevel=3)
    return Image(pixels=pixels, info=info)


def _convert(raw: np.ndarray, dtype: np.dtype, clip_to_half: bool) -> np.ndarray:
    """astype without a full-size temporary; float32 -> float16 clips to the half range."""
    if raw.dtype == dtype:
        return raw
    if raw.dtype == np.float16 and dtype == np.float32 and raw.ndim == 3 and raw.shape[2] <= 4:
        return cv2.multiply(raw, 1.0, dtype=cv2.CV_32F)  # exact, and ~4x numpy's astype
    out = np.empty(raw.shape, dtype=dtype)
    step = max(1, (1 << 22) // max(1, raw[0].size))
    for y in range(0, raw.shape[0], step):
        block = raw[y : y + step]
        if dtype == np.float16 and clip_to_half:
            block = np.clip(block, -HALF_MAX, HALF_MAX)
        out[y : y + step] = block
    return out


def _float_channels_to_rgb(data: np.ndarray) -> np.ndarray:
    """H x W x 3 float16/float32 from a float TIFF's H x W (grey), x 3 or x 4 (alpha dropped)."""
    if data.ndim == 2:
        data = data[..., None]
    rgb = data[..., :3] if data.shape[2] >= 3 else np.repeat(data[..., :1], 3, axis=2)
    if rgb.dtype not in _DTYPES:
        return rgb.astype(np.float32)
    if rgb.flags.c_contiguous and rgb.flags.writeable:
        return rgb
    return np.array(rgb, order="C")


def _ldr_tiff_to_linear(data: np.ndarray, dtype: np.dtype) -> np.ndarray:
    bits = 8 if data.dtype == np.uint8 else 16
    table = srgb_decode_table(bits).astype(dtype)
    if data.ndim == 2:
        data = data[..., None]
    idx = [0, 0, 0] if data.shape[2] < 3 else [0, 1, 2]
    out = np.empty(data.shape[:2] + (3,), dtype=dtype)
    for i, c in enumerate(idx):
        np.take(table, data[..., c], out=out[..., i])
    return out
