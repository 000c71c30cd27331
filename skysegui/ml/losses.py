"""Loss functions and metrics for binary sky masks, chosen by name in ModelConfig.loss.

Kept apart from the model factory so that a saved model never needs them: weights and a
card are enough for prediction; losses matter only while compiling for training.

Every loss and metric skips the pixels whose truth is IGNORE (255: what the labeller
marked unsure, and the ground truth's ignore band): there both truth and prediction are
set to 0 (not sky, predicted not sky), which adds nothing to an intersection or a union
and about nothing to a cross-entropy, and the prediction gets no gradient there. A
cross-entropy is still averaged over every pixel, so a crop that is mostly unsure counts
less in the batch, as it should.
"""

from __future__ import annotations

import skysegui.ml  # noqa: F401  (selects tf-keras before TensorFlow is imported)
from skysegui.core.errors import TrainingError
from skysegui.core.metrics import IGNORE

LOSSES = ("bce_jaccard", "dice", "focal", "weighted_bce")


def scored(y_true, y_pred):
    """(truth, prediction) with the IGNORE pixels set to 0 in both (see the module's note)."""
    from skysegui.ml.tf_import import import_tensorflow

    tf = import_tensorflow()
    y_true = tf.cast(y_true, y_pred.dtype)
    valid = tf.cast(tf.not_equal(y_true, float(IGNORE)), y_pred.dtype)
    return y_true * valid, y_pred * valid


def skipping_ignored(fn, name: str):
    """`fn(y_true, y_pred)` on the scored pixels only, named `name` (Keras logs a metric
    under its function's name)."""

    def on_scored(y_true, y_pred):
        return fn(*scored(y_true, y_pred))

    on_scored.__name__ = name
    return on_scored


def make_loss(name: str = "bce_jaccard", sky_weight: float = 1.0):
    """The training loss `name`, IGNORE pixels skipped.

    bce_jaccard: binary cross-entropy + Jaccard (the pipeline report's loss).
    dice: soft Dice. focal: binary focal loss (for hard, rare pixels).
    weighted_bce: cross-entropy where sky pixels count `sky_weight` times (the
    notebook's remedy for class imbalance; >1 when sky is rare, <1 when it dominates).
    """
    return skipping_ignored(_plain_loss(name, sky_weight), name)


def _plain_loss(name: str, sky_weight: float):
    from skysegui.ml.tf_import import import_segmentation_models, import_tensorflow

    sm, tf = import_segmentation_models(), import_tensorflow()

    if name == "bce_jaccard":
        return sm.losses.bce_jaccard_loss
    if name == "dice":
        return sm.losses.DiceLoss()
    if name == "focal":
        return sm.losses.BinaryFocalLoss()
    if name == "weighted_bce":
        w = float(sky_weight)

        def weighted_bce(y_true, y_pred):
            y_true = tf.cast(y_true, y_pred.dtype)
            eps = 1e-7
            p = tf.clip_by_value(y_pred, eps, 1.0 - eps)
            per_pixel = -(w * y_true * tf.math.log(p) + (1.0 - y_true) * tf.math.log(1.0 - p))
            return tf.reduce_mean(per_pixel)

        return weighted_bce
    raise TrainingError(f"unknown loss {name!r}: choose one of {', '.join(LOSSES)}")


def make_metrics() -> list:
    """IoU (the report's metric, named 'iou') and F1 ('f1'), thresholded at 0.5, IGNORE
    pixels skipped."""
    from skysegui.ml.tf_import import import_segmentation_models

    sm = import_segmentation_models()
    return [
        skipping_ignored(sm.metrics.IOUScore(threshold=0.5), "iou"),
        skipping_ignored(sm.metrics.FScore(threshold=0.5), "f1"),
    ]
