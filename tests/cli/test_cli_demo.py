"""`skysegui demo`: a small demo project that loads cleanly, with exact labels for half."""

from __future__ import annotations

import numpy as np

from skysegui.cli.main import main
from skysegui.core.annotations import sky_mask
from skysegui.core.imageio import read_image
from skysegui.core.project import Project


def _truth(root, file_name):
    import cv2

    return cv2.imread(str(root / "truth" / (file_name.rsplit(".", 1)[0] + ".png")), cv2.IMREAD_UNCHANGED)


def test_demo_writes_a_project_that_loads_without_warnings(tmp_path, capsys):
    root = tmp_path / "demo"
    assert main(["demo", "--count", "4", "--width", "256", str(root)]) == 0
    assert "4 panoramas" in capsys.readouterr().out
    project = Project.open(root)
    images = project.image_paths()
    assert [p.suffix for p in images] == [".exr"] * 4
    result = project.load_labels()
    assert result.warnings == []
    labels = result.labels
    assert len(labels.images) == 4
    labelled = [i for i in labels.images.values() if labels.annotations_for(i.id)]
    assert len(labelled) == 2
    for record in labelled:
        truth = _truth(root, record.file_name)
        mask = sky_mask(labels, record.id)
        inter = np.logical_and(mask == 1, truth == 1).sum()
        assert inter / np.logical_or(mask == 1, truth == 1).sum() >= 0.99
    image = read_image(images[0])
    assert image.pixels.shape == (128, 256, 3)
    assert image.info.is_hdr and np.isfinite(image.pixels).all()


def test_demo_refuses_a_folder_that_is_not_empty_unless_forced(tmp_path, capsys):
    root = tmp_path / "demo"
    assert main(["demo", "--count", "2", "--width", "64", str(root)]) == 0
    before = (root / "labels.json").read_bytes()
    capsys.readouterr()
    assert main(["demo", "--count", "2", "--width", "64", "--seed", "3", str(root)]) == 2
    assert "--force" in capsys.readouterr().err
    assert (root / "labels.json").read_bytes() == before
    assert main(["demo", "--count", "2", "--width", "64", "--seed", "3", "--force", str(root)]) == 0
    assert Project.open(root).load_labels().warnings == []


def test_demo_defaults_to_demo_project_in_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--count", "2", "--width", "64"]) == 0
    assert (tmp_path / "demo-project" / "labels.json").is_file()
    assert len(Project.open(tmp_path / "demo-project").image_paths()) == 2
