"""Annotation paths on full 8K panoramas.

- mask -> polygons (holes kept, seam-safe, half-pixel exact) of an 8192x4096 sky mask
  with a detailed procedural skyline (buildings, jagged trees, birds as holes).
  Baseline, same process: bare cv2.findContours(RETR_EXTERNAL) + approxPolyDP, the
  usual outer-only tracing. Target: under 1 s.
- polygons -> mask of the result (exactly pycocotools' pixels, holes subtracted).
  Baseline: pycocotools' own COCO.annToMask route (frPyObjects, merge, decode) on the
  outer rings, with a C-ordered copy as numpy/OpenCV code needs. Target: under 1 s.
- one brush stroke (paint_edit: rasterise the sky, paint, trace back with holes) on
  the 8K skyline. Baseline: polygons -> mask alone (the part any mask edit needs).
- load and save a COCO file of 75 panoramas x 200 polygons (the report's dataset size).
  Baseline: json.load / json.dump of the same file.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import cv2
import numpy as np
from pycocotools import mask as coco_mask

from benchmarks._table import Row, peak_rss_mb, timed
from skysegui.core.annotations import (
    Annotation,
    AnnotationSet,
    Category,
    ImageRecord,
    Polygon,
    load_labels,
    mask_to_polygons,
    paint_edit,
    polygons_to_mask,
    save_coco,
)

W, H = 8192, 4096
BENCH = "annotations"


def skyline_mask(width: int = W, height: int = H, seed: int = 0) -> np.ndarray:
    """A detailed procedural sky: rolling hills, ~200 buildings, tree noise, birds."""
    rng = np.random.default_rng(seed)
    x = np.arange(width)
    horizon = 0.55 * height + 0.05 * height * np.sin(x / width * 2 * np.pi * 3)
    for _ in range(width // 40):
        x0, bw = rng.integers(0, width), rng.integers(width // 400 + 2, width // 40)
        horizon[x0:x0 + bw] = np.minimum(horizon[x0:x0 + bw], 0.6 * height - rng.uniform(0.02, 0.25) * height)
    horizon += rng.normal(0, height * 0.002, width).cumsum() * 0.1   # slow drift
    horizon += rng.normal(0, 3.0, width)                              # tree-top jitter
    mask = (np.arange(height)[:, None] < horizon[None, :]).astype(np.uint8)
    for _ in range(300):
        cx, cy, r = rng.integers(0, width), rng.integers(0, int(0.3 * height)), rng.integers(2, 25)
        mask[max(0, cy - r):cy + r, max(0, cx - r):cx + r] = 0
    return mask


def _baseline_trace(mask):
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [cv2.approxPolyDP(c, 1.0, True) for c in contours]


def _baseline_raster(polygons, h, w):
    rles = coco_mask.frPyObjects([p.outer.reshape(-1).tolist() for p in polygons], h, w)
    return np.ascontiguousarray(coco_mask.decode(coco_mask.merge(rles)))


def _big_coco(images=75, per_image=200, seed=1) -> AnnotationSet:
    rng = np.random.default_rng(seed)
    labels = AnnotationSet(extra={"info": {"description": "benchmark"}})
    labels.categories = {1: Category(1, "sky"), 2: Category(2, "non-sky")}
    aid = 1
    for i in range(1, images + 1):
        labels.images[i] = ImageRecord(i, f"pano_{i:03d}.exr", W, H)
        for _ in range(per_image):
            n = int(rng.integers(8, 60))
            cx, cy = rng.uniform(200, W - 200), rng.uniform(200, H - 200)
            angles = np.sort(rng.uniform(0, 2 * np.pi, n))
            radius = rng.uniform(20, 150) * rng.uniform(0.6, 1.0, n)
            ring = np.round(np.c_[cx + radius * np.cos(angles), cy + radius * np.sin(angles)], 2)
            labels.annotations[aid] = Annotation(aid, i, int(rng.integers(1, 3)), [Polygon(ring)])
            aid += 1
    return labels


def run() -> list[Row]:
    rows: list[Row] = []
    mask = skyline_mask()
    base_t, _ = timed(lambda: _baseline_trace(mask), repeat=2)
    t, polygons = timed(lambda: mask_to_polygons(mask), repeat=2)
    rows.append(Row(BENCH, "mask->polygons 8K skyline", t, "s", "findContours outer only",
                    t / base_t, "< 1 s", t < 1.0))
    back = polygons_to_mask(polygons, H, W)
    iou = float((back & mask).sum() / (back | mask).sum())
    rows.append(Row(BENCH, "  round-trip IoU (tolerance 1 px)", iou, "", "", None, ">= 0.995", iou >= 0.995))
    rows.append(Row(BENCH, "  vertices / holes", float(sum(len(r) for p in polygons for r in p.rings())),
                    f"vtx, {sum(len(p.holes) for p in polygons)} holes"))
    base_t, _ = timed(lambda: _baseline_raster(polygons, H, W), repeat=2)
    t, _ = timed(lambda: polygons_to_mask(polygons, H, W), repeat=2)
    rows.append(Row(BENCH, "polygons->mask 8K (holes)", t, "s", "pycocotools annToMask",
                    t / base_t, "< 1 s", t < 1.0))
    base_t = t

    sky = AnnotationSet()
    sky.categories = {1: Category(1, "sky"), 2: Category(2, "non-sky")}
    sky.images = {1: ImageRecord(1, "pano.exr", W, H)}
    sky.annotations = {1: Annotation(1, 1, 1, polygons)}
    stroke = np.zeros((H, W), np.uint8)
    cv2.line(stroke, (3000, 2300), (3600, 2500), 1, 120)
    t, edit = timed(lambda: paint_edit(sky, 1, stroke), repeat=1)
    edit.apply(sky)
    rows.append(Row(BENCH, "brush stroke on 8K sky (paint_edit)", t, "s", "polygons->mask",
                    t / base_t, "", None))

    labels = _big_coco()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "labels.json"
        t_save, _ = timed(lambda: save_coco(labels, path), repeat=1)
        data = json.loads(path.read_text())
        base_save, _ = timed(lambda: path.with_suffix(".raw").write_text(json.dumps(data)), repeat=1)
        rows.append(Row(BENCH, "save COCO 75 x 200 polygons", t_save, "s", "json.dump",
                        t_save / base_save, "", None))
        base_load, _ = timed(lambda: json.loads(path.read_text()), repeat=1)
        t_load, result = timed(lambda: load_labels(path), repeat=1)
        assert len(result.labels.annotations) == len(labels.annotations)
        rows.append(Row(BENCH, "load COCO 75 x 200 polygons", t_load, "s", "json.load",
                        t_load / base_load, "", None))
        rows.append(Row(BENCH, "  file size", path.stat().st_size / 1e6, "MB"))
    rows.append(Row(BENCH, "peak memory", peak_rss_mb(), "MB"))
    return rows
