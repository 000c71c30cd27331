"""The built-in model's recipe (training/build_builtin.py) end to end on tiny settings, and
the model it makes loading from an INSTALLED package (a wheel), not from the checkout.

Tiny settings: the tiny preset, three training steps, two demo panoramas and one more
synthetic scene of 128x64, one real panorama (512x256) trained on and one held out.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

from skysegui.ml.builtin_model import validation_only
from skysegui.ml.model import CARD_NAME, WEIGHTS_NAME
from training import build_builtin

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
MASKS = REPO_ROOT / "training" / "data" / "real-labels" / "masks"


def tiny_config(path: Path, images: Path, masks: Path, hold_out: list[str]) -> Path:
    path.write_text(textwrap.dedent(f"""
        [recipe]
        require_learnt = false   # three steps teach nothing; the plumbing is what is tested

        [synthetic]
        count = 2
        width = 128
        height = 64
        seed = 1

        [[synthetic.extra]]
        name = "overcast"
        generator = "skysegui.core.synthetic:make_panorama"
        count = 1
        args = {{ kind = "overcast", skyline = "city" }}

        [real]
        sources = [{{ images = "{images}", masks = "{masks}" }}]
        hold_out = {json.dumps(hold_out)}

        [train]
        epochs = 1
        steps_per_epoch = 3
        batch_size = 4
        early_stopping = 0
        val_crops_per_image = 4

        [train.model]
        preset = "tiny"
        """))
    return path


@pytest.fixture(scope="module")
def real_dir(tmp_path_factory, shared_data):
    """One image folder with two real panoramas; their masks are the repository's."""
    folder = tmp_path_factory.mktemp("real")
    for name in ("lobby", "hall"):
        src = shared_data / "hdri-unlabelled" / f"{name}.exr"
        if not src.is_file():
            pytest.skip(f"{src} is missing")
        shutil.copy(src, folder / src.name)
    return folder


@pytest.fixture(scope="module")
def recipe_run(tmp_path_factory, real_dir):
    """(exit code, the model folder, the config): --hold-out overrides the config's list."""
    tmp = tmp_path_factory.mktemp("recipe")
    config = tiny_config(tmp / "tiny.toml", real_dir, MASKS, hold_out=["lobby"])
    out = tmp / "builtin_model"
    code = build_builtin.main(["--config", str(config), "--out", str(out), "--hold-out", "hall"])
    return code, out, config


def test_the_recipe_writes_a_compact_model_and_a_card_that_says_what_it_learnt_from(recipe_run):
    code, out, config = recipe_run
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [CARD_NAME, WEIGHTS_NAME]
    card = json.loads((out / CARD_NAME).read_text())
    assert card["name"] == "built-in sky model"
    assert card["weights_dtype"].startswith("float16")
    info = card["builtin"]
    assert info["synthetic"]["count"] == 3 and info["synthetic"]["demo"]["count"] == 2
    assert info["synthetic"]["extra"][0]["images"] == ["synthetic_overcast_00.exr"]
    assert info["real_used"] == ["lobby"] and info["real_held_out"] == ["hall"]
    # the region split learns from every panorama (the card's dataset lists say which)
    assert validation_only(info["real_used"], card["dataset"]) == []
    assert set(info["held_out_scores"]) == {"hall"} and "iou" in info["held_out_scores"]["hall"]
    assert info["compact_max_difference"] < build_builtin.COMPACT_TOLERANCE
    recipe = info["recipe"]
    assert "--hold-out hall" in recipe["command"] and recipe["config"]["real"]["hold_out"] == ["hall"]
    assert recipe["config"]["train"]["model"]["patch_size"] == 64  # the config as used, resolved
    # the Trainer's validation figures and verdict, as every model card has them
    assert "val_miou" in card["metrics"] and card["verdict"]["status"] in ("ok", "trivial", "unstable")
    trained = set(card["dataset"]["train_images"]) | set(card["dataset"]["val_images"])
    assert "lobby" in trained and "hall" not in trained
    assert len(trained) == 4


