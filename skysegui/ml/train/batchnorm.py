"""Re-estimate a network's BatchNorm statistics from training crops (imports tf-keras).

Why: a BatchNorm layer normalises with the current batch while training but with its
moving averages at inference. Those averages follow the weights with a lag of about
1 / (1 - momentum) steps: 1,000 steps for MobileNetV2's 0.999. A run of a few hundred
steps from scratch (or a fine-tuning run on new images) then predicts with statistics of
weights long gone, and the model answers the same everywhere (issue 19: "sky" at every
pixel, while the training-mode IoU was 0.83). Re-estimating the statistics of the
current weights over a few training batches removes the lag, whatever the preset, its
momentum or the run length. It runs before every validation and before every save, so
what is scored is what is saved, and it does not disturb training (training mode
normalises with the batch itself, never with the moving averages).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

RECALIBRATION_BATCHES = 8


def batchnorm_layers(model) -> list:
    from skysegui.ml.tf_import import import_tf_keras

    keras = import_tf_keras()
    return [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]


def recalibrate_batchnorm(model, batches: Iterator[tuple[np.ndarray, np.ndarray]],
                          count: int = RECALIBRATION_BATCHES) -> int:
    """Set every BatchNorm layer's moving mean and variance to the average of the batch
    statistics over `count` batches of `batches` (forward passes in training mode).

    The k-th batch is folded in with momentum k / (k + 1): an exact running mean, not an
    exponential one. Returns the number of batches used (0 if the model has no BatchNorm).
    Weights are untouched; only the moving statistics change.
    """
    layers = batchnorm_layers(model)
    if not layers:
        return 0
    saved = [layer.momentum for layer in layers]
    used = 0
    try:
        for k in range(count):
            x, _ = next(batches)
            for layer in layers:
                layer.momentum = k / (k + 1.0)
            model(np.asarray(x, np.float32), training=True)  # eager: the momentum is read per call
            used += 1
    finally:
        for layer, momentum in zip(layers, saved, strict=True):
            layer.momentum = momentum
    return used


class frozen_statistics:
    """Training-mode forward passes that leave the BatchNorm moving statistics alone."""

    def __init__(self, model) -> None:
        self.layers = batchnorm_layers(model)

    def __enter__(self):
        self.saved = [layer.momentum for layer in self.layers]
        for layer in self.layers:
            layer.momentum = 1.0
        return self

    def __exit__(self, *exc) -> None:
        for layer, momentum in zip(self.layers, self.saved, strict=True):
            layer.momentum = momentum
