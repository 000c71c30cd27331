"""The training dataset cache: one network input and mask per labelled image.

Instead of the report's thousands of float32 patch files, each labelled panorama is stored
once: its network input (float16 H x W x 3) and sky mask (uint8 H x W, sky = 1), plus
`<key>.c.npy`, a coarse map of the sky fraction per 16 px block that lets the sampler find
crops across a sky edge without reading the mask. Two codecs:

* "zlib" (default): 128 px tiles, byte-shuffled and zlib-compressed, in one memory-mapped
  file per array with a tile index; a crop decodes only the few tiles it touches (recent
  tiles are kept). Lossless, and about the size of ZIP-compressed half-float EXRs.
* "npy": plain memory-mapped `.npy` files (7 bytes per pixel): no decoding at all.

`manifest.json` records for each image the file size and mtime of the image and a hash of
its labels, so changing one image or its polygons rebuilds only that image.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from skysegui.core.atomicio import atomic_write, write_text_atomic
from skysegui.core.errors import TrainingError
from skysegui.core.progress import CancelToken, ProgressFn, check, report

MANIFEST = "manifest.json"
CACHE_VERSION = 1
COARSE_BLOCK = 16
CODECS = ("zlib", "npy")
TILE = 128


@dataclass
class LabelledSource:
    """One labelled image, not loaded yet: `load()` gives (network input, sky mask)."""

    name: str
    fingerprint: dict[str, Any]
    load: Callable[[], tuple[np.ndarray, np.ndarray]]


@dataclass
class CacheEntry:
    name: str
    key: str
    height: int
    width: int
    sky_fraction: float
    fingerprint: dict[str, Any] = field(default_factory=dict)
    codec: str = "npy"


def to_network_input(pixels: np.ndarray, is_hdr: bool, transform: str) -> np.ndarray:
    """Linear RGB pixels -> what the network sees, for a model's input transform.

    'hdr_log' is the report's log transform (also applied to LDR files, whose pixels are
    sRGB-decoded to linear on reading); 'ldr' is the sRGB encoding in 0..1 (= file / 255
    for 8-bit files), with HDR values above 1 clipped.
    """
    from skysegui.core.tonemap import hdr_log_transform, srgb_encode

    if transform == "hdr_log":
        return np.asarray(hdr_log_transform(pixels), dtype=np.float32)
    if transform == "ldr":
        return np.asarray(srgb_encode(np.clip(pixels, 0.0, 1.0)), dtype=np.float32)
    raise TrainingError(f"unknown input transform {transform!r}: use 'hdr_log' or 'ldr'")


def labels_fingerprint(labels, image_id) -> str:
    """Hash of what makes an image's mask: its annotations' roles and polygon vertices."""
    h = hashlib.sha256()
    rec = labels.images[image_id]
    h.update(f"{rec.width}x{rec.height}".encode())
    for ann in sorted(labels.annotations_for(image_id), key=lambda a: str(a.id)):
        h.update(f"|{labels.role_of(ann.category_id)}".encode())
        for poly in ann.polygons:
            h.update(np.ascontiguousarray(poly.outer, dtype=np.float64).tobytes())
            for hole in poly.holes:
                h.update(b"h" + np.ascontiguousarray(hole, dtype=np.float64).tobytes())
    return h.hexdigest()


def project_sources(project, input_transform: str) -> tuple[list[LabelledSource], list[str]]:
    """The labelled images of a project, and warnings.

    Labelled = `labels.is_labelled`: at least one annotation, or the record's
    `"skysegui_labelled"` flag; a flagged image without annotations ("no sky here") is a
    training negative with an all-zero mask. Being listed in labels.json is not enough.
    The fingerprint hashes the annotations, so whatever changes the mask re-caches it."""
    from skysegui.core.annotations import sky_mask
    from skysegui.core.imageio import read_image

    result = project.load_labels()
    labels = result.labels
    warnings = list(result.warnings)
    sources = []
    for path in project.image_paths():
        rec = labels.image_by_name(path.name)
        if rec is None or not labels.is_labelled(rec.id):
            continue
        st = path.stat()
        fingerprint = {
            "image": path.name,
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "labels": labels_fingerprint(labels, rec.id),
            "transform": input_transform,
        }

        def load(path=path, image_id=rec.id, rec=rec):
            image = read_image(path)
            if image.pixels.shape[:2] != (rec.height, rec.width):
                raise TrainingError(
                    f"{path.name} is {image.pixels.shape[1]}x{image.pixels.shape[0]} but its labels "
                    f"say {rec.width}x{rec.height}: re-import the labels for this image"
                )
            x = to_network_input(image.pixels, image.info.is_hdr, input_transform)
            return x, sky_mask(labels, image_id)

        sources.append(LabelledSource(name=path.stem, fingerprint=fingerprint, load=load))
    return sources, warnings


def array_sources(
    items: dict[str, tuple[np.ndarray, np.ndarray]], input_transform: str = "hdr_log", is_hdr: bool = True
) -> list[LabelledSource]:
    """Sources from in-memory (linear pixels, sky mask) pairs, e.g. synthetic panoramas."""
    sources = []
    for name, (pixels, mask) in items.items():
        digest = hashlib.sha256(np.ascontiguousarray(pixels).tobytes())
        digest.update(np.ascontiguousarray(mask).tobytes())
        fp = {"array": digest.hexdigest(), "transform": input_transform}

        def load(pixels=pixels, mask=mask):
            return to_network_input(pixels, is_hdr, input_transform), np.asarray(mask, np.uint8)

        sources.append(LabelledSource(name=name, fingerprint=fp, load=load))
    return sources


def _key(name: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)[:60]
    return f"{safe}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def coarse_sky(mask: np.ndarray, block: int = COARSE_BLOCK) -> np.ndarray:
    """Sky fraction per block x block cell (edge cells cover what is left)."""
    h, w = mask.shape
    hb, wb = -(-h // block), -(-w // block)
    padded = np.zeros((hb * block, wb * block), np.float32)
    counts = np.zeros_like(padded)
    padded[:h, :w] = mask == 1
    counts[:h, :w] = 1
    s = padded.reshape(hb, block, wb, block).sum(axis=(1, 3))
    n = counts.reshape(hb, block, wb, block).sum(axis=(1, 3))
    return (s / np.maximum(n, 1)).astype(np.float16)


class TiledArray:
    """Read-only H x W (x C) array kept as compressed tiles; index it with 2-D slices."""

    def __init__(self, data_path: Path, index_path: Path, shape, dtype, tile: int = TILE,
                 keep_tiles: int = 16) -> None:
        self.data = np.load(data_path, mmap_mode="r") if data_path.stat().st_size else np.zeros(0, np.uint8)
        self.index = np.load(index_path)
        self.shape = tuple(int(v) for v in shape)
        self.dtype = np.dtype(dtype)
        self.tile = tile
        self.ndim = len(self.shape)
        self._tiles: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        self._keep = keep_tiles
        self._lock = threading.Lock()  # the sampler's parallel streams share the tile cache

    def _tile(self, ty: int, tx: int) -> np.ndarray:
        key = (ty, tx)
        with self._lock:
            t = self._tiles.get(key)
            if t is not None:
                self._tiles.move_to_end(key)
                return t
        off, n = (int(v) for v in self.index[ty, tx])
        raw = np.frombuffer(zlib.decompress(self.data[off:off + n].tobytes()), np.uint8)
        size = self.dtype.itemsize
        t = raw.reshape(size, -1).T.copy().view(self.dtype).reshape((self.tile, self.tile) + self.shape[2:])
        with self._lock:
            self._tiles[key] = t
            if len(self._tiles) > self._keep:
                self._tiles.popitem(last=False)
        return t

    def region(self, top: int, left: int, height: int, width: int) -> np.ndarray:
        out = np.empty((height, width) + self.shape[2:], self.dtype)
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


def _write_tiled(base: Path, array: np.ndarray, tile: int = TILE) -> None:
    """`<base>.bin.npy` (all compressed tiles, uint8) and `<base>.idx.npy` (offset, length)."""
    h, w = array.shape[:2]
    nty, ntx = -(-h // tile), -(-w // tile)
    pad = [(0, nty * tile - h), (0, ntx * tile - w)] + [(0, 0)] * (array.ndim - 2)
    padded = np.pad(array, pad, mode="edge")
    size = array.dtype.itemsize
    index = np.zeros((nty, ntx, 2), np.int64)
    chunks, offset = [], 0
    for ty in range(nty):
        for tx in range(ntx):
            t = np.ascontiguousarray(padded[ty * tile:(ty + 1) * tile, tx * tile:(tx + 1) * tile])
            shuffled = t.view(np.uint8).reshape(-1, size).T.tobytes()
            z = zlib.compress(shuffled, 6)
            index[ty, tx] = (offset, len(z))
            chunks.append(z)
            offset += len(z)
    _write_npy(Path(f"{base}.bin.npy"), np.frombuffer(b"".join(chunks), np.uint8))
    _write_npy(Path(f"{base}.idx.npy"), index)


class DatasetCache:
    """A built cache folder: entries and memory-mapped arrays."""

    def __init__(self, folder: Path, input_transform: str, entries: list[CacheEntry]) -> None:
        self.folder = Path(folder)
        self.input_transform = input_transform
        self.entries = entries
        self._maps: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.rebuilt = 0  # entries (re)written by the last build_cache

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    def arrays(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x float16 HxWx3, y uint8 HxW, coarse sky float16) of entry i, read lazily.

        x and y are memory-mapped arrays ("npy") or TiledArrays ("zlib"); both take 2-D slices.
        """
        e = self.entries[i]
        if e.key not in self._maps:
            coarse = np.load(self.folder / f"{e.key}.c.npy")
            if e.codec == "zlib":
                f = self.folder
                x = TiledArray(f / f"{e.key}.x.bin.npy", f / f"{e.key}.x.idx.npy", (e.height, e.width, 3), np.float16)
                y = TiledArray(f / f"{e.key}.y.bin.npy", f / f"{e.key}.y.idx.npy", (e.height, e.width), np.uint8)
            else:
                x = np.load(self.folder / f"{e.key}.x.npy", mmap_mode="r")
                y = np.load(self.folder / f"{e.key}.y.npy", mmap_mode="r")
            self._maps[e.key] = (x, y, coarse)
        return self._maps[e.key]

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.folder.iterdir() if p.is_file())

    def summary(self) -> dict[str, Any]:
        return {
            "images": len(self.entries),
            "pixels": int(sum(e.height * e.width for e in self.entries)),
            "sky_fraction": float(
                sum(e.sky_fraction * e.height * e.width for e in self.entries)
                / max(1, sum(e.height * e.width for e in self.entries))
            ),
            "input_transform": self.input_transform,
        }