def test_the_recipe_model_loads_and_predicts_as_the_builtin_model(recipe_run, monkeypatch):
    from skysegui.core.synthetic import make_panorama
    from skysegui.ml.builtin_model import ENV_VAR, load_builtin_model
    from skysegui.ml.model_status import model_summary, model_title
    from skysegui.ml.predict import Predictor

    _, out, _ = recipe_run
    monkeypatch.setenv(ENV_VAR, str(out))
    loaded = load_builtin_model()
    pred = Predictor(loaded, tile=64).predict(make_panorama(128, 64, seed=9).pixels)
    assert pred.prob.shape == (64, 128) and np.isfinite(pred.prob).all()
    assert model_title(out) == "built-in sky model"
    assert "3 synthetic and 1 real panoramas (held out: hall)" in model_summary(out)


def test_an_unknown_hold_out_name_stops_before_anything_is_written(tmp_path, real_dir, capsys):
    config = tiny_config(tmp_path / "tiny.toml", real_dir, MASKS, hold_out=[])
    out = tmp_path / "out"
    assert build_builtin.main(["--config", str(config), "--out", str(out), "--hold-out", "hal"]) == 2
    err = capsys.readouterr().err
    assert "error: hold_out names ['hal']" in err and "hall" in err
    assert not out.exists()


def test_a_misspelt_config_key_is_named(tmp_path, capsys):
    (tmp_path / "bad.toml").write_text("[synthetic]\ncuont = 3\n")
    assert build_builtin.main(["--config", str(tmp_path / "bad.toml"), "--out", str(tmp_path / "o")]) == 2
    assert "unknown keys ['cuont'] in [synthetic]" in capsys.readouterr().err


def test_the_committed_recipe_config_reads():
    recipe = build_builtin.load_recipe(REPO_ROOT / "training" / "configs" / "builtin.toml")
    assert recipe.train.model.backbone == "mobilenetv2" and recipe.train.model.pixels_per_degree
    assert recipe.train.time_budget_min > 0 and recipe.require_learnt
    assert recipe.demo_count > 0 and recipe.real_sources
    override = build_builtin.load_recipe(REPO_ROOT / "training" / "configs" / "builtin.toml",
                                         hold_out=build_builtin.parse_hold_out("forest, lab"), budget_min=1)
    assert override.hold_out == ["forest", "lab"] and override.train.time_budget_min == 1
    assert override.raw["real"]["hold_out"] == ["forest", "lab"]


# --- the installed package ---------------------------------------------------------------
def build_wheel(source: Path, dist: Path) -> Path:
    """A wheel of `source` with pip: without build isolation when the venv's setuptools
    can build this pyproject (77+), else in pip's isolated build environment."""
    import setuptools

    own = ["--no-build-isolation"] if int(setuptools.__version__.split(".")[0]) >= 77 else []
    args = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", *own, "-w", str(dist), str(source)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        if "setuptools" in done.stderr and "No matching distribution" in done.stderr and not os.environ.get("CI"):
            pytest.skip("no setuptools>=77 to build a wheel with (offline, no package index)")
        raise AssertionError(f"pip wheel failed:\n{done.stdout}\n{done.stderr}")
    (wheel,) = dist.glob("skysegui-*.whl")
    return wheel


