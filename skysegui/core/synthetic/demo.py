"""The built-in demo project: synthetic panoramas, half of them labelled.

A newcomer can train on the labelled half, predict the other half and review it at
once. The exact masks of every image are also written to truth/ (0 = not sky, 1 = sky,
the shared ground-truth convention), so `skysegui evaluate --gt truth` can score a model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from skysegui.core.errors import ProjectError
from skysegui.core.progress import CancelToken, ProgressFn, check, report
from skysegui.core.synthetic.panorama import check_size, make_panorama

# A fixed, varied order. With the default 6 of 12 labelled (the even indices), the labelled
# half holds every skyline and every kind of sky (day, dusk, night, overcast: a closed white
# deck, the sky real captures have most and the one most like a white ceiling), and so
# does the unlabelled half.
SCENES = (
    ("day", "city"), ("day", "forest"), ("day", "mountains"), ("dusk", "city"),
    ("dusk", "sea"), ("day", "lake"), ("day", "forest"), ("night", "mountains"),
    ("night", "city"), ("day", "sea"), ("overcast", "lake"), ("overcast", "city"),
)
TRUTH_DIR = "truth"


def demo_image_name(index: int) -> str:
    kind, skyline = SCENES[index % len(SCENES)]
    return f"synthetic_{index:02d}_{kind}_{skyline}.exr"


def labelled_indices(count: int, labelled: int) -> list[int]:
    """`labelled` indices spread evenly over `count`, so both halves hold every kind."""
    labelled = max(0, min(labelled, count))
    return sorted({int(k * count / labelled) for k in range(labelled)}) if labelled else []


def _check_target(root: Path, force: bool) -> None:
    if root.exists() and not root.is_dir():
        raise ProjectError(f"{root} is a file: choose a folder name for the demo project")
    if root.is_dir() and any(root.iterdir()) and not force:
        what = "a project" if (root / "labels.json").exists() or (root / "images").is_dir() \
            else "a folder with files in it"
        raise ProjectError(
            f"{root} is already {what}: choose another folder, or add --force to "
            "overwrite its demo images and labels.json")


def write_demo_project(root, count: int = 12, width: int = 2048, height: int = 1024,
                       labelled: int = 6, seed: int = 0, force: bool = False,
                       progress: ProgressFn | None = None, cancel: CancelToken | None = None):
    """Write images/*.exr (half float), labels.json for `labelled` of them, truth/*.png."""
    from skysegui.core.annotations import save_coco  # noqa: F401  (fails early if missing)
    from skysegui.core.imageio import write_exr, write_png
    from skysegui.core.project import Project
    from skysegui.core.synthetic.labels import labels_from_class_maps

    if count < 1:
        raise ProjectError("the demo project needs at least one image: use --count 1 or more")
    check_size(width, height)  # before the folder exists: a bad size leaves nothing behind
    root = Path(root)
    _check_target(root, force)
    project = Project.create(root)
    chosen = set(labelled_indices(count, labelled))
    class_maps: dict[str, np.ndarray] = {}
    paths: dict[str, Path] = {}
    for i in range(count):
        check(cancel)
        name = demo_image_name(i)
        report(progress, i, count, name)
        kind, skyline = SCENES[i % len(SCENES)]
        pano = make_panorama(width, height, seed=seed * 1000 + i, kind=kind, skyline=skyline)
        path = project.images_dir / name
        write_exr(path, pano.pixels, half=True)
        write_png(project.root / TRUTH_DIR / (Path(name).stem + ".png"), pano.sky)
        if i in chosen:
            class_maps[name] = pano.classes
            paths[name] = path
    report(progress, count, count, "labels")
    project.save_labels(labels_from_class_maps(class_maps, paths=paths))
    return project
