"""Loads an image off the GUI thread: decode, a coarse preview at once, then the pyramid.

The GUI thread only receives finished objects (queued signals). A newer load makes
older ones stale: their results are dropped, so switching images quickly is safe.
The last few loaded images stay in a cache limited in entries and in bytes, so going
back to the previous panorama is instant while memory stays bounded however many
panoramas a session walks through. Thumbnails are made for at most THUMBNAIL_LIMIT images.
"""

from __future__ import annotations

import math
import os
import traceback
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

from skysegui.core.errors import SkysegError
from skysegui.core.imageio import read_image, sanitise_inplace
from skysegui.core.progress import CancelToken
from skysegui.core.tonemap import DisplayPyramid, ToneSettings, luminance, tonemap
from skysegui.gui.viewer.readout import dynamic_range_stops

PREVIEW_WIDTH = 1024  # the coarse picture shown as soon as the file is decoded
CACHE_ENTRIES = 4  # loaded images kept (the shown one included)
CACHE_BYTES = 640 * 1024 * 1024  # about two 8K half-float panoramas with their pyramids
THUMBNAIL_LIMIT = 2000  # thumbnails made per project (the image list keeps as many)


@dataclass
class LoadedImage:
    """Everything the window needs about one opened image."""

    path: Path
    image: object  # core.imageio.Image
    pyramid: DisplayPyramid
    preview: np.ndarray  # linear float, about PREVIEW_WIDTH wide (auto exposure, statistics)
    stops: float
    low: float
    high: float

    @property
    def width(self) -> int:
        return int(self.image.info.width)

    @property
    def height(self) -> int:
        return int(self.image.info.height)

    @property
    def nbytes(self) -> int:
        """Memory held: the pyramid (level 0 is the image's pixels) and the preview."""
        return int(self.pyramid.nbytes + self.preview.nbytes)


def file_key(path: Path) -> tuple | None:
    """Identifies one version of a file (a changed or replaced file is a new key)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (str(Path(path).resolve()), st.st_mtime_ns, st.st_size, st.st_ino)


class ImageCache:
    """Least-recently-used loaded images, limited in entries and in bytes."""

    def __init__(self, max_entries: int = CACHE_ENTRIES, max_bytes: int = CACHE_BYTES):
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._items: OrderedDict[tuple, LoadedImage] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        return sum(item.nbytes for item in self._items.values())

    def get(self, path: Path) -> LoadedImage | None:
        key = file_key(path)
        loaded = None if key is None else self._items.get(key)
        if loaded is not None:
            self._items.move_to_end(key)
        return loaded

    def put(self, loaded: LoadedImage) -> None:
        key = file_key(loaded.path)
        if key is None or self.max_entries < 1 or loaded.nbytes > self.max_bytes:
            return
        self._items[key] = loaded
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries or self.nbytes > self.max_bytes:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


def coarse(pixels: np.ndarray, width: int = PREVIEW_WIDTH) -> np.ndarray:
    """A strided (no filtering: fast) copy at most `width` pixels wide. Always a copy, also
    of a small image: the preview is sanitised in place before the image's own repair is
    counted (a shared array would hide the NaN/Inf/negative counts)."""
    step = max(1, math.ceil(pixels.shape[1] / width))
    return np.array(pixels[::step, ::step], order="C", copy=True)


def load_image(path: Path, tone: ToneSettings, on_preview=None, on_full_res=None) -> LoadedImage:
    """The whole load, callable without Qt (benchmarks, tests).

    Order, so something shows as early as possible: decode (no sanitising yet) ->
    on_preview(uint8 RGB of a sanitised sample, width, height) -> sanitise the full image ->
    on_full_res(LoadedImage whose pyramid has only level 0) -> build the pyramid levels.
    """
    # float16: half the memory of float32 and the pyramid's look-up-table tone map
    image = read_image(path, dtype=np.float16, sanitise=False)
    small = coarse(image.pixels)
    sanitise_inplace(small)
    if on_preview is not None:
        on_preview(tonemap(small, tone), image.info.width, image.info.height)
    if not image.pixels.flags.c_contiguous:
        image.pixels = np.ascontiguousarray(image.pixels)
    if image.pixels.dtype.kind == "f":
        counts = sanitise_inplace(image.pixels)
        image.info.sanitised_nan, image.info.sanitised_inf = counts.nan, counts.inf
        image.info.sanitised_negative = counts.negative
    stops, low, high = dynamic_range_stops(luminance(small.astype(np.float32)))
    pyramid = DisplayPyramid(image.pixels, build=False)
    loaded = LoadedImage(Path(path), image, pyramid, small, stops, low, high)
    if on_full_res is not None:
        on_full_res(loaded)
    pyramid.build()
    return loaded


class _Signals(QObject):
    preview = Signal(int, object, int, int)
    full_res = Signal(int, object)
    loaded = Signal(int, object)
    failed = Signal(int, object)


class _LoadRunnable(QRunnable):
    def __init__(self, signals: _Signals, generation: int, path: Path, tone: ToneSettings):
        super().__init__()
        self.signals, self.generation, self.path, self.tone = signals, generation, path, tone

    def run(self) -> None:
        try:
            loaded = load_image(
                self.path,
                self.tone,
                lambda rgb, w, h: self.signals.preview.emit(self.generation, rgb, w, h),
                lambda loaded: self.signals.full_res.emit(self.generation, loaded),
            )
        except Exception as exc:  # reported to the GUI, which shows it as a message
            exc.__traceback_text__ = traceback.format_exc()
            self.signals.failed.emit(self.generation, exc)
            return
        self.signals.loaded.emit(self.generation, loaded)


class ImageLoader(QObject):
    """Starts loads in a thread pool and forwards only the newest load's results."""

    previewReady = Signal(object, int, int)  # uint8 RGB, full width, full height
    fullResolution = Signal(object)  # LoadedImage; its pyramid has level 0 only (still building)
    loaded = Signal(object)  # LoadedImage with the complete pyramid
    failed = Signal(object)  # the exception (SkysegError for user-caused problems)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _Signals(self)
        self._signals.preview.connect(self._on_preview)
        self._signals.full_res.connect(self._on_full_res)
        self._signals.loaded.connect(self._on_loaded)
        self._signals.failed.connect(self._on_failed)
        self._generation = 0
        self._busy = False
        self.cache = ImageCache()

    @property
    def busy(self) -> bool:
        return self._busy

    def load(self, path: str | Path, tone: ToneSettings) -> None:
        self._generation += 1
        self._busy = True
        path = Path(path)
        cached = self.cache.get(path)
        if cached is not None:  # the same signals, from the GUI thread's next turn
            QTimer.singleShot(0, self, lambda g=self._generation: self._replay(g, cached, tone))
            return
        self._pool.start(_LoadRunnable(self._signals, self._generation, path, tone))

    def _replay(self, generation: int, loaded: LoadedImage, tone: ToneSettings) -> None:
        if generation != self._generation:
            return
        self.previewReady.emit(tonemap(loaded.preview, tone), loaded.width, loaded.height)
        self._on_full_res(generation, loaded)
        self._on_loaded(generation, loaded)

    def wait(self, msecs: int = -1) -> bool:
        return self._pool.waitForDone(msecs)

    def _on_preview(self, generation, rgb, width, height) -> None:
        if generation == self._generation:
            self.previewReady.emit(rgb, width, height)

    def _on_full_res(self, generation, loaded) -> None:
        if generation == self._generation:
            self.fullResolution.emit(loaded)

    def _on_loaded(self, generation, loaded) -> None:
        if generation == self._generation:
            self._busy = False
            self.cache.put(loaded)
            self.loaded.emit(loaded)

    def _on_failed(self, generation, exc) -> None:
        if generation == self._generation:
            self._busy = False
            self.failed.emit(exc)


