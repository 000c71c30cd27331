"""Exported models (skysegui export-model) against the Keras model they came from.

Same process, same input, same weights: the Keras model called as ml/predict.py calls it
(the baseline), the ONNX export in onnxruntime and the SavedModel loaded with
tf.saved_model.load. Two inputs that count:
  cpu      the `cpu` preset (Unet + MobileNetV2, the built-in model's network) on a whole
           panorama at its scale, 512 x 256 (what every prediction of such a model runs);
  default  the report's Unet + ResNet34 on one 1024 px tile of quality mode.
Weights are random with BatchNorm statistics re-estimated on the input (so the numbers
flowing through are those of a trained network); a forward pass takes the same time
whatever the weights. Also: the largest difference from the Keras probabilities.
Target: an export runs at most 1.25x the Keras time (the same speed where it counts).
SKYSEGUI_BENCH_REPEAT sets the repeats (best of, default 5).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from benchmarks._table import Row, timed

BENCH = "model export"
TARGET = 1.25
CASES = (("cpu", (1, 256, 512, 3)), ("default", (1, 1024, 1024, 3)))


def _model_folder(preset_name: str, folder: Path) -> Path:
    from skysegui.ml.model import ModelCard, build_model, preset, save_model
    from skysegui.ml.train.batchnorm import recalibrate_batchnorm

    config = preset(preset_name)
    model = build_model(config)
    rng = np.random.default_rng(0)

    def batches():
        while True:
            x = rng.uniform(-1.0, 2.6, (2, 256, 256, 3)).astype(np.float32)
            yield x, np.zeros((2, 256, 256, 1), np.float32)

    recalibrate_batchnorm(model, batches())
    return save_model(model, ModelCard(config=config, name=f"bench-{preset_name}"), folder / preset_name)


def run() -> list[Row]:
    import skysegui.ml  # noqa: F401
    from skysegui.ml.interop.export import export_model
    from skysegui.ml.interop.runtime import load_exported
    from skysegui.ml.model import load_model

    repeat = int(os.environ.get("SKYSEGUI_BENCH_REPEAT", "5"))
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, shape in CASES:
            folder = _model_folder(name, tmp)
            export = export_model(folder, tmp / f"{name}-export", ("onnx", "savedmodel"))
            model = load_model(folder).model
            x = np.random.default_rng(1).uniform(-1.0, 2.6, shape).astype(np.float32)
            size = f"{shape[2]}x{shape[1]}"

            def keras_forward(m=model, x=x):
                return np.asarray(m(x, training=False), np.float32)

            keras_forward()  # warm-up: graph set-up, oneDNN primitives
            base, reference = timed(keras_forward, repeat)
            rows.append(Row(BENCH, f"{name} {size}: Keras (as ml/predict.py)", base, "s"))
            for fmt, label in (("onnx", "onnxruntime"), ("savedmodel", "SavedModel")):
                runner = load_exported(export.folder, fmt)
                runner(x)  # warm-up
                seconds, got = timed(lambda r=runner, x=x: r(x), repeat)
                ratio = seconds / base
                rows.append(Row(BENCH, f"{name} {size}: {label}", seconds, "s", "Keras", ratio,
                                f"<= {TARGET:g}x", ratio <= TARGET))
                rows.append(Row(BENCH, f"{name} {size}: {label} max |p - p_keras|",
                                float(np.max(np.abs(got - reference))), ""))
    return rows
