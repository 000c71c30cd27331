"""The label overlay's mask, rasterised off the GUI thread for big images.

An 8K sky mask takes about half a second to rasterise, and an 8K overlay pixmap costs
128 MB, so for large images the polygons are snapshotted on the GUI thread (a cheap copy:
edits keep changing the live labels), scaled down to at most MAX_OVERLAY_WIDTH pixels
and rasterised in a worker. The editor draws the exact polygons on top, so the reduced
overlay only has to show the region. Small images are done at once, at full resolution.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from skysegui.core.annotations import AnnotationSet, Polygon, sky_mask
from skysegui.gui.viewer.overlay_items import colored_mask

MAX_OVERLAY_WIDTH = 4096
SYNC_MAX_PIXELS = 4_000_000  # up to about 2800 x 1400 the mask is made on the spot


def overlay_factor(width: int) -> int:
    """Full-resolution pixels per overlay pixel (1 up to MAX_OVERLAY_WIDTH wide)."""
    return max(1, math.ceil(width / MAX_OVERLAY_WIDTH))


def snapshot(labels: AnnotationSet, image_id, factor: int) -> AnnotationSet:
    """This image's labels only, polygons scaled by 1/factor; shares no arrays with `labels`."""
    record = labels.images[image_id]
    small = AnnotationSet(categories=dict(labels.categories), synonyms=labels.synonyms)
    small.images[image_id] = replace(
        record, width=math.ceil(record.width / factor), height=math.ceil(record.height / factor)
    )
    for ann in labels.annotations_for(image_id):
        polygons = [Polygon(p.outer / factor, [h / factor for h in p.holes]) for p in ann.polygons]
        small.annotations[ann.id] = replace(ann, polygons=polygons)
    return small


class _Signals(QObject):
    done = Signal(int, object, int, object)


class _MaskRunnable(QRunnable):
    def __init__(self, signals: _Signals, generation: int, labels: AnnotationSet, image_id,
                 factor: int, color: str | None):
        super().__init__()
        self.signals, self.generation = signals, generation
        self.labels, self.image_id, self.factor, self.color = labels, image_id, factor, color

    def run(self) -> None:
        mask = sky_mask(self.labels, self.image_id)
        colored = None if self.color is None else colored_mask(mask, self.color)
        self.signals.done.emit(self.generation, mask, self.factor, colored)


class LabelMaskRenderer(QObject):
    """request() -> maskReady(mask uint8, factor, ColoredMask or None), newest request only."""

    maskReady = Signal(object, int, object)

    def __init__(self, parent=None, sync_max_pixels: int = SYNC_MAX_PIXELS):
        super().__init__(parent)
        self.sync_max_pixels = sync_max_pixels
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _Signals(self)
        self._signals.done.connect(self._done)
        self._generation = 0
        self._pending = False

    @property
    def pending(self) -> bool:
        return self._pending

    def request(self, labels: AnnotationSet, image_id, color: str | None = None) -> None:
        """Rasterise this image's sky; `color` also colours it in the worker (big images)."""
        self._generation += 1
        record = labels.images[image_id]
        if record.width * record.height <= self.sync_max_pixels:
            self._pending = False
            self.maskReady.emit(sky_mask(labels, image_id), 1, None)
            return
        factor = overlay_factor(int(record.width))
        self._pending = True
        self._pool.start(
            _MaskRunnable(
                self._signals, self._generation, snapshot(labels, image_id, factor), image_id, factor, color
            )
        )

    def cancel(self) -> None:
        """Forget requests in flight (the image changed)."""
        self._generation += 1
        self._pending = False

    def wait(self, msecs: int = -1) -> bool:
        return self._pool.waitForDone(msecs)

    def _done(self, generation: int, mask: np.ndarray, factor: int, colored) -> None:
        if generation == self._generation:
            self._pending = False
            self.maskReady.emit(mask, factor, colored)
