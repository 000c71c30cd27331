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
from skysegui.core.errors import SkysegError
from skysegui.core.imageio import read_image
from tests.e2e import _faults as F

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 60  # seconds; a hang is a failure


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "skysegui", *map(str, args)], capture_output=True,
                          text=True, timeout=TIMEOUT, env=env, cwd=REPO)


def error_lines(stderr: str) -> list[str]:
    """The program's own error lines."""
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def assert_one_clean_error(code: int, stderr: str, *names: str) -> str:
    assert code == EXIT_ERROR, stderr
    assert "Traceback" not in stderr, stderr
    lines = error_lines(stderr)
    assert len(lines) == 1, stderr
    assert len(stderr.splitlines()) == 1, f"more than our one line on stderr: {stderr}"
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
    done = run_cli("tonemap", path, "--out", tmp_path / "out.png")
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
    *[(f"huge-{fmt}", make) for fmt, make in F.HUGE_HEADERS.items()],
    ("missing", lambda d: d / "nothing-here.exr"),
    ("folder", lambda d: d),
]


@pytest.mark.parametrize("command", ["info", "tonemap"])
@pytest.mark.parametrize("name, make", IMAGE_FAULTS, ids=[n for n, _ in IMAGE_FAULTS])
def test_image_fault_is_one_error_line(tmp_path, capfd, command, name, make):
    """capfd: the whole of file descriptor 2, so a decoder's own line would show up too."""
    path = make(tmp_path)
    argv = [command, str(path)] + (["--out", str(tmp_path / "out.png")] if command == "tonemap" else [])
    code = main(argv)
    err = capfd.readouterr().err
    assert_one_clean_error(code, err, path.name)
    assert len(err.splitlines()) == 1, err  # nothing but our own line
    assert not (tmp_path / "out.png").exists()


def test_a_wrong_extension_names_the_real_format(tmp_path, capsys):
    path = F.wrong_extension(tmp_path, real="exr", claimed="tif", name="scan")
    assert main(["info", str(path)]) == EXIT_ERROR
    assert "scan.tif has the extension .tif but is really an OpenEXR file; rename it to scan.exr" in (
        capsys.readouterr().err)


def test_a_damaged_jpeg_that_decodes_is_one_warning_line(tmp_path, capfd):
    path = F.corrupt(tmp_path, "jpg", name="garbled")
    assert main(["tonemap", str(path), "--out", str(tmp_path / "out.png")]) == 0
    lines = capfd.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: garbled.jpg: the JPEG decoder reported damage"), lines
    assert (tmp_path / "out.png").is_file()


def test_nan_inf_negative_radiance_is_reported_not_an_error(tmp_path, capsys):
    path, planted = F.exr_bad_radiance(tmp_path)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{planted['nan']} NaN, {planted['inf']} Inf, {planted['negative']} negative" in out
    assert main(["tonemap", str(path), "--out", str(tmp_path / "out.png")]) == 0
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


