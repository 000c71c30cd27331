"""The data the recipes and benchmarks train on, as a project folder the Trainer reads.

- Synthetic panoramas: the demo project's (skysegui.core.synthetic.write_demo_project,
  its scene list in order) and any further generator of synthetic scenes, called by
  name (`module:function`), so new scene kinds can join a recipe by a line of config.
- The labelled real panoramas beside the repository: ../shared/data/hdri with gt/, and
  ../shared/data/hdri-unlabelled with the masks in training/data/real-labels/masks (0 not
  sky, 1 sky, 255 ignore; ignored pixels become unsure regions in the labels, which
  training skips).

Used by training/build_builtin.py (the built-in model's recipe) and by
benchmarks/bench_loop_quality.py (leave-some-out folds), so both see the same images.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import shutil
from collections.abc import Mapping
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
LABELLED = ("city", "forest", "interior", "sunset")  # hdri/ with gt/
NEW = ("apartment", "bridge", "esplanade", "hall", "lab", "lobby", "warehouse", "workshop")
REAL_SOURCES = (  # (image folder, mask folder): a mask per image, of the same stem, .png
    (SHARED / "hdri", SHARED / "gt"),
    (SHARED / "hdri-unlabelled", REPO / "training" / "data" / "real-labels" / "masks"),
)
IMAGE_SUFFIXES = (".exr", ".hdr", ".tif", ".tiff", ".png", ".jpg", ".jpeg")
SKY_IMAGE = 0.02  # images with at least this share of sky are scored by IoU, others by false sky
DEFAULT_GENERATOR = "skysegui.core.synthetic:make_panorama"


# --- real panoramas -------------------------------------------------------------------
def labelled_pairs(images_dir: Path, masks_dir: Path) -> dict[str, tuple[Path, Path]]:
    """stem -> (panorama, mask) for every panorama of `images_dir` with a mask in `masks_dir`."""
    images_dir, masks_dir = Path(images_dir), Path(masks_dir)
    if not images_dir.is_dir():
        return {}
    out = {}
    for image in sorted(images_dir.iterdir()):
        mask = masks_dir / f"{image.stem}.png"
        if image.suffix.lower() in IMAGE_SUFFIXES and image.is_file() and mask.is_file():
            out[image.stem] = (image, mask)
    return out


def real_images(sources=REAL_SOURCES) -> dict[str, tuple[Path, Path]]:
    """name -> (panorama, ground truth 0/1/255) of every labelled real panorama found."""
    out: dict[str, tuple[Path, Path]] = {}
    for images_dir, masks_dir in sources:
        for name, pair in labelled_pairs(images_dir, masks_dir).items():
            out.setdefault(name, pair)
    return out


def read_gt(path: Path) -> np.ndarray:
    import cv2

    from skysegui.core.metrics import ground_truth_from_png

    return ground_truth_from_png(cv2.imread(str(path), cv2.IMREAD_UNCHANGED))


# --- labels ---------------------------------------------------------------------------
def merge_labels(labels, other) -> None:
    """Add the images and annotations of `other` (an AnnotationSet) to `labels`, with new
    ids; categories are matched by name (sky, non-sky)."""
    ids = {c.name: c.id for c in labels.categories.values()}
    sky = ids.get("sky")
    for record in other.images.values():
        new_id = max(labels.images, default=0) + 1
        labels.images[new_id] = dataclasses.replace(record, id=new_id)
        for ann in other.annotations.values():
            if ann.image_id == record.id:
                name = other.categories[ann.category_id].name
                if name not in ids:
                    cid = labels.new_id(labels.categories)
                    labels.categories[cid] = dataclasses.replace(other.categories[ann.category_id], id=cid)
                    ids[name] = cid
                aid = labels.new_annotation_id()
                labels.annotations[aid] = dataclasses.replace(
                    ann, id=aid, image_id=new_id, category_id=ids.get(name, sky))


def add_real_images(project, reals: Mapping[str, tuple[Path, Path]]) -> list[str]:
    """Copy the panoramas into the project's images/ and label them from their masks
    (sky = 1; the ground truth's ignore band, 255, becomes an unsure region, neither
    trained on nor scored). Returns their file names."""
    from skysegui.core.annotations import labels_from_masks
    from skysegui.core.metrics import IGNORE

    labels = project.load_labels().labels  # before the copies: it lists the folder's images
    masks, unsure, paths = {}, {}, {}
    for image, gt in reals.values():
        dst = project.images_dir / image.name
        shutil.copy(image, dst)
        truth = read_gt(gt)
        masks[dst.name] = (truth == 1).astype(np.uint8)
        unsure[dst.name] = (truth == IGNORE).astype(np.uint8)
        paths[dst.name] = dst
    merge_labels(labels, labels_from_masks(masks, paths=paths, unsure=unsure))
    project.save_labels(labels)
    return list(masks)


def set_held_out(project, full_labels, held: list[str]) -> None:
    """Labels of every image but the held-out ones (theirs removed, their flag cleared)."""
    from skysegui.core.annotations import LABELLED_KEY

    labels = copy.deepcopy(full_labels)
    for record in labels.images.values():
        if Path(record.file_name).stem in held:
            for aid in [a.id for a in labels.annotations_for(record.id)]:
                del labels.annotations[aid]
            record.extra.pop(LABELLED_KEY, None)
    project.save_labels(labels)


# --- synthetic panoramas --------------------------------------------------------------
def resolve_generator(spec: str):
    """The function named 'package.module:function' (a synthetic scene generator)."""
    module, _, name = spec.partition(":")
    if not module or not name:
        raise ValueError(f"generator {spec!r} must be written 'package.module:function'")
    return getattr(importlib.import_module(module), name)


def add_synthetic(project, name: str, count: int, width: int, height: int, seed: int,
                  generator: str = DEFAULT_GENERATOR, args: Mapping | None = None) -> list[str]:
    """`count` labelled panoramas from `generator(width, height, seed=..., **args)`, which
    returns an object with .pixels (H x W x 3 linear) and .classes (0 other, 1 sky, 2 object
    in the sky) or .sky (0/1). Named synthetic_<name>_NN.exr, so the split counts them as
    synthetic. Returns their file names."""
    from skysegui.core.imageio import write_exr
    from skysegui.core.synthetic import labels_from_class_maps

    make = resolve_generator(generator)
    labels = project.load_labels().labels  # before the new files: it lists the folder's images
    class_maps, paths = {}, {}
    for i in range(count):
        pano = make(width, height, seed=seed + i, **dict(args or {}))
        classes = getattr(pano, "classes", None)
        if classes is None:
            classes = (np.asarray(pano.sky) > 0).astype(np.uint8)
        file_name = f"synthetic_{name}_{i:02d}.exr"
        path = project.images_dir / file_name
        write_exr(path, pano.pixels, half=True)
        class_maps[file_name] = np.asarray(classes, np.uint8)
        paths[file_name] = path
    merge_labels(labels, labels_from_class_maps(class_maps, paths=paths))
    project.save_labels(labels)
    return list(class_maps)


def make_project(root: Path, reals: Mapping[str, tuple[Path, Path]], count: int = 12,
                 width: int = 2048, height: int = 1024, labelled: int | None = None, seed: int = 0):
    """The demo project (`count` synthetic panoramas, `labelled` of them labelled: default
    half) + the real panoramas, labelled from their ground truth."""
    from skysegui.core.synthetic import write_demo_project

    project = write_demo_project(root, count=count, width=width, height=height,
                                 labelled=count // 2 if labelled is None else labelled, seed=seed)
    add_real_images(project, reals)
    return project


# --- scoring --------------------------------------------------------------------------
def score(predictor, image_path: Path, gt: np.ndarray, mode: str = "quality", upscale: int = 1) -> dict:
    """IoU, boundary IoU / F, false sky and the all-sky mask's IoU of one prediction."""
    from skysegui.core.imageio import read_image
    from skysegui.core.metrics import confusion, score_image

    pixels = read_image(image_path).pixels
    truth = gt
    if upscale > 1:
        import cv2

        h, w = pixels.shape[:2]
        pixels = cv2.resize(pixels, (w * upscale, h * upscale), interpolation=cv2.INTER_LINEAR)
        truth = cv2.resize(gt, (w * upscale, h * upscale), interpolation=cv2.INTER_NEAREST)
    pred = predictor.predict(pixels, mode=mode)
    s = score_image(image_path.stem, pred.mask, truth)
    return {"iou": s.iou, "boundary_iou": s.boundary_iou, "boundary_f": s.boundary_f, "false_sky": s.false_sky,
            "all_sky_iou": confusion(np.ones_like(truth), truth).iou,
            # an interior with a glimpse of sky (apartment: 0.4 %) is judged by its false sky
            "has_sky": bool((truth == 1).sum() >= SKY_IMAGE * (truth != 255).sum()),
            "seconds": pred.seconds}
