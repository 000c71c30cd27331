"""The training dataset cache: one network input and mask per labelled image.

Instead of the report's thousands of float32 patch files, each labelled panorama is stored
once, in one file `<key>.<tag>.skc`: its network input (float16 H x W x 3), its sky mask
(uint8 H x W, sky = 1) and a coarse map of the sky fraction per 16 px block that lets the
sampler find crops across a sky edge without reading the mask. The tiled codecs cut both
arrays into 128 px tiles; a random crop decodes only the (at most 9) tiles it touches,
straight from the memory-mapped file, and recently decoded tiles are kept in one LRU of a
fixed byte budget shared by the whole cache (`tile_cache_mb`), so reading crops needs the
same memory for 4 images or 400.

Codecs (`codec=`; the mask is always lossless):

* "jpeg" (default): the network input as error-bounded JPEG. Each tile is quantised to
  8 bits between its own minimum and maximum and coded as a 4:4:4 JPEG (quality 85; the
  JPEG header, the same for every tile, is stored once); every value the JPEG missed by
  more than the bound gets a correction (the residual in steps of just under twice the
  bound, zstd-compressed), so no value is off by more than ERROR_BOUND: a quarter stop
  (0.25 EV = 0.0394 of the 'hdr_log' input, 1 % of its range -1.0..3.1; 2/255 for 'ldr').
  Tiles decode to float32 (a cast back to float16 would cost more than the JPEG).
  Measured (benchmarks/bench_training_input.py, bench_training_scale.py): on the 12 real
  CC0 panoramas of shared/data, max error 0.0394, RMS 0.014 (0.35 % of the range); the
  cache is 0.79x the size of their DWAB files, 0.14x-0.17x of half-float ZIP EXRs and
  0.79x of DWAB copies (level 45) of 8K synthetic panoramas.
  Why that is harmless: the HDR augmentation (ml/augment.py) shifts the whole input by up
  to +-0.315 (+-2 EV), each channel by a white-balance jitter of sigma 0.016, and adds
  noise of sigma up to 0.0045 in bright and 0.045 in dark regions; and DWAB sources carry
  a comparable or larger error themselves (on the same input: OpenEXR's default level 45,
  max 0.058 and RMS 0.0065; level 300, as the shared samples were saved, max 0.27 and RMS
  0.0125).
  Why it is the default: a lossless float16 cache cannot be as small as lossy DWAB
  sources (the real samples are 14x compressed; lossless float16 tiles are 7x their size),
  and the cache must be no larger than its sources.
* "zstd": lossless: byte-shuffled float16 tiles compressed with Zstandard (level 9): 1.05x
  the size of "zlib" with tiles decoded 4-5x faster (6x for the decompression alone; at
  level 15, the same size as zlib, about 3.3x).
* "zlib": lossless, byte-shuffled zlib tiles (the first cache format; still written on request).
* "npy": raw arrays (7 bytes per pixel), memory-mapped: no decoding at all.

Incremental and atomic: `manifest.json` records for each image a fingerprint (file size,
mtime and a hash of its labels, or a hash of in-memory arrays); the entry's file name
carries a hash of the fingerprint, codec and codec parameters, so an image whose file or
labels changed gets a new file and nothing else is touched. Each file is written to a
temporary name and renamed, and a finished file whose manifest line was lost (a killed
build) is adopted, not rebuilt. A cancelled build writes the manifest of what it finished,
so the cache stays usable. Files of older cache versions are rebuilt and removed.

Parallel: `build_cache(workers=)` caches up to min(4, CPU count) images at once in threads
(the image decoding, numpy, OpenCV's JPEG and zstd release the GIL), holding at most one
image per worker in memory, and reports progress as images finish.

Modules: this one builds, refreshes and opens caches; ml/data/tile_codecs.py encodes tiles,
ml/data/tile_store.py writes entry files and reads tiles back (TiledArray, the shared LRU).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from skysegui.core.atomicio import write_text_atomic
from skysegui.core.errors import CancelledError, TrainingError
from skysegui.core.progress import CancelToken, ProgressFn, check, report
from skysegui.ml.data.tile_codecs import (  # noqa: F401  (ERROR_BOUND, TILE: part of this module's API)
    CODECS,
    ERROR_BOUND,
    TILE,
    _Encoder,
    codec_params,
)
from skysegui.ml.data.tile_store import (  # noqa: F401  (read_entry_meta: part of this module's API)
    MAGIC,
    TILE_CACHE_MB,
    TiledArray,
    TileLRU,
    _EntryFile,
    _write_entry,
    read_entry_meta,
)

MANIFEST = "manifest.json"
CACHE_VERSION = 2
COARSE_BLOCK = 16
DEFAULT_CODEC = "jpeg"
LOSSLESS_CODECS = ("zstd", "zlib", "npy")
SUFFIX = ".skc"


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
    file: str = ""  # the entry's file in the cache folder
    params: dict[str, Any] = field(default_factory=dict)  # the codec's parameters
    error: dict[str, float] = field(default_factory=dict)  # lossy codecs: max_abs, rms, range


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


def network_input_f16(pixels: np.ndarray, is_hdr: bool, transform: str, rows: int = 256) -> np.ndarray:
    """to_network_input as float16 (what the cache stores), a band of rows at a time, so an
    8K panorama needs no full-size float32 copy."""
    pixels = np.asarray(pixels)
    out = np.empty(pixels.shape, np.float16)
    for r in range(0, pixels.shape[0], rows):
        out[r:r + rows] = to_network_input(pixels[r:r + rows], is_hdr, transform)
    return out


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
    The fingerprint hashes the annotations, so whatever changes the mask re-caches it.
    Masks are core.annotations.scored_sky_mask: unsure regions are IGNORE, left out of
    the loss and the scores."""
    from skysegui.core.annotations import scored_sky_mask
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
            x = network_input_f16(image.pixels, image.info.is_hdr, input_transform)
            del image
            return x, scored_sky_mask(labels, image_id)

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
            return network_input_f16(pixels, is_hdr, input_transform), np.asarray(mask, np.uint8)

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


