"""`skysegui evaluate`: IoU, F1, boundary F-score, Boundary IoU and false-sky fraction of
predicted masks against ground truth.

Ground truth is either a folder of mask images named like the panoramas (0 / 1 sky /
255 ignore, the shared data's convention; --gt-sky-value 255 for plain 0/255 masks) or a
COCO / Label Studio label file whose images are matched to the predictions by name.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from skysegui.cli import options

if TYPE_CHECKING:
    import numpy as np  # imported when the command runs (`skysegui --help` stays fast)

MASK_SUFFIX = ".mask.png"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="score predicted masks against ground truth (IoU, F1, boundary F, Boundary IoU, false sky)",
        description="Score every <stem>.mask.png in --pred against the ground truth of the "
        "same image: a mask folder (0 = not sky, 1 = sky, 255 = ignore) or a COCO/Label Studio "
        "file. Prints one row per image and the unweighted mean. BIoU (Boundary IoU) is the IoU "
        "of only the pixels near each mask's skyline, so a blobby skyline scores low even when IoU "
        "is high; BF (boundary F-score) counts skyline pixels within --bf-tolerance px of the "
        "other mask's skyline; 'false sky' is the share of valid non-sky pixels called sky.",
    )
    p.add_argument("--pred", required=True, help="folder with <stem>.mask.png predictions")
    p.add_argument("--gt", required=True, help="ground-truth mask folder, or a COCO / Label Studio JSON file")
    options.add_images_dir(p, "; for a label file --gt")
    p.add_argument("--gt-sky-value", type=int, default=1,
                   help="value of sky in ground-truth masks (default 1; 255 for plain 0/255 masks)")
    p.add_argument("--bf-tolerance", type=int, default=2, metavar="PX",
                   help="boundary F-score (BF): how far in px a skyline pixel may be from the other "
                   "mask's and still match (default 2; formerly --tolerance)")
    options.deprecated_alias(p, "--tolerance", "--bf-tolerance PX", dest="bf_tolerance", type=int)
    p.add_argument("--boundary-distance", type=int, default=None, metavar="PX",
                   help="Boundary IoU (BIoU) band width in px (default: 0.3%% of each image's diagonal, "
                   "at least 2: 2 px at 512x256, 3 at 1024x512, 27 at 8192x4096)")
    options.add_quiet(p)
    options.add_json(p)
    p.set_defaults(func=run)


@dataclass
class Pair:
    name: str
    pred: np.ndarray
    gt: np.ndarray


PRED_ADVICE = "predict it again or replace the mask"
GT_ADVICE = "replace it with an undamaged copy of the ground truth"


def read_mask(path: Path, advice: str = PRED_ADVICE) -> np.ndarray:
    import numpy as np

    from skysegui.core.errors import PredictionError
    from skysegui.core.imageio.planes import read_plane

    data = read_plane(path, PredictionError, advice)
    if data.dtype != np.uint8:
        data = (data > 0).astype(np.uint8)  # 16-bit masks: any non-zero is sky
    return data


def prediction_masks(pred_dir: Path) -> dict[str, Path]:
    from skysegui.core.errors import PredictionError

    if not pred_dir.is_dir():
        raise PredictionError(f"{pred_dir} is not a folder: give the --out folder of `skysegui predict`")
    found = {p.name[: -len(MASK_SUFFIX)]: p for p in sorted(pred_dir.glob(f"*{MASK_SUFFIX}"))}
    if not found:
        raise PredictionError(f"no *{MASK_SUFFIX} files in {pred_dir}: run `skysegui predict --out {pred_dir}` first")
    return found


def _fit(gt: np.ndarray, shape: tuple[int, int], name: str, warnings: list[str]) -> np.ndarray | None:
    """Ground truth at the prediction's size: nearest-neighbour resize if only the scale differs."""
    import cv2

    if gt.shape == shape:
        return gt
    gh, gw = gt.shape
    ph, pw = shape
    if abs(gw / gh - pw / ph) > 0.01 * (pw / ph):
        warnings.append(f"{name}: ground truth {gw}x{gh} and prediction {pw}x{ph} differ in shape; skipped")
        return None
    warnings.append(f"{name}: ground truth {gw}x{gh} resized to the prediction's {pw}x{ph}")
    return cv2.resize(gt, (pw, ph), interpolation=cv2.INTER_NEAREST)


