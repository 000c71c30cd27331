"""The bad-input table (docs/bad-inputs.md) through the command line: one line
`error: ...` naming the file, exit code 2, no traceback, no hang. A representative few run
as real `python -m skysegui` processes (with a timeout); the rest through cli.main.main."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from skysegui.cli.main import EXIT_ERROR, main
from tests.e2e import _faults as F

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 60  # seconds; a hang is a failure


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "skysegui", *map(str, args)], capture_output=True,
                          text=True, timeout=TIMEOUT, env=env, cwd=REPO)


def error_lines(stderr: str) -> list[str]:
    """The program's own error lines (libraries may log their own chatter beside them)."""
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def assert_one_clean_error(code: int, stderr: str, *names: str) -> str:
    assert code == EXIT_ERROR, stderr
    assert "Traceback" not in stderr, stderr
    lines = error_lines(stderr)
    assert len(lines) == 1, stderr
    assert "unexpected" not in lines[0], f"an untyped exception (a bug): {lines[0]}"
    for name in names:
        assert name in lines[0], lines[0]
    return lines[0]


# --- real processes ------------------------------------------------------------------------
def test_process_truncated_exr(tmp_path):
    path = F.truncated(tmp_path, "exr", keep=0.4, name="city")
    done = run_cli("info", path)
    assert_one_clean_error(done.returncode, done.stderr, "city.exr", "copy it again")


def test_process_png_named_exr(tmp_path):
    path = F.wrong_extension(tmp_path, real="png", claimed="exr", name="sunset")
    done = run_cli("tonemap", path, tmp_path / "out.png")
    assert_one_clean_error(done.returncode, done.stderr, "sunset.exr", "rename it to sunset.png")
    assert not (tmp_path / "out.png").exists()


def test_process_huge_header(tmp_path):
    path = F.png_huge_header(tmp_path)
    done = run_cli("info", path)
    assert_one_clean_error(done.returncode, done.stderr, "huge.png", "300000 x 150000")


def test_process_truncated_labels(tmp_path):
    path = F.truncated_json(tmp_path / "labels.json")
    done = run_cli("masks", path, "--out", tmp_path / "masks")
    assert_one_clean_error(done.returncode, done.stderr, "labels.json", "invalid JSON")
    assert not (tmp_path / "masks").exists() or not any((tmp_path / "masks").iterdir())


def test_process_label_warnings_name_file_and_item(tmp_path):
    F.good_image(tmp_path, "exr", "pano")
    path = F.unknown_category(tmp_path / "labels.json")
    done = run_cli("masks", path, "--images", tmp_path, "--out", tmp_path / "masks")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert any(line.startswith("warning:") and "labels.json: annotation 3" in line
               and "unknown category 99" in line for line in done.stderr.splitlines()), done.stderr
    assert (tmp_path / "masks" / "pano.png").is_file()


# --- in process: every other image fault ------------------------------------------------------
IMAGE_FAULTS = [
    *[(f"empty-{fmt}", lambda d, fmt=fmt: F.empty(d, fmt)) for fmt in F.FORMATS],
    *[(f"truncated-{fmt}", lambda d, fmt=fmt: F.truncated(d, fmt, keep=0.5)) for fmt in F.FORMATS],
    *[(f"corrupt-header-{fmt}", lambda d, fmt=fmt: F.corrupt(d, fmt, where="header")) for fmt in F.FORMATS],
    *[(f"corrupt-data-{fmt}", lambda d, fmt=fmt: F.corrupt(d, fmt, where="data"))
      for fmt in ("exr", "hdr", "tif", "png")],
    ("exr-as-tif", lambda d: F.wrong_extension(d, real="exr", claimed="tif")),
    ("unknown-extension", lambda d: F.unknown_extension(d, "pano.bmp")),
    ("exr-without-rgb", F.exr_without_rgb),
    ("huge-exr", F.exr_huge_header),
    ("missing", lambda d: d / "nothing-here.exr"),
]


@pytest.mark.parametrize("command", ["info", "tonemap"])
@pytest.mark.parametrize("name, make", IMAGE_FAULTS, ids=[n for n, _ in IMAGE_FAULTS])
def test_image_fault_is_one_error_line(tmp_path, capsys, command, name, make):
    path = make(tmp_path)
    argv = [command, str(path)] + ([str(tmp_path / "out.png")] if command == "tonemap" else [])
    code = main(argv)
    assert_one_clean_error(code, capsys.readouterr().err, path.name)
    assert not (tmp_path / "out.png").exists()


