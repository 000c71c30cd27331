"""Two real windows on one project (issue 16): the second is asked (read-only / anyway /
cancel), a save never overwrites the other window's edits in silence (merge image by
image, reload, or a copy), and a CLI command that writes into the project says the
window holds it. No edit is lost without the user choosing to."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from skysegui.core.annotations import (
    NON_SKY,
    SKY,
    Annotation,
    AnnotationSet,
    Category,
    ImageRecord,
    MoveVertex,
    Polygon,
    load_labels,
    save_coco,
)
from skysegui.core.imageio import write_png
from skysegui.core.project_lock import LOCK_NAME, read_lock
from skysegui.gui.editing.commands import EditCommand
from skysegui.gui.main_window import MainWindow
from skysegui.gui.settings import AppSettings, ini_settings
from tests.gui._window import Answers


@pytest.fixture
def project(tmp_path):
    """images/a.png and b.png (64 x 32), one sky polygon each, in labels.json."""
    root = tmp_path / "project"
    (root / "images").mkdir(parents=True)
    labels = AnnotationSet()
    labels.categories[SKY] = Category(SKY, "sky")
    labels.categories[NON_SKY] = Category(NON_SKY, "non-sky")
    for iid, name in ((1, "a"), (2, "b")):
        path = root / "images" / f"{name}.png"
        write_png(path, np.full((32, 64, 3), 90 * iid, np.uint8))
        labels.images[iid] = ImageRecord(iid, path.name, 64, 32, path)
        ring = np.array([[2, 2], [60, 2], [60, 14], [2, 14]], float)
        labels.annotations[iid] = Annotation(iid, iid, SKY, [Polygon(ring)])
    save_coco(labels, root / "labels.json")
    return root


def window(qtbot, tmp_path, answers, name):
    win = MainWindow(settings=AppSettings(ini_settings(tmp_path / f"{name}.ini")), ask=answers)
    qtbot.addWidget(win)
    win.resize(900, 600)
    return win


def move(win, image: str, vertex: int, to):
    """The user drags a vertex of the image's polygon (an undoable edit)."""
    labels = win.session.labels
    image_id = labels.image_by_name(image).id
    ann = labels.annotations_for(image_id)[0]
    edit = MoveVertex(ann.id, 0, 0, vertex, to)
    win.undo_stack.push(EditCommand(win.editor, labels, image_id, edit, "Move vertex"))


def on_disk(project, image: str, vertex: int):
    labels = load_labels(project / "labels.json", images_dir=project / "images").labels
    image_id = labels.image_by_name(image).id
    return tuple(labels.annotations_for(image_id)[0].polygons[0].outer[vertex])


def test_second_window_is_asked_and_read_only_never_writes(qtbot, tmp_path, project):
    first = window(qtbot, tmp_path, Answers(), "first")
    assert first.open_path(project)
    lock = read_lock(project)
    assert lock is not None and lock.token == first.session.lock.token
    answers = Answers(locked="read-only")
    second = window(qtbot, tmp_path, answers, "second")
    assert second.open_path(project)
    assert answers.asked == ["locked"] and second.session.read_only
    assert "[read-only]" in second.windowTitle()
    move(second, "b.png", 0, (5.0, 5.0))
    before = (project / "labels.json").read_bytes()
    assert not second.save()  # refused, with a message: the file is untouched
    assert (project / "labels.json").read_bytes() == before and second.session.dirty
    # Save As keeps the read-only window's edits in a file of its own
    assert second.save_as(tmp_path / "mine.json")
    assert not second.session.dirty
    kept = load_labels(tmp_path / "mine.json", images_dir=project / "images").labels
    assert tuple(kept.annotations_for(kept.image_by_name("b.png").id)[0].polygons[0].outer[0]) == (5.0, 5.0)
    # cancel opens nothing
    third = window(qtbot, tmp_path, Answers(locked="cancel"), "third")
    assert not third.open_path(project) and third.session.project is None
    first.close()
    assert not (project / LOCK_NAME).exists()  # given back when the window closes


