"""A long editing session on the core objects: memory must stay bounded.

- 500 edits (move, add and delete vertices, move annotations, change categories) on a big
  label set (75 panoramas x 12 polygons x 800 vertices), kept on an undo stack, with
  undo/redo cycles (revert then apply again) every 25 edits. Baseline: the resident memory
  after loading the labels. Target: the 500 edits (and their undo data) add less than
  50 % of that, and undoing everything gives back the original labels exactly.
- switching through 50 small panoramas (1024 x 512 EXR): read, build the display pyramid,
  render a view, with the last 4 kept in a size-limited cache as the viewer does.
  Baseline: resident memory after the first 10 panoramas. Target: after 50 it has grown
  by less than 10 % (nothing leaks per image).
Peak resident memory of the whole run is printed as its own row.
"""

from __future__ import annotations

import gc
import random
import tempfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

from benchmarks._common import current_rss_mb, growth_row
from benchmarks._table import Row, peak_rss_mb, timed
from skysegui.core.annotations import (
    AddVertex,
    Annotation,
    AnnotationSet,
    Category,
    DeleteVertex,
    ImageRecord,
    MoveAnnotation,
    MoveVertex,
    Polygon,
    SetCategory,
    coco_dict,
)
from skysegui.core.imageio import read_image, write_exr
from skysegui.core.pyramid import DisplayPyramid
from skysegui.core.tonemap import ToneSettings

BENCH = "long_session_core"
EDITS = 500
PANORAMAS = 50
CACHE_SIZE = 4


def big_labels(images: int = 75, per_image: int = 12, vertices: int = 800) -> AnnotationSet:
    """75 panoramas x 12 polygons of 800 vertices (the report's dataset size, detailed skies)."""
    labels = AnnotationSet()
    labels.categories[1] = Category(1, "sky")
    labels.categories[2] = Category(2, "non-sky")
    t = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    aid = 1
    for i in range(1, images + 1):
        labels.images[i] = ImageRecord(i, f"pano{i:03d}.exr", 2048, 1024)
        for k in range(per_image):
            ring = np.stack([1024 + (90 + k) * np.cos(t) + 60 * k, 512 + 90 * np.sin(t)], axis=1)
            labels.annotations[aid] = Annotation(aid, i, 1 + k % 2, [Polygon(ring)])
            aid += 1
    return labels


def random_edit(labels, rng: random.Random):
    aid = rng.choice(list(labels.annotations))
    ring = labels.annotations[aid].polygons[0].outer
    kind = rng.randrange(5)
    x, y = rng.uniform(0, 2048), rng.uniform(0, 1024)
    if kind == 0:
        return MoveVertex(aid, 0, 0, rng.randrange(len(ring)), (x, y))
    if kind == 1:
        return AddVertex(aid, 0, 0, rng.randrange(len(ring) + 1), (x, y))
    if kind == 2 and len(ring) > 3:
        return DeleteVertex(aid, 0, 0, rng.randrange(len(ring)))
    if kind == 3:
        return MoveAnnotation(aid, rng.uniform(-5, 5), rng.uniform(-5, 5))
    return SetCategory(aid, 2 if labels.annotations[aid].category_id == 1 else 1)


def edit_session(labels, rng: random.Random) -> list:
    """EDITS edits with an undo/redo cycle of the last ten every 25 edits."""
    stack = []
    for n in range(EDITS):
        edit = random_edit(labels, rng)
        edit.apply(labels)
        stack.append(edit)
        if n % 25 == 24:
            for e in reversed(stack[-10:]):
                e.revert(labels)
            for e in stack[-10:]:
                e.apply(labels)
    return stack


def write_panoramas(folder: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(PANORAMAS):
        sky = np.linspace(4.0, 0.05, 512, dtype=np.float32)[:, None, None]
        pixels = (sky * rng.uniform(0.7, 1.3, (512, 1024, 3))).astype(np.float32)
        path = folder / f"pano{i:02d}.exr"
        write_exr(path, pixels)
        paths.append(path)
    return paths


def switch_through(paths: list[Path]) -> list[float]:
    """Open each panorama as the viewer does; RSS after each one."""
    cache: OrderedDict[Path, DisplayPyramid] = OrderedDict()
    settings = ToneSettings(exposure=-1.0)
    rss = []
    for path in paths:
        image = read_image(path, dtype=np.float16)
        pyramid = DisplayPyramid(image.pixels)
        pyramid.render(settings, scale=0.5)
        cache[path] = pyramid
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
        del image, pyramid
        gc.collect()
        rss.append(current_rss_mb())
    return rss


def run() -> list[Row]:
    rows: list[Row] = []
    labels = big_labels()
    original = coco_dict(labels)
    gc.collect()
    base = current_rss_mb()
    vertices = sum(len(a.polygons[0].outer) for a in labels.annotations.values())
    seconds, stack = timed(lambda: edit_session(labels, random.Random(0)))
    gc.collect()
    after_edits = current_rss_mb()
    rows.append(growth_row(BENCH, f"{EDITS} edits + undo/redo on {vertices:,} vertices: RSS",
                           after_edits, base, "after loading", 1.5))
    rows.append(Row(BENCH, f"{EDITS} edits + undo/redo: time per edit", 1000 * seconds / EDITS, "ms"))
    for edit in reversed(stack):
        edit.revert(labels)
    exact = coco_dict(labels) == original
    rows.append(Row(BENCH, "undo all 500 edits gives the original labels", float(exact), "bool",
                    target="1", ok=exact))
    del stack
    gc.collect()

    with tempfile.TemporaryDirectory() as tmp:
        paths = write_panoramas(Path(tmp))
        gc.collect()
        seconds, rss = timed(lambda: switch_through(paths))
    after10, after50 = rss[9], rss[-1]
    rows.append(growth_row(BENCH, f"switch through {PANORAMAS} panoramas (cache {CACHE_SIZE}): RSS",
                           after50, after10, "after 10:", 1.1))
    rows.append(Row(BENCH, "open + pyramid + view per 1024x512 panorama", 1000 * seconds / PANORAMAS, "ms"))
    rows.append(Row(BENCH, "peak resident memory of the session", peak_rss_mb(), "MB"))
    return rows