def test_nan_inf_negative_radiance_is_reported_not_an_error(tmp_path, capsys):
    path, planted = F.exr_bad_radiance(tmp_path)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{planted['nan']} NaN, {planted['inf']} Inf, {planted['negative']} negative" in out
    assert main(["tonemap", str(path), str(tmp_path / "out.png")]) == 0
    assert (tmp_path / "out.png").is_file()


# --- in process: label files -------------------------------------------------------------------
@pytest.mark.parametrize("make", [F.truncated_json, F.invalid_json, F.binary_json, F.wrong_types])
def test_unusable_label_file_is_one_error_line(tmp_path, capsys, make):
    path = make(tmp_path / "labels.json")
    code = main(["masks", str(path), "--out", str(tmp_path / "masks")])
    assert_one_clean_error(code, capsys.readouterr().err, "labels.json")


@pytest.mark.parametrize(
    "make, item, text",
    [
        (F.duplicate_ids, "annotation 1", "repeated id"),
        (F.short_polygons, "annotation 3", "needs at least 3"),
        (F.self_intersecting, "annotation 3", "crosses itself"),
        (F.far_outside, "annotation 3", "clamped"),
        (F.unknown_category, "annotation 3", "unknown category"),
        (F.missing_image, "image 2 (not-on-disk.exr)", "no image named"),
        (F.wrong_field_types, "annotation 4", '"segmentation"'),
    ],
)
def test_damaged_label_entries_are_warning_lines(tmp_path, capsys, make, item, text):
    F.good_image(tmp_path, "exr", "pano")
    path = make(tmp_path / "labels.json")
    code = main(["masks", str(path), "--images", str(tmp_path), "--out", str(tmp_path / "masks")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert not error_lines(err) and "Traceback" not in err
    assert any(line.startswith("warning:") and f"labels.json: {item}" in line and text in line
               for line in err.splitlines()), err
    assert (tmp_path / "masks" / "pano.png").is_file()


def test_export_skips_a_damaged_panorama_with_a_warning(tmp_path, capsys):
    from skysegui.core.project import Project

    project = Project.create(tmp_path / "p")
    F.good_image(project.images_dir, "exr", "pano")
    F.truncated(project.images_dir, "exr", keep=0.02, name="broken")
    F.write_json(project.labels_path, F.good_labels())
    code = main(["export", "--project", str(project.root), "--what", "mask", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert any(line.startswith("warning:") and "broken.exr" in line for line in err.splitlines()), err
    assert (tmp_path / "out" / "pano.mask.png").is_file()


def test_project_that_is_not_one_is_one_error_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code = main(["export", "--project", str(tmp_path / "empty"), "--what", "mask", "--out", str(tmp_path / "o")])
    assert_one_clean_error(code, capsys.readouterr().err, "empty", "not a project")


# --- in process: models -----------------------------------------------------------------------
@pytest.fixture
def tiny_model():
    return F.saved_tiny_model()


MODEL_FAULTS = [
    ("missing", lambda good, d: d / "no-model", "no card.json"),
    ("no-weights", lambda good, d: _without_weights(F.copy_model(good, d / "m")), "is missing"),
    ("corrupt-weights", lambda good, d: F.corrupt_weights(F.copy_model(good, d / "m")), "corrupt"),
    ("other-network", lambda good, d: F.edit_card(F.copy_model(good, d / "m"), backbone="resnet18"),
     "does not match the card"),
    ("other-transform", lambda good, d: F.edit_card(F.copy_model(good, d / "m"), input_transform="aces_log"),
     "unknown input transform 'aces_log'"),
]


def _without_weights(folder: Path) -> Path:
    (folder / "model.weights.h5").unlink()
    return folder


@pytest.mark.parametrize("name, make, text", MODEL_FAULTS, ids=[m[0] for m in MODEL_FAULTS])
def test_model_fault_is_one_error_line(tiny_model, tmp_path, capsys, name, make, text):
    image = F.good_image(tmp_path, "exr", "pano")
    model = make(tiny_model, tmp_path)
    code = main(["predict", str(image), "--model", str(model), "--out", str(tmp_path / "pred")])
    line = assert_one_clean_error(code, capsys.readouterr().err)
    assert text in line
    if name != "other-transform":  # the transform error names the value, not the folder: see the docs
        assert model.name in line
    assert not (tmp_path / "pred").exists() or not any((tmp_path / "pred").iterdir())
