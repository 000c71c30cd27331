"""Tile codecs of the dataset cache (ml/data/cache.py explains the choice and the figures).

"jpeg": each tile quantised to 8 bits over its own range, a 4:4:4 JPEG, and a zstd-coded
correction wherever the JPEG missed by more than ERROR_BOUND; "zstd" and "zlib": byte-
shuffled float16 tiles, lossless; "npy": no tiles. An _Encoder turns an array into the
sections of an entry file (ml/data/tile_store.py), which TiledArray decodes tile by tile.
"""

from __future__ import annotations

import math
import struct
import threading
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from skysegui.core.errors import TrainingError

CODECS = ("jpeg", "zstd", "zlib", "npy")
TILE = 128
JPEG_QUALITY = 85
ZSTD_LEVEL = 9
# The "jpeg" codec's largest error, in network-input units: a quarter stop (0.25 EV) for the
# log input (0.25 * ln 2 / 4.4), 2 / 255 for the sRGB 0..1 input.
ERROR_BOUND = {"hdr_log": round(0.25 * math.log(2.0) / 4.4, 5), "ldr": round(2.0 / 255.0, 5)}


def codec_params(codec: str, input_transform: str) -> dict[str, Any]:
    """What, besides the codec's name, decides the bytes of an entry (part of its file tag)."""
    if codec not in CODECS:
        raise TrainingError(f"unknown cache codec {codec!r}: use one of {', '.join(CODECS)}")
    if codec == "npy":
        return {}
    params: dict[str, Any] = {"tile": TILE}
    if codec == "zlib":
        params["level"] = 6
    else:
        params["zstd_level"] = ZSTD_LEVEL
    if codec == "jpeg":
        params["quality"] = JPEG_QUALITY
        params["bound"] = ERROR_BOUND.get(input_transform, ERROR_BOUND["hdr_log"])
    return params


# --- tile codecs ----------------------------------------------------------------------

_local = threading.local()


def _zstd_compressor(level: int):
    import zstandard

    comps = getattr(_local, "zc", None)
    if comps is None:
        comps = _local.zc = {}
    if level not in comps:
        comps[level] = zstandard.ZstdCompressor(level=level)
    return comps[level]


def _zstd_decompressor():
    d = getattr(_local, "zd", None)
    if d is None:
        import zstandard

        d = _local.zd = zstandard.ZstdDecompressor()
    return d


def _shuffle(t: np.ndarray) -> bytes:
    size = t.dtype.itemsize
    return t.view(np.uint8).reshape(-1, size).T.tobytes() if size > 1 else t.tobytes()


