"""Label Studio's native JSON export (a list of tasks, points in percent) as COCO data.

Each task's image becomes an image entry; each polygonlabels (and rectanglelabels)
result becomes an annotation in pixels of `original_width` x `original_height`. Old
exports without those sizes keep the percentages as coordinates of a 100 x 100 image,
which the COCO reader rescales to the real size read from disk like any proxy. Each
brushlabels result (Label Studio's own RLE, brush_rle.py) becomes a COCO RLE, which the
COCO reader traces into polygons with holes. A task without annotations uses its last
prediction (pre-annotations such as ours, labelstudio_export.py), with a warning.
Categories are numbered by sorted name from 1; roles are decided by name anyway.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from skysegui.core.annotations.names import IMAGE_EXTENSIONS
from skysegui.core.annotations.validate import MAX_PIXELS, Problems, as_id, as_number_list, as_size


def looks_like_label_studio(data: Any) -> bool:
    """A list of tasks (dicts with "data"), or one such task."""
    if isinstance(data, dict):
        return "data" in data and any(k in data for k in ("annotations", "completions", "predictions"))
    return isinstance(data, list) and bool(data) and all(
        isinstance(t, dict) and "data" in t for t in data
    )


def _image_url(task_data: Any, to_name: str | None) -> str | None:
    if not isinstance(task_data, dict):
        return None
    if isinstance(to_name, str) and isinstance(task_data.get(to_name), str):
        return task_data[to_name]
    if isinstance(task_data.get("image"), str):
        return task_data["image"]
    for value in task_data.values():
        if isinstance(value, str) and value.lower().split("?")[0].endswith(IMAGE_EXTENSIONS):
            return value
    return None


PERCENT_SIZE = (100, 100)


def _size(result: dict) -> tuple[int, int]:
    w, h = as_size(result.get("original_width")), as_size(result.get("original_height"))
    return (w, h) if w is not None and h is not None else PERCENT_SIZE


def _points(result: dict) -> list[float] | None:
    """Flat pixel coordinates of a polygon or rectangle result, or None."""
    value = result.get("value")
    w, h = _size(result)
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("points"), list):
        flat = as_number_list([c for p in value["points"] if isinstance(p, list) for c in p])
        if flat is None or len(flat) % 2:
            return None
        with np.errstate(over="ignore"):  # absurd values become inf: validation skips them
            xy = flat.reshape(-1, 2) / 100.0 * (w, h)
        return [float(v) for v in xy.reshape(-1)]
    box = as_number_list([value.get(k) for k in ("x", "y", "width", "height")])
    if box is None:
        return None
    with np.errstate(over="ignore"):
        x, y, bw, bh = box / 100.0 * (w, h, w, h)
    rotation = as_number_list([value.get("rotation") or 0])
    if rotation is None:
        return None
    angle = math.radians(float(rotation[0]))
    c, s = math.cos(angle), math.sin(angle)
    corners = [(0, 0), (bw, 0), (bw, bh), (0, bh)]  # rotated about the top-left corner
    return [v for dx, dy in corners for v in (x + dx * c - dy * s, y + dx * s + dy * c)]


def _brush(result: dict) -> dict | None:
    """COCO RLE of a brush result (its alpha at least half), or None if unusable."""
    from skysegui.core.annotations.brush_rle import BrushRleError, decode_mask
    from skysegui.core.annotations.rle import mask_to_rle

    value = result.get("value") if isinstance(result.get("value"), dict) else {}
    rle = value.get("rle", result.get("rle"))
    w, h = as_size(result.get("original_width")), as_size(result.get("original_height"))
    if not isinstance(rle, list) or w is None or h is None or w * h > MAX_PIXELS:
        return None
    try:
        return mask_to_rle(decode_mask(rle, w, h))
    except BrushRleError:
        return None


def _chosen_results(task: dict, problems: Problems, where: str) -> list | None:
    """The result list of the task's last usable annotation; a task with none uses its
    last prediction (pre-annotations, e.g. ours) and says so; None when it has neither."""
    runs = task.get("annotations", task.get("completions"))
    predictions = task.get("predictions")
    if not isinstance(runs, list) and not isinstance(predictions, list):
        problems.warn(where, "has no annotations list; skipped")
        return None

    def usable(items) -> list[dict]:
        return [a for a in items if isinstance(a, dict) and not a.get("was_cancelled")
                and isinstance(a.get("result"), list)] if isinstance(items, list) else []

    done = usable(runs)
    if len(done) > 1:
        problems.warn(where, f"has {len(done)} annotations; using the last one")
    if done:
        return done[-1]["result"]
    guesses = usable(predictions)
    if guesses:
        version = guesses[-1].get("model_version")
        problems.warn(where, "has no annotation; its prediction" + (f" ({version})" if version else "")
                      + " is used as its labels")
        return guesses[-1]["result"]
    return []


SHAPE_TYPES = ("polygonlabels", "rectanglelabels", "brushlabels")


def tasks_to_coco(data: Any, problems: Problems) -> dict[str, Any]:
    tasks = [data] if isinstance(data, dict) else data
    images: list[dict] = []
    raw: list[tuple[Any, str, Any, dict]] = []
    names: set[str] = set()
    for n, task in enumerate(tasks):
        tid = as_id(task.get("id"))
        tid = n if tid is None else tid
        where = f"task {tid!r}"
        results = _chosen_results(task, problems, where)
        if results is None:
            continue
        size = None
        image_url = None
        for r in results:
            if not isinstance(r, dict):
                problems.warn(where, "a result is not an object; skipped")
                continue
            image_url = image_url or _image_url(task.get("data"), r.get("to_name"))
            kind = r.get("type")
            value = r.get("value") if isinstance(r.get("value"), dict) else {}
            labels = value.get(kind) if isinstance(kind, str) else None
            if kind not in SHAPE_TYPES:
                if kind is not None and kind not in ("polygon", "brush"):
                    problems.warn(where, f"result type {kind!r} is neither a polygon nor a brush; skipped")
                continue
            if not isinstance(labels, list) or not labels or not isinstance(labels[0], str):
                problems.warn(where, f"result {r.get('id')!r} has no label; skipped")
                continue
            if kind == "brushlabels":
                segmentation = _brush(r)
                if segmentation is None:
                    problems.warn(where, f"brush result {r.get('id')!r} has an unusable rle or no "
                                         "original_width/height; skipped")
                    continue
            else:
                points = _points(r)
                if points is None:
                    problems.warn(where, f"result {r.get('id')!r} has unusable points or size; skipped")
                    continue
                segmentation = [points]
                if _size(r) == PERCENT_SIZE and size is None:
                    problems.warn(where, "results have no original_width/height; the size of the "
                                         "image on disk is used (pass the images folder)")
            size = size or _size(r)
            names.add(labels[0])
            raw.append((tid, labels[0], segmentation, {"label_studio_result_id": r.get("id")}))
        image_url = image_url or _image_url(task.get("data"), None)
        if image_url is None:
            problems.warn(where, "has no image URL in its data; skipped")
            continue
        entry: dict[str, Any] = {"id": tid, "file_name": image_url}
        if size is not None:
            entry["width"], entry["height"] = size
        images.append(entry)
    category_ids = {name: i + 1 for i, name in enumerate(sorted(names))}
    annotations = [
        {"id": i + 1, "image_id": tid, "category_id": category_ids[name],
         "segmentation": segmentation, "iscrowd": 0,
         **{k: v for k, v in extra.items() if v is not None}}
        for i, (tid, name, segmentation, extra) in enumerate(raw)
    ]
    categories = [{"id": cid, "name": name} for name, cid in category_ids.items()]
    return {"images": images, "annotations": annotations, "categories": categories}
