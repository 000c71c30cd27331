"""OpenEXR through OpenEXR's own Python File API (3.x).

In its default (non-separate) mode the library hands back R,G,B (or a layer's R,G,B) as one
interleaved H x W x 3 array in the file's own type, so a half-float file becomes float16
pixels with no float32 detour and no extra copy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import OpenEXR

from skysegui.core.errors import CorruptImageError, UnsupportedFormatError
from skysegui.core.imageio.detect import check_decode_bytes, check_size, out_of_memory
from skysegui.core.imageio.exr_chunks import check_exr_complete
from skysegui.core.imageio.exr_header import PIXEL_TYPE_BITS, ExrHeader, read_exr_headers
from skysegui.core.imageio.model import ImageInfo
from skysegui.core.native_stderr import capture_native_output, library_words

HALF_MAX = 65504.0


def _pick_part(path: Path, headers: list[ExrHeader]) -> tuple[int, tuple[str, ...]]:
    """Index of the first part with colour channels, and those channels' names."""
    for index, header in enumerate(headers):
        names = tuple(c.name for c in header.channels)
        try:
            _pick_names(path, names)
        except UnsupportedFormatError:
            continue
        return index, names
    _pick_names(path, tuple(c.name for h in headers for c in h.channels))  # raises, naming them
    raise AssertionError("unreachable")


def probe_exr(path: Path) -> ImageInfo:
    headers = read_exr_headers(path)
    index, names = _pick_part(path, headers)  # refuses files without colour before decoding
    header = headers[index]
    if header.deep:
        raise UnsupportedFormatError(
            f"{path.name} is a deep OpenEXR file; flatten it (e.g. in Nuke) and save a plain EXR"
        )
    check_size(path, header.width, header.height)
    _check_all_parts(path, headers)
    used = _pick_names(path, names)
    bits = max(PIXEL_TYPE_BITS.get(c.pixel_type, 32) for c in header.channels if c.name in used)
    return ImageInfo(
        path=path, source_type="exr", width=header.width, height=header.height,
        channels=names, is_hdr=True, bit_depth=bits, dtype="", transfer="linear",
        chromaticities=header.chromaticities,
    )


def _check_all_parts(path: Path, headers: list[ExrHeader]) -> None:
    """OpenEXR's File API decodes every channel of every part, not only the colour we show:
    refuse a file whose parts, together, would take more than MAX_DECODE_BYTES (or one of
    whose parts alone is over MAX_PIXELS) before the library allocates them."""
    total = 0
    for header in headers:
        check_size(path, header.width, header.height)
        if header.deep:
            continue  # the File API does not decode deep parts' samples
        for channel in header.channels:
            per_pixel = PIXEL_TYPE_BITS.get(channel.pixel_type, 32) // 8
            sampling = max(channel.x_sampling, 1) * max(channel.y_sampling, 1)
            total += header.width * header.height * per_pixel // sampling
    channels = sum(len(h.channels) for h in headers)
    parts = f" in {len(headers)} parts" if len(headers) > 1 else ""
    check_decode_bytes(
        path, total, f"{channels} channels{parts}",
        "save the colour (beauty) pass on its own, without the other channels or parts",
    )


def _pick_names(path: Path, names: tuple[str, ...]) -> tuple[str, ...]:
    """The file channels we show: R,G,B (top level first, then the first layer), else Y."""
    layers = [""] + sorted({n.rsplit(".", 1)[0] + "." for n in names if "." in n})
    for prefix in layers:
        rgb = tuple(prefix + c for c in "RGB")
        if all(n in names for n in rgb):
            return rgb
    for prefix in layers:
        if prefix + "Y" in names:
            return (prefix + "Y",)
    raise UnsupportedFormatError(
        f"{path.name} has no colour channels (R, G, B or Y); it holds {', '.join(names) or 'none'}. "
        "Save the beauty pass as RGB"
    )


def _first_reasons(words: str, count: int = 2, length: int = 300) -> str:
    """The library's first reasons only (a damaged chunk table gives one line per chunk)."""
    text = "; ".join(words.split("; ")[:count]) if words else ""
    return text if len(text) <= length else text[: length - 3] + "..."


