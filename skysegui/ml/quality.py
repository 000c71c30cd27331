"""Is a trained model any good? Its scores beside what trivial masks score, and a verdict.

A model that answers "sky" (or "not sky") at every pixel gets a sky IoU equal to the sky
fraction of the validation pixels: 0.48 looks like a score but is none (issue 19). So
every validation is scored three ways on the same pixels (the model, all sky, no sky),
and the checkpoint is chosen on the two-class mean IoU (sky IoU + ground IoU) / 2, which
no constant mask can push above 0.5. The verdict turns the numbers into words a user
understands, for the training dock, the CLI and card.json. No TensorFlow here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# A model must beat the best constant mask by this much mean IoU to count as learnt.
MARGIN = 0.05
# Inference-mode IoU of one batch this far below its training-mode IoU: unstable.
MODE_GAP = 0.25
OK, TRIVIAL, UNSTABLE = "ok", "trivial", "unstable"
# The truth value that is not scored (core.metrics.IGNORE, the ground truth's ignore band):
# validation crops of a region split also mark the pixels outside the image's validation
# band with it (they may have been trained on).


def scored_pixels(prob, truth) -> tuple[np.ndarray, np.ndarray]:
    """(prob, truth) of the pixels that count: all of them unless some truth is IGNORE
    (or NaN), then the rest, flattened."""
    p, t = np.asarray(prob), np.asarray(truth)
    keep = t <= 1.0  # False for IGNORE and NaN
    if keep.all():
        return p, t
    return np.broadcast_to(p, keep.shape)[keep], t[keep]


@dataclass(frozen=True)
class PooledScores:
    """Scores over all pixels of a set of crops (pooled, not averaged per crop)."""

    iou: float  # sky IoU
    ground_iou: float  # not-sky IoU
    miou: float  # mean of the two: at most 0.5 for any constant mask
    predicted_sky: float  # share of pixels the model calls sky
    true_sky: float  # share of pixels that are sky

    def as_dict(self, prefix: str = "") -> dict[str, float]:
        return {f"{prefix}{k}": float(v) for k, v in asdict(self).items()}


def _iou(tp: int, fp: int, fn: int) -> float:
    den = tp + fp + fn
    return 1.0 if den == 0 else tp / den


def pooled_scores(prob: np.ndarray, truth: np.ndarray, threshold: float = 0.5) -> PooledScores:
    """Sky / ground / mean IoU of probabilities against 0/1 truth, over every scored pixel."""
    prob, truth = scored_pixels(prob, truth)
    p = prob >= threshold
    t = truth > 0.5
    n = max(1, p.size)
    tp = int(np.count_nonzero(p & t))
    fp = int(np.count_nonzero(p & ~t))
    fn = int(np.count_nonzero(~p & t))
    tn = p.size - tp - fp - fn
    sky, ground = _iou(tp, fp, fn), _iou(tn, fn, fp)
    return PooledScores(iou=sky, ground_iou=ground, miou=(sky + ground) / 2,
                        predicted_sky=(tp + fp) / n, true_sky=(tp + fn) / n)


def trivial_baselines(truth: np.ndarray) -> dict[str, PooledScores]:
    """What the all-sky and no-sky masks score on the same pixels (IGNORE ones skipped)."""
    t = scored_pixels(truth, truth)[1]
    return {"all_sky": pooled_scores(np.ones(t.shape, np.float32), t),
            "no_sky": pooled_scores(np.zeros(t.shape, np.float32), t)}


@dataclass(frozen=True)
class Verdict:
    status: str  # ok | trivial | unstable
    message: str  # one sentence for the user ("" when ok)

    @property
    def ok(self) -> bool:
        return self.status == OK

    def as_dict(self) -> dict[str, str]:
        return {"status": self.status, "message": self.message}

    @classmethod
    def from_dict(cls, d: dict | None) -> Verdict | None:
        if not isinstance(d, dict) or d.get("status") not in (OK, TRIVIAL, UNSTABLE):
            return None
        return cls(str(d["status"]), str(d.get("message", "")))


def judge(scores: PooledScores, baselines: dict[str, PooledScores],
          train_mode_iou: float | None = None, inference_iou: float | None = None) -> Verdict:
    """ok, or why not, in words: a constant answer, or training and inference disagree."""
    best_trivial = max(b.miou for b in baselines.values())
    # "calls every pixel sky" needs sky to be rare enough that this is wrong
    if scores.predicted_sky >= 0.995 and scores.true_sky < 0.95:
        return Verdict(TRIVIAL, "the model calls every pixel sky: it has not learned yet")
    if scores.predicted_sky <= 0.005 and scores.true_sky > 0.05:
        return Verdict(TRIVIAL, "the model finds no sky anywhere: it has not learned yet")
    # (a validation set of one class only, e.g. interiors, cannot tell a model from a constant)
    if best_trivial < 1.0 - MARGIN and scores.miou < best_trivial + MARGIN:
        return Verdict(TRIVIAL, (
            f"the model is no better than a constant mask (mean IoU {scores.miou:.2f}, "
            f"a constant mask {best_trivial:.2f}): it has not learned yet"))
    # one-sided: a batch of a few crops scores noisily in training mode (its own statistics);
    # what matters is inference doing much worse than training believes
    if train_mode_iou is not None and inference_iou is not None \
            and train_mode_iou - inference_iou > MODE_GAP:
        return Verdict(UNSTABLE, (
            f"the model scores {train_mode_iou:.2f} IoU while training but {inference_iou:.2f} "
            "when predicting the same crops: its statistics have not settled"))
    return Verdict(OK, "")


def describe(metrics: dict, prefix: str = "val_") -> str:
    """'val mIoU 0.91 (all sky 0.24, no sky 0.26)': a score beside its baselines."""
    miou = metrics.get(f"{prefix}miou")
    if miou is None:
        return ""
    parts = [f"{'val ' if prefix == 'val_' else ''}mIoU {miou:.3f}"]
    base = [(name, metrics.get(f"{prefix}{key}_miou")) for name, key in
            (("all sky", "all_sky"), ("no sky", "no_sky"))]
    shown = [f"{name} {v:.3f}" for name, v in base if v is not None]
    if shown:
        parts.append(f"({', '.join(shown)})")
    return " ".join(parts)
