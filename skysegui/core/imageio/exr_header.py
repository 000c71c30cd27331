"""A small reader of the OpenEXR header (first part): size, channel names and pixel types,
and the declared colour primaries (chromaticities).

Used by probe_image (header only, no pixel decoding) and to refuse damaged or too large
files before the decoder allocates anything. Layout: OpenEXR file format, "Header".
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from skysegui.core.errors import CorruptImageError, UnsupportedFormatError

PIXEL_TYPE_BITS = {0: 32, 1: 16, 2: 32}  # UINT, HALF, FLOAT
PIXEL_TYPE_NAMES = {0: "uint", 1: "half", 2: "float"}
_MAX_HEADER_BYTES = 16 * 1024 * 1024


@dataclass
class ExrChannel:
    name: str
    pixel_type: int  # 0 UINT, 1 HALF, 2 FLOAT
    x_sampling: int
    y_sampling: int


@dataclass
class ExrHeader:
    width: int
    height: int
    channels: list[ExrChannel]
    multipart: bool
    tiled: bool
    deep: bool
    compression: int = -1  # the file's compression code (0 NONE .. 9 DWAB, newer codes above)
    chunk_count: int | None = None  # the "chunkCount" attribute (required in multi-part files)
    #: the "chromaticities" attribute: red, green, blue and white x,y (None: not declared)
    chromaticities: tuple[float, ...] | None = None


class _Cursor:
    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.pos, self.path = data, 0, path

    def need(self, n: int) -> None:
        if self.pos + n > len(self.data):
            raise CorruptImageError(
                f"{self.path} is truncated inside its header; copy the file again"
            )

    def cstring(self) -> str:
        end = self.data.find(b"\x00", self.pos)
        if end < 0:
            self.need(len(self.data) + 1 - self.pos)
        text = self.data[self.pos : end].decode("latin-1")
        self.pos = end + 1
        return text

    def unpack(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        self.need(size)
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values


def _parse_chlist(value: bytes, path: Path) -> list[ExrChannel]:
    cur = _Cursor(value, path)
    channels = []
    while cur.pos < len(value) and value[cur.pos] != 0:
        name = cur.cstring()
        pixel_type, _linear, xs, ys = cur.unpack("<iB3xii")
        channels.append(ExrChannel(name, pixel_type, xs, ys))
    return channels


def read_exr_header(path: Path) -> ExrHeader:
    """The first part's header (see read_exr_headers)."""
    return read_exr_headers(path)[0]


def read_exr_headers(path: Path) -> list[ExrHeader]:
    """Parse every part's header of an EXR file; CorruptImageError when one is damaged."""
    return read_exr_layout(path)[0]


def read_exr_layout(path: Path) -> tuple[list[ExrHeader], int]:
    """Every part's header and the byte offset where the chunk offset tables start."""
    size = 64 * 1024
    while True:  # most headers fit in 64 KB; grow only for files with huge metadata
        with open(path, "rb") as fh:
            data = fh.read(size)
        try:
            return _parse(data, path)
        except CorruptImageError:
            if len(data) < size or size >= _MAX_HEADER_BYTES:
                raise
            size *= 8


def _parse(data: bytes, path: Path) -> tuple[list[ExrHeader], int]:
    cur = _Cursor(data, path)
    magic, version = cur.unpack("<ii")
    if magic != 20000630:
        raise UnsupportedFormatError(f"{path.name} is not an OpenEXR file")
    flags = version & ~0xFF
    if version & 0xFF != 2:
        raise CorruptImageError(
            f"{path} has an unknown OpenEXR version {version & 0xFF}; re-save it as OpenEXR 2 or 3"
        )
    multipart = bool(flags & 0x1000)
    headers = [_parse_one(cur, data, path, flags)]
    if multipart:  # headers follow each other; an empty header ends the list
        cur.pos += 1
        cur.need(1)
        while data[cur.pos] != 0:
            headers.append(_parse_one(cur, data, path, flags))
            cur.pos += 1
            cur.need(1)
    return headers, cur.pos + 1  # past the null byte that ends the (last) header


def _parse_one(cur: _Cursor, data: bytes, path: Path, flags: int) -> ExrHeader:
    channels: list[ExrChannel] | None = None
    window = None
    kind = ""
    compression, chunk_count = -1, None
    chromaticities = None
    while True:
        cur.need(1)
        if data[cur.pos] == 0:
            break
        name = cur.cstring()
        _type = cur.cstring()
        (size,) = cur.unpack("<i")
        if size < 0:
            raise CorruptImageError(f"{path} has a damaged header (negative attribute size)")
        cur.need(size)
        value = data[cur.pos : cur.pos + size]
        cur.pos += size
        if name == "channels":
            channels = _parse_chlist(value, path)
        elif name == "dataWindow" and size >= 16:
            window = struct.unpack_from("<iiii", value)
        elif name == "type":
            kind = value.rstrip(b"\x00").decode("latin-1")
        elif name == "compression" and size >= 1:
            compression = value[0]
        elif name == "chunkCount" and size >= 4:
            (chunk_count,) = struct.unpack_from("<i", value)
        elif name == "chromaticities" and _type == "chromaticities" and size == 32:
            chromaticities = struct.unpack_from("<8f", value)
    if channels is None or window is None:
        raise CorruptImageError(
            f"{path} has a damaged header (no channel list or data window); copy the file again"
        )
    x0, y0, x1, y1 = window
    return ExrHeader(
        width=x1 - x0 + 1,
        height=y1 - y0 + 1,
        channels=channels,
        multipart=bool(flags & 0x1000),
        tiled=bool(flags & 0x200) or kind.startswith(("tiled", "deeptile")),
        deep=bool(flags & 0x800) or kind.startswith("deep"),
        compression=compression,
        chunk_count=chunk_count,
        chromaticities=chromaticities,
    )
