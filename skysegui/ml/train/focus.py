"""A fine-tuning round spends its crops where the start model is wrong (issue 19).

Why: a round of the loop trains on the panoramas the user just corrected because the
model got them wrong, beside many it already knows. Sampled by area alone, a 3-minute
round from the built-in model on a dozen images gave forest (a sky it got wrong) a twelfth
of the crops and left it at IoU 0.62; weighted as below, forest and the three interiors
where it saw false sky got 16 % each, forest reached 0.80, and the held-out city and
sunset kept IoU 0.998 and 1.000 (benchmarks/bench_loop_quality.py).

So before a fine-tuning run each training image is predicted once over its training
pixels (its validation sector left out), and its share of the crops is weighted by the
start model's error there plus a floor: images the model knows keep being seen (nothing
is forgotten), and an image it fails gets up to about half of the crops. A resumed
fine-tuning run weighs them again with the model it resumes. No TensorFlow import here:
`predict` is the model's own batch prediction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from skysegui.core.metrics import confusion
from skysegui.ml.data.cache import DatasetCache
from skysegui.ml.data.sampler import validation_crops

FLOOR = 0.05  # weight of an image the start model gets right, against 1 - mean IoU
SMOOTHING = 0.01  # share of an image's pixels added to both sides of its IoUs
CROPS_PER_IMAGE = 4  # enough to cover a 512 px wide panorama at 256 px crops


@dataclass(frozen=True)
class Focus:
    """Per training image: the start model's smoothed mean IoU and the weight it gives."""

    start_miou: dict[str, float]
    weights: dict[str, float]

    def shares(self) -> dict[str, float]:
        total = sum(self.weights.values()) or 1.0
        return {n: w / total for n, w in self.weights.items()}

    def as_card(self) -> dict:
        shares = self.shares()
        return {n: {"start_miou": round(self.start_miou[n], 4), "share": round(shares[n], 4)}
                for n in sorted(self.weights)}

    def note(self) -> str:
        """The card's note: where the round spent its crops, in words."""
        shares = self.shares()
        worst = sorted(shares, key=shares.get, reverse=True)[:3]
        parts = ", ".join(f"{n} {100 * shares[n]:.0f} % (start mean IoU {self.start_miou[n]:.2f})" for n in worst)
        return f"crops weighted by the start model's error on each image: {parts}"


def smoothed_miou(prob: np.ndarray, truth: np.ndarray) -> float:
    """(sky IoU + ground IoU) / 2 over the scored pixels (core.metrics.confusion: IGNORE
    skipped), each IoU with SMOOTHING x pixels added above and below: a few false-sky
    pixels in an interior cost a little, not the whole sky IoU as in the pooled score
    (where 1 false pixel of no true sky is IoU 0)."""
    c = confusion(np.asarray(prob) >= 0.5, np.asarray(truth))
    n = c.tp + c.fp + c.fn + c.tn
    if n == 0:
        return 1.0
    s = SMOOTHING * n
    sky = (c.tp + s) / (c.tp + c.fp + c.fn + s)
    ground = (c.tn + s) / (c.tn + c.fp + c.fn + s)
    return float((sky + ground) / 2)


def training_pixels_crops(cache: DatasetCache, name: str, size: int,
                          bands: dict[str, tuple[int, int]] | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Crops of one image's training pixels: everything outside its validation sector
    (the sector's complement is a band too), or the whole image without one."""
    band = (bands or {}).get(name)
    if band is None:
        return validation_crops(cache, [name], size, CROPS_PER_IMAGE, seed)
    width = cache.entries[cache.names.index(name)].width
    left, bw = band
    rest = {name: ((left + bw) % width, width - bw)}
    return validation_crops(cache, [name], size, CROPS_PER_IMAGE, seed, rest)


def focus_weights(predict: Callable[[np.ndarray], np.ndarray], cache: DatasetCache, names: Sequence[str],
                  size: int, bands: dict[str, tuple[int, int]] | None, seed: int) -> Focus:
    """Each image's weight (FLOOR + 1 - the start model's smoothed mean IoU on it); every
    image's crops go through the model in one `predict` call."""
    crops = [training_pixels_crops(cache, name, size, bands, seed) for name in names]
    counts = [len(x) for x, _ in crops]
    probs = predict(np.concatenate([x for x, _ in crops])) if sum(counts) else None
    mious: dict[str, float] = {}
    start = 0
    for name, (_, y), k in zip(names, crops, counts, strict=True):
        mious[name] = smoothed_miou(probs[start:start + k], y) if k else 1.0
        start += k
    return Focus(mious, {n: FLOOR + (1.0 - m) for n, m in mious.items()})
