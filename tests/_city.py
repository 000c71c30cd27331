"""A project folder around the real city panorama (../shared/data), for the GUI and core tests."""

from __future__ import annotations

import shutil
from pathlib import Path


def city_project(root: Path, hdri_dir: Path, labels: Path | None = None) -> Path:
    """root/images/city.exr, and `labels` (a COCO file or a Label Studio export) copied to
    root/labels.json when given. Returns root."""
    root = Path(root)
    (root / "images").mkdir(parents=True)
    shutil.copy(Path(hdri_dir) / "city.exr", root / "images" / "city.exr")
    if labels is not None:
        shutil.copy(labels, root / "labels.json")
    return root