def pairs_from_mask_dir(preds: dict[str, Path], gt_dir: Path, sky_value: int, warnings: list[str]) -> list[Pair]:
    from skysegui.core.imageio import IMAGE_EXTENSIONS
    from skysegui.core.metrics import ground_truth_from_png

    gts: dict[str, Path] = {}
    for p in sorted(gt_dir.iterdir()):
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS:
            stem = p.name[: -len(MASK_SUFFIX)] if p.name.endswith(MASK_SUFFIX) else p.stem
            gts.setdefault(stem, p)
    pairs = []
    for name, pred_path in preds.items():
        if name not in gts:
            warnings.append(f"{name}: no ground truth in {gt_dir}; skipped")
            continue
        pred = read_mask(pred_path)
        gt = _fit(ground_truth_from_png(read_mask(gts[name], GT_ADVICE), sky_value), pred.shape, name, warnings)
        if gt is not None:
            pairs.append(Pair(name, pred > 127, gt))
    return pairs


def pairs_from_labels(preds: dict[str, Path], label_file: Path, images: Path | None, warnings: list[str]) -> list[Pair]:

    from skysegui.core.annotations import load_labels, scored_sky_mask

    loaded = load_labels(label_file, images_dir=images)
    warnings += list(loaded.warnings)
    labels = loaded.labels
    pairs = []
    for name, pred_path in preds.items():
        record = labels.image_by_name(name)
        if record is None:
            warnings.append(f"{name}: not in {label_file.name}; skipped")
            continue
        pred = read_mask(pred_path)
        gt = _fit(scored_sky_mask(labels, record.id), pred.shape, name, warnings)  # unsure: ignored
        if gt is not None:
            pairs.append(Pair(name, pred > 127, gt))
    return pairs


def evaluate(args: argparse.Namespace) -> tuple[list, dict, list[str]]:
    from skysegui.core.errors import PredictionError
    from skysegui.core.metrics import mean_scores, score_image

    if args.bf_tolerance < 0:
        raise PredictionError(f"--bf-tolerance {args.bf_tolerance} is negative: give a distance in px (default 2)")
    boundary_distance = args.boundary_distance
    if boundary_distance is not None and boundary_distance < 0:
        raise PredictionError(
            f"--boundary-distance {boundary_distance} is negative: give a distance in px "
            "(or leave it out for 0.3% of each image's diagonal)"
        )
    if not 0 <= args.gt_sky_value <= 255:
        raise PredictionError(f"--gt-sky-value {args.gt_sky_value} is not an 8-bit value: use 1 or 255")
    preds = prediction_masks(Path(args.pred))
    gt = Path(args.gt)
    warnings: list[str] = []
    if gt.is_dir():
        pairs = pairs_from_mask_dir(preds, gt, args.gt_sky_value, warnings)
    elif gt.is_file():
        pairs = pairs_from_labels(preds, gt, Path(args.images) if args.images else None, warnings)
    else:
        raise PredictionError(f"{gt} does not exist: give a ground-truth mask folder or a label file")
    if not pairs:
        raise PredictionError(
            f"no prediction in {args.pred} has ground truth in {gt}: names must match (<stem>.mask.png "
            "against <stem>.png or the label file's image names)"
        )
    scores = [score_image(p.name, p.pred, p.gt, args.bf_tolerance, boundary_distance) for p in pairs]
    return scores, mean_scores(scores), warnings


COLUMNS = (  # (heading, key of ImageScore / mean_scores)
    ("IoU", "iou"),
    ("F1", "f1"),
    ("BF", "boundary_f"),
    ("BIoU", "boundary_iou"),
    ("prec", "precision"),
    ("recall", "recall"),
    ("false sky", "false_sky"),
)


def _row(label: str, values) -> str:
    return f"{label[:30]:30s} " + " ".join(f"{v:{max(7, len(h))}.4f}" for (h, _), v in zip(COLUMNS, values, strict=True))


def format_table(scores, mean: dict) -> str:
    lines = [f"{'image':30s} " + " ".join(f"{h:>{max(7, len(h))}s}" for h, _ in COLUMNS)]
    for s in scores:
        lines.append(_row(s.name, [getattr(s, k) for _, k in COLUMNS]))
    lines.append(_row(f"mean ({len(scores)} images)", [mean[k] for _, k in COLUMNS]))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    scores, mean, warnings = evaluate(args)
    for w in warnings:
        options.warn(args, w)
    options.emit(args, {"images": [s.as_dict() for s in scores], "mean": mean, "warnings": warnings},
                 format_table(scores, mean))
    return 0
