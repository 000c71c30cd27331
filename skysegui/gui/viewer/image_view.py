"""The HDR image view: pyramid rendering of the visible region, zoom, pan, 360-degree wrap.

Scene coordinates ARE full-resolution image pixels (COCO convention: pixel row i, column j
covers [j, j+1) x [i, i+1)), whatever pyramid level is on screen; the picture item is
scaled. Z order: picture 0 (coarse preview -1), mask overlays 10..20, editor items >= 100.

How it stays fast: a coarse picture of the whole image (from the loader) sits underneath;
on every pan, zoom or tone change only the visible region is tone-mapped, from the pyramid
level that matches the zoom (DisplayPyramid.render), coalesced into one render per event
loop turn. Past 100 % pixels are drawn nearest-neighbour. A tone change repaints the whole
viewport, so each repaint is kept cheap: the mask overlays are cached at screen resolution
(overlay_items), the background is filled only where the picture does not cover, and Qt's
own fill of the viewport is skipped (the view paints every pixel itself).

360-degree wrap (decision): the scene holds the panorama plus one dimmed copy on each side
(x in [-W, 0) and [W, 2W)), so panning across the left/right edge continues into the other
side; when the view centre leaves [0, W) it jumps by one image width, so the centre (where
the editor's polygons live) is always on the real image. "Half-swap" puts the seam in the
middle of the view to check continuity across it.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QTransform
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene, QGraphicsView

from skysegui.core.tonemap import ToneSettings, tonemap
from skysegui.gui.viewer.overlay_items import LayerStyle, MaskOverlay, reserve_overlay_cache
from skysegui.gui.viewer.pixmaps import pixmap_to_rgb, render_strided, rendered_parts, to_pixmap

GHOST_OPACITY = 0.55  # the wrapped neighbour copies are dimmed so the real image stands out
MIN_ZOOM_OF_FIT = 0.25
MAX_ZOOM = 64.0
EDITOR_Z = 100
LABEL_Z, PREDICTION_Z = 10, 12
STRIDED_MAX_LEVEL = 1  # before the pyramid is built, zoom levels up to 1/2 sample level 0


def rect_minus(rect: QRectF, hole: QRectF) -> list[QRectF]:
    """`rect` without `hole`: up to four rectangles (bands above and below, sides between)."""
    cut = rect.intersected(hole)
    if cut.isEmpty():
        return [rect]
    parts = [
        QRectF(rect.left(), rect.top(), rect.width(), cut.top() - rect.top()),
        QRectF(rect.left(), cut.bottom(), rect.width(), rect.bottom() - cut.bottom()),
        QRectF(rect.left(), cut.top(), cut.left() - rect.left(), cut.height()),
        QRectF(cut.right(), cut.top(), rect.right() - cut.right(), cut.height()),
    ]
    return [r for r in parts if r.width() > 0 and r.height() > 0]


class _CursorWatcher(QObject):
    """Reports mouse moves over the viewport to the view; never consumes them."""

    def __init__(self, view: ImageView):
        super().__init__(view)
        self._view = view

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt name)
        if event.type() == QEvent.Type.MouseMove:
            self._view._emit_cursor(event.position().toPoint())
        return False


class ImageView(QGraphicsView):
    """Shows one panorama; emits where the cursor is and when a full render is on screen."""

    cursorMoved = Signal(float, float)  # image coordinates (wrapped into [0, W))
    cursorLeft = Signal()
    zoomChanged = Signal(float)  # screen pixels per image pixel
    rendered = Signal()  # a render from the pyramid (not only the preview) is on screen
    halfSwapChanged = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        scene = QGraphicsScene(self)
        scene.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)  # few, moving items
        self.setScene(scene)
        self.setBackgroundBrush(QColor("#1b1d21"))
        # the background brush paints every viewport pixel on every (full-viewport) update:
        # Qt's own fill of the viewport before it would be a second, wasted full-view fill
        self.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setAcceptDrops(False)  # dropped files go to the window, which opens them
        self._size: tuple[int, int] | None = None
        self._pyramid = None
        self._tone = ToneSettings()
        self._wrap = True
        self._half_swap = False
        self._fully_rendered = False
        self._complete = False
        self._preview_linear: np.ndarray | None = None
        self._preview_stale = False
        self._preview_items: list[QGraphicsPixmapItem] = []
        self._region_items: list[QGraphicsPixmapItem] = []
        self._pan_from: QPoint | None = None
        self._space = False
        self._render_timer = QTimer(self)
        self._render_timer.setSingleShot(True)
        self._render_timer.setInterval(0)
        self._render_timer.timeout.connect(self.render_now)
        self._cursor_watcher = _CursorWatcher(self)
        self.watch_cursor_first()
        self.label_overlay = MaskOverlay(self.scene(), LABEL_Z, LayerStyle(color="#ff3b6b", opacity=0.4))
        self.prediction_overlay = MaskOverlay(
            self.scene(), PREDICTION_Z, LayerStyle(color="#ffd21f", opacity=0.4)
        )

    # --- state -----------------------------------------------------------------
    @property
    def image_size(self) -> tuple[int, int] | None:
        """(width, height) of the full-resolution image, or None when empty."""
        return self._size

    @property
    def pyramid(self):
        return self._pyramid

    @property
    def tone(self) -> ToneSettings:
        return self._tone

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    @property
    def fully_rendered(self) -> bool:
        """The view shows a render from the complete pyramid (not the preview or samples)."""
        return self._fully_rendered

    @property
    def wrap(self) -> bool:
        return self._wrap

    def overlays(self) -> dict[str, MaskOverlay]:
        return {"labels": self.label_overlay, "prediction": self.prediction_overlay}

    # --- content ---------------------------------------------------------------
    def clear(self) -> None:
        for item in self._preview_items + self._region_items:
            self.scene().removeItem(item)
        self._preview_items, self._region_items = [], []
        self._size, self._pyramid, self._fully_rendered = None, None, False
        self._preview_linear, self._preview_stale = None, False
        self.label_overlay.set_mask(None)
        self.prediction_overlay.set_mask(None)

    def set_preview(self, rgb: np.ndarray, width: int, height: int) -> None:
        """Show a coarse uint8 picture of the whole image at once (fits the view if new)."""
        new = self._size != (width, height)
        self._preview_linear, self._preview_stale = None, False
        for item in self._preview_items:
            self.scene().removeItem(item)
        self._preview_items = []
        self._size = (int(width), int(height))
        pixmap = to_pixmap(rgb)
        sx, sy = width / pixmap.width(), height / pixmap.height()
        for k in self._copies():
            item = QGraphicsPixmapItem(pixmap)
            item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
            item.setTransform(QTransform.fromScale(sx, sy))
            item.setPos(k * width, 0)
            item.setZValue(-1)
            item.setOpacity(1.0 if k == 0 else self._ghost_opacity())
            item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            self.scene().addItem(item)
            self._preview_items.append(item)
        self._update_scene_rect()
        self._sync_overlay_copies()
        if new:
            self.fit()
        self.schedule_render()

    def set_pyramid(self, pyramid, complete: bool = True) -> None:
        """Full resolution is ready: from now on the visible region renders from the pyramid.

        complete=False: only level 0 exists yet (a worker is still building the others, so the
        pyramid must not be asked for them): zoomed-out views sample level 0 every 2**k pixels
        until set_pyramid(pyramid) is called again with complete=True.
        """
        self._size = (int(pyramid.width), int(pyramid.height))
        self._pyramid = pyramid
        self._complete = complete
        self._fully_rendered = False
        self._update_scene_rect()
        self._sync_overlay_copies()
        if not self._preview_items:
            self.fit()
        self.schedule_render()

    def full_resolution_pixels(self) -> np.ndarray | None:
        return None if self._pyramid is None else self._pyramid.full

    def set_tone(self, settings: ToneSettings) -> None:
        if settings != self._tone:
            self._tone = settings
            self._preview_stale = self._preview_linear is not None
            self.schedule_render(moved=False)

    def set_preview_linear(self, linear: np.ndarray) -> None:
        """The preview's linear pixels, so it follows tone changes (it shows while panning)."""
        self._preview_linear = linear
        self._preview_stale = True

    def set_wrap(self, on: bool) -> None:
        self._wrap = bool(on)
        self._update_scene_rect()
        self._sync_overlay_copies()
        if self._size:
            w, h = self._size
            # rebuild preview copies for the new wrap mode
            if self._preview_items:
                linear = self._preview_linear
                self.set_preview(pixmap_to_rgb(self._preview_items[0].pixmap()), w, h)
                if linear is not None:
                    self.set_preview_linear(linear)
        self.schedule_render()

    # --- zoom ------------------------------------------------------------------
    def _fit_scale(self, rect: QRectF) -> float:
        vp = self.viewport().rect()
        if rect.width() <= 0 or rect.height() <= 0:
            return 1.0
        return min(vp.width() / rect.width(), vp.height() / rect.height())

    def fit(self) -> None:
        """Whole image in the window."""
        self._set_half_swap_flag(False)
        if self._size:
            self._fit_rect(QRectF(0, 0, *self._size))

    def set_half_swap(self, on: bool) -> None:
        """Fit with the left/right seam of the panorama in the middle of the view; the
        wrapped half is then shown at full brightness so the seam can be judged."""
        if not self._size:
            return
        w, h = self._size
        if on and not self._wrap:
            self.set_wrap(True)
        self._set_half_swap_flag(on)
        self._fit_rect(QRectF(w / 2, 0, w, h) if on else QRectF(0, 0, w, h))

    def _set_half_swap_flag(self, on: bool) -> None:
        if on == self._half_swap:
            return
        self._half_swap = on
        ghost = self._ghost_opacity()
        for item in self._preview_items + self._region_items:
            if item.pos().x() != 0:
                item.setOpacity(ghost)
        for overlay in self.overlays().values():
            overlay.set_ghost_opacity(ghost)
        self.halfSwapChanged.emit(on)

    def _sync_overlay_copies(self) -> None:
        for overlay in self.overlays().values():
            overlay.set_copies(self._copies(), self._size[0] if self._size else None)

    def _ghost_opacity(self) -> float:
        return 1.0 if self._half_swap else GHOST_OPACITY

    @property
    def half_swap(self) -> bool:
        return self._half_swap

    def _fit_rect(self, rect: QRectF) -> None:
        self.setTransform(QTransform.fromScale(*(2 * [self._fit_scale(rect)])))
        self.centerOn(rect.center())
        self._zoom_changed()

    def zoom_100(self) -> None:
        self.set_zoom(1.0)

    def set_zoom(self, scale: float, anchor: QPointF | None = None) -> None:
        """Set screen pixels per image pixel, keeping the scene point under `anchor` (scene) fixed."""
        lo = MIN_ZOOM_OF_FIT * self._fit_scale(QRectF(0, 0, *(self._size or (1, 1))))
        scale = max(min(lo, 1.0), min(MAX_ZOOM, scale))
        if anchor is None:
            anchor = self.mapToScene(self.viewport().rect().center())
        view_pt = self.mapFromScene(anchor)
        self.setTransform(QTransform.fromScale(scale, scale))
        # put the anchor back under the same viewport point
        delta = self.mapToScene(view_pt) - anchor
        center = self.mapToScene(self.viewport().rect().center())
        self.centerOn(center - delta)
        self._zoom_changed()

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        self.set_zoom(self.zoom * factor, anchor)

    def _zoom_changed(self) -> None:
        nearest = self.zoom >= 1.0
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, not nearest)
        mode = (
            Qt.TransformationMode.FastTransformation
            if nearest
            else Qt.TransformationMode.SmoothTransformation
        )
        for item in self._region_items:
            item.setTransformationMode(mode)
        self._clip_overlays()
        self.zoomChanged.emit(self.zoom)
        self.schedule_render()

    # --- rendering -------------------------------------------------------------
    def _copies(self) -> tuple[int, ...]:
        return (-1, 0, 1) if self._wrap else (0,)

    def _update_scene_rect(self) -> None:
        if not self._size:
            return
        w, h = self._size
        if self._wrap:
            self.setSceneRect(QRectF(-w, -h, 3 * w, 3 * h))
        else:
            self.setSceneRect(QRectF(-w / 2, -h, 2 * w, 3 * h))

    def schedule_render(self, moved: bool = True) -> None:
        """Render the visible region once the event loop is free (coalesces many requests).
        After a pan or zoom (moved) the coarse preview fills what the last render missed."""
        if moved:
            self._show_preview(True)
        if not self._render_timer.isActive():
            self._render_timer.start()

    def visible_rect(self) -> QRectF:
        return self.mapToScene(self.viewport().rect()).boundingRect()

    def render_now(self) -> None:
        """Tone-map the visible region from the pyramid level matching the zoom; show it."""
        self._render_timer.stop()
        self._clip_overlays()
        if self._pyramid is None or not self._size:
            return
        if not self._complete and self._pyramid.level_for_scale(self.zoom) > STRIDED_MAX_LEVEL:
            # zoomed far out before the levels exist: the preview is about as sharp, and
            # sampling a huge level 0 sparsely would stall the GUI thread
            self._show_preview(True)
            return
        w, h = self._size
        vis = self.visible_rect()
        y0, y1 = max(0, math.floor(vis.top())), min(h, math.ceil(vis.bottom()))
        x0, x1 = math.floor(vis.left()), math.ceil(vis.right())
        scale = self.zoom
        nearest = scale >= 1.0
        pieces = []
        if y1 > y0:
            for k in self._copies():
                a, b = max(x0, k * w), min(x1, (k + 1) * w)
                if b > a:
                    region = (a - k * w, y0, b - k * w, y1)
                    pieces.append((k, self._render_region(region, scale)))
        while len(self._region_items) < len(pieces):
            item = QGraphicsPixmapItem()
            item.setZValue(0)
            item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            self.scene().addItem(item)
            self._region_items.append(item)
        for item in self._region_items[len(pieces):]:
            item.setVisible(False)
        for item, (k, rendered) in zip(self._region_items, pieces, strict=False):
            pixels, (rx0, ry0, rx1, ry1) = rendered_parts(rendered)
            ph, pw = pixels.shape[:2]
            item.setPixmap(to_pixmap(pixels))
            item.setTransformationMode(
                Qt.TransformationMode.FastTransformation
                if nearest
                else Qt.TransformationMode.SmoothTransformation
            )
            item.setTransform(QTransform.fromScale((rx1 - rx0) / pw, (ry1 - ry0) / ph))
            item.setPos(rx0 + k * w, ry0)
            item.setOpacity(1.0 if k == 0 else self._ghost_opacity())
            item.setVisible(True)
        self._fully_rendered = self._complete
        self._show_preview(False)  # the render covers every visible image pixel
        self.rendered.emit()

    def _clip_overlays(self) -> None:
        """Overlay copies outside the view are hidden, so Qt keeps no cache of them."""
        if self._size:
            vis = self.visible_rect()
            for overlay in self.overlays().values():
                overlay.show_within(vis)

    def _show_preview(self, on: bool) -> None:
        if on and self._preview_stale and self._preview_items:
            self._preview_stale = False
            pixmap = to_pixmap(tonemap(self._preview_linear, self._tone))
            for item in self._preview_items:
                item.setPixmap(pixmap)
        if self._preview_items and self._preview_items[0].isVisible() != on:
            for item in self._preview_items:
                item.setVisible(on)

    def _render_region(self, region, scale: float):
        if self._complete:
            return self._pyramid.render(self._tone, scale=scale, region=region)
        return render_strided(self._pyramid.full, self._pyramid.level_for_scale(scale), region, self._tone)

    def _opaque_rects(self) -> list[QRectF]:
        """Scene rectangles the picture paints fully opaque (shrunk by a screen pixel, so
        rounding at their edges never leaves a pixel unpainted)."""
        inset = 1.0 / max(self.zoom, 1e-9)
        return [
            item.sceneBoundingRect().adjusted(inset, inset, -inset, -inset)
            for item in self._region_items + self._preview_items
            if item.isVisible() and item.opacity() >= 1.0
        ]

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802 (Qt name)
        """Fill only what the opaque picture leaves uncovered: it is drawn over the rest
        anyway, and at 100 % a full-view fill on every frame would be wasted."""
        parts = [rect]
        for hole in self._opaque_rects():
            parts = [piece for part in parts for piece in rect_minus(part, hole)]
        brush = self.backgroundBrush()
        for part in parts:
            painter.fillRect(part, brush)

    placeholder = "Open a project folder (Ctrl+O), a COCO file or a panorama,\nor drop one here"

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802 (Qt name)
        if self._size is None and self.placeholder:
            painter.save()
            painter.resetTransform()
            painter.setPen(QColor("#8a8f97"))
            font = painter.font()
            font.setPointSizeF(font.pointSizeF() * 1.3)
            painter.setFont(font)
            painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            painter.restore()

    # --- events ----------------------------------------------------------------
    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        vp = self.viewport()
        reserve_overlay_cache(vp.width(), vp.height(), len(self.overlays()), vp.devicePixelRatioF())
        self.schedule_render()

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        self._wrap_centre()
        self._clip_overlays()
        self.schedule_render()

    def _wrap_centre(self) -> None:
        """Keep the view centre on the real image: jump one image width when it leaves it."""
        if not (self._wrap and self._size) or self._half_swap:
            return
        w = self._size[0]
        cx = self.mapToScene(self.viewport().rect().center()).x()
        if 0 <= cx < w:
            return
        bar = self.horizontalScrollBar()
        step = round(w * self.zoom)
        bar.setValue(bar.value() + (step if cx < 0 else -step))

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps == 0:
            return
        anchor = self.mapToScene(event.position().toPoint())
        self.zoom_by(1.25**steps, anchor)
        event.accept()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def _editor_item_at(self, pos: QPoint) -> bool:
        return any(item.zValue() >= EDITOR_Z for item in self.items(pos))

    def mousePressEvent(self, event) -> None:
        button = event.button()
        left = button == Qt.MouseButton.LeftButton
        pos = event.position().toPoint()
        if button == Qt.MouseButton.MiddleButton or (
            left and (self._space or not self._editor_item_at(pos))
        ):
            self._pan_from = pos
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        pos = event.position().toPoint()
        if self._pan_from is not None:
            delta = pos - self._pan_from
            self._pan_from = pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
        else:
            super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None and event.button() in (
            Qt.MouseButton.LeftButton,
            Qt.MouseButton.MiddleButton,
        ):
            self._pan_from = None
            if self._space:
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def leaveEvent(self, event) -> None:
        self.cursorLeft.emit()
        super().leaveEvent(event)

    def watch_cursor_first(self) -> None:
        """(Re)install the cursor watcher so it sees mouse moves before any other filter
        (an editor tool may consume the moves it uses; the readout must follow anyway)."""
        self.viewport().removeEventFilter(self._cursor_watcher)
        self.viewport().installEventFilter(self._cursor_watcher)

    def _emit_cursor(self, pos: QPoint) -> None:
        if not self._size:
            return
        p = self.mapToScene(pos)
        w, h = self._size
        x = p.x() % w if self._wrap else p.x()
        if 0 <= x < w and 0 <= p.y() < h:
            self.cursorMoved.emit(x, p.y())
        else:
            self.cursorLeft.emit()
