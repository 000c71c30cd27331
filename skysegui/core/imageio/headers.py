"""Image sizes from file headers (PNG, JPEG, Radiance HDR), so huge files are refused
before OpenCV allocates their pixels and probe_image stays cheap.

Each reader also gives a floor on the bytes a valid file of that size has: half of what
the format's best compression ratio allows (deflate's 1032:1 for PNG, two bytes per run of
127 for Radiance RLE), and for Huffman-coded JPEG one bit per 16 x 16 pixels (a quarter of
the one bit per 8 x 8 block that each block's DC coefficient takes at least). Flat black
files written at the highest compression come within a few percent of those ratios, so
the margin matters. A file of a few KB whose header claims 16384 x 8192 pixels is refused
as truncated before the decoder allocates 1.6 GB.
"""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path
from typing import NamedTuple

from skysegui.core.errors import CorruptImageError

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_HUFFMAN = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7}  # the others are arithmetic-coded
_PNG_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}  # colour type -> channels after decoding
_PNG_SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples stored per pixel
_DEFLATE_RATIO = 1032  # deflate's largest possible expansion on decompression


class Header(NamedTuple):
    width: int
    height: int
    bits: int  # bits per channel after decoding (8, 16 or 32)
    channels: int  # channels after decoding
    min_bytes: int  # the smallest a valid file of this size can be


def png_header(path: Path) -> Header:
    """Size, bit depth and channels from the IHDR chunk."""
    with open(path, "rb") as fh:
        data = fh.read(33)
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise CorruptImageError(f"{path} is a damaged PNG (no IHDR header); export it again")
    if struct.unpack(">I", data[29:33])[0] != zlib.crc32(data[12:29]) & 0xFFFFFFFF:
        raise CorruptImageError(f"{path} is a damaged PNG (its header checksum is wrong); export it again")
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    stored = width * height * _PNG_SAMPLES.get(colour, 1) * max(depth, 1) // 8  # filter bytes not counted
    return Header(width, height, (16 if depth == 16 else 8), _PNG_CHANNELS.get(colour, 3),
                  33 + stored // (2 * _DEFLATE_RATIO))


def jpeg_header(path: Path) -> Header:
    """Size and components from the first start-of-frame marker."""
    with open(path, "rb") as fh:
        data = fh.read(4 * 1024 * 1024)
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            pos += 1
            continue
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _JPEG_SOF and pos + 10 <= len(data):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            # Huffman codes take at least one bit per 8 x 8 block of the full-resolution
            # component (its DC difference); one bit per 16 x 16 pixels leaves a margin of 4
            scan = width * height // (16 * 16 * 8) if marker in _JPEG_HUFFMAN else 0
            return Header(width, height, 8, data[pos + 9], pos + scan)
        pos += 2 + length
    raise CorruptImageError(f"{path} is a damaged JPEG (no frame header found); export it again")


#: sizes of up to 18 digits (a longer number is no size: int() of thousands of digits raises)
_HDR_SIZE = re.compile(rb"^([-+])([XY]) (\d{1,18}) ([-+])([XY]) (\d{1,18})$")


def _rgbe_min_bytes(width: int, height: int) -> int:
    """Fewest bytes of RGBE pixel data OpenCV's reader accepts for a width x height image:
    widths 8..32767 are run-length encoded (a 4-byte scan-line header, then per component
    at least 2 bytes per run of up to 127), other widths are flat (4 bytes a pixel)."""
    if 8 <= width <= 0x7FFF:
        return height * (4 + 4 * 2 * -(-width // 127))
    return 4 * width * height


def hdr_header(path: Path) -> Header:
    """Size from the resolution line that ends a Radiance header."""
    with open(path, "rb") as fh:
        data = fh.read(64 * 1024)
    lines = data.split(b"\n")
    for i, line in enumerate(lines[:-1]):
        if line.strip() == b"" and i + 1 < len(lines):
            m = _HDR_SIZE.match(lines[i + 1].strip())
            if m:
                first, second = int(m.group(3)), int(m.group(6))
                width, height = (second, first) if m.group(2) == b"Y" else (first, second)
                start = sum(len(x) + 1 for x in lines[: i + 2])  # past the resolution line
                return Header(width, height, 32, 3, start + _rgbe_min_bytes(width, height) // 2)
    raise CorruptImageError(f"{path} is a damaged Radiance HDR file (no size line); export it again")
