"""`skysegui predict --auto` (issue 13, "CLI"): auto sky with no model writes the same
mask / probability / uncertainty files as a model's prediction, for loose files and for
projects, names its source beside them, and imports no TensorFlow."""

from __future__ import annotations

import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from skysegui.cli.main import main
from skysegui.core.metrics import confusion
from skysegui.core.predictions import prediction_paths, read_source
from skysegui.core.synthetic import write_demo_project
from skysegui.ml.autosky_predict import AUTO_SKY
from tests.conftest import REPO_ROOT


def _run(*argv) -> int:
    return main([str(a) for a in argv])


def _read(path):
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def test_auto_on_a_real_hdri_writes_the_prediction_files(tmp_path, hdri_dir, gt_dir, capsys):
    out = tmp_path / "out"
    assert _run("predict", "--auto", "--out", out, hdri_dir / "city.exr", hdri_dir / "interior.exr") == 0
    paths = prediction_paths(out, "city.exr")
    mask, prob, unc = _read(paths.mask), _read(paths.prob_png), _read(paths.uncertainty)
    assert mask.shape == prob.shape == unc.shape == (512, 1024)
    assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 255}
    assert prob.dtype == np.uint16 and unc.dtype == np.uint8
    assert np.array_equal(mask > 0, prob >= 32768)
    iou = confusion((mask > 0).astype(np.uint8), _read(gt_dir / "city.png")).iou
    assert iou > 0.9, iou
    assert read_source(paths) == (AUTO_SKY, "")
    inside = prediction_paths(out, "interior.exr")
    assert read_source(inside)[1].startswith("indoors")
    assert (_read(inside.mask) > 0).mean() < 0.01
    table = capsys.readouterr().out.splitlines()
    city = next(line for line in table if line.startswith("city.exr"))
    assert city.split()[1] == "auto"
    assert "indoors" in next(line for line in table if line.startswith("interior.exr"))


def test_auto_on_a_project_writes_into_its_predictions_and_skips_what_is_done(tmp_path, capsys):
    project = write_demo_project(tmp_path / "demo", count=2, width=256, height=128, labelled=1, seed=5)
    assert _run("predict", "--auto", project.root) == 0
    for image in project.image_paths():
        paths = prediction_paths(project.predictions_dir, image)
        assert paths.exists() and _read(paths.prob_png).shape == (128, 256)
        assert read_source(paths)[0] == AUTO_SKY
    capsys.readouterr()
    assert _run("predict", "--auto", project.root) == 0
    assert "skipping 2 image(s)" in capsys.readouterr().err


def test_auto_and_a_model_together_is_refused_with_one_line(tmp_path, capsys):
    image = tmp_path / "pano.exr"
    from skysegui.core.imageio import write_exr
    from skysegui.core.synthetic import make_panorama

    write_exr(image, make_panorama(256, 128, seed=1).pixels)
    assert _run("predict", "--auto", "--model", tmp_path, "--out", tmp_path / "out", image) != 0
    err = capsys.readouterr().err
    assert "--auto" in err and "--model" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_auto_through_the_installed_entry_point_imports_no_tensorflow(tmp_path, hdri_dir):
    """The real `skysegui` process: no model, no TensorFlow, the files are there."""
    image = tmp_path / "sunset.exr"
    shutil.copy(hdri_dir / "sunset.exr", image)
    code = (
        "import sys; from skysegui.cli.main import main; "
        f"rc = main(['predict', '--auto', '--out', {str(tmp_path / 'out')!r}, {str(image)!r}]); "
        "assert 'tensorflow' not in sys.modules, 'auto sky imported TensorFlow'; sys.exit(rc)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert prediction_paths(tmp_path / "out", image).exists()
    exe = shutil.which("skysegui", path=str(REPO_ROOT / ".venv" / "bin"))
    if exe is None:
        pytest.skip("no skysegui script in .venv/bin")
    done = subprocess.run([exe, "predict", "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "--auto" in done.stdout
