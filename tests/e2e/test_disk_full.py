"""A full disk, simulated for real: RLIMIT_FSIZE caps the size of any file this process
writes (SIGXFSZ ignored, so writes fail with EFBIG as on a full disk). Every writer must
leave the previous file intact, leave no temporary file, and say so in a typed error."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
from pathlib import Path

import numpy as np
import pytest

from skysegui.core.annotations import save_coco
from skysegui.core.errors import ExportError, ImageWriteError, SaveError
from skysegui.core.imageio import read_image, write_exr, write_png, write_tiff
from skysegui.core.project import Project
from tests.e2e import _faults as F

resource = pytest.importorskip("resource")
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs RLIMIT_FSIZE")

LIMIT = 64 * 1024  # bytes any one file may reach while the "disk is full"
WRITE_ERRORS = (SaveError, ImageWriteError, ExportError)


@contextlib.contextmanager
def disk_full(limit: int = LIMIT):
    """Files of this process cannot grow beyond `limit` bytes inside the block."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def noise(height: int = 256, width: int = 512) -> np.ndarray:
    """Pixels that do not compress, so the file is far larger than LIMIT."""
    return np.random.default_rng(0).random((height, width, 3)).astype(np.float32)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def assert_failed_cleanly(err, folder: Path, before: dict[str, bytes]) -> None:
    message = str(err.value)
    assert "previous version is intact" in message, message
    assert snapshot(folder) == before  # the old files byte for byte, and no temporary file


def test_save_coco_keeps_the_previous_labels(tmp_path):
    path = F.write_json(tmp_path / "labels.json", F.good_labels())
    before = snapshot(tmp_path)
    with disk_full(), pytest.raises(SaveError) as err:
        save_coco(F.big_label_set(1), path)
    assert_failed_cleanly(err, tmp_path, before)
    assert "labels.json" in str(err.value)
    save_coco(F.big_label_set(1), path)  # space again: the save works
    assert json.loads(path.read_text())["skysegui_test_version"] == 1


def test_project_save_keeps_labels_and_the_autosave(tmp_path):
    project = Project.create(tmp_path / "p")
    project.save_labels(F.big_label_set(0))
    project.autosave(F.big_label_set(5))
    before = snapshot(project.root)
    with disk_full(), pytest.raises(SaveError) as err:
        project.save_labels(F.big_label_set(7))
    assert_failed_cleanly(err, project.root, before)
    assert project.has_recovery()  # the unsaved edits are still offered
    assert project.recover().labels.extra["skysegui_test_version"] == 5


def test_autosave_failure_keeps_the_previous_autosave(tmp_path):
    project = Project.create(tmp_path / "p")
    project.autosave(F.big_label_set(0, images=1, per_image=1, vertices=10))
    before = snapshot(project.root)
    with disk_full(), pytest.raises(SaveError) as err:
        project.autosave(F.big_label_set(3))
    assert_failed_cleanly(err, project.root, before)


@pytest.mark.parametrize(
    "name, write",
    [
        ("a.exr", lambda p, px: write_exr(p, px, half=False)),
        ("a.tif", write_tiff),
        ("a.png", lambda p, px: write_png(p, px, bits=16)),
    ],
)
def test_image_writers_keep_the_previous_file(tmp_path, name, write):
    path = tmp_path / name
    write(path, noise(8, 16))
    before = snapshot(tmp_path)
    with disk_full(), pytest.raises(WRITE_ERRORS) as err:
        write(path, noise())
    assert_failed_cleanly(err, tmp_path, before)
    assert name in str(err.value)
    assert read_image(path).pixels.shape == (8, 16, 3)


def _export_project(tmp_path: Path) -> Project:
    project = Project.create(tmp_path / "p")
    write_exr(project.images_dir / "pano.exr", noise(), half=False)
    F.write_json(project.labels_path, F.good_labels(width=512, height=256))
    return project


def test_export_keeps_the_previous_output(tmp_path):
    from skysegui.core.export.batch import ExportOptions, export_project

    project = _export_project(tmp_path)
    out = tmp_path / "out"
    options = ExportOptions(what="rgba-exr")
    export_project(project, options, out)
    first = snapshot(out)
    with disk_full(), pytest.raises(WRITE_ERRORS) as err:
        export_project(project, options, out, overwrite=True)
    assert_failed_cleanly(err, out, first)
    assert "pano.rgba.exr" in str(err.value)


def test_cli_export_on_a_full_disk_is_one_error_line(tmp_path, capsys):
    from skysegui.cli.main import EXIT_ERROR, main

    project = _export_project(tmp_path)
    out = tmp_path / "out"
    argv = ["export", "--project", str(project.root), "--what", "rgba-exr", "--out", str(out)]
    assert main(argv) == 0
    first = snapshot(out)
    capsys.readouterr()
    with disk_full():
        code = main([*argv, "--force"])
    err = capsys.readouterr().err
    assert code == EXIT_ERROR
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "unexpected" not in lines[0], err
    assert "pano.rgba.exr" in lines[0] and "intact" in lines[0]
    assert snapshot(out) == first
