"""Entry files of the dataset cache and the tiled arrays read from them.

One file per cached image: MAGIC, the JSON header's offset, 64-byte aligned sections (each
memory-mapped as an array) and the JSON header at the end. A TiledArray decodes only the
tiles a crop touches; decoded tiles live in one TileLRU of a fixed byte budget shared by the
whole cache, so reading crops needs the same memory for 4 images or 400.
"""

from __future__ import annotations

import json
import os
import struct
import threading
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from skysegui.core.atomicio import atomic_write
from skysegui.core.errors import TrainingError
from skysegui.ml.data.tile_codecs import TILE, _unshuffle, _zstd_decompressor

TILE_CACHE_MB = 64.0
MAGIC = b"SKYCACHE"
_ALIGN = 64


def _write_entry(path: Path, meta: dict[str, Any], sections: dict[str, np.ndarray]) -> None:
    """One entry file: MAGIC, the JSON header's offset (uint64), the sections (64-byte
    aligned, so each can be memory-mapped as an array) and the JSON header at the end."""
    table = {}
    with atomic_write(path) as tmp, open(tmp, "wb") as fh:
        fh.write(MAGIC + b"\0" * 8)
        for name, a in sections.items():
            a = np.ascontiguousarray(a)
            pos = fh.tell()
            if pos % _ALIGN:
                fh.write(b"\0" * (_ALIGN - pos % _ALIGN))
                pos = fh.tell()
            fh.write(memoryview(a.reshape(-1).view(np.uint8)) if a.size else b"")
            table[name] = [pos, a.nbytes, a.dtype.str, list(a.shape)]
        head = fh.tell()
        fh.write(json.dumps({**meta, "sections": table}).encode("utf-8"))
        fh.seek(len(MAGIC))
        fh.write(struct.pack("<Q", head))


class _EntryFile:
    """A memory-mapped entry file; `section(name)` is a read-only view, no copy."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.map = np.memmap(path, np.uint8, mode="r")
            if bytes(self.map[:len(MAGIC)]) != MAGIC:
                raise ValueError("not a SkySeg cache entry")
            head = struct.unpack("<Q", bytes(self.map[len(MAGIC):len(MAGIC) + 8]))[0]
            self.meta = json.loads(bytes(self.map[head:]).decode("utf-8"))
        except (OSError, ValueError) as exc:
            raise TrainingError(f"{path} is damaged ({exc}): delete the cache folder and train again") from exc

    def section(self, name: str) -> np.ndarray:
        offset, nbytes, dtype, shape = self.meta["sections"][name]
        return self.map[offset:offset + nbytes].view(np.dtype(dtype)).reshape(shape)


def read_entry_meta(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON header of an entry file (name, shape, codec, parameters, error figures)."""
    return _EntryFile(Path(path)).meta


class TileLRU:
    """Decoded tiles shared by all arrays of a cache, least recently used dropped first
    once they hold more than `max_bytes`. Thread-safe (the sampler's streams share it)."""

    def __init__(self, max_bytes: float) -> None:
        self.max_bytes = int(max_bytes)
        self.nbytes = 0
        self.peak_bytes = 0
        self._tiles: OrderedDict[Any, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._tiles)

    def get(self, key) -> np.ndarray | None:
        with self._lock:
            t = self._tiles.get(key)
            if t is not None:
                self._tiles.move_to_end(key)
            return t

    def put(self, key, tile: np.ndarray) -> None:
        with self._lock:
            if key in self._tiles:
                return
            self._tiles[key] = tile
            self.nbytes += tile.nbytes
            while self.nbytes > self.max_bytes and len(self._tiles) > 1:
                _, old = self._tiles.popitem(last=False)
                self.nbytes -= old.nbytes
            self.peak_bytes = max(self.peak_bytes, self.nbytes)

    def clear(self) -> None:
        with self._lock:
            self._tiles.clear()
            self.nbytes = 0


