"""A long session in the real window: hundreds of edits with undo and redo through the
editor, and switching through many panoramas. What must stay bounded is checked here (the
image and thumbnail caches never pass their limits, no scene items pile up, undo gives back
the original labels exactly); the memory figures are measured in
benchmarks/bench_long_session_gui.py."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import numpy as np
import pytest

from skysegui.core.annotations import coco_dict
from skysegui.core.imageio import write_exr
from skysegui.core.synthetic import make_panorama, write_demo_project
from skysegui.gui.editing import commands
from skysegui.gui.main_window import MainWindow
from skysegui.gui.messages import open_error_boxes
from skysegui.gui.settings import AppSettings, ini_settings
from skysegui.gui.workers.load_worker import ImageCache

WAIT_MS = 30_000
PANORAMAS = 30
EDITS = 500
LABEL_SETTLE_MS = 200  # the label overlay refreshes 120 ms after the last edit


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A project of small synthetic panoramas, a third of them labelled."""
    root = tmp_path_factory.mktemp("long-session") / "demo"
    return write_demo_project(root, count=PANORAMAS, width=256, height=128, labelled=PANORAMAS // 3)


@pytest.fixture
def window(qtbot, tmp_path):
    win = MainWindow(settings=AppSettings(ini_settings(tmp_path / "settings.ini")),
                     ask=lambda kind, _text: "discard")
    qtbot.addWidget(win)
    win.resize(900, 600)
    win.show()
    return win


def open_and_wait(qtbot, win, path) -> None:
    with qtbot.waitSignal(win.fullyLoaded, timeout=WAIT_MS):
        assert win.open_path(path)


def step(qtbot, win) -> None:
    with qtbot.waitSignal(win.fullyLoaded, timeout=WAIT_MS):
        win.actions.next_image.trigger()


def scene_item_count(win) -> int:
    return len(win.view.scene().items())


def test_switching_through_many_panoramas_keeps_the_caches_within_their_limits(qtbot, window, demo):
    loader, images = window.loader, window.image_list
    loader.cache.max_entries = 3
    images.thumbnail_limit = 7
    open_and_wait(qtbot, window, demo.root)
    one_image = window.current.nbytes
    loader.cache.max_bytes = int(2.5 * one_image)  # the byte limit binds before the entry limit
    counts, shown = [], []
    for _ in range(2 * PANORAMAS):  # twice round the project
        step(qtbot, window)
        shown.append(window.current.path)
        counts.append(scene_item_count(window))
        assert len(loader.cache) <= 2 and loader.cache.nbytes <= loader.cache.max_bytes
        assert images.thumbnail_count <= images.thumbnail_limit
    assert len(set(shown)) == PANORAMAS  # really walked through every panorama
    assert shown[:PANORAMAS] == shown[PANORAMAS:]
    assert counts[:PANORAMAS] == counts[PANORAMAS:]  # no items pile up in the scene
    window.thumbnails.wait(WAIT_MS)
    qtbot.waitUntil(lambda: images.thumbnail_count == images.thumbnail_limit, timeout=WAIT_MS)
    icons = [images.tree.topLevelItem(i).icon(0) for i in range(images.tree.topLevelItemCount())]
    assert sum(not icon.isNull() for icon in icons) == images.thumbnail_limit
    assert not open_error_boxes()


def test_going_back_uses_the_cache_and_a_changed_file_is_read_again(qtbot, window, demo):
    open_and_wait(qtbot, window, demo.root)
    first = window.current
    step(qtbot, window)
    with qtbot.waitSignal(window.fullyLoaded, timeout=WAIT_MS):
        window.actions.previous_image.trigger()
    assert window.current is first  # the same decoded image and pyramid, not a new read
    assert window.view.fully_rendered

    step(qtbot, window)
    changed = make_panorama(200, 100, seed=99).pixels
    write_exr(first.path, changed)  # the panorama was re-exported meanwhile
    with qtbot.waitSignal(window.fullyLoaded, timeout=WAIT_MS):
        window.actions.previous_image.trigger()
    assert window.current is not first
    assert window.view.image_size == (200, 100)
    np.testing.assert_allclose(window.view.full_resolution_pixels().astype(np.float32),
                               changed.astype(np.float16).astype(np.float32), rtol=1e-3, atol=1e-4)


def test_image_cache_limits_alone():
    """Entries and bytes both bind; an image bigger than the whole budget is not kept."""

    class Fake:  # only what the cache reads: a path to stat and a size
        def __init__(self, path, nbytes):
            self.path, self.nbytes = path, nbytes

    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / f"p{i}.exr" for i in range(6)]
        for p in paths:
            p.write_bytes(b"x")
        cache = ImageCache(max_entries=3, max_bytes=250)
        for p in paths:
            cache.put(Fake(p, 100))
            assert len(cache) <= 2 and cache.nbytes <= 250
        assert cache.get(paths[-1]) is not None and cache.get(paths[0]) is None
        cache.put(Fake(paths[0], 1000))
        assert cache.get(paths[0]) is None and len(cache) == 2
        paths[-1].write_bytes(b"changed")
        assert cache.get(paths[-1]) is None  # another version of the file


def test_500_edits_with_undo_and_redo_through_the_editor(qtbot, window, demo):
    open_and_wait(qtbot, window, demo.root)
    editor, stack, labels = window.editor, window.undo_stack, window.session.labels
    assert editor is not None and editor.annotations()
    original = coco_dict(labels)
    items_before = scene_item_count(window)
    rng = random.Random(0)
    width, height = window.current.width, window.current.height
    pushed = 0
    while pushed < EDITS:
        ann = rng.choice(editor.annotations())
        ring = ann.polygons[0].outer
        v = rng.randrange(len(ring))
        x = float(np.clip(ring[v, 0] + rng.uniform(-3, 3), 0, width))
        y = float(np.clip(ring[v, 1] + rng.uniform(-3, 3), 0, height))
        edit = commands.move_vertex(labels, ann.id, 0, 0, v, (x, y))
        assert editor.push(edit, "Move vertex")
        pushed += 1
        if pushed % 25 == 0:  # the artist undoes a few steps and redoes them
            for _ in range(10):
                stack.undo()
            for _ in range(10):
                stack.redo()
    assert stack.count() == EDITS and stack.index() == EDITS
    qtbot.wait(LABEL_SETTLE_MS)
    after = coco_dict(labels)
    assert after != original
    assert scene_item_count(window) <= items_before + 2  # the editor reuses its items
    stack.setIndex(0)  # undo everything
    assert coco_dict(labels) == original
    stack.setIndex(EDITS)  # and redo everything
    assert coco_dict(labels) == after
    ann = editor.annotations()[0]
    drawn = editor.item(ann.id)
    assert drawn is not None and drawn.scene() is window.view.scene()
    assert window.session.dirty
    assert not open_error_boxes()

