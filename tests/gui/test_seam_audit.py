"""An artist's acceptance check of editing across the 360-degree seam, in the real window on
a real panorama (../shared/data/hdri) and on a synthetic demo project: every drawing tool
across the seam (one undo step each, redo), editing the pieces, save and reopen, the CLI
mask export, the Label Studio labels kept, and an accepted prediction's traced polygons.

Set SKYSEG_AUDIT_SHOTS=<folder> to keep the window screenshots taken after each step."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from skysegui.cli.main import main as cli_main
from skysegui.core.annotations import (
    NON_SKY,
    SKY,
    AnnotationSet,
    Category,
    ImageRecord,
    Polygon,
    class_map,
    load_labels,
    polygons_to_mask,
    save_coco,
    sky_mask,
)
from skysegui.core.imageio import write_exr, write_png
from skysegui.core.predictions import prediction_paths
from skysegui.core.synthetic import write_demo_project
from skysegui.gui.editing import commands
from skysegui.gui.editing.tools.brush import folded_stroke_mask
from tests._city import city_project
from tests.gui._window import make_window, open_and_wait
from tests.gui.test_seam_editing import at, click, drag
from tests.gui.test_seam_editing import open_in_seam_view as seam_view

W, H = 1024, 512  # the real panoramas in ../shared/data/hdri


# --- helpers ----------------------------------------------------------------------------------
def shot(win, qtbot, name: str) -> None:
    """Bring the label overlay up to date and keep a screenshot when asked to."""
    win.refresh_label_overlay()
    win.label_masks.wait(5000)
    qtbot.wait(30)
    folder = os.environ.get("SKYSEG_AUDIT_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        win.view.render_now()
        win.grab().save(str(Path(folder) / f"{name}.png"))


def draw_ring(win, tool: str, points) -> np.ndarray:
    """Click a ring with a drawing tool and close it with Enter; the scene points the tool
    really took (what the artist drew, x possibly outside the image)."""
    win.editor.set_tool(tool)
    for x, y in points:
        click(win, x, y)
    drawn = np.asarray(win.editor.current_tool.points, dtype=np.float64)
    QTest.keyClick(win.view, Qt.Key.Key_Return)
    return drawn


def folded_mask(ring: np.ndarray, width: int, height: int) -> np.ndarray:
    """The drawn ring (x anywhere in [-W, 2W]) rasterised on three copies, folded onto one."""
    big = polygons_to_mask([Polygon(ring + [width, 0.0])], height, 3 * width)
    return big[:, :width] | big[:, width:2 * width] | big[:, 2 * width:]


def assert_folded(ring: np.ndarray, polygons, width: int, height: int) -> None:
    """The pieces' pixels are the drawn shape folded modulo W, but for pixels within one
    pixel of its outline or in the border columns (the cut's own edge)."""
    diff = folded_mask(ring, width, height) ^ polygons_to_mask(polygons, height, width)
    diff[:, [0, width - 1]] = 0
    outline = np.zeros((height, 3 * width), np.uint8)
    pts = np.round((ring + [width, 0.0]) * 16).astype(np.int32)
    cv2.polylines(outline, [pts], True, 1, thickness=3, shift=4)
    near = outline[:, :width] | outline[:, width:2 * width] | outline[:, 2 * width:]
    assert not (diff & ~near.astype(bool)).any(), f"{int(diff.sum())} pixels differ from the folded drawing"


def stray_seam_edges(polygons, width: float, tol: float = 0.5) -> list:
    """Edges that run alongside the seam (both ends within `tol` of x = 0 or x = W, some
    height apart) without lying on it: they are drawn as a line at the cut."""
    out = []
    for polygon in polygons:
        for ring in polygon.rings():
            nxt = np.roll(ring, -1, axis=0)
            for line in (0.0, float(width)):
                near = (np.abs(ring[:, 0] - line) <= tol) & (np.abs(nxt[:, 0] - line) <= tol)
                on = (ring[:, 0] == line) & (nxt[:, 0] == line)
                bad = near & ~on & (np.abs(ring[:, 1] - nxt[:, 1]) > 1.0)
                out += [(tuple(ring[i]), tuple(nxt[i])) for i in np.flatnonzero(bad)]
    return out


def drawn_seam_strokes(item, width: float, tol: float = 0.5) -> int:
    """Line elements of an item's outline (what the pen draws) alongside the seam."""
    path = item.outline_path
    count = 0
    for i in range(1, path.elementCount()):
        a, b = path.elementAt(i - 1), path.elementAt(i)
        if not b.isLineTo():
            continue
        for line in (0.0, float(width)):
            if abs(a.x - line) <= tol and abs(b.x - line) <= tol and abs(a.y - b.y) > 1.0:
                count += 1
    return count


def one_step(win, action) -> None:
    """`action` lands as exactly one undo step; undo takes it back and redo restores it."""
    stack, labels = win.undo_stack, win.session.labels
    before = {a.id: a.copy() for a in labels.annotations.values()}
    count = stack.count()
    action()
    win.editor.paint_queue.wait()
    assert stack.count() == count + 1 and stack.index() == count + 1
    after = {a.id: a.copy() for a in labels.annotations.values()}
    assert after != before
    QTest.keyClick(win.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert {a.id: a for a in labels.annotations.values()} == before
    QTest.keyClick(win.view, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    if stack.index() != count + 1:  # Ctrl+Shift+Z where Ctrl+Y is not redo
        QTest.keyClick(win.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert stack.index() == count + 1
    assert {a.id: a for a in labels.annotations.values()} == after


def scene_point(win, xy) -> np.ndarray:
    """Where a click at scene point `xy` really lands (the view rounds to screen pixels)."""
    p = win.view.mapToScene(at(win, *xy))
    return np.array([p.x(), p.y()])


def new_annotation(labels, before_ids):
    (ann,) = [a for a in labels.annotations_for(1) if a.id not in before_ids]
    return ann


def empty_labels(name: str, width: int, height: int) -> AnnotationSet:
    return AnnotationSet(images={1: ImageRecord(1, name, width, height)},
                         categories={1: Category(1, "sky"), 2: Category(2, "non-sky")}, annotations={})


@pytest.fixture
def city(tmp_path, hdri_dir):
    """A project: the real city panorama, a label file with no annotations yet."""
    root = city_project(tmp_path / "city", hdri_dir)
    save_coco(empty_labels("city.exr", W, H), root / "labels.json")
    return root


def open_in_seam_view(qtbot, tmp_path, root, name="settings.ini"):
    return seam_view(qtbot, tmp_path, root, name=name, size=(1200, 700))


# --- the whole path on a real panorama --------------------------------------------------------------
def test_artist_session_across_the_seam_on_a_real_panorama(qtbot, tmp_path, city):
    win = open_in_seam_view(qtbot, tmp_path, city)
    editor, labels = win.editor, win.session.labels
    shot(win, qtbot, "00_seam_view")

    # a sky polygon from the right part of the image over the seam onto the copy
    drawn = {}
    one_step(win, lambda: drawn.__setitem__("sky", draw_ring(
        win, "polygon", [(860, 25), (1190, 35), (1210, 150), (880, 140)])))
    sky = new_annotation(labels, set())
    assert labels.role_of(sky.category_id) == SKY and len(sky.polygons) == 2
    assert_folded(drawn["sky"], sky.polygons, W, H)
    shot(win, qtbot, "01_polygon")

    # a hole across the seam inside it: a hole in each piece, the sky's vertices untouched
    outers = [p.outer.copy() for p in sky.polygons]
    one_step(win, lambda: drawn.__setitem__("hole", draw_ring(
        win, "hole", [(990, 55), (1070, 55), (1070, 95), (990, 95)])))
    sky = labels.annotations[sky.id]
    assert [len(p.holes) for p in sky.polygons] == [1, 1]
    assert all(np.array_equal(p.outer, o) for p, o in zip(sky.polygons, outers, strict=True))
    mask = sky_mask(labels, 1)
    inside_hole = folded_mask(drawn["hole"], W, H).astype(bool)
    inside_hole[:, [0, W - 1]] = False
    assert not mask[inside_hole].any()
    assert mask[75, 1010] == 0 and mask[75, 30] == 0 and mask[75, 960] == 1 and mask[75, 100] == 1
    shot(win, qtbot, "02_hole")

    # a non-sky object across the seam, inside the sky below the hole
    one_step(win, lambda: drawn.__setitem__("object", draw_ring(
        win, "object", [(1000, 105), (1060, 105), (1060, 130), (1000, 130)])))
    obj = next(a for a in labels.annotations_for(1) if labels.role_of(a.category_id) == NON_SKY)
    assert len(obj.polygons) == 2
    assert_folded(drawn["object"], obj.polygons, W, H)
    classes = class_map(labels, 1)
    assert classes[118, 1010] == 2 and classes[118, 30] == 2 and classes[118, 960] == 1
    shot(win, qtbot, "03_object")

    # a brush stroke and an eraser stroke across the seam, lower down
    editor.set_brush_size(24)
    before = sky_mask(labels, 1)
    stroke = [(930, 250), (1000, 255), (1090, 262), (1130, 265)]
    one_step(win, lambda: (editor.set_tool("brush"), drag(win, stroke)))
    mask = sky_mask(labels, 1)
    assert mask[255, 1000] == 1 and mask[262, 1090 - W] == 1 and mask[255, 500] == 0
    # pixel level: the stroke's round brush folded modulo W (one pixel of tracing at its rim)
    painted = folded_stroke_mask([tuple(scene_point(win, p)) for p in stroke], 24, W, H).astype(bool)
    assert painted[:, 0].any() and painted[:, -1].any()
    rim = cv2.morphologyEx(painted.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3))) > 0
    assert not (((mask > 0) != (painted | (before > 0))) & ~rim).any()
    editor.set_brush_size(8)
    one_step(win, lambda: (editor.set_tool("eraser"), drag(win, [(990, 256), (1070, 262)])))
    mask = sky_mask(labels, 1)
    assert mask[256, 1000] == 0 and mask[261, 1060 - W] == 0 and mask[250, 960] == 1
    shot(win, qtbot, "04_brush_eraser")
    for annotation in labels.annotations_for(1):
        assert stray_seam_edges(annotation.polygons, W) == []
        assert drawn_seam_strokes(editor.item(annotation.id), W) == 0

    # edit the pieces: a vertex of the piece on the real image (Seam view) ...
    editor.set_tool("select")
    sky = next(a for a in labels.annotations_for(1) if a.id == sky.id)
    right = next(i for i, p in enumerate(sky.polygons) if p.outer[:, 0].max() == W and p.outer[:, 0].min() > W / 2)
    corner = min(range(len(sky.polygons[right].outer)), key=lambda i: sky.polygons[right].outer[i, 0])
    x0, y0 = sky.polygons[right].outer[corner]
    click(win, x0 + 30, y0 + 30)  # inside: selects the sky
    assert editor.selected_annotation() == sky.id
    one_step(win, lambda: drag(win, [(x0, y0), (x0 - 10, y0 + 5), (x0 - 20, y0 + 10)]))
    moved = labels.annotations[sky.id].polygons[right].outer[corner]
    assert abs(moved[0] - (x0 - 20)) < 1.5 and abs(moved[1] - (y0 + 10)) < 1.5
    shot(win, qtbot, "05_vertex_moved_seam_view")

    # ... and of the piece at the image's left edge, in the plain view (it shows [0, W])
    win.actions.half_swap.trigger()
    assert not win.view.half_swap
    sky = labels.annotations[sky.id]
    left = 1 - right
    corner = max(range(len(sky.polygons[left].outer)), key=lambda i: sky.polygons[left].outer[i, 0])
    x0, y0 = sky.polygons[left].outer[corner]
    editor.select(sky.id)
    one_step(win, lambda: drag(win, [(x0, y0), (x0 + 10, y0 + 2), (x0 + 15, y0 + 4)]))
    moved = labels.annotations[sky.id].polygons[left].outer[corner]
    assert abs(moved[0] - (x0 + 15)) < 1.5 and abs(moved[1] - (y0 + 4)) < 1.5
    shot(win, qtbot, "06_vertex_moved_plain_view")

    # delete the object (both of its pieces) with the Delete key: one step
    win.actions.half_swap.trigger()
    editor.select(obj.id)
    one_step(win, lambda: QTest.keyClick(win.view, Qt.Key.Key_Delete))
    assert obj.id not in labels.annotations
    shot(win, qtbot, "07_object_deleted")

    # save with Ctrl+S, reopen in a new window: the same labels
    QTest.keyClick(win, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert not win.session.dirty
    saved = {a.id: a.copy() for a in labels.annotations.values()}
    again = make_window(qtbot, tmp_path / "again.ini")
    open_and_wait(qtbot, again, city)
    reopened = again.session.labels
    assert {a.id: a for a in reopened.annotations.values()} == saved
    assert len(reopened.annotations[sky.id].polygons) == len(saved[sky.id].polygons)

    # the CLI mask export: the labels' pixels, continuous across the seam where drawn so
    out = tmp_path / "export"
    assert cli_main(["export", "--project", str(city), "--what", "mask", "--out", str(out)]) == 0
    exported_mask = (cv2.imread(str(out / "city.mask.png"), cv2.IMREAD_GRAYSCALE) > 127).astype(np.uint8)
    expected = sky_mask(reopened, 1)
    np.testing.assert_array_equal(exported_mask, expected)
    crossing = expected[:, 0] | expected[:, W - 1]
    assert crossing.sum() > 50  # the sky band, the brush stroke
    rows = np.flatnonzero(crossing)
    agree = expected[rows, 0] == expected[rows, W - 1]
    assert agree.mean() > 0.95, f"columns 0 and W-1 disagree on {int((~agree).sum())} rows"


# --- an accepted prediction across the seam ----------------------------------------------------------
def demo_prediction(tmp_path, hdri_dir, gt_dir):
    """The synthetic demo project (seed 4: its skyline reaches the seam at an angle),
    its exact sky as the saved prediction."""
    width, height = 512, 256
    project = write_demo_project(tmp_path / "demo", count=1, width=width, height=height, labelled=0, seed=4)
    (image,) = project.image_paths()
    truth = cv2.imread(str(project.root / "truth" / f"{image.stem}.png"), cv2.IMREAD_GRAYSCALE) > 0
    return project.root, image, truth


def sunset_prediction(tmp_path, hdri_dir, gt_dir):
    """The real sunset panorama, its hand-made ground truth (1 = sky) as the prediction."""
    root = tmp_path / "sunset"
    (root / "images").mkdir(parents=True)
    shutil.copy(hdri_dir / "sunset.exr", root / "images" / "sunset.exr")
    save_coco(empty_labels("sunset.exr", W, H), root / "labels.json")
    truth = cv2.imread(str(gt_dir / "sunset.png"), cv2.IMREAD_GRAYSCALE) == 1
    return root, root / "images" / "sunset.exr", truth


@pytest.mark.parametrize("make", [demo_prediction, sunset_prediction], ids=["demo", "sunset"])
def test_accepted_prediction_across_the_seam_draws_no_line_at_the_cut(qtbot, tmp_path, hdri_dir, gt_dir, make):
    """Ctrl+Return traces the prediction's mask into polygons. The traced sky touches both
    edges of the panorama; its outline must run on the seam (not drawn, like the cut of a
    hand-drawn region), never half a pixel beside it, where it is drawn as a line along
    x = 0 / W; and its mask must still meet itself across the seam."""
    root, image, truth = make(tmp_path, hdri_dir, gt_dir)
    height, width = truth.shape
    assert truth[:, 0].any() and truth[:, -1].any()  # a sky that crosses the seam
    paths = prediction_paths(root / "predictions", image)
    write_png(paths.mask, truth.astype(np.uint8) * 255)
    write_png(paths.prob_png, truth.astype(np.uint16) * 65535, bits=16)
    win = open_in_seam_view(qtbot, tmp_path, root)
    qtbot.waitUntil(lambda: win.learning.current_prediction is not None, timeout=10000)
    labels = win.session.labels
    image_id = win.session.image_id(image)
    with qtbot.waitSignal(win.learning.accepted, timeout=30000):
        QTest.keyClick(win, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    accepted = labels.annotations_for(image_id)
    assert accepted
    shot(win, qtbot, f"10_accepted_prediction_{image.stem}")
    for annotation in accepted:
        assert stray_seam_edges(annotation.polygons, width) == []
        assert drawn_seam_strokes(win.editor.item(annotation.id), width) == 0
    mask = sky_mask(labels, image_id)
    assert (mask == truth).mean() > 0.99
    inner = (mask != truth)[:, 1:-1]  # snapping onto the seam changes only the border columns
    assert not (inner & ~(cv2.dilate(truth.astype(np.uint8), np.ones((3, 3)))[:, 1:-1] > 0)).any()
    np.testing.assert_array_equal(mask[:, 0] == mask[:, -1], truth[:, 0] == truth[:, -1])


# --- editing the pieces of a region drawn across the seam ------------------------------------------
SW, SH = 256, 128  # a small synthetic panorama for the focused checks


@pytest.fixture
def small(tmp_path):
    root = tmp_path / "small"
    (root / "images").mkdir(parents=True)
    x = np.linspace(0.0, 1.0, SW, dtype=np.float32)[None, :, None]
    y = np.linspace(4.0, 0.05, SH, dtype=np.float32)[:, None, None]
    write_exr(root / "images" / "pano.exr", np.broadcast_to(y * (0.5 + x), (SH, SW, 3)).copy(), half=False)
    save_coco(empty_labels("pano.exr", SW, SH), root / "labels.json")
    return root


def _window_with_a_cut_vertex(qtbot, tmp_path, small):
    """Seam view with a polygon drawn across the seam and selected: (window, annotation,
    index of its piece on the right edge, index of a cut vertex there, that vertex's y)."""
    win = open_in_seam_view(qtbot, tmp_path, small)
    draw_ring(win, "polygon", [(200, 20), (300, 30), (300, 90), (200, 100)])
    (ann,) = win.session.labels.annotations_for(1)
    right = next(i for i, p in enumerate(ann.polygons) if p.outer[:, 0].max() == SW)
    ring = ann.polygons[right].outer
    vi = next(i for i in range(len(ring)) if ring[i, 0] == SW and ring[i, 1] > 60)
    win.editor.set_tool("select")
    win.editor.select(ann.id)
    return win, ann, right, vi, ring[vi, 1]


def test_dragging_a_cut_vertex_moves_both_sides_of_the_seam(qtbot, tmp_path, small):
    """The cut points (W, y) and (0, y) are one point of the panorama: dragging one slides
    it along the seam and takes the other along (one undo step), so the region still
    meets itself there and no outline appears along the cut."""
    win, ann, right, vi, y0 = _window_with_a_cut_vertex(qtbot, tmp_path, small)
    editor, labels = win.editor, win.session.labels
    shot(win, qtbot, "20_cut_vertex_before")
    one_step(win, lambda: drag(win, [(SW, y0), (SW - 3, y0 + 4), (SW - 6, y0 + 8)]))
    ann = labels.annotations[ann.id]
    moved = ann.polygons[right].outer[vi]
    assert moved[0] == SW and abs(moved[1] - (y0 + 8)) < 1  # slid along the seam
    twins = [v for p in ann.polygons for v in p.outer if v[0] == 0 and abs(v[1] - moved[1]) < 1e-9]
    assert len(twins) == 1  # its other side came along
    assert not [v for p in ann.polygons for v in p.outer if v[0] in (0, SW) and v[1] == y0]
    assert drawn_seam_strokes(editor.item(ann.id), SW) == 0
    mask = sky_mask(labels, 1)
    # still continuous across the seam: columns 0 and W-1 are neighbours, not one pixel, so
    # where the edges leaving the cut point slant differently on each side they may part
    # by one row at the boundary, never more (a gap along the cut would open many rows)
    assert np.count_nonzero(mask[:, 0] != mask[:, -1]) <= 1
    shot(win, qtbot, "21_cut_vertex_after")


def test_while_a_cut_vertex_is_dragged_its_other_side_follows_on_the_copy(qtbot, tmp_path, small):
    """In the Seam view the other side of a cut vertex is seen on the copy right beside
    it: it must follow the drag live, not jump there on release."""
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    win = open_in_seam_view(qtbot, tmp_path, small)
    editor, labels = win.editor, win.session.labels
    draw_ring(win, "polygon", [(200, 20), (300, 30), (300, 90), (200, 100)])
    (ann,) = labels.annotations_for(1)
    ring = next(p.outer for p in ann.polygons if p.outer[:, 0].max() == SW)
    y0 = next(v[1] for v in ring if v[0] == SW and v[1] > 60)
    editor.set_tool("select")
    editor.select(ann.id)
    qtbot.waitUntil(lambda: bool(editor.ghosts.items))
    vp = win.view.viewport()
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(win, SW, y0))
    for dy in (4, 8):
        p = at(win, SW, y0 + dy)
        QApplication.sendEvent(vp, QMouseEvent(QEvent.Type.MouseMove, QPointF(p), QPointF(vp.mapToGlobal(p)),
                                               Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton,
                                               Qt.KeyboardModifier.NoModifier))
    target = y0 + scene_point(win, (SW, y0 + 8))[1] - scene_point(win, (SW, y0))[1]
    on_copy = [i for i in editor.ghosts.items if i.pos().x() == SW]  # the copy right of the image
    assert on_copy
    shown = [(path.elementAt(k).x, path.elementAt(k).y) for i in on_copy
             for path in [i.path()] for k in range(path.elementCount())]
    assert any(x == 0 and abs(y - target) < 1e-6 for x, y in shown)  # the other side, moved
    assert not any(x == 0 and y == y0 for x, y in shown)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(win, SW, y0 + 8))


def test_deleting_a_cut_vertex_deletes_its_other_side_too(qtbot, tmp_path, small):
    win, ann, right, vi, y0 = _window_with_a_cut_vertex(qtbot, tmp_path, small)
    editor, labels = win.editor, win.session.labels
    click(win, SW, y0)  # the cut vertex under the cursor
    assert editor.selected_vertex == (right, 0, vi)
    one_step(win, lambda: QTest.keyClick(win.view, Qt.Key.Key_Delete))
    left = labels.annotations[ann.id].polygons
    assert not [v for p in left for v in p.outer if v[0] in (0, SW) and v[1] == y0]
    mask = sky_mask(labels, 1)
    np.testing.assert_array_equal(mask[:, 0], mask[:, -1])


def test_a_vertex_off_the_seam_moves_alone(qtbot, tmp_path, small):
    win = open_in_seam_view(qtbot, tmp_path, small)
    editor, labels = win.editor, win.session.labels
    draw_ring(win, "polygon", [(200, 20), (300, 30), (300, 90), (200, 100)])
    (ann,) = labels.annotations_for(1)
    before = [p.copy() for p in ann.polygons]
    right = next(i for i, p in enumerate(ann.polygons) if p.outer[:, 0].max() == SW)
    vi = int(np.argmin(ann.polygons[right].outer[:, 0]))
    x0, y0 = ann.polygons[right].outer[vi]
    editor.set_tool("select")
    editor.select(ann.id)
    one_step(win, lambda: drag(win, [(x0, y0), (x0 - 5, y0 + 5), (x0 - 10, y0 + 6)]))
    after = labels.annotations[ann.id].polygons
    changed = [(pi, i) for pi in range(len(after)) for i in range(len(after[pi].outer))
               if not np.array_equal(after[pi].outer[i], before[pi].outer[i])]
    assert changed == [(right, vi)]


def test_dragging_a_region_across_the_seam_moves_it_round_the_panorama(qtbot, tmp_path, small):
    """A region drawn across the seam, dragged sideways: it stays whole on the sphere (cut
    again where it now crosses the seam), nothing leaves the image, no cut inside it."""
    win = open_in_seam_view(qtbot, tmp_path, small)
    editor, labels = win.editor, win.session.labels
    drawn = draw_ring(win, "polygon", [(200, 20), (300, 30), (300, 90), (200, 100)])
    (ann,) = labels.annotations_for(1)
    editor.set_tool("select")
    editor.select(ann.id)
    start = np.array([230.0, 60.0])
    path = [start + (k * 6.0, k * 1.0) for k in range(6)]  # 30 px right, 5 down
    one_step(win, lambda: drag(win, [tuple(p) for p in path]))
    scene_move = scene_point(win, path[-1]) - scene_point(win, path[0])  # as the mouse really went
    moved = labels.annotations[ann.id].polygons
    for polygon in moved:
        assert polygon.outer[:, 0].min() >= 0 and polygon.outer[:, 0].max() <= SW
    assert len(moved) == 2  # still one piece on each side of the seam, none inside
    assert_folded(drawn + scene_move, moved, SW, SH)
    assert drawn_seam_strokes(editor.item(ann.id), SW) == 0
    shot(win, qtbot, "22_region_moved_across_seam")


def test_a_sky_round_the_whole_panorama_moves_only_up_and_down(qtbot, tmp_path, small):
    win = open_in_seam_view(qtbot, tmp_path, small)
    editor, labels = win.editor, win.session.labels
    band = np.array([[0.0, 0.0], [SW, 0.0], [SW, 40.0], [SW / 2, 50.0], [0.0, 40.0]])
    edit, aid = commands.add_polygon(labels, 1, band, SKY)
    assert editor.push(edit, "Draw sky polygon")
    editor.set_tool("select")
    editor.select(aid)
    one_step(win, lambda: drag(win, [(200, 20), (210, 25), (220, 30)]))
    outer = labels.annotations[aid].polygons[0].outer
    assert outer[:, 0].min() == 0 and outer[:, 0].max() == SW  # not pushed off the image
    np.testing.assert_array_equal(outer[:, 0], band[:, 0])
    assert (outer[:, 1] - band[:, 1] > 5).all()


def test_a_click_on_the_seam_inside_a_region_selects_it_without_adding_a_vertex(qtbot, tmp_path, small):
    """The cut's edge along x = W is not drawn, so a click there must not insert a vertex
    on it (the artist sees no edge; a later drag would tear the region open)."""
    win = open_in_seam_view(qtbot, tmp_path, small)
    editor, labels, stack = win.editor, win.session.labels, win.undo_stack
    draw_ring(win, "polygon", [(200, 20), (300, 30), (300, 90), (200, 100)])
    (ann,) = labels.annotations_for(1)
    before = [p.copy() for p in ann.polygons]
    editor.set_tool("select")
    editor.select(ann.id)
    count = stack.count()
    click(win, SW, 60)
    assert stack.count() == count
    assert labels.annotations[ann.id].polygons == before
    assert editor.selected_annotation() == ann.id


def test_hole_where_two_sky_regions_overlap_really_clears_the_sky(qtbot, tmp_path, small):
    """A hole cut across the seam where another sky polygon overlaps the first must leave
    no sky in it: putting it into one polygon only would change nothing on screen."""
    win = open_in_seam_view(qtbot, tmp_path, small)
    labels = win.session.labels
    draw_ring(win, "polygon", [(180, 10), (320, 10), (320, 110), (180, 110)])
    draw_ring(win, "polygon", [(220, 40), (300, 40), (300, 100), (220, 100)])
    drawn = draw_ring(win, "hole", [(240, 55), (280, 55), (280, 80), (240, 80)])
    inside = folded_mask(drawn, SW, SH).astype(bool)
    inside[:, [0, SW - 1]] = False
    inside = cv2.erode(inside.astype(np.uint8), np.ones((3, 3))).astype(bool)
    assert inside.sum() > 100
    assert not sky_mask(labels, 1)[inside].any()
    assert sky_mask(labels, 1)[30, 200] == 1 and sky_mask(labels, 1)[30, 30] == 1


# --- Label Studio labels, COCO round trip ---------------------------------------------------------
def test_label_studio_labels_and_seam_pieces_survive_save_and_reload(qtbot, tmp_path, hdri_dir, label_studio_dir):
    """A real Label Studio export (its sky touches both edges) opened with the real city
    panorama; a region drawn across the seam; saved with Ctrl+S: the Label Studio polygon
    comes back untouched, the drawn region as its pieces, and pycocotools (the training
    side) reads the same sky from the file."""
    from pycocotools.coco import COCO

    root = city_project(tmp_path / "ls", hdri_dir, label_studio_dir / "city_tasks.json")
    win = open_in_seam_view(qtbot, tmp_path, root)
    labels = win.session.labels
    (image_id,) = labels.images
    original = {a.id: a.copy() for a in labels.annotations_for(image_id)}
    assert original
    width = labels.images[image_id].width
    draw_ring(win, "object", [(width - 60, 150), (width + 50, 150), (width + 50, 190), (width - 60, 190)])
    (obj,) = [a for a in labels.annotations_for(image_id) if a.id not in original]
    assert len(obj.polygons) == 2
    shot(win, qtbot, "30_label_studio_object")
    QTest.keyClick(win, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert not win.session.dirty
    saved = win.session.project.labels_path  # beside the Label Studio export, which stays as it was
    assert saved != root / "labels.json"
    reloaded = load_labels(saved, images_dir=root / "images").labels
    rid = reloaded.image_by_name("city.exr").id
    back = {a.id: a for a in reloaded.annotations_for(rid)}
    for aid, annotation in original.items():
        assert back[aid].polygons == annotation.polygons
    assert back[obj.id].polygons == obj.polygons
    np.testing.assert_array_equal(class_map(reloaded, rid), class_map(labels, image_id))
    coco = COCO(str(saved))
    union = np.zeros((labels.images[image_id].height, width), np.uint8)
    for entry in coco.loadAnns(coco.getAnnIds(imgIds=[rid])):
        if coco.loadCats([entry["category_id"]])[0]["name"] == "non-sky":
            union |= coco.annToMask(entry)
    np.testing.assert_array_equal(union, class_map(labels, image_id) == NON_SKY)
