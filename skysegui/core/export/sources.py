"""Where an export's sky coverage comes from: the project's labels or a prediction.

A source answers two questions per image: is there anything to export (if not, why
not, in words for the result's warnings), and what is the coverage at the image's
full size (uint8 0/1 for binary masks, float32 0..1 for probabilities).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from skysegui.core.choices import SOURCES
from skysegui.core.errors import ExportError
from skysegui.core.imageio.planes import read_plane as stored_plane
from skysegui.core.predictions import prediction_paths


class SizeMismatchError(ExportError):
    """The labels or prediction of one image do not match its size (that image is skipped)."""


class LabelsSource:
    """Sky masks rasterised from COCO polygons (non-sky objects cut out)."""

    name = "labels"

    def __init__(self, labels) -> None:
        self.labels = labels

    def _record(self, image_path: Path):
        return self.labels.image_by_name(Path(image_path).name)

    def missing_reason(self, image_path: Path, soft: bool = False) -> str | None:
        record = self._record(image_path)
        if record is None:
            return f"{Path(image_path).name}: not in the label file"
        if not self.labels.annotations_for(record.id):
            return f"{Path(image_path).name}: has no labels yet"
        return None

    def coverage(self, image_path: Path, width: int, height: int, soft: bool = False) -> np.ndarray:
        from skysegui.core.annotations import sky_mask

        record = self._record(image_path)
        if record is None:
            raise ExportError(f"{Path(image_path).name} is not in the label file: label it first")
        if (record.width, record.height) != (width, height):
            raise SizeMismatchError(
                f"{Path(image_path).name}: the labels were made for {record.width}x{record.height} "
                f"but the image is {width}x{height}; fix the image size in the label file"
            )
        return sky_mask(self.labels, record.id).astype(np.uint8, copy=False)


class PredictionSource:
    """Masks and probabilities saved by `skysegui predict` (names from core.predictions)."""

    name = "prediction"

    def __init__(self, predictions_dir: str | Path) -> None:
        self.predictions_dir = Path(predictions_dir)

    def missing_reason(self, image_path: Path, soft: bool = False) -> str | None:
        paths = prediction_paths(self.predictions_dir, image_path)
        if soft and paths.prob is None:
            return f"{Path(image_path).name}: no probability map in {self.predictions_dir} (run predict)"
        if not soft and not paths.exists():
            return f"{Path(image_path).name}: no prediction in {self.predictions_dir} (run predict)"
        return None

    def coverage(self, image_path: Path, width: int, height: int, soft: bool = False) -> np.ndarray:
        paths = prediction_paths(self.predictions_dir, image_path)
        if soft:
            if paths.prob is None:
                raise ExportError(f"no probability map for {Path(image_path).name}: run predict first")
            cov = read_probability(paths.prob)
        else:
            if not paths.exists():
                raise ExportError(f"no prediction for {Path(image_path).name}: run predict first")
            cov = (read_plane(paths.mask) >= 128).astype(np.uint8)
        if cov.shape != (height, width):
            raise SizeMismatchError(
                f"{Path(image_path).name}: the prediction is {cov.shape[1]}x{cov.shape[0]} but the "
                f"image is {width}x{height}; run predict again on this image"
            )
        return cov


def read_plane(path: Path) -> np.ndarray:
    """One channel of an 8/16-bit PNG (or a float TIFF) exactly as stored."""
    return stored_plane(path, ExportError, "run predict again")


def read_probability(path: Path) -> np.ndarray:
    """Sky probability 0..1 as float32 from a 16-bit PNG (p * 65535) or a float TIFF."""
    data = read_plane(path)
    if data.dtype == np.uint16:
        return data.astype(np.float32) * np.float32(1 / 65535)
    if data.dtype == np.uint8:
        return data.astype(np.float32) * np.float32(1 / 255)
    return np.clip(data.astype(np.float32, copy=False), 0.0, 1.0)


def make_source(kind: str, labels=None, predictions_dir: str | Path | None = None):
    if kind == "labels":
        if labels is None:
            raise ExportError("no labels to export: open or create a label file first")
        return LabelsSource(labels)
    if kind == "prediction":
        if predictions_dir is None:
            raise ExportError("no predictions folder: run predict first")
        return PredictionSource(predictions_dir)
    raise ExportError(f"unknown source {kind!r}: use one of {', '.join(SOURCES)}")