def test_the_builtin_model_loads_from_an_installed_wheel_not_the_checkout(recipe_run, tmp_path):
    _, model, _ = recipe_run
    # a copy of the source tree, with the recipe's tiny model where the real one goes
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, source / name)
    shutil.copytree(REPO_ROOT / "skysegui", source / "skysegui",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", CARD_NAME, WEIGHTS_NAME))
    target = source / "skysegui" / "resources" / "builtin_model"
    for name in (CARD_NAME, WEIGHTS_NAME):
        shutil.copy(model / name, target / name)

    wheel = build_wheel(source, tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    for name in (CARD_NAME, WEIGHTS_NAME, "README.md"):
        assert f"skysegui/resources/builtin_model/{name}" in names
    assert zipfile.ZipFile(wheel).getinfo(f"skysegui/resources/builtin_model/{WEIGHTS_NAME}").file_size \
        == (model / WEIGHTS_NAME).stat().st_size

    installed = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(installed)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = textwrap.dedent("""
        import json, sys
        import numpy as np
        import skysegui
        from skysegui.core.synthetic import make_panorama
        from skysegui.ml.builtin_model import builtin_model_available, builtin_model_dir, load_builtin_model
        from skysegui.ml.predict import Predictor

        loaded = load_builtin_model()
        pred = Predictor(loaded, tile=64).predict(make_panorama(128, 64, seed=2).pixels)
        print(json.dumps({"package": skysegui.__file__, "folder": str(builtin_model_dir()),
                          "available": builtin_model_available(), "name": loaded.card.name,
                          "shape": list(pred.prob.shape), "finite": bool(np.isfinite(pred.prob).all())}))
        """)
    env = {k: v for k, v in os.environ.items() if k not in ("SKYSEGUI_BUILTIN_MODEL", "PYTHONPATH")}
    env["PYTHONPATH"] = str(installed)
    done = subprocess.run([sys.executable, "-c", script], cwd=elsewhere, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(result["package"]).is_relative_to(installed), result  # not the checkout
    assert Path(result["folder"]) == installed / "skysegui" / "resources" / "builtin_model"
    assert result["available"] and result["name"] == "built-in sky model"
    assert result["shape"] == [64, 128] and result["finite"]


def test_the_training_project_holds_every_source_labelled_and_nothing_held_out(tmp_path, real_dir):
    from skysegui.core.project import Project

    config = tiny_config(tmp_path / "tiny.toml", real_dir, MASKS, hold_out=["hall"])
    recipe = build_builtin.load_recipe(config)
    project, info, held = build_builtin.write_project(recipe, tmp_path / "project", log=lambda _t: None)
    labels = Project.open(project.root).load_labels().labels
    names = sorted(r.file_name for r in labels.images.values())
    assert names == ["lobby.exr", "synthetic_00_day_city.exr", "synthetic_01_day_forest.exr",
                     "synthetic_overcast_00.exr"]
    assert all(labels.is_labelled(i) for i in labels.images)
    assert info["real_used"] == ["lobby"] and info["real_held_out"] == ["hall"] and list(held) == ["hall"]


def test_a_scene_list_of_its_own_goes_to_the_demo_writer(tmp_path, real_dir):
    import inspect

    from skysegui.core.synthetic.demo import write_demo_project

    if "scenes" not in inspect.signature(write_demo_project).parameters:
        pytest.skip("this write_demo_project takes no scene list")
    config = tiny_config(tmp_path / "tiny.toml", real_dir, MASKS, hold_out=["hall", "lobby"])
    text = config.read_text().replace("seed = 1\n", 'seed = 1\nscenes = [["overcast", "lake"], ["dusk", ""]]\n')
    config.write_text(text)
    recipe = build_builtin.load_recipe(config)
    assert recipe.scenes == [("overcast", "lake"), ("dusk", None)]
    project, info, _ = build_builtin.write_project(recipe, tmp_path / "project", log=lambda _t: None)
    names = sorted(p.name for p in project.images_dir.iterdir())
    assert names[0].startswith("synthetic_00_overcast_lake") and names[1].startswith("synthetic_01_dusk_")
    assert info["synthetic"]["demo"]["scenes"] == [("overcast", "lake"), ("dusk", None)]


def test_a_real_panorama_the_split_kept_for_validation_is_named_as_never_learnt_from():
    """split = "image" once put forest, the only real canopy, wholly in validation."""
    dataset = {"train_images": ["bridge", "synthetic_00"], "val_images": ["forest", "synthetic_01"]}
    assert validation_only(["forest", "bridge"], dataset) == ["forest"]
    assert validation_only(["forest"], {"train_images": ["forest"], "val_images": ["forest"]}) == []
    assert validation_only(["forest"], {}) == []  # a card without the lists: not known, not named
