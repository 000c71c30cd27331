"""Mask overlays on the viewer: a coloured, semi-transparent (or outline-only) mask.

A mask becomes a premultiplied ARGB pixmap in the layer colour (cached per colour and
outline mode; an opacity change only sets the items' opacity). The overlay draws one copy
per visible panorama copy (the viewer wraps 360-degree images), at z 10..20 above the
picture and below the editor.

Why the items use DeviceCoordinateCache: a tone change repaints the whole viewport, and
Qt draws a scaled pixmap at an opacity below 1 slowly (about 5 ms for an 8K mask at fit
on a 1920x1080 view, 3-4x a plain scaled copy). Cached, the mask is scaled once per zoom
(pans scroll the cache) and each repaint is one unscaled blend. The cache lives in
QPixmapCache, whose default 10 MB would not hold even one 1920x1080 layer, so the view
reserves room for its layers (reserve_overlay_cache) whenever its size changes, and
hides the copies outside the visible rectangle (show_within), since Qt caches every
drawn copy whole when it is not much larger than the view (a copy one pixel inside
would cost a full-view cache).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPixmap, QPixmapCache
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPixmapItem, QGraphicsScene

#: what Qt's own pixmap cache users (styles, icons) get besides the overlay caches
PIXMAP_CACHE_BASE_KB = 10 * 1024


@dataclass(frozen=True)
class LayerStyle:
    """How one overlay looks. opacity is 0..1."""

    color: str = "#3fa9ff"
    opacity: float = 0.45
    visible: bool = True
    outline: bool = False

    def with_(self, **changes) -> LayerStyle:
        return replace(self, **changes)


@dataclass(frozen=True)
class ColoredMask:
    """A mask drawn in one colour: a premultiplied ARGB QImage owning its pixels."""

    color: str
    image: QImage


def colored_mask(mask: np.ndarray, color: str) -> ColoredMask:
    """Colour a mask (non-zero = in): an 8-bit indexed QImage whose colour table maps 0 to
    transparent and every other value to `color`, so no per-pixel work happens in Python
    (Qt converts it once when it makes the pixmap). QImage only, so workers may call it."""
    data = np.ascontiguousarray(mask, dtype=np.uint8)
    h, w = data.shape
    image = QImage(data.data, w, h, w, QImage.Format.Format_Indexed8).copy()  # owns its pixels
    rgba = QColor(color).rgba()  # opaque: premultiplied == straight
    image.setColorTable([0] + [rgba] * 255)
    return ColoredMask(color, image)


def outline_of(mask: np.ndarray, thickness: int) -> np.ndarray:
    """The inner border of a 0/1 mask, `thickness` pixels wide."""
    m = (mask > 0).astype(np.uint8)
    kernel = np.ones((2 * thickness + 1, 2 * thickness + 1), np.uint8)
    eroded = cv2.erode(m, kernel, borderType=cv2.BORDER_REPLICATE)
    return m - eroded


#: view areas one layer's cache may take: Qt caches a copy whole while its device rect is
#: at most 1.2 x the view each way (else only the visible part), and at most two copies
#: (either side of the seam) are visible at once: 2 x 1.44, rounded up
VIEWS_PER_LAYER = 3


def overlay_cache_kb(width: int, height: int, layers: int, device_pixel_ratio: float = 1.0) -> int:
    """QPixmapCache room (KB) for `layers` overlays cached at device resolution (4 bytes
    a pixel) on a width x height view, on top of Qt's default 10 MB."""
    pixels = width * height * device_pixel_ratio**2
    return PIXMAP_CACHE_BASE_KB + math.ceil(layers * VIEWS_PER_LAYER * 4 * pixels / 1024)


def reserve_overlay_cache(width: int, height: int, layers: int, device_pixel_ratio: float = 1.0) -> None:
    """Grow the application's QPixmapCache so `layers` overlay caches fit (never shrinks it:
    other views or widgets may need the room)."""
    needed = overlay_cache_kb(width, height, layers, device_pixel_ratio)
    if QPixmapCache.cacheLimit() < needed:
        QPixmapCache.setCacheLimit(needed)


