"""The image view: scene coordinates are image pixels, nearest-neighbour past 100 %,
zoom to the cursor, 360-degree wrap, overlays at the right place, pixel readout."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest

from skysegui.core.tonemap import DisplayPyramid, ToneSettings, tonemap
from skysegui.gui.viewer.image_view import GHOST_OPACITY, ImageView
from skysegui.gui.viewer.overlay_items import LayerStyle, outline_of
from skysegui.gui.viewer.readout import dynamic_range_stops, read_pixel

W, H = 96, 48


def grab(view) -> np.ndarray:
    image = view.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    buf = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * h)
    return buf.reshape(h, image.bytesPerLine())[:, : 3 * w].reshape(h, w, 3).astype(np.int16)


def make_image() -> np.ndarray:
    """A linear HDR image whose every pixel differs from its neighbours (random, seeded)."""
    rng = np.random.default_rng(3)
    return (rng.random((H, W, 3)) ** 2 * 4).astype(np.float32)


@pytest.fixture
def view(qtbot):
    v = ImageView()
    qtbot.addWidget(v)
    v.resize(400, 300)
    v.show()
    qtbot.waitExposed(v)
    return v


def show(view, pixels) -> None:
    view.set_pyramid(DisplayPyramid(pixels))
    view.render_now()


def screen_colour(view, x: float, y: float) -> np.ndarray:
    p = view.mapFromScene(QPointF(x, y))
    return grab(view)[p.y(), p.x()]


def test_scene_coordinates_are_image_pixels_nearest_neighbour_past_100(view):
    pixels = make_image()
    show(view, pixels)
    view.set_zoom(4.0, anchor=QPointF(W / 2, H / 2))
    view.render_now()
    expected = tonemap(pixels, view.tone)
    shot = grab(view)
    checked = 0
    for i in range(H):
        for j in range(W):
            p = view.mapFromScene(QPointF(j + 0.5, i + 0.5))
            if 2 <= p.x() < shot.shape[1] - 2 and 2 <= p.y() < shot.shape[0] - 2:
                # every screen pixel of a 4x4 block has the image pixel's colour (no blur)
                block = shot[p.y() - 1 : p.y() + 2, p.x() - 1 : p.x() + 2]
                assert np.abs(block - expected[i, j]).max() <= 2, (i, j)
                checked += 1
    assert checked > 500


def test_fit_shows_the_whole_image_and_zoom_keeps_the_cursor_point(view):
    show(view, make_image())
    view.fit()
    rect = view.visible_rect()
    assert rect.left() <= 0 and rect.right() >= W and rect.top() <= 0 and rect.bottom() >= H
    anchor = QPointF(30.25, 17.5)
    before = view.mapFromScene(anchor)
    view.set_zoom(6.0, anchor=anchor)
    assert view.zoom == pytest.approx(6.0)
    after = view.mapFromScene(anchor)
    assert abs(after.x() - before.x()) <= 1 and abs(after.y() - before.y()) <= 1


def test_wheel_zooms_towards_the_cursor(view, qtbot):
    show(view, make_image())
    view.fit()
    z0 = view.zoom
    pos = view.mapFromScene(QPointF(20, 20))
    scene_before = view.mapToScene(pos)
    from PySide6.QtGui import QWheelEvent

    event = QWheelEvent(
        QPointF(pos), QPointF(view.viewport().mapToGlobal(pos)), QPoint(0, 0), QPoint(0, 120),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
    )
    view.wheelEvent(event)
    assert view.zoom == pytest.approx(z0 * 1.25)
    scene_after = view.mapToScene(pos)
    assert abs(scene_after.x() - scene_before.x()) < 1.0 / view.zoom + 0.5


def test_exposure_change_rerenders_the_visible_region(view):
    pixels = make_image()
    show(view, pixels)
    view.set_zoom(4.0, anchor=QPointF(W / 2, H / 2))
    view.render_now()
    before = screen_colour(view, 40.5, 20.5)
    view.set_tone(ToneSettings(exposure=-2.0))
    view.render_now()
    after = screen_colour(view, 40.5, 20.5)
    expected = tonemap(pixels[20:21, 40:41], ToneSettings(exposure=-2.0))[0, 0]
    assert np.abs(after - expected).max() <= 2
    assert not np.array_equal(before, after)


def test_panning_across_the_right_edge_wraps_around(view):
    pixels = make_image()
    show(view, pixels)
    view.set_zoom(4.0)
    view.centerOn(W - 5, H / 2)
    view.render_now()
    # right of the seam the left edge of the panorama continues (dimmed ghost copy)
    expected = tonemap(pixels, view.tone)[20, 2]
    background = np.array(QColor(view.backgroundBrush().color()).getRgb()[:3])
    ghost = GHOST_OPACITY * expected + (1 - GHOST_OPACITY) * background
    assert np.abs(screen_colour(view, W + 2.5, 20.5) - ghost).max() <= 3
    # keep panning right: the centre jumps back onto the real image, same picture
    view.centerOn(W + 5, H / 2)
    centre = view.mapToScene(view.viewport().rect().center())
    assert 0 <= centre.x() < W
    view.render_now()
    assert np.abs(screen_colour(view, 5.5, 20.5) - tonemap(pixels, view.tone)[20, 5]).max() <= 2


def test_middle_drag_pans(view, qtbot):
    show(view, make_image())
    view.set_zoom(4.0)
    start = view.mapToScene(view.viewport().rect().center())
    vp = view.viewport()
    QTest.mousePress(vp, Qt.MouseButton.MiddleButton, pos=QPoint(200, 150))
    QTest.mouseMove(vp, QPoint(160, 150))
    QTest.mouseRelease(vp, Qt.MouseButton.MiddleButton, pos=QPoint(160, 150))
    end = view.mapToScene(view.viewport().rect().center())
    assert end.x() - start.x() == pytest.approx(40 / 4.0, abs=0.5)


def test_label_overlay_is_drawn_over_the_right_pixels(view):
    show(view, np.full((H, W, 3), 0.2, np.float32))
    view.set_zoom(3.0, anchor=QPointF(W / 2, H / 2))
    view.render_now()
    mask = np.zeros((H, W), np.uint8)
    mask[10:30, 20:50] = 1
    base = grab(view)
    view.label_overlay.set_style(LayerStyle(color="#ff0000", opacity=0.5))
    view.label_overlay.set_mask(mask)
    view.render_now()
    shot = grab(view)
    for (i, j), inside in (((15, 25), True), ((29, 49), True), ((30, 49), False), ((15, 19), False)):
        p = view.mapFromScene(QPointF(j + 0.5, i + 0.5))
        diff = np.abs(shot[p.y(), p.x()] - base[p.y(), p.x()]).max()
        assert (diff > 30) == inside, (i, j, diff)
    red = shot[view.mapFromScene(QPointF(25.5, 15.5)).y(), view.mapFromScene(QPointF(25.5, 15.5)).x()]
    assert red[0] > red[1] + 40


def test_outline_only_keeps_the_border_and_clears_the_inside():
    mask = np.zeros((20, 30), np.uint8)
    mask[5:15, 5:25] = 1
    edge = outline_of(mask, 1)
    assert edge[5, 10] == 1 and edge[14, 24] == 1 and edge[10, 15] == 0 and edge[0, 0] == 0


def test_pixel_readout_is_the_linear_value_and_cursor_reports_image_coordinates(view, qtbot):
    pixels = make_image()
    show(view, pixels)
    view.set_zoom(4.0, anchor=QPointF(W / 2, H / 2))
    readout = read_pixel(pixels, 12.7, 30.2)
    assert (readout.x, readout.y) == (12, 30)
    assert readout.rgb == pytest.approx(tuple(float(v) for v in pixels[30, 12]))
    lum = 0.2126 * pixels[30, 12, 0] + 0.7152 * pixels[30, 12, 1] + 0.0722 * pixels[30, 12, 2]
    assert readout.luminance == pytest.approx(float(lum), rel=1e-5)
    assert read_pixel(pixels, -0.5, 3) is None and read_pixel(pixels, W, 3) is None
    target = view.mapFromScene(QPointF(40.5, 20.5))
    with qtbot.waitSignal(view.cursorMoved, timeout=2000) as blocker:
        QTest.mouseMove(view.viewport(), target)
    x, y = blocker.args
    assert int(x) == 40 and int(y) == 20


def test_dynamic_range_in_stops():
    lum = np.concatenate([[0.0, -1.0], 2.0 ** np.linspace(-5, 5, 10001)]).astype(np.float32)
    stops, low, high = dynamic_range_stops(lum)  # zero/negative ignored, robust low end
    assert high == pytest.approx(32.0)
    assert stops == pytest.approx(np.log2(32.0 / low))
    assert 9.9 < stops < 10.0


def test_before_the_pyramid_is_built_full_resolution_already_shows(view):
    pixels = make_image()
    pyramid = DisplayPyramid(pixels, min_size=8, build=False)
    view.set_pyramid(pyramid, complete=False)
    view.set_zoom(4.0, anchor=QPointF(W / 2, H / 2))
    view.render_now()
    assert not view.fully_rendered  # only level 0 so far
    assert np.abs(screen_colour(view, 40.5, 20.5) - tonemap(pixels, view.tone)[20, 40]).max() <= 2
    view.set_pyramid(pyramid, complete=True)
    view.render_now()
    assert view.fully_rendered


def test_zoomed_out_before_the_pyramid_samples_level_0(view):
    rng = np.random.default_rng(5)
    blocks = (rng.random((64, 128, 3)) * 3).astype(np.float32)
    pixels = np.repeat(np.repeat(blocks, 8, axis=0), 8, axis=1)  # 1024 x 512, 8 px blocks
    pyramid = DisplayPyramid(pixels, build=False)
    view.set_pyramid(pyramid, complete=False)
    view.set_zoom(0.5, anchor=QPointF(512, 256))  # level 1: sampled from level 0
    view.render_now()
    assert not pyramid.built  # nothing was built on the GUI thread
    expected = tonemap(blocks, view.tone)
    for bi, bj in ((30, 60), (31, 64), (33, 66)):
        shown = screen_colour(view, bj * 8 + 4, bi * 8 + 4)
        assert np.abs(shown - expected[bi, bj]).max() <= 3, (bi, bj)


def test_half_swap_puts_the_seam_in_the_middle_and_wrap_can_be_turned_off(view, qtbot):
    pixels = make_image()
    show(view, pixels)
    view.set_half_swap(True)
    centre = view.mapToScene(view.viewport().rect().center())
    assert centre.x() == pytest.approx(W, abs=1.0)
    view.render_now()
    expected = tonemap(pixels, view.tone)
    background = np.array(QColor(view.backgroundBrush().color()).getRgb()[:3])
    # right of the seam the panorama's first column, at full brightness to judge the seam
    assert np.abs(screen_colour(view, W + 0.5, 20.5) - expected[20, 0]).max() <= 2
    assert np.abs(screen_colour(view, W - 0.5, 20.5) - expected[20, W - 1]).max() <= 2
    with qtbot.waitSignal(view.halfSwapChanged) as blocker:
        view.fit()
    assert blocker.args == [False] and not view.half_swap
    view.set_wrap(False)
    view.set_zoom(4.0)
    view.centerOn(W - 5, H / 2)
    view.render_now()
    assert np.abs(screen_colour(view, W + 2.5, 20.5) - background).max() <= 2  # nothing past the edge


def test_the_preview_shows_at_once_and_follows_the_tone(view):
    small = np.full((H // 2, W // 2, 3), 0.5, np.float32)  # flat: no interpolation effects
    view.set_preview(tonemap(small, view.tone), W, H)
    assert view.image_size == (W, H) and not view.fully_rendered
    view.set_preview_linear(small)
    view.set_tone(ToneSettings(exposure=-3.0))
    view.schedule_render()
    view.render_now()  # no pyramid yet: the preview is all there is
    view.set_zoom(4.0, anchor=QPointF(20, 20))
    shown = screen_colour(view, 20.5, 20.5)
    assert np.abs(shown - tonemap(small, ToneSettings(exposure=-3.0))[10, 10]).max() <= 2
    assert np.abs(shown - tonemap(small, ToneSettings())[10, 10]).max() > 40


def test_a_reduced_overlay_still_covers_the_whole_image(view):
    show(view, np.full((H, W, 3), 0.2, np.float32))
    mask = np.zeros((H // 2, W // 2), np.uint8)
    mask[:, : W // 4] = 1  # the left half of the image
    view.label_overlay.set_mask(mask, scale=2)
    item = [i for i in view.label_overlay.items if i.pos().x() == 0][0]
    assert item.sceneBoundingRect().getRect() == (0, 0, W, H)
    ghost = [i for i in view.label_overlay.items if i.pos().x() == W]
    assert len(ghost) == 1


def test_overlay_opacity_changes_reuse_the_pixmap_and_colour_changes_recolour(view):
    show(view, np.full((H, W, 3), 0.2, np.float32))
    mask = np.zeros((H, W), np.uint8)
    mask[5:20, 5:40] = 1
    overlay = view.label_overlay
    overlay.set_style(LayerStyle(color="#ff0000", opacity=0.5))
    overlay.set_mask(mask)
    items = overlay.items
    overlay.set_style(overlay.style.with_(opacity=0.8))
    assert overlay.items == items  # same items, new opacity
    assert [i.opacity() for i in items if i.pos().x() == 0] == [pytest.approx(0.8)]
    overlay.set_style(overlay.style.with_(color="#00ff00"))
    real = [i for i in overlay.items if i.pos().x() == 0][0]
    colour = real.pixmap().toImage().pixelColor(10, 10)
    assert (colour.red(), colour.green()) == (0, 255)
    assert real.pixmap().toImage().pixelColor(1, 1).alpha() == 0  # outside the mask


def big_view(qtbot, width: int = 400, height: int = 300) -> ImageView:
    v = ImageView()
    qtbot.addWidget(v)
    v.resize(width, height)
    v.show()
    qtbot.waitExposed(v)
    return v


def big_image(w: int = 1600, h: int = 800) -> np.ndarray:
    """Larger than the view (fit zooms out); smooth so scaled draws compare closely."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([x / w, y / h, 0.5 + 0.4 * np.sin(x / 97.0)], axis=2).astype(np.float16)


