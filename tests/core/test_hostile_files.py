"""Issue 16, defects found as a hostile user: each reproduced here first, then fixed.

Every load produces labels that can be saved again; hostile values end in warnings or a
typed error (never a raw UnicodeEncodeError, ValueError or TypeError); non-finite
vertices never reach pycocotools; prediction files are complete and named by one rule;
a model card cannot make the program allocate without bound."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from skysegui.core.annotations import (
    SKY,
    AddAnnotation,
    Annotation,
    MoveAnnotation,
    MoveVertex,
    Polygon,
    load_labels,
    save_coco,
)
from skysegui.core.annotations.edits import AddVertex
from skysegui.core.errors import EditError, PredictionError
from skysegui.core.predictions import prediction_paths, prediction_stem

BASE = {
    "images": [{"id": 1, "file_name": "a.png", "width": 64, "height": 32}],
    "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
                     "segmentation": [[1, 1, 30, 1, 30, 20, 1, 20]]}],
    "categories": [{"id": 1, "name": "sky"}],
}


def _write(tmp_path, text: str, name="labels.json"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _saves_again(tmp_path, result):
    out = tmp_path / "saved.json"
    save_coco(result.labels, out)
    return json.loads(out.read_text(encoding="utf-8"))  # strict, valid JSON


# --- 1: lone surrogates ------------------------------------------------------------
def test_lone_surrogate_is_repaired_on_load_with_a_warning(tmp_path):
    text = json.dumps(BASE).replace('"name": "sky"}', '"name": "sky", "note": "x\\ud800y"}')
    text = text.replace('"width": 64,', '"width": 64, "\\udc00key": 1,')
    result = load_labels(_write(tmp_path, text))
    assert any("lone surrogate" in w for w in result.warnings)
    data = _saves_again(tmp_path, result)
    assert data["categories"][0]["note"] == "x\ufffdy"
    assert "\ufffdkey" in data["images"][0]


# --- 2: NaN / Infinity in kept unknown fields ---------------------------------------------
def test_nan_in_kept_fields_warns_names_the_field_and_saves_valid_json(tmp_path):
    text = json.dumps(BASE).replace('"width": 64,', '"width": 64, "exposure": NaN,')
    text = text[:-1] + ', "info": {"gain": Infinity}}'
    result = load_labels(_write(tmp_path, text))
    joined = "\n".join(result.warnings)
    assert "images[0].exposure" in joined and "info.gain" in joined
    data = _saves_again(tmp_path, result)
    assert data["images"][0]["exposure"] is None and data["info"]["gain"] is None


def test_a_value_set_after_load_never_makes_a_save_fail(tmp_path):
    result = load_labels(_write(tmp_path, json.dumps(BASE)))
    result.labels.extra["bad"] = [float("nan"), "\ud800"]
    assert _saves_again(tmp_path, result)["bad"] == [None, "\ufffd"]


# --- 7: NUL bytes, over-long names, 5,000-digit integers ------------------------------------
def test_a_5000_digit_integer_is_a_warning_not_an_error(tmp_path):
    text = json.dumps(BASE).replace('"id": 1, "file_name"', '"id": 1, "x": ' + "9" * 5000 + ', "file_name"')
    result = load_labels(_write(tmp_path, text))
    assert any("more than 1000 digits" in w for w in result.warnings)
    assert len(result.labels.annotations) == 1
    assert _saves_again(tmp_path, result)["images"][0]["x"] is None


@pytest.mark.parametrize("name", ["b\x00c.png", "b" * 300 + ".png", "x\ny.png"])
def test_masks_skips_a_hostile_name_and_writes_the_others(tmp_path, name):
    from skysegui.cli.main import main

    data = json.loads(json.dumps(BASE))
    data["images"].append({"id": 2, "file_name": name, "width": 64, "height": 32})
    data["annotations"].append({"id": 2, "image_id": 2, "category_id": 1,
                                "segmentation": [[1, 1, 30, 1, 30, 20]]})
    labels = _write(tmp_path, json.dumps(data))
    out = tmp_path / "out"
    assert main(["masks", str(labels), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.png"]


# --- 8: absurd coordinates are refused on load, no numpy overflow chatter -----------------
def test_coordinates_near_1e308_are_refused_without_numpy_warnings(tmp_path):
    data = json.loads(json.dumps(BASE))
    huge = [1e308, 1, 1.7e308, 1, 1.7e308, 1e308, 1, 1.5e308]
    data["annotations"].append({
        "id": 2, "image_id": 1, "category_id": 1, "segmentation": [huge],
        "skysegui_polygons": [{"outer": huge, "holes": [[2, 2, 3, 2, 3, 3]]}]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning (overflow) fails the test
        with np.errstate(all="raise"):
            result = load_labels(_write(tmp_path, json.dumps(data)))
    assert list(result.labels.annotations) == [1]
    assert any("annotation 2" in w for w in result.warnings)


# --- 9: non-finite vertices never enter the model -------------------------------------------
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), 1e300])
def test_edits_refuse_non_finite_vertices(tmp_path, bad):
    labels = load_labels(_write(tmp_path, json.dumps(BASE))).labels
    before = labels.annotations[1].polygons[0].outer.copy()
    for edit in (MoveVertex(1, 0, 0, 0, (bad, 3.0)), AddVertex(1, 0, 0, 1, (3.0, bad)),
                 MoveAnnotation(1, bad, 0.0)):
        with pytest.raises(EditError):
            edit.apply(labels)
    ring = np.array([[1, 1], [bad, 2], [3, 9]], float)
    with pytest.raises(EditError):
        AddAnnotation(Annotation(9, 1, SKY, [Polygon(ring)])).apply(labels)
    assert np.array_equal(labels.annotations[1].polygons[0].outer, before)
    assert 9 not in labels.annotations


# --- 4 and 5: predictions --------------------------------------------------------------------
def test_one_naming_rule_for_prediction_files_and_the_clash_check(tmp_path):
    from skysegui.cli.commands.predict import collect_inputs

    (tmp_path / "x\\city.png").write_bytes(b"")
    (tmp_path / "city.png").write_bytes(b"")
    assert prediction_stem(tmp_path / "x\\city.png") == prediction_stem(tmp_path / "city.png")
    with pytest.raises(PredictionError, match="same name stem"):
        collect_inputs([str(tmp_path / "x\\city.png"), str(tmp_path / "city.png")])


def test_a_prediction_killed_between_files_is_not_done(tmp_path):
    from skysegui.ml.predict import Prediction, save_prediction

    paths = prediction_paths(tmp_path, "city.exr")
    paths.mask.write_bytes(b"")  # what a kill after the first file of the old order left
    assert paths.exists() and not paths.complete()
    prob = np.linspace(0, 1, 64 * 32, dtype=np.float32).reshape(32, 64)
    pred = Prediction(mask=prob > 0.5, prob=prob, uncertainty=np.zeros_like(prob), seconds=0.0)
    save_prediction(pred, tmp_path, "city.exr")
    assert paths.complete()


# --- 6: hostile model cards -------------------------------------------------------------------
def _card(tmp_path, **config):
    from skysegui.ml.model import ModelCard, ModelConfig

    text = json.loads(ModelCard(config=ModelConfig()).to_json())
    text["config"].update(config)
    folder = tmp_path / "model"
    folder.mkdir(exist_ok=True)
    (folder / "card.json").write_text(json.dumps(text), encoding="utf-8")
    return folder


@pytest.mark.parametrize("config", [
    {"decoder_filters": [1000000, 256, 128, 64, 32]},
    {"decoder_filters": [4096, 4096, 4096, 4096, 4096]},
    {"decoder_filters": "256"},
    {"decoder_filters": [[1], 2]},
    {"patch_size": 10 ** 9},
    {"patch_size": -256},
    {"patch_size": "256"},
    {"arch": ["Unet"]},
    {"backbone": None},
    {"mixed_precision": "yes"},
    {"bn_momentum": "0.9"},
    {"pixels_per_degree": {"a": 1}},
])
def test_hostile_model_card_values_are_a_model_error(tmp_path, config):
    from skysegui.core.errors import ModelError
    from skysegui.ml.model import read_card

    with pytest.raises(ModelError, match="not a valid model card"):
        read_card(_card(tmp_path, **config))


@pytest.mark.parametrize("text", ['[1, 2]', '{"config": 5}', '{"config": {}, "epoch": "x"}',
                                  '{"config": {}, "notes": 7}', "[" * 100000, '{"config": {}, "dataset": [1]}'])
def test_hostile_card_structure_is_a_model_error(tmp_path, text):
    from skysegui.core.errors import ModelError
    from skysegui.ml.model import read_card

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "card.json").write_text(text, encoding="utf-8")
    with pytest.raises(ModelError):
        read_card(folder)


# --- 8: OpenEXR's own complaints never reach stdout or stderr ---------------------------------
def test_damaged_exr_pixel_data_is_a_typed_error_without_library_chatter(tmp_path):
    """In a process of its own: OpenEXR's binding prints through the process's real stdout
    (which pytest's capture replaces)."""
    import os
    import subprocess
    import sys

    from skysegui.core.imageio import write_exr
    from skysegui.core.native_stderr import DISABLE_ENV

    write_exr(tmp_path / "a.exr", np.random.default_rng(0).random((64, 128, 3)).astype(np.float32))
    data = bytearray((tmp_path / "a.exr").read_bytes())
    for i in range(len(data) // 2, len(data), 97):  # scramble the compressed pixel data
        data[i] ^= 0x5A
    (tmp_path / "b.exr").write_bytes(bytes(data))
    code = ("import sys\nfrom skysegui.core.imageio import read_image\n"
            "from skysegui.core.errors import CorruptImageError\n"
            f"try:\n    read_image({str(tmp_path / 'b.exr')!r})\n"
            "except CorruptImageError:\n    print('typed error', file=sys.stderr)\n")
    env = {k: v for k, v in os.environ.items() if k != DISABLE_ENV}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.stdout == "" and done.stderr == "typed error\n", (done.stdout, done.stderr)


# --- 10: temporary files a kill left behind ------------------------------------------------
def test_stale_temp_files_of_ours_are_removed_on_open_and_nothing_else(tmp_path):
    import os

    from skysegui.core.project import Project

    root = tmp_path / "p"
    project = Project.create(root)
    (root / "models" / "m1").mkdir()
    ours = [root / ".labels.k2j4h5g6.tmp.json", root / "models" / "m1" / ".model.weights.ab_cd123.tmp.h5",
            root / ".labels.json.bak.zz99yy88.tmp", root / "cache" / ".city.q1w2e3r4.tmp.npz"]
    others = [root / "notes.tmp", root / ".hidden", root / "images" / "a.tmp.png",
              root / "models" / "m1" / "model.weights.h5"]
    young = root / ".labels.young123.tmp.json"
    for path in ours + others + [young]:
        path.write_bytes(b"x" * 10)
    for path in ours + others:
        os.utime(path, (1_000_000, 1_000_000))
    Project.open(root)
    assert not any(p.exists() for p in ours)
    assert all(p.exists() for p in others) and young.exists()  # a write in progress elsewhere
    assert project.root == root
