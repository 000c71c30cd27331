"""CVAT for images 1.1 XML <-> our labels.

Read: <image name width height> with <polygon points="x,y;...">, <box xtl ytl xbr ybr
rotation> and <mask rle left top width height> (CVAT's own RLE: run lengths over the
box row by row, starting with a run of background) become COCO data that the COCO reader
checks like any other file; polylines, points, ellipses, cuboids and tags are skipped
with a warning. CVAT keeps no holes in polygons; its documented way is a background
shape drawn above. Ours are written that way: each hole is a polygon of its own with the
opposite label ("non-sky" in a sky polygon) and a higher z_order (cutouts.py), so CVAT's
mask exports give the same mask; a non-sky polygon lying in a sky polygon comes back as
its hole. Holes are not grouped (CVAT merges a group into one instance mask).
Write: one XML for all (labelled) images; the CVAT task needs the labels it names.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from skysegui.core.annotations.categories import NON_SKY
from skysegui.core.annotations.cutouts import image_shapes
from skysegui.core.annotations.model import AnnotationSet
from skysegui.core.annotations.names import base_name
from skysegui.core.annotations.rle import mask_to_rle
from skysegui.core.annotations.validate import MAX_PIXELS, Problems, as_size
from skysegui.core.atomicio import write_text_atomic

CVAT_VERSION = "1.1"
SKIPPED = ("polyline", "points", "ellipse", "cuboid", "skeleton", "tag")


def read_cvat(path: Path, problems: Problems) -> dict[str, Any]:
    """COCO data of a CVAT for images XML file; a file that is not one is an error."""
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError as exc:
        raise problems.fail("file not found; check the path") from exc
    except OSError as exc:
        raise problems.fail(f"cannot be read ({exc.strerror or exc})") from exc
    except ET.ParseError as exc:
        raise problems.fail(f"is not valid XML ({exc}); export it again from CVAT") from exc
    if root.tag != "annotations":
        raise problems.fail(f"the root element is <{root.tag}>, not <annotations>: not a CVAT XML file")
    if root.find("image") is None and root.find("track") is not None:
        raise problems.fail("is CVAT for video (tracks); export the task as 'CVAT for images 1.1'")
    version = (root.findtext("version") or "").strip()
    if version and version != CVAT_VERSION:
        problems.warn("", f"CVAT XML version {version}; read as {CVAT_VERSION}")
    return cvat_to_coco(root, problems)


def _floats(element: ET.Element, keys: tuple[str, ...]) -> list[float] | None:
    try:
        values = [float(element.attrib[k]) for k in keys]
    except (KeyError, ValueError):
        return None
    return values if all(np.isfinite(values)) else None


def _polygon(element: ET.Element) -> list[float] | None:
    try:
        pts = [float(v) for pair in element.attrib["points"].split(";") for v in pair.split(",")]
    except (KeyError, ValueError):
        return None
    return pts if len(pts) % 2 == 0 and len(pts) >= 6 and all(np.isfinite(pts)) else None


def _box(element: ET.Element) -> list[float] | None:
    box = _floats(element, ("xtl", "ytl", "xbr", "ybr"))
    if box is None:
        return None
    x0, y0, x1, y1 = box
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    angle = np.radians(float(element.attrib.get("rotation", 0) or 0))
    if angle:  # CVAT rotates a box about its centre
        centre = corners.mean(axis=0)
        c, s = np.cos(angle), np.sin(angle)
        corners = (corners - centre) @ np.array([[c, s], [-s, c]]) + centre
    return corners.reshape(-1).tolist()


def _mask(element: ET.Element, width: int | None, height: int | None) -> dict | None:
    """COCO RLE of a <mask> (its box-relative runs placed in the image), or None."""
    box = _floats(element, ("left", "top", "width", "height"))
    if box is None or width is None or height is None or width * height > MAX_PIXELS:
        return None
    left, top, bw, bh = (int(round(v)) for v in box)
    try:
        runs = np.array([int(v) for v in element.attrib.get("rle", "").split(",") if v.strip()], np.int64)
    except ValueError:
        return None
    if bw <= 0 or bh <= 0 or runs.size == 0 or runs.min() < 0 or runs.sum() != bw * bh:
        return None
    values = (np.arange(runs.size) % 2).astype(np.uint8)  # background first
    small = np.repeat(values, runs).reshape(bh, bw)
    mask = np.zeros((height, width), np.uint8)
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + bw, width), min(top + bh, height)
    if x1 <= x0 or y1 <= y0:
        return None
    mask[y0:y1, x0:x1] = small[y0 - top:y1 - top, x0 - left:x1 - left]
    return mask_to_rle(mask)


def cvat_to_coco(root: ET.Element, problems: Problems) -> dict[str, Any]:
    images: list[dict] = []
    annotations: list[dict] = []
    names: dict[str, int] = {}
    for n, image in enumerate(root.iter("image")):
        name = image.attrib.get("name")
        where = f"image {name or n!r}"
        if not name:
            problems.warn(where, 'has no "name"; skipped')
            continue
        width, height = as_size(_num(image.attrib.get("width"))), as_size(_num(image.attrib.get("height")))
        iid = len(images) + 1
        entry: dict[str, Any] = {"id": iid, "file_name": name}
        if width is not None and height is not None:
            entry["width"], entry["height"] = width, height
        images.append(entry)
        for shape in image:
            kind, label = shape.tag, shape.attrib.get("label")
            if kind in SKIPPED:
                problems.warn(where, f"a {kind} ({label!r}) is not an area; skipped")
                continue
            if kind not in ("polygon", "box", "mask"):
                continue
            if not label:
                problems.warn(where, f"a {kind} has no label; skipped")
                continue
            if kind == "mask":
                segmentation: Any = _mask(shape, width, height)
            else:
                ring = _polygon(shape) if kind == "polygon" else _box(shape)
                segmentation = None if ring is None else [ring]
            if segmentation is None:
                problems.warn(where, f"a {kind} ({label!r}) has unusable points, box or rle; skipped")
                continue
            cid = names.setdefault(label, len(names) + 1)
            annotations.append({"id": len(annotations) + 1, "image_id": iid, "category_id": cid,
                                "segmentation": segmentation, "iscrowd": 0})
    if not images:
        problems.warn("", "holds no <image> elements: no labels were found")
    categories = [{"id": cid, "name": name} for name, cid in names.items()]
    return {"images": images, "annotations": annotations, "categories": categories}


def _num(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _points(ring: np.ndarray) -> str:
    return ";".join(f"{float(x)!r},{float(y)!r}" for x, y in np.asarray(ring, dtype=np.float64))


def cvat_tree(labels: AnnotationSet, only_labelled: bool = True,
              warnings: list[str] | None = None) -> ET.ElementTree:
    """The CVAT for images 1.1 document of `labels`."""
    root = ET.Element("annotations")
    ET.SubElement(root, "version").text = CVAT_VERSION
    chosen = [(iid, image) for iid, image in labels.images.items()
              if not only_labelled or labels.is_labelled(iid)]
    task = ET.SubElement(ET.SubElement(root, "meta"), "task")
    ET.SubElement(task, "name").text = "skysegui"
    ET.SubElement(task, "size").text = str(len(chosen))
    ET.SubElement(task, "mode").text = "annotation"
    label_list = ET.SubElement(task, "labels")
    used: list[str] = []
    body = []
    for n, (iid, image) in enumerate(chosen):
        element = ET.Element("image", {"id": str(n), "name": base_name(image.file_name),
                                       "width": str(int(image.width)), "height": str(int(image.height))})
        for shape in image_shapes(labels, iid, warnings):
            z = _z_order(labels, shape)
            ET.SubElement(element, "polygon", {"label": shape.label, "source": "manual", "occluded": "0",
                                               "points": _points(shape.ring), "z_order": str(z)})
            if shape.label not in used:
                used.append(shape.label)
        body.append(element)
    for name in used:
        label = ET.SubElement(label_list, "label")
        ET.SubElement(label, "name").text = name
        ET.SubElement(label, "type").text = "polygon"
        ET.SubElement(label, "attributes")
    root.extend(body)
    ET.indent(root)
    return ET.ElementTree(root)


def _z_order(labels: AnnotationSet, shape) -> int:
    """Sky 0, non-sky objects 1 (drawn over the sky), a hole one above its polygon."""
    role = labels.role_of(_category_id(labels, shape.label))
    if shape.hole:  # labelled with the opposite of its polygon's role
        return 1 if role == NON_SKY else 2
    return 1 if role == NON_SKY else 0


def _category_id(labels: AnnotationSet, name: str):
    for cid, category in labels.categories.items():
        if category.name == name:
            return cid
    return None


def save_cvat(labels: AnnotationSet, path: str | Path, only_labelled: bool = True,
              warnings: list[str] | None = None) -> None:
    """Write the CVAT XML atomically (the previous file is kept as <name>.bak)."""
    tree = cvat_tree(labels, only_labelled, warnings)
    text = ET.tostring(tree.getroot(), encoding="unicode")
    write_text_atomic(Path(path), '<?xml version="1.0" encoding="utf-8"?>\n' + text + "\n", keep_backup=True)
