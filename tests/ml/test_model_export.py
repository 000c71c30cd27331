"""`export-model`'s work: a real tiny-preset model exported to ONNX and SavedModel predicts
what the Keras model predicts (within 1e-4), with its input contract written beside it."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import skysegui.ml  # noqa: F401
from skysegui.core.errors import ExportError
from skysegui.core.tonemap import hdr_log_transform
from skysegui.ml.interop.export import export_model, parse_formats
from skysegui.ml.interop.runtime import load_exported
from skysegui.ml.model import ModelCard, build_model, load_model, preset, save_model

pytestmark = pytest.mark.slow
PPD = 512 / 360


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A tiny U-Net whose BatchNorm statistics fit its input, so its probabilities spread
    over 0..1 (random statistics saturate them, and saturated outputs agree trivially)."""
    from skysegui.ml.train.batchnorm import recalibrate_batchnorm

    config = preset("tiny", pixels_per_degree=PPD)
    model = build_model(config)
    rng = np.random.default_rng(3)

    def batches():
        while True:
            yield rng.uniform(-1.0, 2.6, (4, 64, 64, 3)).astype(np.float32), np.zeros((4, 64, 64, 1))

    recalibrate_batchnorm(model, batches())
    card = ModelCard(config=config, name="tiny-export", metrics={"val_miou": 0.9})
    return save_model(model, card, tmp_path_factory.mktemp("models") / "tiny-export")


@pytest.fixture(scope="module")
def exported(model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("exports") / "sky"
    return export_model(model_dir, out, ("onnx", "savedmodel"))


def _linear_input(shape, seed=5):
    """Linear HDR pixels over many stops, a few negative as in real EXRs."""
    rng = np.random.default_rng(seed)
    return (np.exp(rng.uniform(-9, 8, shape)) * rng.choice([1, 1, 1, -0.001], shape)).astype(np.float32)


def test_onnx_and_savedmodel_predict_what_keras_predicts(model_dir, exported):
    pytest.importorskip("onnxruntime")
    keras_model = load_model(model_dir).model
    x = hdr_log_transform(_linear_input((2, 96, 160, 3)))  # not the size the export checked
    reference = np.asarray(keras_model(x, training=False))
    assert ((reference > 0.05) & (reference < 0.95)).mean() > 0.5  # not saturated
    onnx_prob = load_exported(exported.folder, "onnx")(x)
    assert onnx_prob.shape == (2, 96, 160, 1)
    assert np.max(np.abs(onnx_prob - reference)) < 1e-4
    # the SavedModel loads with TensorFlow alone, through its serving signature
    import tensorflow as tf

    serve = tf.saved_model.load(str(exported.files["savedmodel"])).signatures["serving_default"]
    saved_prob = serve(input=tf.constant(x))["sky_probability"].numpy()
    assert np.max(np.abs(saved_prob - reference)) < 1e-4
    # the export's own check, recorded in the contract
    for fmt in ("onnx", "savedmodel"):
        assert exported.contract["checks"][fmt]["max_abs_diff"] < 1e-4


def test_the_contract_writes_down_what_the_network_needs(model_dir, exported):
    folder = exported.folder
    contract = json.loads((folder / "contract.json").read_text())
    assert contract == json.loads(json.dumps(exported.contract))
    assert contract["files"] == {"onnx": "model.onnx", "savedmodel": "saved_model"}
    inp, out = contract["input"], contract["output"]
    assert (inp["name"], inp["layout"], inp["dtype"], inp["channels"]) == ("input", "NHWC", "float32", ["R", "G", "B"])
    assert inp["size_multiple"] == 32 and inp["fixed_size"] is None
    assert (out["name"], out["activation"], out["threshold"]) == ("sky_probability", "sigmoid", 0.5)
    assert "sky" in out["meaning"]
    assert contract["scale"]["pixels_per_degree"] == pytest.approx(PPD)
    assert contract["scale"]["panorama_width"] == 512
    assert contract["metrics"] == {"val_miou": 0.9}
    # the written-down transform, run as written, is the one training used
    t = inp["transform"]
    assert t["name"] == "hdr_log" and "4.4" in t["formula"]
    x = _linear_input((64, 64, 3))
    scope = {"np": np, "x": x}
    exec(t["numpy"], scope)  # noqa: S102  (the README's own line)
    np.testing.assert_allclose(scope["y"], hdr_log_transform(x), atol=2e-6)
    readme = (folder / "README.md").read_text()
    assert t["numpy"] in readme and "NHWC float32" in readme and "512 x 256" in readme
    assert json.loads((folder / "card.json").read_text())["name"] == "tiny-export"


def test_onnx_resize_nodes_use_a_mode_every_runtime_knows(exported):
    onnx = pytest.importorskip("onnx")
    graph = onnx.load(str(exported.files["onnx"])).graph
    modes = {a.s for n in graph.node if n.op_type == "Resize" for a in n.attribute
             if a.name == "coordinate_transformation_mode"}
    assert modes and b"tf_half_pixel_for_nn" not in modes


def test_an_existing_export_is_replaced_only_with_force_and_kept_as_bak(model_dir, tmp_path):
    out = tmp_path / "sky"
    out.mkdir()
    (out / "mine.txt").write_text("x")  # an earlier export, or anything else
    with pytest.raises(ExportError, match="--force"):
        export_model(model_dir, out, ("savedmodel",))
    assert (out / "mine.txt").is_file()
    export_model(model_dir, out, ("savedmodel",), force=True)
    assert (tmp_path / "sky.bak" / "mine.txt").is_file() and not (out / "mine.txt").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # no leftovers
    ldr = load_exported(out)  # the folder alone: its contract names the file
    assert ldr.format == "savedmodel"


def test_user_errors_are_typed_and_say_what_to_do(model_dir, tmp_path, monkeypatch):
    with pytest.raises(ExportError, match="onnx, savedmodel"):
        parse_formats("pt")
    assert parse_formats("all") == parse_formats("savedmodel,onnx") == ("onnx", "savedmodel")
    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # as if the extra were not installed
    with pytest.raises(ExportError, match=r"skysegui\[onnx\]"):
        export_model(model_dir, tmp_path / "x", ("onnx",))
    assert not (tmp_path / "x").exists()
    from skysegui.core.errors import ModelError

    with pytest.raises(ModelError, match="not a model folder"):
        export_model(tmp_path, tmp_path / "y", ("savedmodel",))
