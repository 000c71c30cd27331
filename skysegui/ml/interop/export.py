"""Export a model folder (card.json + weights) to ONNX and/or a TensorFlow SavedModel.

    <out>/model.onnx        ONNX (tf2onnx), input `input` NHWC float32, output `sky_probability`
    <out>/saved_model/      SavedModel, signature serving_default with the same names
    <out>/contract.json     what the network needs and gives (interop/contract.py)
    <out>/README.md         the same in words, with an example
    <out>/card.json         the model's own card, unchanged

Every export is checked before it is kept: the exported model predicts one input of the
card's crop size (two crops wide) and must agree with the Keras model within TOLERANCE
(the difference is recorded in contract.json); otherwise ExportError and nothing is written. The folder is
written beside its target and renamed into place; a previous export is kept as <out>.bak.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import skysegui.ml  # noqa: F401  (selects tf-keras before TensorFlow is imported)
from skysegui.core.atomicio import write_text_atomic
from skysegui.core.errors import ExportError, ModelError
from skysegui.core.progress import ProgressFn, report
from skysegui.ml.interop.contract import (
    CONTRACT_NAME,
    INPUT_NAME,
    ONNX_NAME,
    OUTPUT_NAME,
    README_NAME,
    SAVEDMODEL_NAME,
    SIGNATURE,
    make_contract,
    make_readme,
)
from skysegui.ml.interop.runtime import ONNX_EXTRA_HINT, onnx_model, savedmodel_model

FORMATS = ("onnx", "savedmodel")
DEFAULT_OPSET = 17
# The export check's limit on |p_export - p_keras|. float32 kernels of two runtimes sum in
# different orders: measured 1e-7 on the tiny preset, 4e-5 to 7e-5 on the cpu and default
# presets (the SavedModel, TensorFlow itself run as a graph, differs from Keras' eager call
# as much: bench_model_export). A mask thresholds at 0.5; 1e-3 still catches a wrong op.
TOLERANCE = 1e-3
FILE_NAMES = {"onnx": ONNX_NAME, "savedmodel": SAVEDMODEL_NAME}


@dataclass
class ExportResult:
    folder: Path
    files: dict[str, Path]  # format -> path
    contract: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def parse_formats(text: str | Sequence[str]) -> tuple[str, ...]:
    """'onnx', 'savedmodel', 'onnx,savedmodel' or 'all' -> the formats, in FORMATS order."""
    items = text.split(",") if isinstance(text, str) else list(text)
    names = {i.strip().lower().replace("_", "") for i in items if i.strip()}
    if "all" in names:
        names = set(FORMATS)
    unknown = names - set(FORMATS)
    if unknown or not names:
        raise ExportError(f"unknown export format {', '.join(sorted(unknown)) or repr(text)}: "
                          f"use {', '.join(FORMATS)} (comma-separated) or all")
    return tuple(f for f in FORMATS if f in names)


def require_onnx_converter():
    """The tf2onnx module, or ExportError saying how to install it."""
    from skysegui.ml.tf_import import import_tensorflow

    import_tensorflow()  # first, quietly: tf2onnx imports TensorFlow
    try:
        import tf2onnx
    except ImportError as exc:
        raise ExportError(f"ONNX export needs tf2onnx: {ONNX_EXTRA_HINT}; or export "
                          "--format savedmodel, which needs nothing more") from exc
    return tf2onnx


def export_model(model_folder: str | os.PathLike, out: str | os.PathLike,
                 formats: Sequence[str] = ("onnx",), force: bool = False,
                 opset: int = DEFAULT_OPSET, progress: ProgressFn | None = None) -> ExportResult:
    """Export the model in `model_folder` into the folder `out` (see the module doc)."""
    from skysegui.ml.model import fixed_input_size, load_model, read_card

    formats = parse_formats(formats)
    out = Path(out)
    if out.exists() and not force and (out.is_file() or any(out.iterdir())):
        raise ExportError(f"{out} already exists: choose another --out, or --force to replace it "
                          f"(the previous one is kept as {out.name}.bak)")
    read_card(model_folder)  # a wrong folder says so before TensorFlow loads
    if "onnx" in formats:
        require_onnx_converter()  # before anything is loaded or written
    steps = 2 + 2 * len(formats)
    report(progress, 0, steps, "loading the model")
    loaded = load_model(model_folder)
    model, card = loaded.model, loaded.card
    fixed = fixed_input_size(model)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    except OSError as exc:
        raise ExportError(f"cannot write into {out.parent}: {exc.strerror or exc}") from exc
    try:
        sample = check_input(card, fixed)
        reference = np.asarray(model(sample, training=False), np.float32)
        files: dict[str, Path] = {}
        checks: dict[str, dict] = {}
        notes: list[str] = []
        done = 1
        for fmt in formats:
            report(progress, done, steps, f"writing {fmt}")
            target = work / FILE_NAMES[fmt]
            if fmt == "onnx":
                write_onnx(model, target, opset, fixed)
            else:
                write_savedmodel(model, target, fixed)
            report(progress, done + 1, steps, f"checking {fmt}")
            checks[fmt] = check_export(fmt, target, sample, reference)
            if checks[fmt].get("note"):
                notes.append(f"{fmt} not checked: {checks[fmt]['note']}")
            files[fmt] = out / FILE_NAMES[fmt]
            done += 2
        contract = make_contract(card, {f: FILE_NAMES[f] for f in formats}, fixed, checks,
                                 onnx_opset=opset)
        import json

        write_text_atomic(work / CONTRACT_NAME, json.dumps(contract, indent=2, default=_plain))
        write_text_atomic(work / README_NAME, make_readme(contract))
        shutil.copy2(Path(model_folder) / "card.json", work / "card.json")
        _swap_in(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    report(progress, steps, steps, "exported")
    return ExportResult(folder=out, files=files, contract=contract, notes=notes)


def check_input(card, fixed: tuple[int, int] | None) -> np.ndarray:
    """A fixed, seeded input in the range of the card's transform: one crop high, two wide."""
    h, w = fixed or (card.patch_size, 2 * card.patch_size)
    rng = np.random.default_rng(20240)
    low, high = (-1.0, 2.6) if card.input_transform == "hdr_log" else (0.0, 1.0)
    return rng.uniform(low, high, size=(1, h, w, 3)).astype(np.float32)