THUMBNAIL_WIDTH = 128


def make_thumbnail(path: Path, tone: ToneSettings, width: int = THUMBNAIL_WIDTH) -> np.ndarray:
    """A small tone-mapped uint8 RGB picture of an image file (area-averaged, so no aliasing)."""
    return thumbnail_with_note(path, tone, width)[0]


def thumbnail_with_note(path: Path, tone: ToneSettings, width: int = THUMBNAIL_WIDTH) -> tuple[np.ndarray, str]:
    """make_thumbnail's picture and the decoder's note about a damaged file that still
    decoded ('' for a sound file), so the image list can mark that row."""
    import cv2

    image = read_image(path, dtype=np.float16)
    small = coarse(image.pixels, width * 4).astype(np.float32)
    height = max(1, round(width * small.shape[0] / small.shape[1]))
    small = cv2.resize(small, (width, height), interpolation=cv2.INTER_AREA)
    return tonemap(small, tone), image.info.decoder_note


class _ThumbSignals(QObject):
    done = Signal(int, str, object)
    problem = Signal(int, str, str)


class _ThumbRunnable(QRunnable):
    def __init__(self, signals: _ThumbSignals, generation: int, paths: list[Path],
                 tone: ToneSettings, cancel: CancelToken):
        super().__init__()
        self.signals, self.generation, self.paths, self.tone = signals, generation, paths, tone
        self.cancel = cancel

    def run(self) -> None:
        for path in self.paths:
            if self.cancel.cancelled:
                return
            try:
                rgb, note = thumbnail_with_note(path, self.tone)
            except SkysegError as exc:  # no thumbnail; the row is marked with the reason
                self.signals.problem.emit(self.generation, str(path), str(exc))
                continue
            except Exception as exc:  # a bug in a decoder: still only this row is affected
                self.signals.problem.emit(self.generation, str(path), f"cannot be read ({type(exc).__name__}: {exc})")
                continue
            self.signals.done.emit(self.generation, str(path), rgb)
            if note:
                self.signals.problem.emit(self.generation, str(path), note)


class ThumbnailLoader(QObject):
    """Makes thumbnails of a project's images one after another, in the background."""

    thumbnailReady = Signal(object, object)  # Path, uint8 RGB
    thumbnailProblem = Signal(object, str)  # Path, why it has no (or a damaged) thumbnail

    def __init__(self, parent=None):
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _ThumbSignals(self)
        self._signals.done.connect(self._done)
        self._signals.problem.connect(self._problem)
        self._generation = 0
        self._cancel = CancelToken()
        self.limit = THUMBNAIL_LIMIT

    def load(self, paths: list[Path], tone: ToneSettings) -> None:
        """Thumbnails of the first `limit` paths (a huge project must not fill the memory)."""
        self.cancel()
        self._cancel = CancelToken()
        paths = list(paths)[: self.limit]
        self._pool.start(_ThumbRunnable(self._signals, self._generation, paths, tone, self._cancel))

    def cancel(self) -> None:
        self._generation += 1
        self._cancel.cancel()

    def wait(self, msecs: int = -1) -> bool:
        return self._pool.waitForDone(msecs)

    def _done(self, generation: int, path: str, rgb) -> None:
        if generation == self._generation:
            self.thumbnailReady.emit(Path(path), rgb)

    def _problem(self, generation: int, path: str, message: str) -> None:
        if generation == self._generation:
            self.thumbnailProblem.emit(Path(path), message)