class DatasetCache:
    """A built cache folder: entries and lazily opened arrays."""

    def __init__(self, folder: Path, input_transform: str, entries: list[CacheEntry],
                 tile_cache_mb: float = TILE_CACHE_MB) -> None:
        self.folder = Path(folder)
        self.input_transform = input_transform
        self.entries = entries
        self.tiles = TileLRU(tile_cache_mb * 2**20)  # decoded tiles of all entries together
        self._maps: dict[str, tuple[Any, Any, np.ndarray]] = {}
        self._lock = threading.Lock()
        self.rebuilt = 0  # entries (re)written by the last build_cache

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    def arrays(self, i: int) -> tuple[Any, Any, np.ndarray]:
        """(x HxWx3, y uint8 HxW, coarse sky float16) of entry i, read lazily.

        x and y are memory-mapped arrays ("npy") or TiledArrays (the tiled codecs); both
        take 2-D slices and np.asarray. x is float16 as stored, except for "jpeg", whose
        decoded values are float32.
        """
        e = self.entries[i]
        maps = self._maps.get(e.key)
        if maps is not None:
            return maps
        with self._lock:
            if e.key not in self._maps:
                self._maps[e.key] = self._open(e)
            return self._maps[e.key]

    def _open(self, e: CacheEntry):
        f = _EntryFile(self.folder / e.file)
        coarse = np.array(f.section("c"))
        if e.codec == "npy":
            return f.section("x"), f.section("y"), coarse
        tile = int(e.params.get("tile", TILE))
        # "jpeg" decodes to float32 (within its bound of the float16 input; a cast back to
        # float16 would cost more than the JPEG decoding): the sampler wants float32 anyway
        xtype = np.float32 if e.codec == "jpeg" else np.float16
        x = TiledArray(f, "x", (e.height, e.width, 3), xtype, e.codec, tile, self.tiles)
        y = TiledArray(f, "y", (e.height, e.width), np.uint8, e.codec, tile, self.tiles)
        return x, y, coarse

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


