"""`skysegui predict` without --model: the project's own working model, else the built-in
sky model (loose images too), else a one-line error that says what to do."""

from __future__ import annotations

import shutil

import pytest

from skysegui.cli.main import main
from skysegui.core.predictions import prediction_paths
from skysegui.ml.builtin_model import ENV_VAR
from tests._builtin import make_builtin_model


@pytest.fixture(scope="module")
def builtin_dir(tmp_path_factory):
    return make_builtin_model(tmp_path_factory.mktemp("builtin") / "builtin_model")


@pytest.fixture
def image(tmp_path):
    from skysegui.core.imageio import write_exr
    from skysegui.core.synthetic import make_panorama

    path = tmp_path / "pano.exr"
    write_exr(path, make_panorama(128, 64, seed=1).pixels)
    return path


def _run(*argv) -> int:
    return main([str(a) for a in argv])


def test_loose_images_are_predicted_with_the_builtin_model(monkeypatch, builtin_dir, image, tmp_path, capsys):
    monkeypatch.setenv(ENV_VAR, str(builtin_dir))
    out = tmp_path / "out"
    assert _run("predict", "--out", out, "--tile", 64, image) == 0
    assert prediction_paths(out, image).exists()
    assert f"model: built-in sky model ({builtin_dir})" in capsys.readouterr().err


def test_a_project_uses_its_own_working_model_else_the_builtin(monkeypatch, builtin_dir, tmp_path, capsys):
    from skysegui.core.synthetic import write_demo_project

    monkeypatch.setenv(ENV_VAR, str(builtin_dir))
    project = write_demo_project(tmp_path / "p", count=1, width=128, height=64, labelled=1)
    assert _run("predict", "--tile", 64, project.root) == 0
    assert "model: built-in sky model" in capsys.readouterr().err
    shutil.copytree(builtin_dir, project.models_dir / "mine")
    assert _run("predict", "--tile", 64, "--force", project.root) == 0
    assert f"model: mine ({project.models_dir / 'mine'})" in capsys.readouterr().err


def test_no_model_anywhere_is_one_line_that_says_what_to_do(monkeypatch, image, tmp_path, capsys):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "not-built-yet"))
    assert _run("predict", "--out", tmp_path / "out", image) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: no model to predict with: no project was given")
    assert "not in this installation" in err and "--model" in err
    monkeypatch.setenv(ENV_VAR, "none")
    assert _run("predict", "--out", tmp_path / "out", image) == 2
    assert "switched off" in capsys.readouterr().err
