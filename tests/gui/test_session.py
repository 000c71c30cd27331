"""Projects in the window: labels at the right place, save/reload, autosave, recovery, unsaved edits.

Uses the real city.exr with the real Label Studio COCO export (file_name
"/data/upload/1/cb0618f6-city.jpg", matched to city.exr by its cleaned name).
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from skysegui.core.annotations import MoveVertex, load_labels, sky_mask
from skysegui.core.project import Project
from skysegui.gui.editing.commands import EditCommand
from skysegui.gui.main_window import MainWindow
from skysegui.gui.messages import open_error_boxes
from skysegui.gui.session import AUTOSAVE_MS
from skysegui.gui.settings import AppSettings, ini_settings
from tests._city import city_project
from tests.gui._window import Answers


@pytest.fixture
def project(tmp_path, hdri_dir, label_studio_dir):
    root = city_project(tmp_path / "project", hdri_dir, label_studio_dir / "city_coco.json")
    return root




def make_window(qtbot, tmp_path, answers) -> MainWindow:
    win = MainWindow(settings=AppSettings(ini_settings(tmp_path / "settings.ini")), ask=answers)
    qtbot.addWidget(win)
    win.resize(1200, 800)
    win.show()
    return win


def open_and_wait(qtbot, win, path) -> None:
    with qtbot.waitSignal(win.fullyLoaded, timeout=30000):
        assert win.open_path(path)


def move_a_vertex(win, dx=5.5, dy=-4.25):
    """Move an inside vertex (not on the image border) of the first polygon, as the editor does."""
    labels = win.session.labels
    image_id = win.session.image_id(win.current.path)
    ann = labels.annotations_for(image_id)[0]
    outer = ann.polygons[0].outer
    v = next(i for i, (x, y) in enumerate(outer) if 20 < x < 1000 and 20 < y < 490)
    target = (float(outer[v, 0] + dx), float(outer[v, 1] + dy))
    edit = MoveVertex(ann.id, 0, 0, v, target)
    win.undo_stack.push(EditCommand(win.editor, labels, image_id, edit, "Move vertex"))
    return ann.id


def test_labels_show_at_the_right_place(qtbot, tmp_path, project):
    win = make_window(qtbot, tmp_path, Answers())
    open_and_wait(qtbot, win, project)
    image_id = win.session.image_id(win.current.path)
    assert image_id is not None  # the Label Studio upload name matched city.exr
    mask = win.view.label_overlay.mask
    assert mask.shape == (512, 1024)
    assert np.array_equal(mask, sky_mask(win.session.labels, image_id))
    assert mask[:60].mean() > 0.6 and mask[300:].max() == 0  # sky on top, none on the ground
    # the overlay item sits exactly on the image: scene rect == image rect
    item = [i for i in win.view.label_overlay.items if i.pos().x() == 0][0]
    assert item.sceneBoundingRect().getRect() == (0, 0, 1024, 512)
    if win.editor is not None:  # polygons drawn by the editor above the overlays
        drawn = [i for i in win.view.scene().items() if i.zValue() >= 100 and i.isVisible()]
        assert drawn
        box = drawn[0].sceneBoundingRect()
        for item in drawn[1:]:
            box = box.united(item.sceneBoundingRect())
        points = np.concatenate(
            [p.outer for a in win.session.labels.annotations_for(image_id) for p in a.polygons]
        )
        x0, y0 = points.min(axis=0)
        x1, y1 = points.max(axis=0)
        for drawn_edge, label_edge in zip(
            (box.left(), box.top(), box.right(), box.bottom()), (x0, y0, x1, y1), strict=True
        ):
            assert abs(drawn_edge - label_edge) <= 4  # pen width aside, the same place


def test_edit_save_and_reload_equal(qtbot, tmp_path, project):
    win = make_window(qtbot, tmp_path, Answers(unsaved="discard"))
    open_and_wait(qtbot, win, project)
    move_a_vertex(win)
    assert win.session.dirty and win.windowTitle().endswith("*")
    win.actions.save.trigger()
    assert not win.session.dirty and not win.windowTitle().endswith("*")
    assert (project / "labels.json.bak").exists()
    reloaded = load_labels(project / "labels.json").labels
    ours = win.session.labels
    for image_id in ours.images:
        a = ours.annotations_for(image_id)
        b = reloaded.annotations_for(image_id)
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            for p, q in zip(x.polygons, y.polygons, strict=True):
                np.testing.assert_allclose(p.outer, q.outer, atol=1e-6)
    # undo after a save makes the labels dirty again
    win.undo_stack.undo()
    assert win.session.dirty


def test_autosave_then_recovery_is_offered_and_restores(qtbot, tmp_path, project):
    win = make_window(qtbot, tmp_path, Answers())
    assert win.session.autosave_timer.interval() == AUTOSAVE_MS == 60_000
    open_and_wait(qtbot, win, project)
    ann_id = move_a_vertex(win, dx=11.0, dy=0.0)
    moved = win.session.labels.annotations[ann_id].polygons[0].outer.copy()
    win.session.autosave_timer.timeout.emit()  # the minute is up
    assert Project.open(project).has_recovery()
    win.session.undo_stack.setClean()  # the "crash": nothing asks, nothing saves
    win.close()

    answers = Answers(recover="restore")
    again = make_window(qtbot, tmp_path, answers)
    open_and_wait(qtbot, again, project)
    assert answers.asked == ["recover"]
    np.testing.assert_allclose(again.session.labels.annotations[ann_id].polygons[0].outer, moved)
    assert again.session.dirty  # restored edits are not saved yet

    again.session.undo_stack.setClean()
    again.session.mark_restored(False)
    again.close()
    third = make_window(qtbot, tmp_path, Answers(recover="discard"))
    open_and_wait(qtbot, third, project)
    original = load_labels(project / "labels.json").labels
    np.testing.assert_allclose(
        third.session.labels.annotations[ann_id].polygons[0].outer,
        original.annotations[ann_id].polygons[0].outer,
    )
    assert not Project.open(project).has_recovery()


def test_switching_images_autosaves(qtbot, tmp_path, project, hdri_dir):
    shutil.copy(hdri_dir / "sunset.exr", project / "images" / "sunset.exr")
    win = make_window(qtbot, tmp_path, Answers())
    open_and_wait(qtbot, win, project)
    assert win.current.path.name == "city.exr"
    move_a_vertex(win)
    with qtbot.waitSignal(win.fullyLoaded, timeout=30000):
        win.actions.next_image.trigger()
    assert win.current.path.name == "sunset.exr"
    assert Project.open(project).autosave_path.exists()


def test_closing_with_unsaved_edits_asks_first(qtbot, tmp_path, project):
    answers = Answers(unsaved="cancel")
    win = make_window(qtbot, tmp_path, answers)
    open_and_wait(qtbot, win, project)
    move_a_vertex(win)
    win.close()
    assert answers.asked == ["unsaved"] and win.isVisible()
    answers.answers["unsaved"] = "save"
    win.close()
    assert not win.isVisible()
    assert not win.session.dirty


def test_saving_a_lone_image_explains_instead_of_crashing(qtbot, tmp_path, hdri_dir):
    win = make_window(qtbot, tmp_path, Answers())
    open_and_wait(qtbot, win, hdri_dir / "city.exr")
    assert not win.save()
    boxes = open_error_boxes()
    assert boxes and "open a project" in boxes[0].text()
    for box in boxes:
        box.close()
    win.view.set_zoom(2.0)  # still working
    assert win.view.zoom == pytest.approx(2.0)


def test_autosave_writes_only_when_there_is_something_new(qtbot, tmp_path, project):
    win = make_window(qtbot, tmp_path, Answers(unsaved="discard"))
    open_and_wait(qtbot, win, project)
    assert not win.session.autosave()  # nothing edited
    move_a_vertex(win)
    assert win.session.autosave()
    assert not win.session.autosave()  # the same edits are already autosaved
    move_a_vertex(win, dx=1.0, dy=1.0)
    assert win.session.autosave()
    win.actions.save.trigger()
    assert not Project.open(project).has_recovery()  # saving drops the stale autosave


def test_big_images_get_their_label_mask_from_a_worker_at_reduced_size(qtbot, label_studio_dir):
    from skysegui.gui.viewer.label_mask import LabelMaskRenderer, snapshot

    labels = load_labels(label_studio_dir / "city_coco.json").labels
    image_id = next(iter(labels.images))
    full = sky_mask(labels, image_id)
    half = sky_mask(snapshot(labels, image_id, 2), image_id)
    assert half.shape == (full.shape[0] // 2, full.shape[1] // 2)
    agree = (half == full[::2, ::2]).mean()
    assert agree > 0.98
    renderer = LabelMaskRenderer(sync_max_pixels=0)  # treat this image as "big"
    with qtbot.waitSignal(renderer.maskReady, timeout=10000) as blocker:
        renderer.request(labels, image_id, "#ff0000")
        assert renderer.pending
    mask, factor, colored = blocker.args
    assert factor == 1 and np.array_equal(mask, full) and not renderer.pending
    assert colored.color == "#ff0000" and colored.image.width() == full.shape[1]
    sky_pixel = np.argwhere(full == 1)[0]
    assert colored.image.pixelColor(int(sky_pixel[1]), int(sky_pixel[0])).red() == 255