def read_exr_pixels(path: Path, info: ImageInfo) -> tuple[np.ndarray, tuple[str, ...]]:
    """Decode the chosen channels: an H x W x 3 array in the file's type and their names."""
    wanted = _pick_names(path, info.channels)
    check_exr_complete(path)  # before the library, which prints its own complaints to stderr
    try:
        # OpenEXR prints its own complaints about damaged pixel data (on stdout and stderr):
        # captured, and turned into the CorruptImageError below
        with capture_native_output() as said:
            exr = OpenEXR.File(str(path))
            parts = exr.parts
    except (RuntimeError, ValueError, OSError) as exc:
        raise CorruptImageError(
            f"{path} is damaged or truncated ({exc}); copy it again or re-export it"
        ) from exc
    damaged = _first_reasons(library_words(said, "openexr"))
    if "MemoryError" in said.text or "bad_alloc" in said.text:  # the binding caught it and went on
        raise out_of_memory(path, info.width, info.height)
    index, _names = _pick_part(path, read_exr_headers(path))
    if len(parts) <= index:
        why = f" ({damaged})" if damaged else ""
        raise CorruptImageError(f"{path} is missing image parts{why}; copy it again or re-export it")
    channels = parts[index].channels
    prefix = wanted[0][:-1]  # "" or "layer."
    pixels = None
    if len(wanted) == 3:
        key_candidates = ("RGB", "RGBA") if prefix == "" else (prefix[:-1],)
        for key in key_candidates:
            ch = channels.get(key)
            if ch is not None and ch.pixels is not None and ch.pixels.ndim == 3:
                pixels = ch.pixels
                break
        if pixels is None:  # mixed types or odd names: assemble from single channels
            planes = [channels.get(n) for n in wanted]
            if all(p is not None and p.pixels is not None for p in planes):
                pixels = np.stack([p.pixels for p in planes], axis=-1)
    else:
        ch = channels.get(wanted[0])
        if ch is not None and ch.pixels is not None:
            pixels = ch.pixels
    if pixels is None:
        why = f" ({damaged})" if damaged else ""
        raise CorruptImageError(
            f"{path}: the channels {', '.join(wanted)} could not be decoded{why}; re-export the file"
        )
    if pixels.shape[:2] != (info.height, info.width):
        raise UnsupportedFormatError(
            f"{path.name} uses sub-sampled channels ({pixels.shape[1]} x {pixels.shape[0]} for a "
            f"{info.width} x {info.height} image); re-save it as full-resolution RGB"
        )
    if pixels.ndim == 3 and pixels.shape[2] > 3:
        pixels = np.ascontiguousarray(pixels[..., :3])  # alpha ignored
    elif pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    if pixels.dtype == np.uint32:
        pixels = pixels.astype(np.float32)
    if not pixels.flags.writeable or not pixels.flags.c_contiguous:
        pixels = np.array(pixels, order="C")
    return pixels, wanted


def write_exr_file(tmp: Path, pixels: np.ndarray, half: bool, channels) -> None:
    pixels = np.asarray(pixels)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] not in (3, 4)):
        raise ValueError(f"write_exr needs H x W, H x W x 3 or H x W x 4 pixels, got {pixels.shape}")
    dtype = np.float16 if half else np.float32
    if half:
        data = np.clip(pixels, -HALF_MAX, HALF_MAX).astype(np.float16)
        infinite = np.isinf(pixels)
        if infinite.any():  # saturate large finite values but keep real infinities
            data[infinite] = pixels[infinite]
    else:
        data = np.ascontiguousarray(pixels, dtype=dtype)
    count = 1 if data.ndim == 2 else data.shape[2]
    if channels is None:
        key = {1: "Y", 3: "RGB", 4: "RGBA"}[count]
        chans = {key: data}
    else:
        channels = tuple(channels)
        if len(channels) != count:
            raise ValueError(f"{len(channels)} channel names for {count} channels")
        planes = [data] if data.ndim == 2 else [data[..., i] for i in range(count)]
        chans = {name: np.ascontiguousarray(p) for name, p in zip(channels, planes, strict=True)}
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    OpenEXR.File(header, chans).write(str(tmp))
