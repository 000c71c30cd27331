"""The bad-input table (docs/bad-inputs.md) through the core API: every damaged image,
label file and model folder gives its typed SkysegError naming the file (or a warning
naming the file and the item) and never an untyped exception, a crash or a hang."""

from __future__ import annotations

import numpy as np
import pytest

from skysegui.core.annotations import load_labels
from skysegui.core.errors import (
    AnnotationError,
    CorruptImageError,
    EmptyImageError,
    ImageReadError,
    ImageTooLargeError,
    ModelError,
    ProjectError,
    UnsupportedFormatError,
)
from skysegui.core.imageio import probe_image, read_image
from skysegui.core.project import Project
from tests.e2e import _faults as F


# --- images ----------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", F.FORMATS)
def test_empty_image_is_an_empty_image_error(tmp_path, fmt):
    path = F.empty(tmp_path, fmt)
    with pytest.raises(EmptyImageError, match="empty") as err:
        read_image(path)
    assert path.name in str(err.value)


@pytest.mark.parametrize("keep", [0.02, 0.4, 0.9])
@pytest.mark.parametrize("fmt", F.FORMATS)
def test_truncated_image_is_a_corrupt_image_error(tmp_path, fmt, keep):
    path = F.truncated(tmp_path, fmt, keep=keep)
    with pytest.raises(CorruptImageError) as err:
        read_image(path)
    assert path.name in str(err.value)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("fmt", F.FORMATS)
def test_corrupt_header_is_a_typed_read_error(tmp_path, fmt, seed):
    path = F.corrupt(tmp_path, fmt, seed=seed, where="header")
    with pytest.raises(ImageReadError) as err:
        read_image(path)
    assert path.name in str(err.value)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("fmt", ["exr", "hdr", "tif", "png"])
def test_corrupt_pixel_data_is_a_corrupt_image_error(tmp_path, fmt, seed):
    path = F.corrupt(tmp_path, fmt, seed=seed, where="data")
    with pytest.raises(CorruptImageError) as err:
        read_image(path)
    assert path.name in str(err.value)


def test_corrupt_jpeg_data_is_an_error_or_a_finite_picture_of_the_right_size(tmp_path):
    """JPEG decoders show damaged scans as garbled pixels (as every viewer does)."""
    for seed in range(3):
        path = F.corrupt(tmp_path, "jpg", name=f"c{seed}", seed=seed, where="data")
        try:
            image = read_image(path)
        except CorruptImageError as exc:
            assert path.name in str(exc)
            continue
        assert image.pixels.shape == (32, 64, 3)
        assert np.isfinite(image.pixels).all()


def test_png_renamed_to_exr_says_what_it_really_is(tmp_path):
    path = F.wrong_extension(tmp_path, real="png", claimed="exr")
    with pytest.raises(UnsupportedFormatError, match=r"really a PNG.*renamed\.png"):
        probe_image(path)


def test_exr_renamed_to_jpg_says_what_it_really_is(tmp_path):
    path = F.wrong_extension(tmp_path, real="exr", claimed="jpg", name="scan")
    with pytest.raises(UnsupportedFormatError, match=r"really an OpenEXR.*scan\.exr"):
        read_image(path)


def test_unknown_extension_lists_what_is_read(tmp_path):
    path = F.unknown_extension(tmp_path, "pano.bmp")
    with pytest.raises(UnsupportedFormatError, match=r"pano\.bmp.*\.bmp.*\.exr"):
        read_image(path)


def test_missing_file_and_folder_are_read_errors(tmp_path):
    with pytest.raises(ImageReadError, match="does not exist"):
        read_image(tmp_path / "nope.exr")
    with pytest.raises(ImageReadError, match="folder"):
        read_image(tmp_path)


def test_exr_without_rgb_names_its_channels(tmp_path):
    path = F.exr_without_rgb(tmp_path)
    with pytest.raises(UnsupportedFormatError, match=r"depth\.exr has no colour channels.*Z"):
        read_image(path)


