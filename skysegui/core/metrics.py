"""Scores of a predicted sky mask against ground truth: IoU, F1, boundary F-score, Boundary
IoU and the false-sky fraction.

Ground truth follows the shared data's convention: 0 = not sky, 1 = sky, 255 = ignore
(a band along the boundary and regions too ambiguous to label). Ignored pixels count
for nothing. Predictions are binary: anything non-zero is sky (so 0/1 and 0/255 both work).

When neither mask has any sky (an interior), IoU and F1 are 1: the prediction is right.
IoU barely moves when a skyline is blurred into blobs (the sky's bulk dominates); Boundary
IoU scores only the pixels near each mask's contour, so it does. For interiors the number
that matters is the false-sky fraction: the share of valid non-sky pixels called sky.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np

IGNORE = 255


@dataclass(frozen=True)
class Confusion:
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def iou(self) -> float:
        den = self.tp + self.fp + self.fn
        return 1.0 if den == 0 else self.tp / den

    @property
    def f1(self) -> float:
        den = 2 * self.tp + self.fp + self.fn
        return 1.0 if den == 0 else 2 * self.tp / den

    @property
    def precision(self) -> float:
        den = self.tp + self.fp
        return 1.0 if den == 0 else self.tp / den

    @property
    def recall(self) -> float:
        den = self.tp + self.fn
        return 1.0 if den == 0 else self.tp / den

    @property
    def false_sky(self) -> float:
        """fp / (fp + tn): the share of valid non-sky pixels called sky (0 if there are none)."""
        den = self.fp + self.tn
        return 0.0 if den == 0 else self.fp / den


def _check_shapes(pred: np.ndarray, gt: np.ndarray) -> None:
    if pred.shape != gt.shape:
        raise ValueError(f"prediction {pred.shape} and ground truth {gt.shape} differ in size")


def confusion(pred: np.ndarray, gt: np.ndarray, where: np.ndarray | None = None) -> Confusion:
    """Pixel counts over the valid pixels (gt != 255, and `where` if given)."""
    _check_shapes(pred, gt)
    valid = gt != IGNORE
    if where is not None:
        valid &= where.astype(bool)
    p = pred.astype(bool) & valid
    g = (gt == 1) & valid
    tp = int(np.count_nonzero(p & g))
    fp = int(np.count_nonzero(p & ~g))
    fn = int(np.count_nonzero(~p & g))
    tn = int(np.count_nonzero(valid)) - tp - fp - fn
    return Confusion(tp, fp, fn, tn)


def iou(pred: np.ndarray, gt: np.ndarray, where: np.ndarray | None = None) -> float:
    return confusion(pred, gt, where).iou


def f1(pred: np.ndarray, gt: np.ndarray, where: np.ndarray | None = None) -> float:
    return confusion(pred, gt, where).f1


def boundary(mask: np.ndarray) -> np.ndarray:
    """Pixels of a binary mask that touch the other class (4-neighbourhood).

    Image edges are not boundaries (replicated border): a sky touching the top edge or
    the 360-degree seam has no contour there.
    """
    m = mask.astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    eroded = cv2.erode(m, kernel, borderType=cv2.BORDER_REPLICATE)
    dilated = cv2.dilate(m, kernel, borderType=cv2.BORDER_REPLICATE)
    return (m.astype(bool) & ~eroded.astype(bool)) | (~m.astype(bool) & dilated.astype(bool))


def _near(points: np.ndarray, tolerance: int) -> np.ndarray:
    size = 2 * tolerance + 1
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    return cv2.dilate(points.astype(np.uint8), disk).astype(bool)


def boundary_f_score(pred: np.ndarray, gt: np.ndarray, tolerance: int = 2) -> float:
    """F-score of boundary pixels matched within `tolerance` pixels (Csurka et al. BF score).

    Ground-truth boundaries run between sky (1) and not sky (0); ignored pixels are
    neither, so boundary pixels inside the ignore band are left out on both sides.
    """
    _check_shapes(pred, gt)
    valid = gt != IGNORE
    gt_sky = gt == 1
    # Where gt is ignored, copy the prediction so no false contour appears at the band.
    gt_filled = np.where(valid, gt_sky, pred.astype(bool))
    pb = boundary(pred.astype(bool)) & valid
    gb = boundary(gt_filled) & valid
    n_p, n_g = int(np.count_nonzero(pb)), int(np.count_nonzero(gb))
    if n_p == 0 and n_g == 0:
        return 1.0
    if n_p == 0 or n_g == 0:
        return 0.0
    precision = np.count_nonzero(pb & _near(gb, tolerance)) / n_p
    recall = np.count_nonzero(gb & _near(pb, tolerance)) / n_g
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


def default_boundary_distance(height: int, width: int) -> int:
    """Boundary IoU band width: 0.3 % of the image diagonal, at least 2 px.

    2 px at 512x256, 3 px at 1024x512, 27 px at 8192x4096: the same share of the panorama
    at every resolution, so scores of 1K and 8K predictions compare.
    """
    return max(2, round(0.003 * math.hypot(height, width)))


def boundary_iou(pred: np.ndarray, gt: np.ndarray, distance: int | None = None) -> float:
    """Boundary IoU (Cheng et al., CVPR 2021): IoU of the masks' inner contour bands.

    Each mask's band is its own pixels within `distance` px of its contour (the
    `boundary()` pixels; distance 0 = the one-pixel inner contour, d = a band d + 1 px
    deep): |(Pd & P) & (Gd & G)| / |(Pd & P) | (Gd & G)|. The default
    distance is `default_boundary_distance` of the image size. Ignored ground-truth
    pixels (255) are dropped from both bands, and the ignore band is filled with the
    prediction (as in `boundary_f_score`) so its edge is no false contour; image edges
    and the 360-degree seam are no contours. When neither mask has a contour among the
    valid pixels (an interior without sky, predicted without sky), the score is 1.
    """
    _check_shapes(pred, gt)
    if distance is None:
        distance = default_boundary_distance(*gt.shape[:2])
    if distance < 0:
        raise ValueError(f"boundary distance {distance} is negative")
    valid = gt != IGNORE
    p = pred.astype(bool)
    g = np.where(valid, gt == 1, p)  # gt_filled
    pb = _near(boundary(p), distance) & p & valid
    gb = _near(boundary(g), distance) & g & valid
    union = int(np.count_nonzero(pb | gb))
    if union == 0:
        return 1.0
    return float(np.count_nonzero(pb & gb) / union)


@dataclass(frozen=True)
class ImageScore:
    name: str
    iou: float
    f1: float
    boundary_f: float
    precision: float
    recall: float
    valid_pixels: int
    boundary_iou: float = float("nan")
    false_sky: float = float("nan")

    def as_dict(self) -> dict:
        return asdict(self)


def score_image(
    name: str, pred: np.ndarray, gt: np.ndarray, tolerance: int = 2, boundary_distance: int | None = None
) -> ImageScore:
    """All scores of one image; `boundary_distance` None = `default_boundary_distance`."""
    c = confusion(pred, gt)
    return ImageScore(
        name=name,
        iou=c.iou,
        f1=c.f1,
        boundary_f=boundary_f_score(pred, gt, tolerance),
        precision=c.precision,
        recall=c.recall,
        valid_pixels=c.tp + c.fp + c.fn + c.tn,
        boundary_iou=boundary_iou(pred, gt, boundary_distance),
        false_sky=c.false_sky,
    )


def mean_scores(scores: list[ImageScore]) -> dict[str, float]:
    """Unweighted mean over images (each panorama counts once, whatever its size)."""
    keys = ("iou", "f1", "boundary_f", "precision", "recall", "boundary_iou", "false_sky")
    if not scores:
        return {k: float("nan") for k in keys}
    return {k: float(np.mean([getattr(s, k) for s in scores])) for k in keys}


def ground_truth_from_png(raw: np.ndarray, sky_value: int = 1) -> np.ndarray:
    """A 0/1/255 ground truth from a mask file's values.

    The shared data's convention is 0 / 1 sky / 255 ignore (sky_value=1). For plain
    masks with sky = 255 and nothing ignored, pass sky_value=255. Class maps (2 =
    object inside the sky) count 2 as not sky.
    """
    if raw.ndim == 3:
        raw = raw[..., 0]
    gt = np.zeros(raw.shape, np.uint8)
    gt[raw == sky_value] = 1
    if sky_value != IGNORE:
        gt[raw == IGNORE] = IGNORE
    return gt


def border_band(height: int, width: int, patch: int, radius: int) -> np.ndarray:
    """Pixels within `radius` of a patch border of a `patch` grid from the top-left corner."""
    rows = np.arange(height) % patch
    cols = np.arange(width) % patch
    near_r = np.minimum(rows, patch - 1 - rows) < radius
    near_c = np.minimum(cols, patch - 1 - cols) < radius
    return near_r[:, None] | near_c[None, :]