def test_fit_renders_from_the_coarsest_level_as_sharp_as_the_screen(qtbot):
    view = big_view(qtbot)
    pixels = big_image()
    pyramid = DisplayPyramid(pixels, min_size=64)
    view.set_pyramid(pyramid)
    view.fit()
    view.set_tone(ToneSettings(exposure=0.5))
    view.render_now()
    shown = [i for i in view._region_items if i.isVisible()]
    assert len(shown) == 1  # the whole image, no slivers of the wrapped copies
    pixmap = shown[0].pixmap()
    level = pyramid.level_for_scale(view.zoom)
    # not a finer level than the screen needs: at most 2x the screen pixels each way
    assert pixmap.width() == pyramid.level(level).shape[1] < 2 * 1600 * view.zoom + 2
    assert pixmap.width() >= 1600 * view.zoom  # and not a coarser (blurred) one
    expected = tonemap(pyramid.level(level), ToneSettings(exposure=0.5))
    image = pixmap.toImage().convertToFormat(QImage.Format.Format_RGB888)
    got = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
    got = got[:, : 3 * image.width()].reshape(image.height(), image.width(), 3)
    np.testing.assert_array_equal(got, expected)  # the core tone map of that level, exactly


def test_overlay_copies_outside_the_view_are_hidden_and_shown_when_panned_to(qtbot):
    view = big_view(qtbot)
    view.set_pyramid(DisplayPyramid(big_image(), min_size=64))
    view.label_overlay.set_mask(np.ones((400, 800), np.uint8), scale=2)
    view.fit()
    view.render_now()
    shown = sorted(i.pos().x() for i in view.label_overlay.items if i.isVisible())
    assert shown == [0.0]  # the wrapped copies take no cache while out of sight
    view.set_zoom(1.0, anchor=QPointF(1590, 400))
    view.centerOn(1600, 400)  # the seam in the middle: the right neighbour shows too
    shown = sorted(i.pos().x() for i in view.label_overlay.items if i.isVisible())
    assert shown == [0.0, 1600.0]