@pytest.mark.parametrize("make", [F.exr_huge_header, F.png_huge_header])
def test_huge_dimensions_are_refused_before_decoding(tmp_path, make):
    path = make(tmp_path)
    with pytest.raises(ImageTooLargeError, match=r"huge\.\w+ is \d+ x \d+ pixels"):
        probe_image(path)
    with pytest.raises(ImageTooLargeError):
        read_image(path)


def test_nan_inf_and_negative_radiance_become_finite_and_are_counted(tmp_path):
    path, planted = F.exr_bad_radiance(tmp_path)
    image = read_image(path)
    assert np.isfinite(image.pixels).all() and image.pixels.min() >= 0
    info = image.info
    assert (info.sanitised_nan, info.sanitised_inf, info.sanitised_negative) == (
        planted["nan"], planted["inf"], planted["negative"])
    raw = read_image(path, sanitise=False).pixels
    assert np.isnan(raw).sum() == planted["nan"]


# --- label files ---------------------------------------------------------------------------
@pytest.fixture
def image_dir(tmp_path):
    F.good_image(tmp_path, "exr", "pano")
    return tmp_path


@pytest.mark.parametrize(
    "make, pattern",
    [
        (F.truncated_json, r"invalid JSON at line \d+, column \d+.*truncated"),
        (F.invalid_json, r"invalid JSON at line 1, column \d+"),
        (F.binary_json, "not a text"),
        (F.wrong_types, '"images"'),
    ],
)
def test_unusable_label_file_is_an_annotation_error_naming_it(image_dir, make, pattern):
    path = make(image_dir / "labels.json")
    with pytest.raises(AnnotationError, match=pattern) as err:
        load_labels(path, images_dir=image_dir)
    assert "labels.json" in str(err.value)


def test_empty_and_missing_label_files(image_dir):
    (image_dir / "empty.json").write_text("")
    with pytest.raises(AnnotationError, match="empty"):
        load_labels(image_dir / "empty.json")
    with pytest.raises(AnnotationError, match="not found"):
        load_labels(image_dir / "absent.json")


def test_truncated_labels_point_to_the_backup_only_when_there_is_one(image_dir):
    path = F.truncated_json(image_dir / "labels.json")
    with pytest.raises(AnnotationError, match="from a backup"):
        load_labels(path)
    (image_dir / "labels.json.bak").write_text("{}")
    with pytest.raises(AnnotationError, match=r"labels\.json\.bak"):
        load_labels(path)


def _warnings_for(path, image_dir):
    result = load_labels(path, images_dir=image_dir)
    return result, "\n".join(result.warnings)


@pytest.mark.parametrize(
    "make, item, pattern, annotations",
    [
        (F.wrong_field_types, "annotation 3", "names no usable image", 3),
        (F.wrong_field_types, "annotation 4", '"segmentation" is missing', 3),
        (F.wrong_field_types, "annotation 5", "not an even-length list of numbers", 3),
        (F.wrong_field_types, "annotation 6", '"iscrowd"', 3),
        (F.wrong_field_types, "image 2", '"file_name" is missing', 3),
        (F.duplicate_ids, "annotation 1", "repeated id; given a new one", 3),
        (F.duplicate_ids, "image 1 (other.exr)", "id of an earlier image", 3),
        (F.short_polygons, "annotation 3", "2 distinct points, needs at least 3", 2),
        (F.short_polygons, "annotation 4", "2 distinct points", 2),
        (F.short_polygons, "annotation 5", "not an even-length list", 2),
        (F.self_intersecting, "annotation 3", "crosses itself", 3),
        (F.far_outside, "annotation 3", "clamped to its border", 3),
        (F.unknown_category, "annotation 3", "unknown category 99", 2),
        (F.missing_image, "image 2 (not-on-disk.exr)", "no image named 'not-on-disk'", 3),
    ],
)
def test_damaged_entries_are_warnings_naming_file_and_item(image_dir, make, item, pattern, annotations):
    path = make(image_dir / "labels.json")
    result, text = _warnings_for(path, image_dir)
    lines = [w for w in result.warnings if f"labels.json: {item}" in w]
    assert lines, f"no warning for {item} in:\n{text}"
    assert any(pattern in w for w in lines), text
    assert len(result.labels.annotations) == annotations  # the good entries survive