def _entry_tag(src: LabelledSource, codec: str, params: dict[str, Any]) -> str:
    blob = json.dumps({"v": CACHE_VERSION, "fp": src.fingerprint, "codec": codec, "params": params},
                      sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def _encode_entry(src: LabelledSource, folder: Path, key: str, file: str, codec: str,
                  params: dict[str, Any], stop: Callable[[], None]) -> CacheEntry:
    """Load one source and write its entry file (atomically); the work of one worker."""
    stop()
    x, y = src.load()
    stop()
    if x.ndim != 3 or x.shape[2] != 3 or x.shape[:2] != np.shape(y):
        raise TrainingError(f"{src.name}: image {x.shape} and mask {np.shape(y)} do not match")
    x = np.asarray(x, np.float16)
    y = np.ascontiguousarray(y, np.uint8)
    error: dict[str, float] = {}
    if codec == "npy":
        sections = {"x": x, "y": y}
    else:
        enc = _Encoder(codec, params)
        if codec == "jpeg":
            sections, error = enc.jpeg("x", x, stop)
            ys, _ = _Encoder("zstd", params).lossless("y", y, stop)
        else:
            sections, _ = enc.lossless("x", x, stop)
            ys, _ = enc.lossless("y", y, stop)
        sections.update(ys)
    del x
    sections["c"] = coarse_sky(y)
    entry = CacheEntry(name=src.name, key=key, height=int(y.shape[0]), width=int(y.shape[1]),
                       sky_fraction=float((y == 1).mean()), fingerprint=src.fingerprint, codec=codec,
                       file=file, params=params, error=error)
    stop()
    _write_entry(folder / file, {"version": CACHE_VERSION, "entry": entry.__dict__}, sections)
    return entry


def _adopt(path: Path, src: LabelledSource, codec: str, params: dict[str, Any]) -> CacheEntry | None:
    """The entry of a finished file that the manifest does not list (a killed build), if it is one."""
    try:
        meta = _EntryFile(path).meta
        entry = CacheEntry(**meta["entry"])
    except (TrainingError, KeyError, TypeError):
        return None
    if meta.get("version") != CACHE_VERSION or entry.fingerprint != src.fingerprint \
            or entry.codec != codec or entry.params != params:
        return None
    return entry


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def build_cache(
    sources: Iterable[LabelledSource],
    folder: str | os.PathLike,
    input_transform: str,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    codec: str = DEFAULT_CODEC,
    workers: int | None = None,
) -> DatasetCache:
    """Bring the cache in `folder` up to date with `sources`; rebuild only what changed.

    Up to `workers` images (default min(4, CPU count)) are cached at once. On cancel
    (CancelledError) or an error, the manifest lists every entry that was finished, so
    `open_cache` gives a usable cache and the next build goes on from there.
    """
    params = codec_params(codec, input_transform)
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
    entries: list[CacheEntry | None] = [None] * len(sources)
    todo: list[tuple[int, str, str]] = []
    for i, src in enumerate(sources):
        key = _key(src.name)
        file = f"{key}.{_entry_tag(src, codec, params)}{SUFFIX}"
        prev = old.get(src.name)
        if prev and prev.get("file") == file and (folder / file).is_file():
            try:
                entries[i] = CacheEntry(**prev)
                continue
            except TypeError:
                pass
        if (folder / file).is_file():
            entries[i] = _adopt(folder / file, src, codec, params)
            if entries[i] is not None:
                continue
        todo.append((i, key, file))

    total = len(sources)
    done = total - len(todo)
    workers = max(1, min(workers or default_workers(), max(1, len(todo))))
    report(progress, done, total, f"caching {len(todo)} of {total} images ({workers} at a time)"
           if todo else "cache up to date")
    failed = threading.Event()

    def stop() -> None:
        check(cancel)
        if failed.is_set():
            raise CancelledError("another image of the cache failed")

    rebuilt = 0
    finished = False
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cache") as pool:
            pending: dict[Future, int] = {}
            queue = iter(todo)
            try:
                while True:
                    for i, key, file in queue:
                        check(cancel)
                        pending[pool.submit(_encode_entry, sources[i], folder, key, file, codec, params,
                                            stop)] = i
                        if len(pending) >= workers:  # at most one image per worker in memory
                            break
                    if not pending:
                        break
                    ready, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                    for fut in ready:
                        i = pending.pop(fut)
                        entries[i] = fut.result()
                        rebuilt += 1
                        done += 1
                        report(progress, done, total, f"cached {sources[i].name}")
            except BaseException:
                failed.set()
                for fut, i in pending.items():  # keep what the other workers still finish
                    try:
                        entries[i] = fut.result()
                    except BaseException:  # noqa: BLE001 - the first error is the one raised
                        pass
                raise
        finished = True
    finally:
        current = [e for e in entries if e is not None]
        if finished:
            listed = current
        else:  # keep the previous entries not replaced yet (their files are still there)
            names = {e.name for e in current}
            listed = current + [CacheEntry(**v) for n, v in old.items()
                                if n not in names and (folder / v.get("file", "")).is_file()]
        manifest = {
            "version": CACHE_VERSION,
            "input_transform": input_transform,
            "entries": {e.name: e.__dict__ for e in listed},
        }
        write_text_atomic(manifest_path, json.dumps(manifest, indent=1))
        if finished:
            _remove_stale(folder, {e.file for e in listed})
    report(progress, total, total, f"cache ready ({rebuilt} rebuilt)")
    cache = DatasetCache(folder, input_transform, [e for e in entries if e is not None])
    cache.rebuilt = rebuilt
    return cache


def _remove_stale(folder: Path, keep: set[str]) -> None:
    """Entry files no longer listed, files of older cache versions, temporary files of killed builds."""
    for p in folder.iterdir():
        if not p.is_file() or p.name == MANIFEST or p.name in keep:
            continue
        if p.suffix in (SUFFIX, ".npy") or (p.name.startswith(".") and ".tmp" in p.name):
            p.unlink(missing_ok=True)


def open_cache(folder: str | os.PathLike, tile_cache_mb: float = TILE_CACHE_MB) -> DatasetCache:
    """A cache built earlier (no checks against the sources)."""
    folder = Path(folder)
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TrainingError(f"{folder} holds no usable dataset cache ({exc}): build it again") from exc
    if data.get("version") != CACHE_VERSION:
        raise TrainingError(f"{folder} holds a dataset cache of an older version: build it again "
                            "(training does that by itself)")
    entries = [CacheEntry(**e) for e in data["entries"].values()]
    return DatasetCache(folder, data["input_transform"], entries, tile_cache_mb)


def project_cache(project, input_transform: str, progress=None, cancel=None,
                  codec: str = DEFAULT_CODEC, pixels_per_degree: float | None = None,
                  workers: int | None = None) -> tuple[DatasetCache, list[str]]:
    """Build or refresh the cache of a project in <project>/cache/<transform>/, or at a
    model's scale in <project>/cache/<transform>-<width>px/ (ml/data/scale.py)."""
    from skysegui.ml.data.scale import cache_folder_name, scaled_sources

    sources, warnings = project_sources(project, input_transform)
    sources = scaled_sources(sources, pixels_per_degree, input_transform)
    folder = Path(project.cache_dir) / cache_folder_name(input_transform, pixels_per_degree)
    cache = build_cache(sources, folder, input_transform, progress, cancel, codec, workers)
    return cache, warnings