def test_cached_overlays_draw_exactly_what_direct_drawing_does(qtbot):
    """The overlays are cached at screen resolution (a tone change then blits them): after
    tone changes, zooms, pans and opacity changes the picture equals uncached drawing."""
    from PySide6.QtGui import QPixmapCache
    from PySide6.QtWidgets import QGraphicsItem

    from skysegui.gui.viewer.overlay_items import overlay_cache_kb

    view = big_view(qtbot)
    view.set_pyramid(DisplayPyramid(big_image(), min_size=64))
    mask = np.zeros((400, 800), np.uint8)
    mask[50:300, 100:700] = 1
    mask[120:200, 300:420] = 0
    view.label_overlay.set_style(LayerStyle(color="#ff3b6b", opacity=0.4))
    view.label_overlay.set_mask(mask, scale=2)
    view.prediction_overlay.set_mask(mask[::-1].copy(), scale=2)
    vp = view.viewport()
    assert QPixmapCache.cacheLimit() >= overlay_cache_kb(vp.width(), vp.height(), 2)
    items = view.label_overlay.items + view.prediction_overlay.items
    assert {i.cacheMode() for i in items} == {QGraphicsItem.CacheMode.DeviceCoordinateCache}

    def compare():
        view.render_now()
        cached = grab(view)
        for item in items:
            item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
        direct = grab(view)
        for item in items:
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        assert np.abs(cached - direct).max() <= 2
        return cached

    view.fit()
    first = compare()
    view.set_tone(ToneSettings(exposure=-1.5))
    assert np.abs(compare() - first).max() > 20  # the picture under the overlay did change
    view.set_zoom(1.7, anchor=QPointF(1400, 300))
    compare()
    view.horizontalScrollBar().setValue(view.horizontalScrollBar().value() + 37)  # pan: the cache scrolls
    compare()
    view.label_overlay.set_style(view.label_overlay.style.with_(opacity=0.8))
    items = view.label_overlay.items + view.prediction_overlay.items
    compare()


