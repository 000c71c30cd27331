"""`skysegui export-model`: a model folder into a SavedModel (and ONNX) with its contract."""

from __future__ import annotations

import json

import numpy as np
import pytest

from skysegui.cli.main import main

pytestmark = pytest.mark.slow


def test_export_model_writes_the_export_and_says_what_it_needs(tmp_path, capsys):
    import skysegui.ml  # noqa: F401
    from skysegui.ml.interop.runtime import load_exported
    from skysegui.ml.model import ModelCard, build_model, load_model, preset, save_model

    config = preset("tiny", input_transform="ldr")
    folder = save_model(build_model(config), ModelCard(config=config), tmp_path / "m")
    out = tmp_path / "export"
    assert main(["export-model", str(folder), "--format", "savedmodel", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"savedmodel {out / 'saved_model'}" in text and "max |p - p_keras|" in text
    assert "ldr" in text and "multiples of 32" in text
    contract = json.loads((out / "contract.json").read_text())
    assert contract["input"]["transform"]["name"] == "ldr" and "/ 255" in contract["input"]["transform"]["formula"]
    x = np.random.default_rng(0).uniform(0, 1, (1, 64, 96, 3)).astype(np.float32)
    want = np.asarray(load_model(folder).model(x, training=False))
    assert np.max(np.abs(load_exported(out)(x) - want)) < 1e-4
    # again: one error line, nothing replaced
    assert main(["export-model", str(folder), "--format", "savedmodel", "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {out} already exists")


def test_export_model_user_errors_are_one_line(tmp_path, capsys):
    assert main(["export-model", str(tmp_path), "--format", "savedmodel", "--out", str(tmp_path / "o")]) == 2
    assert "is not a model folder" in capsys.readouterr().err
    assert main(["export-model", str(tmp_path), "--format", "tflite", "--out", str(tmp_path / "o")]) == 2
    assert "unknown export format tflite" in capsys.readouterr().err
