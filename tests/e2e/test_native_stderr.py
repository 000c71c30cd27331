"""Library chatter stays off the command line: the installed `skysegui` command, run as a
real process on damaged files, prints exactly one line on stderr (`error: ...`, or for a
JPEG that still decodes, `warning: <file>: ...` and exit 0); TensorFlow imported through
skysegui.ml.tf_import prints nothing. SKYSEG_NATIVE_STDERR=1 shows the libraries' lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from skysegui.core.native_stderr import DISABLE_ENV
from tests.e2e import _faults as F

TIMEOUT = 120  # seconds; a hang is a failure


def _command() -> list[str]:
    installed = Path(sys.executable).with_name("skysegui")
    return [str(installed)] if installed.is_file() else [sys.executable, "-m", "skysegui"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (DISABLE_ENV, "OPENCV_LOG_LEVEL")}
    env.update(QT_QPA_PLATFORM="offscreen", **extra)
    return env


def run(args, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(_command() + [str(a) for a in args], capture_output=True, text=True,
                          timeout=TIMEOUT, cwd=cwd, env=_env(**env))


CASES = [(fmt, where) for fmt in ("exr", "hdr", "tif", "png") for where in ("data", "header")]
CASES += [("jpg", "header"), ("hdr", "truncated"), ("png", "truncated"), ("jpg", "truncated")]


@pytest.mark.parametrize("fmt, where", CASES, ids=[f"{f}-{w}" for f, w in CASES])
def test_damaged_image_is_exactly_one_error_line(tmp_path, fmt, where):
    if where == "truncated":
        path = F.truncated(tmp_path, fmt, keep=0.6, name="pano")
    else:
        path = F.corrupt(tmp_path, fmt, name="pano", seed=1, where=where)
    done = run(["info", path.name], cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and path.name in lines[0], lines[0]
    assert "unexpected" not in lines[0], lines[0]


@pytest.mark.parametrize("fmt", ["png", "hdr"])
def test_tonemap_of_damaged_data_is_exactly_one_error_line(tmp_path, fmt):
    path = F.corrupt(tmp_path, fmt, name="pano", seed=0, where="data")
    done = run(["tonemap", path.name, "--out", "out.png"], cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("command", ["info", "tonemap"])
def test_damaged_but_decodable_jpeg_is_one_warning_line(tmp_path, command):
    path = F.decodable_damaged_jpeg(tmp_path)
    args = [command, path.name] + (["--out", "out.png"] if command == "tonemap" else [])
    done = run(args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"warning: {path.name}: the JPEG decoder reported damage ("), lines[0]
    assert "export it again" in lines[0]
    if command == "info":
        assert "decoder:       Corrupt JPEG data" in done.stdout, done.stdout
    else:
        assert (tmp_path / "out.png").is_file()


def test_the_switch_shows_the_library_lines(tmp_path):
    path = F.corrupt(tmp_path, "png", name="pano", seed=0, where="data")
    done = run(["info", path.name], cwd=tmp_path, **{DISABLE_ENV: "1"})
    assert done.returncode == 2
    assert "libpng error" in done.stderr, done.stderr
    assert done.stderr.splitlines()[-1].startswith("error: ")


def test_tensorflow_through_our_helper_prints_nothing(tmp_path):
    code = (
        "from skysegui.ml.tf_import import import_segmentation_models, import_tensorflow\n"
        "tf = import_tensorflow()\n"
        "sm = import_segmentation_models()\n"
        "print(float(tf.reduce_sum(tf.ones((2, 3)))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=TIMEOUT, cwd=tmp_path, env=_env())
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr
    assert done.stdout == "6.0\n", done.stdout  # and no segmentation_models banner


def test_importing_skysegui_ml_does_not_import_tensorflow(tmp_path):
    code = ("import sys, skysegui.ml, skysegui.ml.tf_import\n"
            "print('tensorflow' in sys.modules, 'tf_keras' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=TIMEOUT, cwd=tmp_path, env=_env())
    assert done.stdout == "False False\n", done.stdout + done.stderr


def test_a_command_that_loads_tensorflow_prints_only_its_error(tmp_path):
    """`skysegui predict` builds the network (TensorFlow's import, devices) before it finds
    the weights damaged: stderr holds only our one line."""
    model = F.garbage_weights(F.copy_model(F.saved_tiny_model(), tmp_path / "model"))
    F.good_image(tmp_path, "png", "pano")
    done = run(["predict", "--model", model, "--out", tmp_path / "out", "pano.png"], cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "model.weights.h5" in lines[0], lines[0]


def _damaged_mask(folder: Path, name: str) -> Path:
    """A mask PNG whose pixel data is damaged (libpng complains when it is decoded)."""
    folder.mkdir(parents=True, exist_ok=True)
    made = F.corrupt(folder, "png", name="damaged", seed=0, where="data")
    return made.rename(folder / name)


def test_damaged_mask_files_are_one_error_line_in_polygons_and_evaluate(tmp_path):
    masks = tmp_path / "masks"
    _damaged_mask(masks, "pano_mask.png")
    done = run(["polygons", masks, "--out", tmp_path / "labels.json", "--quiet"], tmp_path)
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0 and len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and "pano_mask.png" in lines[0] and "libpng" in lines[0]

    pred = tmp_path / "pred"
    _damaged_mask(pred, "pano.mask.png")
    gt = tmp_path / "gt"
    gt.mkdir()
    import numpy as np

    from skysegui.core.imageio import write_png

    write_png(gt / "pano.png", np.ones((32, 64), np.uint8), bits=8)
    done = run(["evaluate", "--pred", pred, "--gt", gt], tmp_path)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "pano.mask.png" in lines[0] and "libpng" in lines[0], done.stderr
