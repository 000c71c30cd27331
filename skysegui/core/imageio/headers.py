"""Image sizes from file headers (PNG, JPEG, Radiance HDR), so huge files are refused
before OpenCV allocates their pixels and probe_image stays cheap."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

from skysegui.core.errors import CorruptImageError

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_PNG_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}  # colour type -> channels after decoding


def png_header(path: Path) -> tuple[int, int, int, int]:
    """(width, height, bit depth, channels) from the IHDR chunk."""
    with open(path, "rb") as fh:
        data = fh.read(33)
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise CorruptImageError(f"{path} is a damaged PNG (no IHDR header); export it again")
    if struct.unpack(">I", data[29:33])[0] != zlib.crc32(data[12:29]) & 0xFFFFFFFF:
        raise CorruptImageError(f"{path} is a damaged PNG (its header checksum is wrong); export it again")
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    return width, height, (16 if depth == 16 else 8), _PNG_CHANNELS.get(colour, 3)


def jpeg_header(path: Path) -> tuple[int, int, int]:
    """(width, height, components) from the first start-of-frame marker."""
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
            return width, height, data[pos + 9]
        pos += 2 + length
    raise CorruptImageError(f"{path} is a damaged JPEG (no frame header found); export it again")


_HDR_SIZE = re.compile(rb"^([-+])([XY]) (\d+) ([-+])([XY]) (\d+)$")


def hdr_header(path: Path) -> tuple[int, int]:
    """(width, height) from the resolution line that ends a Radiance header."""
    with open(path, "rb") as fh:
        data = fh.read(64 * 1024)
    lines = data.split(b"\n")
    for i, line in enumerate(lines[:-1]):
        if line.strip() == b"" and i + 1 < len(lines):
            m = _HDR_SIZE.match(lines[i + 1].strip())
            if m:
                first, second = int(m.group(3)), int(m.group(6))
                if m.group(2) == b"Y":
                    return second, first
                return first, second
    raise CorruptImageError(f"{path} is a damaged Radiance HDR file (no size line); export it again")
