"""Project folders: layout, labels with backup, autosave and crash recovery."""

from __future__ import annotations

import os
import shutil

import pytest

from skysegui.core.annotations import Annotation, Polygon, save_coco
from skysegui.core.errors import ProjectError
from skysegui.core.project import Project
from tests._city import city_project


@pytest.fixture
def project(tmp_path, hdri_dir):
    p = Project.create(tmp_path / "proj")
    for name in ("city.exr", "sunset.exr"):
        shutil.copy(hdri_dir / name, p.images_dir / name)
    return p


def test_create_makes_the_documented_layout(tmp_path):
    p = Project.create(tmp_path / "p")
    for folder in (p.images_dir, p.models_dir, p.predictions_dir, p.cache_dir):
        assert folder.is_dir() and folder.parent == p.root
    assert p.labels_path == p.root / "labels.json"
    assert p.autosave_path == p.root / "labels.autosave.json"
    assert Project.open(p.root).labels_path == p.labels_path


def test_new_project_lists_its_images(project):
    assert [p.name for p in project.image_paths()] == ["city.exr", "sunset.exr"]
    result = project.load_labels()
    images = list(result.labels.images.values())
    assert [(i.file_name, i.width, i.height) for i in images] == [("city.exr", 1024, 512), ("sunset.exr", 1024, 512)]
    assert result.labels.category_for_role(1) is not None and result.labels.category_for_role(2) is not None


def test_open_a_label_studio_coco_file_in_a_folder(tmp_path, label_studio_dir, hdri_dir):
    shutil.copytree(hdri_dir, tmp_path / "images")
    shutil.copy(label_studio_dir / "city_coco.json", tmp_path / "export.json")
    p = Project.open(tmp_path / "export.json")
    assert p.root == tmp_path and p.images_dir == tmp_path / "images"
    result = p.load_labels()
    names = sorted(i.path.name for i in result.labels.images.values())
    assert names == ["city.exr", "forest.exr", "interior.exr", "sunset.exr"]
    assert len(result.labels.annotations) == 2


def test_save_autosave_recover_discard(project):
    labels = project.load_labels().labels
    image_id = next(iter(labels.images))
    labels.annotations[1] = Annotation(1, image_id, labels.category_for_role(1),
                                       [Polygon([[0, 0], [1024, 0], [1024, 200], [0, 180]])])
    project.save_labels(labels)
    assert not project.has_recovery()
    labels.annotations[2] = Annotation(2, image_id, labels.category_for_role(2),
                                       [Polygon([[10, 10], [40, 10], [40, 30]])])
    project.autosave(labels)
    assert project.has_recovery()
    recovered = project.recover().labels
    assert recovered == labels
    project.discard_recovery()
    assert not project.has_recovery()
    assert project.load_labels().labels != labels  # the saved file has one annotation
    project.save_labels(labels)
    assert project.labels_path.with_name("labels.json.bak").exists()
    assert project.load_labels().labels == labels


def test_stale_autosave_is_not_offered(project):
    labels = project.load_labels().labels
    project.autosave(labels)
    project.save_labels(labels)
    save_coco(labels, project.autosave_path, keep_backup=False)
    old = project.labels_path.stat().st_mtime_ns - 10**9
    os.utime(project.autosave_path, ns=(old, old))
    assert not project.has_recovery()


def test_settings_round_trip_and_errors(project):
    assert project.load_settings() == {}
    project.save_settings({"tone": {"exposure": -1.5}})
    assert project.load_settings() == {"tone": {"exposure": -1.5}}
    project.settings_path.write_text("[1, 2")
    with pytest.raises(ProjectError, match="project.json"):
        project.load_settings()


def test_open_rejects_what_is_not_a_project(tmp_path):
    with pytest.raises(ProjectError, match="does not exist"):
        Project.open(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ProjectError, match="not a project"):
        Project.open(tmp_path / "empty")
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(ProjectError):
        Project.open(tmp_path / "x.txt")


def test_broken_autosave_is_a_project_error(project):
    project.autosave_path.write_text('{"images": [')
    assert project.has_recovery()
    with pytest.raises(ProjectError, match="discard"):
        project.recover()


def test_a_label_studio_task_export_is_never_overwritten(tmp_path, label_studio_dir, hdri_dir):
    shutil.copy(hdri_dir / "city.exr", tmp_path / "city.exr")
    tasks = tmp_path / "city_tasks.json"
    shutil.copy(label_studio_dir / "city_tasks.json", tasks)
    original = tasks.read_bytes()
    p = Project.open(tasks)
    labels = p.load_labels().labels
    p.save_labels(labels)
    assert tasks.read_bytes() == original
    assert p.labels_path == tmp_path / "city_tasks.coco.json" and p.labels_path.exists()
    assert Project.open(p.labels_path).load_labels().labels == labels


def _label_studio_project(tmp_path, label_studio_dir, hdri_dir):
    """A project folder whose labels.json is a real Label Studio task export."""
    root = city_project(tmp_path / "ls", hdri_dir, label_studio_dir / "city_tasks.json")
    return root


def _add_square(labels) -> int:
    (image_id,) = labels.images
    new_id = labels.new_annotation_id()
    square = Polygon([[0.0, 300.0], [40.0, 300.0], [40.0, 340.0], [0.0, 340.0]])
    labels.annotations[new_id] = Annotation(new_id, image_id, next(iter(labels.categories)), [square])
    return new_id


def test_reopening_a_label_studio_project_shows_the_saved_edits(tmp_path, label_studio_dir, hdri_dir):
    root = _label_studio_project(tmp_path, label_studio_dir, hdri_dir)
    export = (root / "labels.json").read_bytes()
    project = Project.open(root)
    labels = project.load_labels().labels
    new_id = _add_square(labels)
    project.save_labels(labels)
    again = Project.open(root)
    result = again.load_labels()
    assert new_id in result.labels.annotations  # the edits, not the export again
    assert not result.warnings
    assert again.labels_path == root / "labels.coco.json"
    assert (root / "labels.json").read_bytes() == export  # the export is never written


def test_edits_autosaved_before_the_first_save_of_a_label_studio_project_are_offered(
        tmp_path, label_studio_dir, hdri_dir):
    root = _label_studio_project(tmp_path, label_studio_dir, hdri_dir)
    project = Project.open(root)
    labels = project.load_labels().labels
    new_id = _add_square(labels)
    project.autosave(labels)  # then the program dies before any save
    again = Project.open(root)
    assert again.has_recovery()
    assert new_id in again.recover().labels.annotations
    again.discard_recovery()  # the user says no: the export is shown, and saved beside it
    assert new_id not in again.load_labels().labels.annotations
    assert again.labels_path == root / "labels.coco.json"


def test_a_newer_export_beside_the_saved_edits_is_a_warning_not_a_swap(tmp_path, label_studio_dir, hdri_dir):
    root = _label_studio_project(tmp_path, label_studio_dir, hdri_dir)
    project = Project.open(root)
    labels = project.load_labels().labels
    new_id = _add_square(labels)
    project.save_labels(labels)
    saved = (root / "labels.coco.json").stat().st_mtime_ns
    os.utime(root / "labels.json", ns=(saved + 10**9, saved + 10**9))  # re-exported later
    result = Project.open(root).load_labels()
    assert new_id in result.labels.annotations
    assert any("labels.json changed after your edits" in w and "labels.coco.json" in w
               for w in result.warnings)