def _write_npy(path: Path, array: np.ndarray) -> None:
    with atomic_write(path) as tmp:
        np.save(tmp, array)


def build_cache(
    sources: Iterable[LabelledSource],
    folder: str | os.PathLike,
    input_transform: str,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    codec: str = "zlib",
) -> DatasetCache:
    """Bring the cache in `folder` up to date with `sources`; rebuild only what changed."""
    if codec not in CODECS:
        raise TrainingError(f"unknown cache codec {codec!r}: use one of {', '.join(CODECS)}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sources = list(sources)
    if not sources:
        raise TrainingError(
            "no labelled images to train on: label the sky in at least two images "
            "(or import a COCO / Label Studio file) first"
        )
    manifest_path = folder / MANIFEST
    old: dict[str, Any] = {}
    if manifest_path.is_file():
        try:
            data = json.loads(manifest_path.read_text(encoding="utf-8"))
            if data.get("version") == CACHE_VERSION and data.get("input_transform") == input_transform:
                old = data.get("entries", {})
        except ValueError:
            old = {}
    entries: list[CacheEntry] = []
    rebuilt = 0
    for n, src in enumerate(sources):
        check(cancel)
        report(progress, n, len(sources), f"caching {src.name}")
        key = _key(src.name)
        prev = old.get(src.name)
        parts = ("x", "y", "c") if codec == "npy" else ("x.bin", "x.idx", "y.bin", "y.idx", "c")
        files_ok = all((folder / f"{key}.{p}.npy").is_file() for p in parts)
        if prev and prev.get("fingerprint") == src.fingerprint and prev.get("codec") == codec and files_ok:
            entries.append(CacheEntry(**prev))
            continue
        x, y = src.load()
        if x.shape[:2] != y.shape or x.ndim != 3 or x.shape[2] != 3:
            raise TrainingError(f"{src.name}: image {x.shape} and mask {y.shape} do not match")
        y = np.asarray(y, np.uint8)
        for stale in folder.glob(f"{key}.*"):
            stale.unlink(missing_ok=True)
        if codec == "npy":
            _write_npy(folder / f"{key}.x.npy", np.ascontiguousarray(x, dtype=np.float16))
            _write_npy(folder / f"{key}.y.npy", y)
        else:
            _write_tiled(folder / f"{key}.x", np.asarray(x, dtype=np.float16))
            _write_tiled(folder / f"{key}.y", y)
        _write_npy(folder / f"{key}.c.npy", coarse_sky(y))
        entries.append(
            CacheEntry(name=src.name, key=key, height=int(y.shape[0]), width=int(y.shape[1]),
                       sky_fraction=float((y == 1).mean()), fingerprint=src.fingerprint, codec=codec)
        )
        rebuilt += 1
    _remove_stale(folder, {e.key for e in entries})
    manifest = {
        "version": CACHE_VERSION,
        "input_transform": input_transform,
        "entries": {e.name: e.__dict__ for e in entries},
    }
    write_text_atomic(manifest_path, json.dumps(manifest, indent=1))
    report(progress, len(sources), len(sources), f"cache ready ({rebuilt} rebuilt)")
    cache = DatasetCache(folder, input_transform, entries)
    cache.rebuilt = rebuilt
    return cache


def _remove_stale(folder: Path, keep: set[str]) -> None:
    for p in folder.glob("*.npy"):
        key = p.name.split(".", 1)[0]
        if key not in keep:
            p.unlink(missing_ok=True)


def open_cache(folder: str | os.PathLike) -> DatasetCache:
    """A cache built earlier (no checks against the sources)."""
    folder = Path(folder)
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TrainingError(f"{folder} holds no usable dataset cache ({exc}): build it again") from exc
    entries = [CacheEntry(**e) for e in data["entries"].values()]
    return DatasetCache(folder, data["input_transform"], entries)


def project_cache(project, input_transform: str, progress=None, cancel=None,
                  codec: str = "zlib", pixels_per_degree: float | None = None) -> tuple[DatasetCache, list[str]]:
    """Build or refresh the cache of a project in <project>/cache/<transform>/, or at a
    model's scale in <project>/cache/<transform>-<width>px/ (ml/data/scale.py)."""
    from skysegui.ml.data.scale import cache_folder_name, scaled_sources

    sources, warnings = project_sources(project, input_transform)
    sources = scaled_sources(sources, pixels_per_degree, input_transform)
    folder = Path(project.cache_dir) / cache_folder_name(input_transform, pixels_per_degree)
    cache = build_cache(sources, folder, input_transform, progress, cancel, codec)
    return cache, warnings
