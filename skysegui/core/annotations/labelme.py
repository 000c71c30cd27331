"""labelme JSON (one file per image, beside it) <-> our labels.

Read: polygon, rectangle, circle (a 64-gon) and mask shapes (labelme >= 5.3: a
base64 PNG over the shape's box) become COCO data that the COCO reader checks like any
other file; lines and points are skipped with a warning. labelme has no holes: ours are
written as shapes of their own with the opposite label, in the group (group_id) of
their polygon (cutouts.py); read back, a shape lying in the first shape of its group
(of the opposite label) is its hole, and in files without groups a non-sky polygon
lying in a sky polygon is.
Coordinates are used as they are, as labelme's own labelme2coco does (continuous
pixels, x in 0..width).
Write: one <image stem>.json per labelled image, its imagePath relative to the file.
"""

from __future__ import annotations

import base64
import json
import math
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from skysegui.core.annotations.cutouts import GROUP_KEY, image_shapes
from skysegui.core.annotations.model import AnnotationSet, Id
from skysegui.core.annotations.names import base_name
from skysegui.core.annotations.rle import mask_to_rle
from skysegui.core.annotations.validate import MAX_PIXELS, Problems, as_number_list, as_size
from skysegui.core.atomicio import write_text_atomic
from skysegui.core.errors import SaveError

LABELME_VERSION = "5.5.0"
CIRCLE_VERTICES = 64


def looks_like_labelme(data: Any) -> bool:
    """One labelme file: an object with a "shapes" list and the image's path or size."""
    return isinstance(data, dict) and isinstance(data.get("shapes"), list) and (
        "imagePath" in data or "imageHeight" in data
    )


def _points(shape: dict) -> np.ndarray | None:
    flat = as_number_list([c for p in shape.get("points") or [] if isinstance(p, list) for c in p])
    if flat is None or len(flat) % 2:
        return None
    return flat.reshape(-1, 2)


def _ring(shape: dict, kind: str) -> list[float] | None:
    """Flat ring of a polygon, rectangle or circle shape, or None."""
    pts = _points(shape)
    if pts is None:
        return None
    if kind == "rectangle" and len(pts) == 2:
        (x0, y0), (x1, y1) = pts
        pts = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    elif kind == "circle" and len(pts) == 2:
        (cx, cy), (px, py) = pts
        r = math.hypot(px - cx, py - cy)
        t = np.linspace(0.0, 2.0 * np.pi, CIRCLE_VERTICES, endpoint=False)
        pts = np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1)
    return pts.reshape(-1).tolist()


def _mask_rle(shape: dict, width: int | None, height: int | None) -> dict | None:
    """COCO RLE of a mask shape (its PNG placed at the box's top-left corner), or None."""
    pts = _points(shape)
    data = shape.get("mask")
    if pts is None or len(pts) < 1 or not isinstance(data, str) or width is None or height is None:
        return None
    try:
        png = np.frombuffer(base64.b64decode(data, validate=False), np.uint8)
        small = cv2.imdecode(png, cv2.IMREAD_UNCHANGED)
    except (ValueError, cv2.error):
        return None
    if small is None or width * height > MAX_PIXELS:
        return None
    if small.ndim == 3:
        small = small[..., 0]
    mask = np.zeros((height, width), np.uint8)
    x0, y0 = int(pts[0][0]), int(pts[0][1])
    h = max(0, min(small.shape[0], height - y0))
    w = max(0, min(small.shape[1], width - x0))
    if x0 < 0 or y0 < 0:
        return None
    mask[y0:y0 + h, x0:x0 + w] = small[:h, :w] != 0
    return mask_to_rle(mask)