def check_export(fmt: str, path: Path, sample: np.ndarray, reference: np.ndarray) -> dict[str, Any]:
    """Run the exported model on `sample`; ExportError when it strays from `reference`."""
    entry: dict[str, Any] = {"input_shape": "x".join(str(d) for d in sample.shape), "tolerance": TOLERANCE}
    try:
        runner = onnx_model(path) if fmt == "onnx" else savedmodel_model(path)
    except ModelError as exc:
        if fmt == "onnx" and "onnxruntime" in str(exc):
            entry["max_abs_diff"] = None
            entry["note"] = "onnxruntime is not installed"
            return entry
        raise ExportError(f"the {fmt} export cannot be loaded back: {exc}") from exc
    got = runner(sample)
    if got.shape != reference.shape:
        raise ExportError(f"the {fmt} export gives shape {got.shape}, the model {reference.shape}: "
                          "please report this model's card.json")
    diff = float(np.max(np.abs(got - reference)))
    entry["max_abs_diff"] = diff
    if not diff <= TOLERANCE:
        raise ExportError(f"the {fmt} export predicts up to {diff:.3g} away from the Keras model "
                          f"(tolerance {TOLERANCE:g}): nothing was written; try another --format")
    return entry


def _serving_function(model, fixed: tuple[int, int] | None):
    from skysegui.ml.tf_import import import_tensorflow

    tf = import_tensorflow()
    shape = [None, *(fixed or (None, None)), 3]

    @tf.function(input_signature=[tf.TensorSpec(shape, tf.float32, name=INPUT_NAME)])
    def serve(x):
        return {OUTPUT_NAME: model(x, training=False)}

    return tf, serve


def write_savedmodel(model, path: Path, fixed: tuple[int, int] | None) -> None:
    """A SavedModel with one signature, `serving_default`: input -> sky_probability.

    The module holds the network's variables and the traced forward pass only (not the
    Keras model object), so loading it needs TensorFlow alone: no Keras, no custom layers."""
    tf, serve = _serving_function(model, fixed)
    module = tf.Module()
    module.variables_ = list(model.variables)
    module.serve = serve
    try:
        tf.saved_model.save(module, str(path), signatures={SIGNATURE: serve.get_concrete_function()})
    except (OSError, tf.errors.OpError) as exc:
        raise ExportError(f"cannot write the SavedModel {path}: {exc}") from exc


def write_onnx(model, path: Path, opset: int, fixed: tuple[int, int] | None) -> None:
    """model.onnx through tf2onnx, with Resize nodes made portable (see _portable_resize)."""
    tf2onnx = require_onnx_converter()
    from skysegui.ml.tf_import import import_tensorflow

    tf = import_tensorflow()
    spec = (tf.TensorSpec([None, *(fixed or (None, None)), 3], tf.float32, name=INPUT_NAME),)
    try:
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=opset)
    except Exception as exc:  # tf2onnx raises plain exceptions for unsupported ops
        raise ExportError(f"tf2onnx cannot convert this model at opset {opset} ({exc}): "
                          "try --opset 15, or --format savedmodel") from exc
    _portable_resize(proto)
    import onnx

    onnx.save(proto, str(path))


def _portable_resize(proto) -> int:
    """Nearest-neighbour Resize nodes: tf2onnx writes TensorFlow's own coordinate mode
    (`tf_half_pixel_for_nn`, deprecated in ONNX and unknown to many runtimes). For the
    integer upscaling of our decoders it picks the same pixels as `asymmetric` with
    `floor`, which every runtime knows; the export check confirms it. Returns the count."""
    changed = 0
    for node in proto.graph.node:
        if node.op_type != "Resize":
            continue
        attrs = {a.name: a for a in node.attribute}
        mode = attrs.get("mode")
        coord = attrs.get("coordinate_transformation_mode")
        nearest = attrs.get("nearest_mode")
        if (mode is not None and mode.s == b"nearest" and coord is not None
                and coord.s == b"tf_half_pixel_for_nn" and nearest is not None and nearest.s == b"floor"):
            coord.s = b"asymmetric"
            changed += 1
    return changed


def _swap_in(work: Path, out: Path) -> None:
    """Rename the finished folder into place; the previous `out` becomes `out.bak`."""
    try:
        if out.exists():
            backup = out.with_name(out.name + ".bak")
            if backup.is_dir():
                shutil.rmtree(backup)
            elif backup.exists():
                backup.unlink()
            os.replace(out, backup)
        os.replace(work, out)
    except OSError as exc:
        raise ExportError(f"cannot move the export into {out}: {exc.strerror or exc}") from exc


def _plain(o):
    try:
        return o.item()
    except AttributeError:
        return str(o)
