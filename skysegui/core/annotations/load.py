"""load_labels: one entry point for every label file we read: COCO, Label Studio's
native JSON export, labelme JSON (a file or a folder of them) and CVAT for images XML.
The other formats become COCO data first, so one reader checks them all."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from skysegui.core.annotations import json_clean
from skysegui.core.annotations.coco_read import parse_coco
from skysegui.core.annotations.cutouts import holes_from_cutouts
from skysegui.core.annotations.cvat import read_cvat
from skysegui.core.annotations.labelme import (
    labelme_to_coco,
    looks_like_labelme,
    read_labelme_files,
)
from skysegui.core.annotations.labelstudio import looks_like_label_studio, tasks_to_coco
from skysegui.core.annotations.model import AnnotationSet
from skysegui.core.annotations.names import index_images
from skysegui.core.annotations.validate import Problems
from skysegui.core.errors import AnnotationError


@dataclass
class LoadResult:
    labels: AnnotationSet
    warnings: list[str] = field(default_factory=list)
    format: str = "coco"  # "coco" | "label-studio" | "labelme" | "cvat"


def read_json(path: Path):
    """Decoded JSON of a label file; every way it can be unreadable is an AnnotationError."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise AnnotationError(f"{path}: file not found; check the path") from exc
    except OSError as exc:
        raise AnnotationError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if not raw.strip():
        raise AnnotationError(f"{path}: the file is empty; export the labels again")
    try:
        return json_clean.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise AnnotationError(f"{path}: not a text (UTF-8) file, so not a label file") from exc
    except json.JSONDecodeError as exc:
        backup = path.with_name(path.name + ".bak")
        fix = f"restore it from {backup.name}" if backup.exists() else "restore it from a backup"
        raise AnnotationError(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); "
            f"the file may be truncated: {fix} or export it again"
        ) from exc
    except RecursionError as exc:
        raise AnnotationError(f"{path}: JSON nested too deeply to be a label file") from exc


def labels_from_data(data, source: str = "labels", images_dir=None, synonyms=None,
                     problems: Problems | None = None) -> LoadResult:
    """Parse already-decoded JSON (COCO dict, Label Studio task list or labelme file)."""
    problems = problems or Problems(source)
    fmt = "coco"
    if looks_like_label_studio(data):
        data = tasks_to_coco(data, problems)
        fmt = "label-studio"
    elif looks_like_labelme(data):
        return _from_tool(labelme_to_coco([(source, data)], problems), "labelme", problems,
                          images_dir, synonyms)
    labels = parse_coco(data, problems, images_dir=images_dir, synonyms=synonyms)
    _warn_roleless_categories(labels, problems)
    return LoadResult(labels, problems.warnings, fmt)


def _from_tool(coco: dict, fmt: str, problems: Problems, images_dir, synonyms) -> LoadResult:
    """Labels of a tool without holes (labelme, CVAT): contained cut-outs become holes."""
    labels = parse_coco(coco, problems, images_dir=images_dir, synonyms=synonyms)
    holes_from_cutouts(labels)
    _warn_roleless_categories(labels, problems)
    return LoadResult(labels, problems.warnings, fmt)


def _warn_roleless_categories(labels, problems: Problems) -> None:
    """A label name that means neither sky, an object cut out of it, nor an unsure region
    (e.g. "cloud") is kept in the file, but its polygons are in no mask and teach the
    network nothing: say so."""
    used: dict = {}
    for annotation in labels.annotations.values():
        used[annotation.category_id] = used.get(annotation.category_id, 0) + 1
    for cid, count in used.items():
        category = labels.categories.get(cid)
        if category is None or labels.role_of(cid) != 0:
            continue
        problems.warn(
            f"category {category.name!r}",
            f"is neither sky nor a non-sky object, so its {count} annotation(s) are kept but left "
            "out of masks and training; rename it 'sky', 'object' for things in front of the sky, "
            "or 'unsure' for regions training should skip",
        )


def load_labels(path, images_dir=None, synonyms=None) -> LoadResult:
    """Load COCO, Label Studio or labelme JSON, a folder of labelme files, or CVAT XML;
    unusable -> AnnotationError, else labels + warnings.

    images_dir: where the panoramas are; images are matched by cleaned name and their
    real size read from disk. synonyms: {SKY: [...], NON_SKY: [...]} extra category names.
    """
    path = Path(path)
    problems = Problems(str(path))
    if path.is_dir():
        files = read_labelme_files(path, problems)
        if images_dir is None and index_images(path):
            images_dir = path  # labelme keeps each file beside its image
        return _from_tool(labelme_to_coco(files, problems), "labelme", problems, images_dir, synonyms)
    if path.suffix.lower() == ".xml":
        return _from_tool(read_cvat(path, problems), "cvat", problems, images_dir, synonyms)
    data = read_json(path)
    return labels_from_data(data, str(path), images_dir, synonyms, problems)
