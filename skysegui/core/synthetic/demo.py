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
from skysegui.core.synthetic.panorama import (
    ALL_KINDS,
    EXTRA_SKYLINES,
    INTERIOR,
    check_size,
    make_panorama,
)
from skysegui.core.synthetic.skyline import SKYLINES

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

Scene = tuple[str, "str | None"]  # (kind, skyline or interior style; None: drawn from the seed)


def demo_image_name(index: int, scenes=SCENES) -> str:
    kind, skyline = scenes[index % len(scenes)]
    return f"synthetic_{index:02d}_{kind}_{skyline or 'any'}.exr"


def mixed_scenes(count: int, interiors: int = 0, canopies: int = 0) -> list[Scene]:
    """`count` scenes for a training project: the demo's outdoor SCENES in turn, with
    `interiors` interiors (room, hall, industrial in turn: negatives, a few with windows)
    and `canopies` woods seen from under the trees, spread evenly through the list so
    that labelled_indices takes some of each. E.g. mixed_scenes(40, interiors=8)."""
    from skysegui.core.synthetic.interior import INTERIOR_STYLES

    if count < 0 or interiors < 0 or canopies < 0 or interiors + canopies > count:
        raise ValueError("need 0 <= interiors + canopies <= count")
    # (k + k // 3) % 3 runs 0 1 2 1 2 0 2 0 1: every third item is each style once, so
    # a labelled subset that takes every other or every third item still holds them all
    extra: list[Scene] = [(INTERIOR, INTERIOR_STYLES[(k + k // 3) % 3]) for k in range(interiors)]
    woods: list[Scene] = [(("day", "overcast", "dusk")[(k + k // 3) % 3], "canopy") for k in range(canopies)]
    # interleave interiors and woods, then spread them evenly over the count
    paired = min(len(extra), len(woods))
    special = [s for pair in zip(extra[:paired], woods[:paired], strict=True) for s in pair]
    special += extra[paired:] + woods[paired:]
    n = len(special)
    # evenly spaced; where there is room, on even indices for items 0, 1, 4, 5, ... and
    # odd ones for 2, 3, 6, 7, ..., so that both halves of the demo's labelled-every-other
    # split get interiors and woods
    slots = set()
    for k in range(n):
        slot = int(k * count / n)
        if count >= 2 * n and slot % 2 != (k // 2) % 2:
            slot += 1
        slots.add(slot)
    out: list[Scene] = []
    outdoor = 0
    it = iter(special)
    for i in range(count):
        if i in slots:
            out.append(next(it))
        else:
            out.append(SCENES[outdoor % len(SCENES)])
            outdoor += 1
    return out


def check_scenes(scenes) -> tuple[Scene, ...]:
    """The scene list as a tuple of (kind, skyline) pairs; ValueError for a bad entry."""
    from skysegui.core.synthetic.interior import INTERIOR_STYLES

    out = []
    for entry in scenes:
        try:
            kind, skyline = entry
        except (TypeError, ValueError):
            raise ValueError(f"a scene is a (kind, skyline) pair, not {entry!r}") from None
        if kind not in ALL_KINDS:
            raise ValueError(f"scene kind must be one of {ALL_KINDS}, not {kind!r}")
        if kind == INTERIOR:
            allowed, what = INTERIOR_STYLES, "an interior scene's style"
        else:
            allowed, what = SKYLINES + EXTRA_SKYLINES, f"a {kind} scene's skyline"
        if skyline is not None and skyline not in allowed:
            raise ValueError(f"{what} must be one of {allowed} (or None), not {skyline!r}")
        out.append((kind, skyline))
    if not out:
        raise ValueError("the scene list is empty")
    return tuple(out)


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
                       progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                       scenes=None):
    """Write images/*.exr (half float), labels.json for `labelled` of them, truth/*.png.

    scenes: the (kind, skyline) pairs image i takes in turn (default SCENES, outdoor
    only); kind may be "interior" (skyline: its style), skyline None draws one, e.g.
    mixed_scenes(40, interiors=8). A labelled interior without sky is a labelled negative.
    """
    from skysegui.core.annotations import save_coco  # noqa: F401  (fails early if missing)
    from skysegui.core.imageio import write_exr, write_png
    from skysegui.core.project import Project
    from skysegui.core.synthetic.labels import labels_from_class_maps

    if count < 1:
        raise ProjectError("the demo project needs at least one image: use --count 1 or more")
    check_size(width, height)  # before the folder exists: a bad size leaves nothing behind
    scenes = SCENES if scenes is None else check_scenes(scenes)
    root = Path(root)
    _check_target(root, force)
    project = Project.create(root)
    chosen = set(labelled_indices(count, labelled))
    class_maps: dict[str, np.ndarray] = {}
    paths: dict[str, Path] = {}
    for i in range(count):
        check(cancel)
        name = demo_image_name(i, scenes)
        report(progress, i, count, name)
        kind, skyline = scenes[i % len(scenes)]
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
