"""Find truncated OpenEXR files from their chunk offset tables, before the decoder runs.

OpenEXR's C library prints its own complaints about a cut-off file to the process's stderr
before it fails, which breaks the CLI's one-line `error: ...` promise. Reading the offset
tables (a few KB, even for 8K panoramas) finds the usual damage (a copy or download that
stopped early) so the typed error comes first and alone.
Layout: OpenEXR file format, "Offset Tables" and "Scan Line / Tiled Image Data".
"""

from __future__ import annotations

import math
import os
import struct
from pathlib import Path

import numpy as np

from skysegui.core.errors import CorruptImageError
from skysegui.core.imageio.exr_header import ExrHeader, read_exr_layout

# scan lines per chunk for the compressions whose chunking we know
_LINES_PER_CHUNK = {0: 1, 1: 1, 2: 1, 3: 16, 4: 32, 5: 16, 6: 32, 7: 32, 8: 32, 9: 256}


def _chunk_count(header: ExrHeader) -> int | None:
    if header.chunk_count is not None:
        return header.chunk_count if header.chunk_count > 0 else None
    if header.tiled or header.deep or header.multipart:
        return None  # tiled levels need more of the header than we parse: the decoder checks
    lines = _LINES_PER_CHUNK.get(header.compression)
    return math.ceil(header.height / lines) if lines else None


def check_exr_complete(path: Path) -> None:
    """CorruptImageError when an offset table or the chunk it points to last lies past the end."""
    headers, table_start = read_exr_layout(path)
    counts = [_chunk_count(h) for h in headers]
    if any(c is None for c in counts) or any(h.deep for h in headers):
        return
    size = os.path.getsize(path)
    table_bytes = 8 * sum(counts)
    damaged = CorruptImageError(
        f"{path} is truncated or damaged (its pixel data ends early or is missing); "
        "copy it again or re-export it"
    )
    if table_start + table_bytes > size:
        raise damaged
    with open(path, "rb") as fh:
        fh.seek(table_start)
        offsets = np.frombuffer(fh.read(table_bytes), dtype="<u8")
        if offsets.size == 0:
            return
        if int(offsets.min()) < table_start + table_bytes:
            return  # entries never written: the library rebuilds the table from the chunks
        if int(offsets.max()) >= size:
            raise damaged
        last = int(offsets.max())
        multipart = headers[0].multipart
        part_index = np.repeat(np.arange(len(headers)), counts)[int(offsets.argmax())]
        tiled = headers[part_index].tiled
        # chunk leader: [part number], y (scan lines) or 4 tile coordinates, packed size
        leader = (4 if multipart else 0) + (16 if tiled else 4) + 4
        fh.seek(last)
        head = fh.read(leader)
    if len(head) < leader:
        raise damaged
    (packed,) = struct.unpack_from("<i", head, leader - 4)
    if packed < 0 or last + leader + packed > size:
        raise damaged