def test_two_writers_merge_and_nothing_is_lost(qtbot, tmp_path, project):
    a_answers = Answers(changed="merge", conflict="mine")
    b_answers = Answers(locked="anyway", changed="merge")
    a = window(qtbot, tmp_path, a_answers, "a")
    b = window(qtbot, tmp_path, b_answers, "b")
    assert a.open_path(project) and b.open_path(project)
    assert not b.session.read_only and b.session.lock is None
    # the second window autosaves to a file of its own: it never touches the first's
    assert b.session.project.autosave_path != a.session.project.autosave_path
    move(a, "a.png", 0, (3.0, 3.0))
    move(b, "b.png", 1, (59.0, 4.0))
    assert a.session.autosave() and b.session.autosave()
    assert a.save()
    assert not a.session.project.autosave_path.exists()
    assert b.session.project.autosave_path.exists()  # the first's save left it alone
    assert b.save()  # labels.json changed since b loaded it: asked, then merged per image
    assert b_answers.asked == ["locked", "changed"]
    assert on_disk(project, "a.png", 0) == (3.0, 3.0)  # a's edit survived b's save
    assert on_disk(project, "b.png", 1) == (59.0, 4.0)
    # b's window shows the merged labels (a's edit too)
    labels = b.session.labels
    assert tuple(labels.annotations_for(labels.image_by_name("a.png").id)[0].polygons[0].outer[0]) == (3.0, 3.0)
    # now both change image b: the same image asks, and "mine" keeps a's
    move(a, "b.png", 2, (50.0, 12.0))
    assert a.save()
    assert "conflict" in a_answers.asked
    assert on_disk(project, "b.png", 2) == (50.0, 12.0)
    assert on_disk(project, "b.png", 1) != (59.0, 4.0)  # the user chose a's version of b


def test_reload_copy_and_cancel_are_the_users_choice(qtbot, tmp_path, project):
    a = window(qtbot, tmp_path, Answers(), "a")
    answers = Answers(locked="anyway", changed="cancel")
    b = window(qtbot, tmp_path, answers, "b")
    assert a.open_path(project) and b.open_path(project)
    move(a, "a.png", 0, (3.0, 3.0))
    assert a.save()
    move(b, "a.png", 0, (7.0, 7.0))
    saved = (project / "labels.json").read_bytes()
    assert not b.save()  # cancel: nothing overwritten, the edit is still there, unsaved
    assert (project / "labels.json").read_bytes() == saved and b.session.dirty
    answers.answers["changed"] = "copy"
    assert b.save()
    copies = sorted(project.glob("labels.mine-*.json"))
    assert len(copies) == 1
    mine = load_labels(copies[0], images_dir=project / "images").labels
    assert tuple(mine.annotations_for(mine.image_by_name("a.png").id)[0].polygons[0].outer[0]) == (7.0, 7.0)
    assert on_disk(project, "a.png", 0) == (3.0, 3.0)
    move(b, "a.png", 1, (58.0, 3.0))
    answers.answers["changed"] = "reload"
    a2 = load_labels(project / "labels.json").labels  # the other window saves again
    save_coco(a2, project / "labels.json")
    import os
    os.utime(project / "labels.json", ns=(1, 1))
    assert b.save() and not b.session.dirty  # reload: b chose to drop its edit
    assert on_disk(project, "a.png", 0) == (3.0, 3.0)


def test_cli_that_writes_into_the_project_says_the_window_holds_it(qtbot, tmp_path, project):
    a = window(qtbot, tmp_path, Answers(), "a")
    assert a.open_path(project)
    run = subprocess.run(
        [sys.executable, "-m", "skysegui", "masks", str(project / "labels.json"),
         "--images", str(project / "images"), "--out", str(project / "masks")],
        capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "is open in SkySeg GUI window" in run.stderr and "close it there" in run.stderr
    assert not (project / "masks").exists()
    a.close()
    run = subprocess.run(
        [sys.executable, "-m", "skysegui", "masks", str(project / "labels.json"),
         "--images", str(project / "images"), "--out", str(project / "masks")],
        capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert not (project / LOCK_NAME).exists()
    assert json.loads((project / "labels.json").read_text())["images"]