def test_the_background_is_repainted_where_the_picture_no_longer_covers(qtbot):
    """The viewport is painted opaque by the view itself (no fill by Qt) and the background
    only outside the picture: zooming out from a full-view picture must not leave stale pixels."""
    view = big_view(qtbot)
    view.set_pyramid(DisplayPyramid(big_image(), min_size=64))
    view.set_wrap(False)
    view.set_zoom(2.0, anchor=QPointF(800, 400))
    view.render_now()
    grab(view)
    view.fit()  # 1600 x 800 at 0.25: 400 x 200, bands of background above and below
    view.render_now()
    shot = grab(view)
    background = np.array(QColor(view.backgroundBrush().color()).getRgb()[:3])
    top = view.mapFromScene(QPointF(800, 0)).y()
    assert top >= 20
    assert np.abs(shot[: top - 1] - background).max() <= 1
    assert np.abs(shot[-(top - 1):] - background).max() <= 1
    inside = view.mapFromScene(QPointF(800, 400))
    assert np.abs(shot[inside.y(), inside.x()] - background).max() > 20


def test_slider_ticks_within_one_event_loop_turn_render_once(view, qtbot):
    """A slider drag can emit several exposures before the view gets to paint: only the
    last is rendered (one render per event-loop turn), and the coarse preview, hidden
    under the render, is not re-tone-mapped for each of them."""
    pixels = make_image()
    view.set_preview(tonemap(pixels[::2, ::2], view.tone), W, H)
    view.set_preview_linear(pixels[::2, ::2])
    show(view, pixels)
    preview = view._preview_items[0].pixmap().cacheKey()
    renders = []
    view.rendered.connect(lambda: renders.append(view.tone.exposure))
    for ev in (0.5, 1.0, 1.5, 2.0):
        view.set_tone(ToneSettings(exposure=ev))
    qtbot.waitUntil(lambda: len(renders) > 0, timeout=2000)
    qtbot.wait(50)
    assert renders == [2.0]
    assert view._preview_items[0].pixmap().cacheKey() == preview