class MaskOverlay:
    """One mask layer of the viewer (label mask, prediction...)."""

    def __init__(self, scene: QGraphicsScene, z: float, style: LayerStyle | None = None):
        self._scene = scene
        self._z = z
        self._style = style or LayerStyle()
        self._mask: np.ndarray | None = None
        self._outline: np.ndarray | None = None
        self._colored: ColoredMask | None = None
        self._pixmap: QPixmap | None = None
        self._pixmap_key: tuple | None = None
        self._items: list[QGraphicsPixmapItem] = []
        self._copies: tuple[int, ...] = (0,)
        self._scale = 1
        self._period: float | None = None
        self._ghost_opacity = 0.55  # relative opacity of the wrapped copies (set by the view)
        self._within: QRectF | None = None  # only copies meeting it are shown (None: all)

    # --- data ------------------------------------------------------------------
    @property
    def mask(self) -> np.ndarray | None:
        return self._mask

    @property
    def style(self) -> LayerStyle:
        return self._style

    @property
    def scale(self) -> int:
        """Full-resolution pixels per mask pixel (big images get a reduced overlay)."""
        return self._scale

    def set_mask(self, mask: np.ndarray | None, scale: int = 1, colored: ColoredMask | None = None) -> None:
        """Show this 0/1 mask (H x W, any integer or bool dtype), each mask pixel covering
        scale x scale image pixels; None hides the layer. `colored` (made by colored_mask,
        e.g. in a worker) saves the colouring on the GUI thread when its colour matches."""
        self._scale = max(1, int(scale))
        self._pixmap_key, self._pixmap = None, None
        self._colored = colored
        if mask is None:
            self._mask = None
            self._outline = None
        else:
            m = np.asarray(mask)
            if m.ndim != 2:
                raise ValueError("an overlay mask must be 2-D (H x W)")
            if m.dtype == np.bool_:
                m = m.view(np.uint8)
            elif m.dtype != np.uint8:
                m = (m > 0).astype(np.uint8)
            # uint8 is used as it is (no copy of a big mask): every non-zero value is "in"
            self._mask = np.ascontiguousarray(m)
            self._outline = None
        self._rebuild()

    def set_style(self, style: LayerStyle) -> None:
        old, self._style = self._style, style
        if old.with_(opacity=style.opacity) == style and self._items:
            for item in self._items:  # only the opacity changed: no new pixmap
                ghost = 1.0 if item.pos().x() == 0 else self._ghost_opacity
                item.setOpacity(self._opacity() * ghost)
            return
        self._rebuild()

    def set_copies(self, copies: tuple[int, ...], period: float | None = None) -> None:
        """Which panorama copies to draw (0 = the image itself, -1/+1 its wrapped neighbours),
        `period` (the image width) apart."""
        if copies != self._copies or period != self._period:
            self._copies, self._period = copies, period
            self._rebuild()

    def set_ghost_opacity(self, factor: float) -> None:
        """Opacity of the wrapped copies relative to the real one (dimmed like the picture)."""
        self._ghost_opacity = factor
        for item in self._items:
            if item.pos().x() != 0:
                item.setOpacity(self._opacity() * factor)

    def show_within(self, rect: QRectF | None) -> None:
        """Show only the copies that meet `rect` (scene coordinates; the view passes its
        visible rectangle after each pan or zoom), so hidden copies take no cache."""
        if rect == self._within:
            return  # new items are clipped as they are made
        self._within = None if rect is None else QRectF(rect)
        for item in self._items:
            self._clip(item)

    def _clip(self, item: QGraphicsPixmapItem) -> None:
        item.setVisible(self._within is None or item.sceneBoundingRect().intersects(self._within))

    def _opacity(self) -> float:
        return max(0.0, min(1.0, self._style.opacity))

    # --- drawing ---------------------------------------------------------------
    def _shown(self) -> np.ndarray | None:
        if self._mask is None:
            return None
        if not self._style.outline:
            return self._mask
        if self._outline is None:
            thickness = max(1, round(self._mask.shape[1] / 1024))
            self._outline = outline_of(self._mask, thickness)
        return self._outline

    def _current_pixmap(self) -> QPixmap | None:
        """The coloured mask (or outline) as a pixmap, cached per (outline, colour)."""
        data = self._shown()
        if data is None:
            return None
        key = (self._style.outline, self._style.color)
        if key != self._pixmap_key:
            colored = self._colored
            if self._style.outline or colored is None or colored.color != self._style.color:
                colored = colored_mask(data, self._style.color)
            self._pixmap = QPixmap.fromImage(colored.image)
            self._pixmap_key = key
        return self._pixmap

    def _rebuild(self) -> None:
        for item in self._items:
            self._scene.removeItem(item)
        self._items = []
        if not self._style.visible:
            return
        pixmap = self._current_pixmap()
        if pixmap is None:
            return
        w = pixmap.width()
        for k in self._copies:
            item = QGraphicsPixmapItem(pixmap)
            item.setShapeMode(QGraphicsPixmapItem.ShapeMode.BoundingRectShape)
            item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            item.setTransformationMode(Qt.TransformationMode.FastTransformation)
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            item.setOpacity(self._opacity() * (1.0 if k == 0 else self._ghost_opacity))
            item.setZValue(self._z)
            item.setScale(self._scale)
            item.setPos(k * (self._period or w * self._scale), 0)
            self._clip(item)
            self._scene.addItem(item)
            self._items.append(item)

    @property
    def items(self) -> list[QGraphicsPixmapItem]:
        return list(self._items)