class TiledArray:
    """Read-only H x W (x C) array kept as compressed tiles; index it with 2-D slices."""

    def __init__(self, entry: _EntryFile, prefix: str, shape, dtype, codec: str, tile: int = TILE,
                 lru: TileLRU | None = None) -> None:
        self.entry = entry
        self.prefix = prefix
        self.shape = tuple(int(v) for v in shape)
        self.dtype = np.dtype(dtype)
        self.ndim = len(self.shape)
        self.codec = codec
        self.tile = tile
        self.lru = lru if lru is not None else TileLRU(TILE_CACHE_MB * 2**20)
        self.index = np.array(entry.section(f"{prefix}.index"))
        self.data = entry.section(f"{prefix}.data")
        self.lossy = codec == "jpeg" and self.ndim == 3
        if self.lossy:
            self.lo = np.array(entry.section(f"{prefix}.lo"))
            self.scale = np.array(entry.section(f"{prefix}.scale"))
            self.step = np.array(entry.section(f"{prefix}.step"))
            self.header = bytes(entry.section(f"{prefix}.header"))
        self._id = (str(entry.path), prefix)

    def decode_tile(self, ty: int, tx: int) -> np.ndarray:
        """Tile (ty, tx), tile x tile (x C), decoded (no LRU)."""
        T = self.tile
        shape = (T, T) + self.shape[2:]
        if self.lossy:
            return self._decode_jpeg(ty, tx, shape)
        off, n = (int(v) for v in self.index[ty, tx])
        chunk = self.data[off:off + n]
        raw = zlib.decompress(chunk) if self.codec == "zlib" else _zstd_decompressor().decompress(chunk)
        return _unshuffle(raw, self.dtype, shape)

    def _decode_jpeg(self, ty: int, tx: int, shape) -> np.ndarray:
        import cv2

        off, nbody, nres, flags = (int(v) for v in self.index[ty, tx])
        body = self.data[off:off + nbody]
        buf = np.frombuffer(self.header + body.tobytes(), np.uint8) if not flags & 1 else np.asarray(body)
        q = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        if q is None or q.shape != shape:
            raise TrainingError(f"{self.entry.path.name}: a damaged tile: delete the cache folder and train again")
        # the same float32 operations, in the same order, as the encoder's check of the bound
        d = q.astype(np.float32)
        d *= self.scale[ty, tx]
        d += self.lo[ty, tx]
        if nres:
            raw = _zstd_decompressor().decompress(self.data[off + nbody:off + nbody + nres])
            r = np.frombuffer(raw, np.int16 if flags & 2 else np.int8).reshape(shape).astype(np.float32)
            r *= self.step[ty, tx]
            d += r
        return d

    def _tile(self, ty: int, tx: int) -> np.ndarray:
        key = (self._id, ty, tx)
        t = self.lru.get(key)
        if t is None:
            t = self.decode_tile(ty, tx)
            t.flags.writeable = False
            self.lru.put(key, t)
        return t

    def region(self, top: int, left: int, height: int, width: int) -> np.ndarray:
        out = np.empty((height, width) + self.shape[2:], self.dtype)
        if height <= 0 or width <= 0:
            return out
        T = self.tile
        for ty in range(top // T, (top + height - 1) // T + 1):
            r0, r1 = max(top, ty * T), min(top + height, (ty + 1) * T)
            for tx in range(left // T, (left + width - 1) // T + 1):
                c0, c1 = max(left, tx * T), min(left + width, (tx + 1) * T)
                t = self._tile(ty, tx)
                out[r0 - top:r1 - top, c0 - left:c1 - left] = t[r0 - ty * T:r1 - ty * T, c0 - tx * T:c1 - tx * T]
        return out

    def __getitem__(self, key) -> np.ndarray:
        rows, cols = key if isinstance(key, tuple) else (key, slice(None))
        r0, r1, rs = rows.indices(self.shape[0])
        c0, c1, cs = cols.indices(self.shape[1])
        if rs != 1 or cs != 1:
            raise IndexError("tiled cache arrays take plain slices")
        return self.region(r0, c0, max(0, r1 - r0), max(0, c1 - c0))

    def __array__(self, dtype=None, copy=None):
        a = self.region(0, 0, self.shape[0], self.shape[1])
        return a if dtype is None else a.astype(dtype)
