"""Issue 16: a training run started from the window reads one consistent snapshot of the
labels (as shown when Start was pressed, unsaved edits included), edits and saves made
while it runs never mix into its data, and the run never blinds the window's guard
against another program's writes to labels.json."""

from __future__ import annotations

import dataclasses
import json

import pytest

from skysegui.core.annotations import MoveVertex, load_labels, save_coco
from skysegui.core.synthetic import write_demo_project
from skysegui.gui.editing.commands import EditCommand
from skysegui.ml.data.cache import labels_fingerprint
from skysegui.ml.model import PRESETS
from tests.gui._window import Answers, make_window, open_and_wait

pytestmark = pytest.mark.slow




def _move_first_vertex(win, image_id, to) -> None:
    """The user drags a vertex (an undoable edit on the window's labels)."""
    labels = win.session.labels
    ann = labels.annotations_for(image_id)[0]
    edit = MoveVertex(ann.id, 0, 0, 0, to)
    win.undo_stack.push(EditCommand(win.editor, labels, image_id, edit, "Move vertex"))


def _cached_label_hashes(project_root) -> set[str]:
    """Every labels hash recorded in the project's dataset cache manifests."""
    found: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("labels"), str):
                found.add(node["labels"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for manifest in (project_root / "cache").rglob("manifest.json"):
        walk(json.loads(manifest.read_text()))
    return found


def test_training_uses_the_labels_as_shown_at_start_and_keeps_the_save_guard(qtbot, tmp_path):
    project = write_demo_project(tmp_path / "p", count=3, width=256, height=128, labelled=3, seed=5)
    answers = Answers(changed="merge", conflict="mine")
    win = make_window(qtbot, tmp_path / "s.ini", ask=answers, size=(1200, 800))
    open_and_wait(qtbot, win, project.root)
    labels = win.session.labels
    first, second = sorted(labels.images)[:2]

    # another program rewrites labels.json (a different image) after the window loaded it
    outside = load_labels(project.root / "labels.json", images_dir=project.root / "images").labels
    outside_ann = outside.annotations_for(second)[0]
    outside_ann.polygons[0].outer[0] = (7.0, 7.0)
    save_coco(outside, project.root / "labels.json")

    # an unsaved edit, then Start: the run must train on exactly this
    _move_first_vertex(win, first, (11.0, 3.0))
    assert win.session.dirty
    at_start = labels_fingerprint(win.session.labels, first)
    panel = win.learning.training
    config = dataclasses.replace(panel.config(), model=dataclasses.replace(PRESETS["tiny"]), name="snap",
                                 epochs=1, steps_per_epoch=2, batch_size=4, time_budget_min=0, init_from="")
    with qtbot.waitSignal(panel.model_ready, timeout=240_000) as done:
        panel.start(config)
        _move_first_vertex(win, first, (13.0, 2.0))  # edited while the run prepares its data
    qtbot.waitUntil(lambda: not panel.running, timeout=60_000)
    after_start = labels_fingerprint(win.session.labels, first)
    assert after_start != at_start

    hashes = _cached_label_hashes(project.root)
    assert at_start in hashes and after_start not in hashes
    card = json.loads((done.args[0] / "card.json").read_text())
    assert any("unsaved edits included" in note for note in card["notes"]), card["notes"]

    # the run did not make the window forget that labels.json changed on disk: saving
    # asks, merges per image, and both the outside edit and the window's survive
    assert win.save()
    assert "changed" in answers.asked
    saved = load_labels(project.root / "labels.json", images_dir=project.root / "images").labels
    assert tuple(saved.annotations_for(second)[0].polygons[0].outer[0]) == (7.0, 7.0)
    assert tuple(saved.annotations_for(first)[0].polygons[0].outer[0]) == (13.0, 2.0)