def test_clean_labels_give_no_warnings(image_dir):
    path = F.write_json(image_dir / "labels.json", F.good_labels())
    result, text = _warnings_for(path, image_dir)
    assert result.warnings == [], text
    assert len(result.labels.annotations) == 2


def test_far_outside_coordinates_are_clamped_into_the_image(image_dir):
    result, _ = _warnings_for(F.far_outside(image_dir / "labels.json"), image_dir)
    ring = result.labels.annotations[3].polygons[0].outer
    assert ring.min() >= 0 and ring[:, 0].max() <= 64 and ring[:, 1].max() <= 32


def test_project_with_a_damaged_panorama_loads_the_rest_with_a_warning(tmp_path):
    project = Project.create(tmp_path / "p")
    F.good_image(project.images_dir, "exr", "good")
    F.truncated(project.images_dir, "exr", keep=0.02, name="broken")
    result = project.load_labels()
    names = sorted(i.file_name for i in result.labels.images.values())
    assert names == ["good.exr"]
    assert any("broken.exr" in w and "skipped" in w for w in result.warnings)


def test_project_errors_are_typed(tmp_path):
    with pytest.raises(ProjectError, match="does not exist"):
        Project.open(tmp_path / "nowhere")
    (tmp_path / "plain").mkdir()
    with pytest.raises(ProjectError, match="not a project"):
        Project.open(tmp_path / "plain")
    project = Project.create(tmp_path / "p")
    project.settings_path.write_text("{ broken")
    with pytest.raises(ProjectError, match="project.json is not valid JSON"):
        project.load_settings()
    project.autosave_path.write_text('{"images": [')
    with pytest.raises(ProjectError, match="autosave cannot be recovered"):
        project.recover()


# --- models ------------------------------------------------------------------------------------
@pytest.fixture
def tiny_model():
    return F.saved_tiny_model()


def test_missing_model_folder_is_a_model_error(tmp_path):
    from skysegui.ml.model import load_model

    with pytest.raises(ModelError, match="no card.json"):
        load_model(tmp_path / "nope")


def test_missing_weights_file_is_a_model_error(tiny_model, tmp_path):
    from skysegui.ml.model import load_model

    folder = F.copy_model(tiny_model, tmp_path / "m")
    (folder / "model.weights.h5").unlink()
    with pytest.raises(ModelError, match=r"model\.weights\.h5 is missing"):
        load_model(folder)


def test_corrupt_weights_file_is_a_model_error(tiny_model, tmp_path):
    from skysegui.ml.model import load_model

    folder = F.corrupt_weights(F.copy_model(tiny_model, tmp_path / "m"))
    with pytest.raises(ModelError, match=r"cannot load .*model\.weights\.h5.*corrupt"):
        load_model(folder)


def test_weights_of_another_network_are_a_model_error(tiny_model, tmp_path):
    from skysegui.ml.model import load_model

    folder = F.edit_card(F.copy_model(tiny_model, tmp_path / "m"), backbone="resnet18")
    with pytest.raises(ModelError, match=r"does not match the card \(Unet \+ resnet18\)"):
        load_model(folder)


def test_card_for_another_input_transform_is_a_model_error(tiny_model, tmp_path):
    from skysegui.ml.model import load_model

    folder = F.edit_card(F.copy_model(tiny_model, tmp_path / "m"), input_transform="aces_log")
    with pytest.raises(ModelError, match="unknown input transform 'aces_log'"):
        load_model(folder)


def test_broken_card_is_a_model_error(tiny_model, tmp_path):
    from skysegui.ml.model import load_model

    folder = F.copy_model(tiny_model, tmp_path / "m")
    (folder / "card.json").write_text("{ not json")
    with pytest.raises(ModelError, match=r"card\.json is not a valid model card"):
        load_model(folder)

