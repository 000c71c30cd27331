"""Run an exported model as another tool would: onnxruntime for model.onnx,
tf.saved_model.load for saved_model/. Used by the export's own check, the tests and the
benchmark; the program itself predicts with the Keras model (ml/predict.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import skysegui.ml  # noqa: F401  (selects tf-keras before TensorFlow is imported)
from skysegui.core.errors import ModelError
from skysegui.ml.interop.contract import CONTRACT_NAME, INPUT_NAME, OUTPUT_NAME, SIGNATURE

ONNX_EXTRA_HINT = "pip install 'skysegui[onnx]' (tf2onnx and onnxruntime)"


@dataclass
class ExportedModel:
    """An exported network: call it with NHWC float32 input, get NHWC float32 probabilities."""

    format: str  # "onnx" | "savedmodel"
    path: Path
    run: Callable[[np.ndarray], np.ndarray]
    owner: object = None  # what `run` needs alive (the loaded SavedModel object)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.run(np.ascontiguousarray(x, dtype=np.float32))


def onnx_model(path: str | os.PathLike, threads: int = 0) -> ExportedModel:
    """model.onnx in an onnxruntime CPU session (`threads` 0: onnxruntime's default)."""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise ModelError(f"running an ONNX model needs onnxruntime: {ONNX_EXTRA_HINT}") from exc
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    if threads:
        options.intra_op_num_threads = threads
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ModelError(f"cannot load {path} with onnxruntime ({exc}): export the model again") from exc
    name = session.get_inputs()[0].name

    def run(x: np.ndarray) -> np.ndarray:
        return session.run([OUTPUT_NAME], {name: x})[0]

    return ExportedModel("onnx", Path(path), run)


def savedmodel_model(path: str | os.PathLike) -> ExportedModel:
    """saved_model/ loaded with tf.saved_model.load, called through its serving signature."""
    from skysegui.ml.tf_import import import_tensorflow

    tf = import_tensorflow()
    try:
        loaded = tf.saved_model.load(str(path))
        serve = loaded.signatures[SIGNATURE]
    except (OSError, KeyError, ValueError, tf.errors.OpError) as exc:
        raise ModelError(f"cannot load the SavedModel {path} ({exc}): export the model again") from exc

    def run(x: np.ndarray) -> np.ndarray:
        return serve(**{INPUT_NAME: tf.constant(x)})[OUTPUT_NAME].numpy()

    return ExportedModel("savedmodel", Path(path), run, owner=loaded)


def load_exported(path: str | os.PathLike, fmt: str | None = None) -> ExportedModel:
    """An export folder (its contract.json names the files; `fmt` picks one, default the
    first), a .onnx file or a SavedModel folder."""
    path = Path(path)
    if path.suffix == ".onnx":
        return onnx_model(path)
    if (path / "saved_model.pb").is_file():
        return savedmodel_model(path)
    contract = path / CONTRACT_NAME
    if not contract.is_file():
        raise ModelError(f"{path} is not a model export (no {CONTRACT_NAME}, .onnx or saved_model.pb): "
                         "make one with `skysegui export-model`")
    files = json.loads(contract.read_text(encoding="utf-8")).get("files", {})
    if not files:
        raise ModelError(f"{contract} names no exported files: export the model again")
    fmt = fmt or next(iter(files))
    if fmt not in files:
        raise ModelError(f"{path} holds no {fmt} export (it has {', '.join(files)})")
    target = path / files[fmt]
    return onnx_model(target) if fmt == "onnx" else savedmodel_model(target)