@pytest.mark.parametrize("what, output", [("mask", "mask.png"), ("overlay", "overlay.png")])
def test_export_skips_a_damaged_panorama_with_a_warning(tmp_path, capsys, what, output):
    """The damaged panorama is labelled too, so it is skipped for its damage, not for
    having no labels. A mask needs only the size: a damaged header is enough to skip it."""
    from skysegui.core.project import Project

    project = Project.create(tmp_path / "p")
    F.good_image(project.images_dir, "exr", "pano")
    broken = F.truncated(project.images_dir, "exr", keep=0.02 if what == "mask" else 0.5, name="broken")
    labels = F.coco([(1, "pano.exr", 64, 32), (2, "broken.exr", 64, 32)],
                    [F.annotation(1, 1), F.annotation(2, 2)])
    F.write_json(project.labels_path, labels)
    code = main(["export", "--project", str(project.root), "--what", what, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 0, err
    skipped = [line for line in err.splitlines() if line.startswith("warning: skipped broken.exr: ")]
    assert len(skipped) == 1, err
    assert str(pytest.raises(SkysegError, read_image, broken).value) in skipped[0]
    assert (tmp_path / "out" / f"pano.{output}").is_file()
    assert not (tmp_path / "out" / f"broken.{output}").exists()


def test_a_damaged_ground_truth_mask_is_not_blamed_on_the_prediction(tmp_path, capsys):
    import cv2
    import numpy as np

    pred, gt = tmp_path / "pred", tmp_path / "gt"
    pred.mkdir()
    gt.mkdir()
    cv2.imwrite(str(pred / "pano.mask.png"), np.full((32, 64), 255, np.uint8))
    F.corrupt(gt, "png", name="pano")
    code = main(["evaluate", "--pred", str(pred), "--gt", str(gt)])
    line = assert_one_clean_error(code, capsys.readouterr().err, str(gt / "pano.png"))
    assert "ground truth" in line and "predict it again" not in line


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
    assert str(model) in line  # every model error names the folder the user gave
    assert not (tmp_path / "pred").exists() or not any((tmp_path / "pred").iterdir())


@pytest.mark.parametrize("fault", ["truncated-exr", "corrupt-png"])
def test_predict_with_a_damaged_image_is_one_error_line(tiny_model, tmp_path, capfd, fault):
    """One image that cannot be read: its own line (naming the file once), no summary line."""
    image = (F.truncated(tmp_path, "exr", keep=0.5, name="city") if fault == "truncated-exr"
             else F.corrupt(tmp_path, "png", name="city"))
    code = main(["predict", str(image), "--model", str(tiny_model), "--out", str(tmp_path / "pred")])
    err = capfd.readouterr().err
    line = assert_one_clean_error(code, err, str(image))
    assert len(err.splitlines()) == 1, err  # not even TensorFlow's start-up lines
    assert line.count("city.") == 1, line
    assert not (tmp_path / "pred").exists() or not any((tmp_path / "pred").iterdir())


def test_predict_with_damaged_and_good_images_names_each_and_counts(tiny_model, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    F.good_image(folder, "exr", "good")
    F.empty(folder, "exr", "empty")
    code = main(["predict", str(folder), "--model", str(tiny_model), "--out", str(tmp_path / "pred")])
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("error:")]
    assert code == EXIT_ERROR
    assert len(lines) == 2 and "empty.exr is empty" in lines[0], lines
    assert lines[1] == "error: 1 of 2 image(s) failed (see above)"
    assert (tmp_path / "pred" / "good.mask.png").is_file()


# --- on a terminal: the progress bar is redrawn in place ---------------------------------------
def run_on_terminal(*args: str) -> str:
    """The program's stderr on a real pseudo-terminal (the bar draws in place there)."""
    import pty

    master, slave = pty.openpty()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "skysegui", *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=slave, env=env, cwd=REPO)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    proc.wait(timeout=TIMEOUT)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_on_a_terminal_the_error_line_is_not_glued_to_the_progress_bar(tmp_path):
    """A damaged labelled panorama stops `dataset export` half-way through its bar: the
    `error:` line must still start a line of its own."""
    from skysegui.core.project import Project

    project = Project.create(tmp_path / "p")
    F.good_image(project.images_dir, "exr", "pano")
    F.truncated(project.images_dir, "exr", keep=0.5, name="broken")
    F.write_json(project.labels_path, F.coco([(1, "pano.exr", 64, 32), (2, "broken.exr", 64, 32)],
                                             [F.annotation(1, 1), F.annotation(2, 2)]))
    text = run_on_terminal("dataset", "export", "--project", project.root, "--out", tmp_path / "ds",
                           "--patch", "32")
    lines = [line.strip("\r") for line in text.split("\n")]
    errors = [line for line in lines if "error:" in line]
    assert len(errors) == 1, text
    assert errors[0].startswith("error: ") and "broken.exr" in errors[0], text


def test_screenshot_of_a_project_whose_first_panorama_is_damaged(tmp_path):
    """`skysegui PROJECT --screenshot out.png`: one error line and exit 2, and the picture
    is still written (it shows the window as the user would see it)."""
    images = tmp_path / "proj" / "images"
    images.mkdir(parents=True)
    F.corrupt(images, "png", name="a_damaged", seed=0, where="data")
    F.good_image(images, "exr", name="b_good")
    out = tmp_path / "shot.png"
    done = run_cli("--screenshot", out, tmp_path / "proj")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == EXIT_ERROR, done.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and "a_damaged.png" in lines[0], done.stderr
    assert out.is_file() and out.stat().st_size > 1000
