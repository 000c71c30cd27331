"""Our labels and predictions as Label Studio pre-annotations: a tasks JSON whose tasks
carry "predictions" (model_version, score, result), which Label Studio imports as
pre-annotations a team reviews and submits without leaving Label Studio.

A result is either polygons (polygonlabels, points in percent of original_width x
original_height) or one brush (brushlabels, Label Studio's RLE from brush_rle.py).
Label Studio polygons have no holes: a hole is written as a polygon of its own with the
opposite label ("non-sky" in a sky polygon) right after it (cutouts.py), the pipeline's
convention (class 2 is cut out of the sky), so every mask made from the file, ours
included, is the same; reading it back gives a non-sky annotation where the hole was. Brush results keep holes as pixels. Task data names the image by its file
name (or the Label Studio URL it came from), prefixed with `url_prefix` when given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from skysegui.core.annotations.brush_rle import encode_mask
from skysegui.core.annotations.categories import SKY
from skysegui.core.annotations.cutouts import Shape, image_shapes
from skysegui.core.annotations.model import AnnotationSet
from skysegui.core.annotations.raster import sky_mask
from skysegui.core.annotations.vectorize import DEFAULT_TOLERANCE, mask_to_polygons
from skysegui.core.atomicio import write_text_atomic

LABELS_VERSION = "skysegui labels"  # model_version of pre-annotations made from labels


@dataclass(frozen=True)
class LabelStudioNames:
    """The names in the team's labeling config that results must use."""

    from_name: str = "label"   # the PolygonLabels / BrushLabels tag's name
    to_name: str = "image"     # the Image tag's name
    data_key: str = "image"    # the task data field of the image ($image)
    url_prefix: str = ""       # e.g. "/data/local-files/?d=panoramas/"
    sky: str = "sky"
    non_sky: str = "non-sky"


def _image_url(file_name: str, names: LabelStudioNames) -> str:
    if "/" in file_name or "\\" in file_name:
        return file_name  # already a Label Studio URL or path (labels imported from it)
    return names.url_prefix + file_name


def _polygon_result(ring: np.ndarray, label: str, width: int, height: int,
                    names: LabelStudioNames, rid: str) -> dict[str, Any]:
    points = (np.asarray(ring, dtype=np.float64) / (width, height) * 100.0).tolist()
    return {
        "id": rid, "type": "polygonlabels", "from_name": names.from_name, "to_name": names.to_name,
        "original_width": int(width), "original_height": int(height), "image_rotation": 0,
        "value": {"points": points, "closed": True, "polygonlabels": [label]},
    }


def _brush_result(mask: np.ndarray, label: str, names: LabelStudioNames, rid: str) -> dict[str, Any]:
    height, width = mask.shape
    return {
        "id": rid, "type": "brushlabels", "from_name": names.from_name, "to_name": names.to_name,
        "original_width": int(width), "original_height": int(height), "image_rotation": 0,
        "value": {"format": "rle", "rle": encode_mask(mask), "brushlabels": [label]},
    }


def polygon_results(shapes: list[Shape], width: int, height: int,
                    names: LabelStudioNames) -> list[dict[str, Any]]:
    """One polygonlabels result per shape (holes already shapes of their own: cutouts.py)."""
    return [_polygon_result(shape.ring, shape.label, width, height, names, f"r{n}")
            for n, shape in enumerate(shapes)]


def _task(url: str, results: list[dict], model_version: str, score: float | None,
          names: LabelStudioNames) -> dict[str, Any]:
    prediction: dict[str, Any] = {"model_version": model_version, "result": results}
    if score is not None:
        prediction["score"] = float(score)
    return {"data": {names.data_key: url}, "predictions": [prediction]}


