"""Loads an image off the GUI thread: decode, a coarse preview at once, then the pyramid.

The GUI thread only receives finished objects (queued signals). A newer load makes
older ones stale: their results are dropped, so switching images quickly is safe.
"""

from __future__ import annotations

import math
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from skysegui.core.imageio import read_image, sanitise_inplace
from skysegui.core.progress import CancelToken
from skysegui.core.tonemap import DisplayPyramid, ToneSettings, luminance, tonemap
from skysegui.gui.viewer.readout import dynamic_range_stops

PREVIEW_WIDTH = 1024  # the coarse picture shown as soon as the file is decoded


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


def coarse(pixels: np.ndarray, width: int = PREVIEW_WIDTH) -> np.ndarray:
    """A strided (no filtering: fast) copy at most `width` pixels wide."""
    step = max(1, math.ceil(pixels.shape[1] / width))
    return np.ascontiguousarray(pixels[::step, ::step])


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

    @property
    def busy(self) -> bool:
        return self._busy

    def load(self, path: str | Path, tone: ToneSettings) -> None:
        self._generation += 1
        self._busy = True
        self._pool.start(_LoadRunnable(self._signals, self._generation, Path(path), tone))

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
            self.loaded.emit(loaded)

    def _on_failed(self, generation, exc) -> None:
        if generation == self._generation:
            self._busy = False
            self.failed.emit(exc)


THUMBNAIL_WIDTH = 128


def make_thumbnail(path: Path, tone: ToneSettings, width: int = THUMBNAIL_WIDTH) -> np.ndarray:
    """A small tone-mapped uint8 RGB picture of an image file (area-averaged, so no aliasing)."""
    import cv2

    pixels = read_image(path, dtype=np.float16).pixels
    small = coarse(pixels, width * 4).astype(np.float32)
    height = max(1, round(width * small.shape[0] / small.shape[1]))
    small = cv2.resize(small, (width, height), interpolation=cv2.INTER_AREA)
    return tonemap(small, tone)


class _ThumbSignals(QObject):
    done = Signal(int, str, object)


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
                rgb = make_thumbnail(path, self.tone)
            except Exception:  # an unreadable file simply gets no thumbnail; opening it explains
                continue
            self.signals.done.emit(self.generation, str(path), rgb)


class ThumbnailLoader(QObject):
    """Makes thumbnails of a project's images one after another, in the background."""

    thumbnailReady = Signal(object, object)  # Path, uint8 RGB

    def __init__(self, parent=None):
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _ThumbSignals(self)
        self._signals.done.connect(self._done)
        self._generation = 0
        self._cancel = CancelToken()

    def load(self, paths: list[Path], tone: ToneSettings) -> None:
        self.cancel()
        self._cancel = CancelToken()
        self._pool.start(_ThumbRunnable(self._signals, self._generation, list(paths), tone, self._cancel))

    def cancel(self) -> None:
        self._generation += 1
        self._cancel.cancel()

    def wait(self, msecs: int = -1) -> bool:
        return self._pool.waitForDone(msecs)

    def _done(self, generation: int, path: str, rgb) -> None:
        if generation == self._generation:
            self.thumbnailReady.emit(Path(path), rgb)
