"""A small plain U-Net and multi-scale training crops: models that learn in seconds on a CPU.

The segmentation_models backbones take minutes to fit even on tiny images, so the tests and
benchmarks of the prediction machinery (tiling, seams, modes, accept) train this network
instead, on crops of synthetic panoramas, with plain Keras fit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import skysegui.ml  # noqa: F401  (selects tf-keras before TensorFlow is imported)


def _conv_bn_relu(x, filters: int):
    from tf_keras import layers

    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(momentum=0.9)(x)
    return layers.Activation("relu")(x)


def small_unet(filters: Sequence[int] = (8, 16, 16, 32), bottleneck: int = 32):
    """A U-Net with one conv block per level (50k parameters with the defaults); any input
    size divisible by 2**len(filters); sigmoid output."""
    from skysegui.ml.tf_import import import_tf_keras

    keras = import_tf_keras()
    from tf_keras import layers

    inp = keras.Input((None, None, 3))
    skips, x = [], inp
    for f in filters:
        x = _conv_bn_relu(x, f)
        skips.append(x)
        x = layers.MaxPooling2D(2)(x)
    x = _conv_bn_relu(x, bottleneck)
    for f, skip in zip(reversed(filters), reversed(skips), strict=True):
        x = _conv_bn_relu(layers.Concatenate()([layers.UpSampling2D(2)(x), skip]), f)
    return keras.Model(inp, layers.Conv2D(1, 1, activation="sigmoid")(x))


def pyramid_crops(panoramas, count: int, size: int, rng: np.random.Generator,
                  scales: Sequence[int] = (1, 2, 4), min_width: int = 0):
    """(x, y) float32 arrays of `count` random size x size crops, taken from each panorama at
    1/scale of its size (scales whose width falls below `min_width` are skipped). The input
    is the network's HDR log transform; rows are reflect-padded by size/4 like prediction
    tiles, so crops also show the poles' borders."""
    import cv2

    from skysegui.core.tonemap import hdr_log_transform

    images, masks = [], []
    for pano in panoramas:
        h, w = pano.sky.shape
        for f in scales:
            if w // f < max(min_width, size):
                continue
            pixels = cv2.resize(pano.pixels, (w // f, h // f), interpolation=cv2.INTER_AREA)
            sky = cv2.resize(pano.sky.astype(np.float32), (w // f, h // f), interpolation=cv2.INTER_AREA)
            pad = ((size // 4, size // 4), (0, 0))
            images.append(np.pad(hdr_log_transform(pixels), pad + ((0, 0),), mode="reflect"))
            masks.append(np.pad(np.round(sky), pad, mode="reflect"))
    xs, ys = [], []
    for _ in range(count):
        k = rng.integers(len(images))
        h, w = masks[k].shape
        y, x = rng.integers(0, h - size + 1), rng.integers(0, w - size + 1)
        xs.append(images[k][y : y + size, x : x + size])
        ys.append(masks[k][y : y + size, x : x + size, None])
    return np.stack(xs).astype(np.float32), np.stack(ys).astype(np.float32)