def _unshuffle(raw: bytes, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    a = np.frombuffer(raw, np.uint8)
    size = dtype.itemsize
    if size == 1:
        return a.view(dtype).reshape(shape).copy()
    n = a.size // size
    if size == 2:  # (high byte << 8) | low byte: 10x faster than a transposing copy
        out = a[n:].astype("<u2")
        out <<= 8
        out |= a[:n]
        return out.view(dtype).reshape(shape)
    out = np.empty(a.size, np.uint8)
    for k in range(size):
        out[k::size] = a[k * n:(k + 1) * n]
    return out.view(dtype).reshape(shape)


def _jpeg_header(jpeg: bytes) -> bytes:
    """Everything before the entropy-coded data: up to the end of the start-of-scan segment."""
    sos = jpeg.find(b"\xff\xda")
    if sos < 0:
        return b""
    return jpeg[:sos + 2 + struct.unpack(">H", jpeg[sos + 2:sos + 4])[0]]


class _Encoder:
    """Turns one array into tiles and sections for a container (see _write_entry)."""

    def __init__(self, codec: str, params: dict[str, Any]) -> None:
        self.codec = codec
        self.params = params
        self.tile = int(params.get("tile", TILE))

    def _tiles(self, array: np.ndarray, stop: Callable[[], None]):
        """(ty, tx, tile) in row-major order; edge tiles padded by repeating the edge."""
        T = self.tile
        h, w = array.shape[:2]
        for ty in range(-(-h // T)):
            stop()
            for tx in range(-(-w // T)):
                t = array[ty * T:(ty + 1) * T, tx * T:(tx + 1) * T]
                if t.shape[:2] != (T, T):
                    pad = [(0, T - t.shape[0]), (0, T - t.shape[1])] + [(0, 0)] * (t.ndim - 2)
                    t = np.pad(t, pad, mode="edge")
                yield ty, tx, np.ascontiguousarray(t)

    def lossless(self, prefix: str, array: np.ndarray, stop) -> tuple[dict[str, np.ndarray], None]:
        T = self.tile
        h, w = array.shape[:2]
        index = np.zeros((-(-h // T), -(-w // T), 2), np.int64)
        chunks, offset = [], 0
        if self.codec == "zlib":
            level = int(self.params.get("level", 6))

            def compress(b):
                return zlib.compress(b, level)
        else:
            comp = _zstd_compressor(int(self.params.get("zstd_level", ZSTD_LEVEL)))
            compress = comp.compress
        for ty, tx, t in self._tiles(array, stop):
            z = compress(_shuffle(t))
            index[ty, tx] = (offset, len(z))
            chunks.append(z)
            offset += len(z)
        return {f"{prefix}.index": index, f"{prefix}.data": np.frombuffer(b"".join(chunks), np.uint8)}, None

    def jpeg(self, prefix: str, array: np.ndarray, stop) -> tuple[dict[str, np.ndarray], dict[str, float]]:
        """Error-bounded JPEG tiles of a float16 H x W x 3 array (see the module doc)."""
        import cv2

        T = self.tile
        h, w = array.shape[:2]
        nty, ntx = -(-h // T), -(-w // T)
        bound = float(self.params["bound"])
        encode_params = [cv2.IMWRITE_JPEG_QUALITY, int(self.params["quality"]),
                         cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]
        comp = _zstd_compressor(int(self.params.get("zstd_level", ZSTD_LEVEL)))
        # offset, JPEG body length, residual length, flags (1: body is a whole JPEG, 2: int16 residual)
        index = np.zeros((nty, ntx, 4), np.int64)
        lo_a = np.zeros((nty, ntx), np.float32)
        scale_a = np.zeros((nty, ntx), np.float32)
        step_a = np.zeros((nty, ntx), np.float32)
        header = b""
        chunks, offset = [], 0
        sq, worst, count = 0.0, 0.0, 0
        vmin, vmax = np.inf, -np.inf
        for ty, tx, t in self._tiles(array, stop):
            t32 = t.astype(np.float32)
            lo, hi = float(t32.min()), float(t32.max())
            if not (np.isfinite(lo) and np.isfinite(hi)):  # readers sanitise; arrays may not
                t32 = np.nan_to_num(t32, nan=0.0, posinf=65504.0, neginf=-65504.0)
                lo, hi = float(t32.min()), float(t32.max())
            vmin, vmax = min(vmin, lo), max(vmax, hi)
            lo32, scale = np.float32(lo), np.float32((hi - lo) / 255.0)
            q = np.zeros(t.shape, np.uint8) if scale == 0 else np.clip(
                np.rint((t32 - lo32) / scale), 0, 255).astype(np.uint8)
            ok, buf = cv2.imencode(".jpg", q, encode_params)
            if not ok:
                raise TrainingError("OpenCV could not encode a JPEG tile: use cache_codec = \"zstd\"")
            jpeg = buf.tobytes()
            if not header:
                header = _jpeg_header(jpeg)
            flags = 0
            if header and jpeg.startswith(header):
                body = jpeg[len(header):]
            else:
                body, flags = jpeg, 1
            # decoded exactly as TiledArray._decode_jpeg does it (float32, same operations)
            d = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED).astype(np.float32)
            d *= scale
            d += lo32
            # corrections in steps of (just under) twice the bound: what is left is at most
            # half a step, so no value is off by more than the bound
            step = np.float32(2.0 * bound * (1.0 - 1e-4))
            r = np.rint((t32 - d) / step)
            resid = b""
            if r.any():
                if np.abs(r).max() > 127:
                    flags |= 2
                    resid = comp.compress(r.astype(np.int16).tobytes())
                else:
                    resid = comp.compress(r.astype(np.int8).tobytes())
                rs = r.astype(np.float32)
                rs *= step
                d += rs
            err = d - t32
            th, tw = min(T, h - ty * T), min(T, w - tx * T)  # padding is not the image
            err = err[:th, :tw]
            sq += float(np.square(err, dtype=np.float64).sum())
            worst = max(worst, float(np.abs(err).max()))
            count += err.size
            index[ty, tx] = (offset, len(body), len(resid), flags)
            lo_a[ty, tx], scale_a[ty, tx], step_a[ty, tx] = lo32, scale, step
            chunks += [body, resid]
            offset += len(body) + len(resid)
        sections = {
            f"{prefix}.index": index, f"{prefix}.lo": lo_a, f"{prefix}.scale": scale_a,
            f"{prefix}.step": step_a, f"{prefix}.header": np.frombuffer(header, np.uint8),
            f"{prefix}.data": np.frombuffer(b"".join(chunks), np.uint8),
        }
        error = {"max_abs": worst, "rms": float(np.sqrt(sq / max(count, 1))),
                 "range": float(vmax - vmin) if count else 0.0, "bound": bound}
        return sections, error
