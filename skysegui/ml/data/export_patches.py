"""Export to the pipeline report's patch-folder layout, for tools that expect it.

    out/X_train/train/N.tif   float32 network-input patch (tifffile)
    out/Y_train/train/N.png   uint8 mask patch, sky = 1 (the report fed these values as labels,
                              so unsure regions, which it knew nothing of, are 0 here)
    out/X_val/val/N.tif, out/Y_val/val/N.png

Patches are size x size at `stride` with valid padding (no patch crosses the border), like
the report's tf.image.extract_patches. The split is by image unless `split="patch"` is asked
for explicitly; that is the report's split, which leaks overlapping patches into validation.
Training itself never needs these files (it reads the compact cache).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skysegui.core.atomicio import atomic_write
from skysegui.core.errors import ExportError
from skysegui.core.metrics import IGNORE
from skysegui.core.progress import CancelToken, ProgressFn, check, report
from skysegui.ml.data.cache import LabelledSource
from skysegui.ml.data.split import split_by_image, split_indices

# the report's folders hold whole patches: a region split would cut them, so not here
EXPORT_SPLITS = ("image", "patch")

log = logging.getLogger(__name__)
PATCH_FOLDERS = ("X_train/train", "Y_train/train", "X_val/val", "Y_val/val")
_PATCH_NAME = re.compile(r"^[0-9]+\.(tif|png)$")
LEAK_WARNING = (
    "per-patch split: overlapping patches of the same image are in both train and val, "
    "so val scores are optimistic (use --split image for an honest validation)"
)


@dataclass
class ExportSummary:
    out: Path
    train: int
    val: int
    train_images: list[str]
    val_images: list[str]
    warnings: list[str]


def patch_origins(height: int, width: int, size: int, stride: int) -> list[tuple[int, int]]:
    """Top-left corners of the valid-padding patch grid (row-major)."""
    if size > height or size > width:
        return []
    return [(t, lft) for t in range(0, height - size + 1, stride) for lft in range(0, width - size + 1, stride)]


def report_dataset_bytes(height: int, width: int, size: int = 256, stride: int = 100) -> int:
    """Bytes of pixel data the report's float32 TIFF patches of one image take (masks: 1 byte/px)."""
    n = len(patch_origins(height, width, size, stride))
    return n * size * size * (3 * 4 + 1)


def _write_pair(out: Path, part: str, number: int, x: np.ndarray, y: np.ndarray) -> None:
    import cv2
    import tifffile

    with atomic_write(out / f"X_{part}" / part / f"{number}.tif") as tmp:
        tifffile.imwrite(tmp, np.ascontiguousarray(x, np.float32))
    with atomic_write(out / f"Y_{part}" / part / f"{number}.png") as tmp:
        if not cv2.imwrite(str(tmp), np.ascontiguousarray(y, np.uint8)):
            raise ExportError(f"could not write a mask patch into {out}: check the folder is writable")


def export_patches(
    sources: Sequence[LabelledSource],
    out: str | os.PathLike,
    size: int = 256,
    stride: int = 100,
    val_fraction: float = 0.25,
    split: str = "image",
    seed: int = 0,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    overwrite: bool = False,
) -> ExportSummary:
    """Write the report's X_train/Y_train/X_val/Y_val folders; patches numbered from 1.

    The four patch folders must be empty; with `overwrite` the patches an earlier export
    left there (N.tif, N.png) are deleted first, and any other file still stops it."""
    if split not in EXPORT_SPLITS:
        raise ExportError(f"unknown split {split!r}: use 'image' or 'patch'")
    if size <= 0 or stride <= 0:
        raise ExportError("patch size and stride must be positive")
    out = Path(out)
    folders = [out / part for part in PATCH_FOLDERS]
    if overwrite:
        others = [p for f in folders if f.is_dir() for p in f.iterdir() if not _PATCH_NAME.match(p.name)]
        if others:
            raise ExportError(f"{others[0].parent} holds {others[0].name}, which is not a patch of an "
                              "earlier export: choose an empty output folder")
        for folder in folders:
            for old in (folder.iterdir() if folder.is_dir() else ()):
                old.unlink()
    for folder in folders:
        if folder.is_dir() and any(folder.iterdir()):
            raise ExportError(f"{folder} is not empty: choose an empty output folder, or add "
                              "--force to replace the patches there")
    names = [s.name for s in sources]
    warnings: list[str] = []
    if split == "image":
        train_names, val_names = split_by_image(names, val_fraction, seed)
    else:
        warnings.append(LEAK_WARNING)
        log.warning(LEAK_WARNING)
        train_names, val_names = list(names), list(names)
    number = 0
    counts = {"train": 0, "val": 0}
    for k, src in enumerate(sources):
        check(cancel)
        report(progress, k, len(sources), f"exporting {src.name}")
        x, y = src.load()
        y = np.where(y == IGNORE, 0, y).astype(np.uint8)
        origins = patch_origins(y.shape[0], y.shape[1], size, stride)
        if not origins:
            warnings.append(f"{src.name} is smaller than {size} px: no patches")
            continue
        if split == "image":
            parts = ["val" if src.name in val_names else "train"] * len(origins)
        else:
            _, val_idx = split_indices(len(origins), val_fraction, seed + k)
            val_set = set(val_idx.tolist())
            parts = ["val" if j in val_set else "train" for j in range(len(origins))]
        for (t, lft), part in zip(origins, parts, strict=True):
            number += 1
            _write_pair(out, part, number, x[t:t + size, lft:lft + size], y[t:t + size, lft:lft + size])
            counts[part] += 1
    for part in ("X_train/train", "Y_train/train", "X_val/val", "Y_val/val"):
        (out / part).mkdir(parents=True, exist_ok=True)
    report(progress, len(sources), len(sources), f"{number} patches written")
    return ExportSummary(out, counts["train"], counts["val"], train_names, val_names, warnings)