def labelme_to_coco(files: list[tuple[str, dict]], problems: Problems) -> dict[str, Any]:
    """COCO data of labelme files [(where, data), ...]: one image per file."""
    images: list[dict] = []
    annotations: list[dict] = []
    names: dict[str, int] = {}
    for index, (source, data) in enumerate(files, start=1):
        where = Path(source).name if source != problems.source else ""
        image_path = data.get("imagePath")
        if not isinstance(image_path, str) or not image_path.strip():
            image_path = Path(source).stem + ".png"
            problems.warn(where, f'has no "imagePath"; the image is taken to be named {Path(image_path).stem!r}')
        width, height = as_size(data.get("imageWidth")), as_size(data.get("imageHeight"))
        entry: dict[str, Any] = {"id": index, "file_name": base_name(image_path)}
        if width is not None and height is not None:
            entry["width"], entry["height"] = width, height
        images.append(entry)
        for n, shape in enumerate(data["shapes"]):
            if not isinstance(shape, dict):
                problems.warn(where, f"shape #{n} is not an object; skipped")
                continue
            label = shape.get("label")
            kind = shape.get("shape_type") or "polygon"
            if not isinstance(label, str) or not label:
                problems.warn(where, f"shape #{n} has no label; skipped")
                continue
            if kind == "mask":
                segmentation: Any = _mask_rle(shape, width, height)
            elif kind in ("polygon", "rectangle", "circle"):
                ring = _ring(shape, kind)
                segmentation = None if ring is None else [ring]
            else:
                problems.warn(where, f"shape #{n} ({label!r}) is a {kind}, not an area; skipped")
                continue
            if segmentation is None:
                problems.warn(where, f"shape #{n} ({label!r}) has unusable points or mask; skipped")
                continue
            cid = names.setdefault(label, len(names) + 1)
            entry = {"id": len(annotations) + 1, "image_id": index, "category_id": cid,
                     "segmentation": segmentation, "iscrowd": 0}
            if isinstance(shape.get("group_id"), int) and not isinstance(shape["group_id"], bool):
                entry[GROUP_KEY] = shape["group_id"]
            annotations.append(entry)
    categories = [{"id": cid, "name": name} for name, cid in names.items()]
    return {"images": images, "annotations": annotations, "categories": categories}


def read_labelme_files(path: Path, problems: Problems) -> list[tuple[str, dict]]:
    """[(file, data)] of one labelme file, or of every labelme file in a folder."""
    from skysegui.core.annotations.load import read_json

    if not path.is_dir():
        return [(str(path), read_json(path))]
    files = []
    for child in sorted(path.glob("*.json")):
        if child.name.startswith(".") or child.name.endswith((".coco.json", ".autosave.json")):
            continue  # hidden, or our own COCO saved beside a labelme file and its autosave
        data = read_json(child)
        if looks_like_labelme(data):
            files.append((str(child), data))
        else:
            problems.warn(child.name, "is not a labelme file; skipped")
    if not files:
        raise problems.fail("holds no labelme JSON files (objects with \"shapes\" and "
                            "\"imagePath\"); choose the folder labelme saved them in")
    return files


def labelme_dict(labels: AnnotationSet, image_id: Id, image_path: str,
                 warnings: list[str] | None = None) -> dict[str, Any]:
    """The labelme file of one image; `image_path` as labelme stores it (relative)."""
    image = labels.images[image_id]
    shapes = [{"label": s.label, "points": np.asarray(s.ring, dtype=np.float64).tolist(),
               "group_id": s.group, "description": "", "shape_type": "polygon", "flags": {},
               "mask": None}
              for s in image_shapes(labels, image_id, warnings)]
    return {"version": LABELME_VERSION, "flags": {}, "shapes": shapes, "imagePath": image_path,
            "imageData": None, "imageHeight": int(image.height), "imageWidth": int(image.width)}


def save_labelme(labels: AnnotationSet, out_dir: str | Path, only_labelled: bool = True,
                 warnings: list[str] | None = None) -> list[Path]:
    """One <stem>.json per (labelled) image in `out_dir` (created); returns the files."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SaveError(f"cannot create the folder {out_dir}: {exc.strerror or exc}") from exc
    written = []
    used: set[str] = set()
    for image_id, image in labels.images.items():
        if only_labelled and not labels.is_labelled(image_id):
            continue
        if image.path is not None:
            rel = os.path.relpath(image.path, out_dir).replace(os.sep, "/")
            stem = image.path.stem
        else:
            rel = base_name(image.file_name)
            stem = Path(rel).stem
        while stem.casefold() in used:  # two images of one stem (an EXR and its JPG proxy)
            stem += "_"
        used.add(stem.casefold())
        target = out_dir / f"{stem}.json"
        data = labelme_dict(labels, image_id, rel, warnings)
        write_text_atomic(target, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        written.append(target)
    return written
