"""What happens at the end of every epoch before anything is scored or saved (tf-keras).

1. The BatchNorm statistics are re-estimated for the current weights (batchnorm.py).
2. The validation crops are predicted in inference mode, exactly as prediction will, and
   scored against the truth and against the trivial masks on the same pixels (quality.py).
3. One fresh training batch is predicted in training mode and in inference mode: if the
   two disagree widely, the model is not what training believes it is.
4. A verdict in words: ok, "calls every pixel sky", "finds no sky", "no better than a
   constant", or unstable.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from skysegui.ml.quality import Verdict, judge, pooled_scores, scored_pixels, trivial_baselines
from skysegui.ml.train.batchnorm import frozen_statistics, recalibrate_batchnorm


def bce_jaccard(prob: np.ndarray, truth: np.ndarray) -> float:
    """Binary cross-entropy + soft Jaccard loss over the scored pixels (the report's loss)."""
    prob, truth = scored_pixels(prob, truth)
    p = np.clip(np.asarray(prob, np.float64), 1e-7, 1 - 1e-7)
    t = np.asarray(truth, np.float64)
    bce = float(np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p))))
    inter = float(np.sum(p * t))
    union = float(np.sum(p) + np.sum(t) - inter)
    return bce + 1.0 - (inter + 1e-5) / (union + 1e-5)


class EpochEvaluator:
    """Recalibrate, validate, cross-check and judge one model state; returns the logs."""

    def __init__(self, val: tuple[np.ndarray, np.ndarray] | None,
                 train_batches: Iterator[tuple[np.ndarray, np.ndarray]], batch_size: int) -> None:
        self.val = val if val is not None and len(val[0]) else None
        self.batches = train_batches
        self.batch_size = batch_size
        self.verdict: Verdict | None = None
        self.baselines = trivial_baselines(val[1]) if self.val is not None else None

    @property
    def monitor(self) -> str:
        """The score the best checkpoint is chosen on: one no constant mask can win."""
        return "val_miou" if self.val is not None else "check_miou"

    def __call__(self, model) -> dict[str, float]:
        recalibrate_batchnorm(model, self.batches)
        logs: dict[str, float] = {}
        x, y = next(self.batches)
        with frozen_statistics(model):
            train_mode = np.asarray(model(np.asarray(x, np.float32), training=True), np.float32)
        inference = np.asarray(model(np.asarray(x, np.float32), training=False), np.float32)
        check = pooled_scores(inference, y)
        train_iou = pooled_scores(train_mode, y).iou
        logs.update(check.as_dict("check_"))
        logs["check_train_mode_iou"] = train_iou
        if self.val is not None:
            vx, vy = self.val
            prob = model.predict(vx, batch_size=self.batch_size, verbose=0)
            scores = pooled_scores(prob, vy)
            baselines = self.baselines
            logs.update(scores.as_dict("val_"))
            logs["val_loss"] = bce_jaccard(prob, vy)
        else:
            scores, baselines = check, trivial_baselines(y)
        prefix = "val_" if self.val is not None else "check_"
        for name, b in baselines.items():
            logs[f"{prefix}{name}_miou"] = b.miou
            logs[f"{prefix}{name}_iou"] = b.iou
        self.verdict = judge(scores, baselines, train_iou, check.iou)
        return logs