def labels_to_tasks(labels: AnnotationSet, brush: bool = False, model_version: str = LABELS_VERSION,
                    names: LabelStudioNames = LabelStudioNames(), only_labelled: bool = True,
                    warnings: list[str] | None = None) -> list[dict[str, Any]]:
    """One task per image (labelled images only, unless `only_labelled` is False), its
    labels as one prediction of score 1. Brush: the sky mask (non-sky cut out), one result."""
    tasks = []
    for image_id, image in labels.images.items():
        if only_labelled and not labels.is_labelled(image_id):
            continue
        w, h = int(image.width), int(image.height)
        if brush:
            mask = sky_mask(labels, image_id)
            results = [_brush_result(mask, _name(labels, SKY, names), names, "r0")] if mask.any() else []
        else:
            results = polygon_results(image_shapes(labels, image_id, warnings), w, h, names)
        tasks.append(_task(_image_url(image.file_name, names), results, model_version, 1.0, names))
    return tasks


def _name(labels: AnnotationSet, role: int, names: LabelStudioNames) -> str:
    cid = labels.category_for_role(role)
    return labels.categories[cid].name if cid is not None else names.sky


def mask_to_task(file_name: str, mask: np.ndarray, model_version: str, score: float | None = None,
                 brush: bool = False, names: LabelStudioNames = LabelStudioNames(),
                 tolerance: float = DEFAULT_TOLERANCE) -> dict[str, Any]:
    """A task whose prediction is a sky mask (a model's prediction): traced polygons with
    holes (error-bounded, vectorize.py) or one brush."""
    mask = (np.asarray(mask) != 0).astype(np.uint8)
    height, width = mask.shape
    if brush:
        results = [_brush_result(mask, names.sky, names, "r0")] if mask.any() else []
    else:
        shapes = []
        for polygon in mask_to_polygons(mask, tolerance=tolerance):
            shapes.append(Shape(names.sky, polygon.outer))
            shapes.extend(Shape(names.non_sky, hole, hole=True) for hole in polygon.holes)
        results = polygon_results(shapes, width, height, names)
    return _task(_image_url(file_name, names), results, model_version, score, names)


def confidence(prob: np.ndarray) -> float:
    """The score of a prediction: mean |2p - 1|, 1 where the model is sure everywhere and
    0 where it hesitates everywhere (1 - the mean uncertainty the window sorts by)."""
    prob = np.clip(np.asarray(prob, dtype=np.float32), 0.0, 1.0)
    return float(np.abs(2.0 * prob - 1.0).mean()) if prob.size else 0.0


def prediction_tasks(image_paths: list[Path], predictions_dir: str | Path,
                     model_version: str | None = None, brush: bool = False,
                     names: LabelStudioNames = LabelStudioNames(),
                     warnings: list[str] | None = None) -> list[dict[str, Any]]:
    """One task per image that has a saved prediction (core/predictions.py): its mask as
    the result, its confidence (from the probability map, when saved) as the score, and
    what made it (a model, or "auto sky") as model_version unless one is given."""
    from skysegui.core.export.sources import read_plane, read_probability
    from skysegui.core.predictions import prediction_paths, read_source

    tasks = []
    for image_path in image_paths:
        paths = prediction_paths(predictions_dir, image_path)
        if not paths.exists():
            if warnings is not None:
                warnings.append(f"{Path(image_path).name}: no prediction in {predictions_dir}; skipped")
            continue
        mask = read_plane(paths.mask) >= 128
        score = confidence(read_probability(paths.prob)) if paths.prob is not None else None
        source, _note = read_source(paths)
        version = model_version or (f"skysegui {source}" if source else "skysegui model")
        tasks.append(mask_to_task(Path(image_path).name, mask, version, score, brush, names))
    return tasks


def save_tasks(tasks: list[dict[str, Any]], path: str | Path) -> None:
    """Write the tasks JSON atomically (the previous file is kept as <name>.bak)."""
    write_text_atomic(Path(path), json.dumps(tasks, ensure_ascii=False) + "\n", keep_backup=True)
