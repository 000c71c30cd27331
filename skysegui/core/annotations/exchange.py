"""Writing labels (and predictions) in the formats of other labeling tools: one entry
point for the CLI's `convert` and the window's File > Export Labels menu.

Reading needs no counterpart: load_labels recognises every format by itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from skysegui.core.annotations.coco_write import save_coco
from skysegui.core.annotations.cvat import save_cvat
from skysegui.core.annotations.labelme import save_labelme
from skysegui.core.annotations.labelstudio_export import (
    LABELS_VERSION,
    LabelStudioNames,
    labels_to_tasks,
    prediction_tasks,
    save_tasks,
)
from skysegui.core.annotations.model import AnnotationSet
from skysegui.core.errors import ExportError
from skysegui.core.label_formats import FORMATS


@dataclass
class Written:
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def check_target(fmt: str, out: str | Path, overwrite: bool) -> None:
    """Refuse to replace earlier output unless asked: a file, or labelme files in a folder."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown label format {fmt!r}: use one of {', '.join(FORMATS)}")
    out = Path(out)
    if overwrite:
        return
    if fmt == "labelme":
        if out.is_file():
            raise ExportError(f"{out} is a file: labelme labels go into a folder (one JSON per image)")
        if out.is_dir() and any(out.glob("*.json")):
            raise ExportError(f"{out} already holds JSON files; choose another folder or allow "
                              "overwriting (--force)")
    elif out.exists():
        raise ExportError(f"{out} already exists; choose another name or allow overwriting (--force)")


def write_labels(labels: AnnotationSet, fmt: str, out: str | Path, brush: bool = False,
                 model_version: str = LABELS_VERSION, names: LabelStudioNames = LabelStudioNames(),
                 only_labelled: bool = True) -> Written:
    """Write `labels` as `fmt` to `out` (a file; a folder for labelme)."""
    result = Written()
    out = Path(out)
    if fmt == "coco":
        save_coco(labels, out)
        result.files.append(out)
    elif fmt == "labelme":
        result.files = save_labelme(labels, out, only_labelled, result.warnings)
    elif fmt == "cvat":
        save_cvat(labels, out, only_labelled, result.warnings)
        result.files.append(out)
    elif fmt == "label-studio":
        tasks = labels_to_tasks(labels, brush, model_version, names, only_labelled, result.warnings)
        save_tasks(tasks, out)
        result.files.append(out)
    else:
        raise ExportError(f"unknown label format {fmt!r}: use one of {', '.join(FORMATS)}")
    return result


def write_prediction_tasks(image_paths: list[Path], predictions_dir: str | Path, out: str | Path,
                           brush: bool = False, model_version: str | None = None,
                           names: LabelStudioNames = LabelStudioNames()) -> Written:
    """Label Studio pre-annotations of the saved predictions of `image_paths`."""
    result = Written()
    tasks = prediction_tasks(image_paths, predictions_dir, model_version, brush, names, result.warnings)
    if not tasks:
        raise ExportError(f"no predictions in {predictions_dir} for these images: run predict first")
    save_tasks(tasks, out)
    result.files.append(Path(out))
    return result
