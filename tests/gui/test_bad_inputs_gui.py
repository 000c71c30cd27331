"""The bad-input table (docs/bad-inputs.md) through the real window: every damaged image,
label file and project gives a message box with the typed error's own text (or, for
repairable labels, a status warning), never a traceback, and the window keeps working:
after each one a good panorama opens and renders.

Messages are caught without blocking: the window's error boxes are opened with open(), so
they are listed by messages.open_error_boxes() and closed by the test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from skysegui.core.annotations import load_labels
from skysegui.core.errors import ModelError, ProjectError, SkysegError
from skysegui.core.imageio import read_image
from skysegui.core.project import Project
from skysegui.gui.main_window import MainWindow
from skysegui.gui.messages import open_error_boxes
from skysegui.gui.panels.image_list import PATH_ROLE
from skysegui.gui.settings import AppSettings, ini_settings
from tests.e2e import _faults as F
from tests.gui._window import Answers

WAIT_MS = 30_000




@pytest.fixture
def answers():
    return Answers("discard")


@pytest.fixture
def window(qtbot, tmp_path, answers):
    win = MainWindow(settings=AppSettings(ini_settings(tmp_path / "settings.ini")), ask=answers)
    qtbot.addWidget(win)
    win.resize(900, 600)
    win.show()
    yield win
    close_boxes()


@pytest.fixture
def good(tmp_path):
    folder = tmp_path / "good"
    folder.mkdir()
    return F.good_image(folder, "exr", name="good", width=96, height=48)


def close_boxes() -> None:
    for box in open_error_boxes():
        box.close()


def expect_error_box(qtbot, expected: str) -> str:
    """Wait for exactly one error box showing `expected`; close it; return its text."""
    qtbot.waitUntil(lambda: bool(open_error_boxes()), timeout=WAIT_MS)
    boxes = open_error_boxes()
    texts = [b.text() for b in boxes]
    close_boxes()
    assert len(boxes) == 1, texts
    assert boxes[0].windowTitle() != "Unexpected error", texts  # a typed error, not a bug
    assert texts[0] == expected
    return texts[0]


def still_works(qtbot, win, good) -> None:
    """The window opens and renders a good panorama after the failure."""
    with qtbot.waitSignal(win.fullyLoaded, timeout=WAIT_MS):
        assert win.open_path(good)
    assert win.current is not None and win.current.path == good
    assert win.view.image_size == (96, 48)
    assert not open_error_boxes()


def typed_read_error(path) -> SkysegError:
    """What the core says about this file (the GUI must show the same text)."""
    with pytest.raises(SkysegError) as err:
        read_image(path)
    return err.value


# --- images opened directly ------------------------------------------------------------------
IMAGE_FAULTS = {
    **{f"empty-{fmt}": (lambda d, fmt=fmt: F.empty(d, fmt)) for fmt in F.FORMATS},
    **{f"truncated-{fmt}": (lambda d, fmt=fmt: F.truncated(d, fmt, keep=0.4)) for fmt in F.FORMATS},
    **{f"corrupt-header-{fmt}": (lambda d, fmt=fmt: F.corrupt(d, fmt, where="header")) for fmt in F.FORMATS},
    **{f"corrupt-data-{fmt}": (lambda d, fmt=fmt: F.corrupt(d, fmt, where="data"))
       for fmt in ("exr", "hdr", "tif", "png")},
    "wrong-extension": lambda d: F.wrong_extension(d, real="png", claimed="exr"),
    "unknown-extension": lambda d: F.unknown_extension(d),
    "exr-without-rgb": lambda d: F.exr_without_rgb(d),
    **{f"{fmt}-huge-header": (lambda d, make=make: make(d)) for fmt, make in F.HUGE_HEADERS.items()},
}


@pytest.mark.parametrize("fault", sorted(IMAGE_FAULTS))
def test_a_bad_image_gives_its_message_and_the_app_keeps_working(qtbot, tmp_path, window, good, fault):
    bad = IMAGE_FAULTS[fault](tmp_path)
    expected = typed_read_error(bad)
    assert bad.name in str(expected)
    window.open_path(bad)
    expect_error_box(qtbot, str(expected))
    still_works(qtbot, window, good)


def test_a_damaged_jpeg_that_decodes_is_a_status_warning_naming_it(qtbot, tmp_path, window, good):
    """Garbled scan data: the picture shows (as in any viewer), no error box, and the bar
    says which file the decoder complained about; the next image clears the warning."""
    bad = F.corrupt(tmp_path, "jpg", name="garbled")
    with qtbot.waitSignal(window.fullyLoaded, timeout=WAIT_MS):
        assert window.open_path(bad)
    assert not open_error_boxes()
    info = window.current.image.info
    assert info.decoder_warnings and window.view.image_size == (info.width, info.height)
    label = window.status.warnings_label
    assert label.text().startswith("⚠ 1 warning: garbled.jpg: the JPEG decoder reported damage"), label.text()
    assert info.decoder_note in label.toolTip()
    still_works(qtbot, window, good)
    assert label.text() == ""


def test_a_missing_file_is_a_message(qtbot, tmp_path, window, good):
    assert not window.open_path(tmp_path / "gone.exr")
    text = expect_error_box(qtbot, str(ProjectError(
        f"{tmp_path / 'gone.exr'} does not exist: choose a project folder, a COCO file or an image")))
    assert "gone.exr" in text
    still_works(qtbot, window, good)


def test_a_bad_image_opened_over_a_project_leaves_the_project_open(qtbot, tmp_path, window):
    """The header is checked before the open project is closed: nothing is lost."""
    root = tmp_path / "project"
    (root / "images").mkdir(parents=True)
    F.good_image(root / "images", "exr", name="pano")
    F.write_json(root / "labels.json", F.good_labels("pano.exr"))
    with qtbot.waitSignal(window.fullyLoaded, timeout=WAIT_MS):
        assert window.open_path(root)
    labels = window.session.labels
    bad = F.unknown_extension(tmp_path)
    assert not window.open_path(bad)
    expect_error_box(qtbot, str(typed_read_error(bad)))
    assert window.session.project is not None and window.session.labels is labels
    assert window.current.path.name == "pano.exr"


def test_nan_inf_and_negative_radiance_are_repaired_and_shown(qtbot, tmp_path, window):
    path, planted = F.exr_bad_radiance(tmp_path)
    with qtbot.waitSignal(window.fullyLoaded, timeout=WAIT_MS):
        assert window.open_path(path)
    assert not open_error_boxes()
    info = window.current.image.info
    assert (info.sanitised_nan, info.sanitised_inf, info.sanitised_negative) == (
        planted["nan"], planted["inf"], planted["negative"])
    pixels = window.view.full_resolution_pixels()
    assert np.isfinite(pixels).all() and pixels.min() >= 0
    assert window.view.fully_rendered


def test_damaged_panoramas_inside_a_project_do_not_stop_the_others(qtbot, tmp_path, window):
    root = tmp_path / "project"
    images = root / "images"
    images.mkdir(parents=True)
    bad = F.truncated(images, "exr", keep=0.4, name="a_truncated")
    F.empty(images, "png", name="b_empty")
    F.good_image(images, "exr", name="c_good", width=96, height=48)
    F.write_json(root / "labels.json", F.good_labels("c_good.exr", 96, 48))
    assert window.open_path(root)  # the project opens; its first panorama is the damaged one
    expect_error_box(qtbot, str(typed_read_error(bad)))
    assert [p.name for p in window.session.images] == ["a_truncated.exr", "b_empty.png", "c_good.exr"]
    window.actions.next_image.trigger()
    expect_error_box(qtbot, str(typed_read_error(images / "b_empty.png")))
    with qtbot.waitSignal(window.fullyLoaded, timeout=WAIT_MS):
        window.actions.next_image.trigger()
    assert window.current.path.name == "c_good.exr"
    assert window.editor is None or window.editor.annotations()  # its labels are editable
    window.thumbnails.wait(WAIT_MS)  # damaged files get no thumbnail, and no error either
    qtbot.wait(50)
    assert not open_error_boxes()


# --- label files -----------------------------------------------------------------------------
def project_with_labels(tmp_path, damage) -> tuple:
    root = tmp_path / "project"
    (root / "images").mkdir(parents=True)
    F.good_image(root / "images", "exr", name="pano")
    damage(root / "labels.json")
    return root


LABEL_ERRORS = {
    "truncated-json": F.truncated_json,
    "invalid-json": F.invalid_json,
    "binary": F.binary_json,
    "empty": lambda p: p.write_text("", encoding="utf-8"),
    "wrong-top-level-types": F.wrong_types,
}


@pytest.mark.parametrize("fault", sorted(LABEL_ERRORS))
def test_a_damaged_label_file_gives_its_message(qtbot, tmp_path, window, good, fault):
    root = project_with_labels(tmp_path, LABEL_ERRORS[fault])
    with pytest.raises(SkysegError) as err:
        load_labels(root / "labels.json", images_dir=root / "images")
    assert "labels.json" in str(err.value)
    assert not window.open_path(root)
    expect_error_box(qtbot, str(err.value))
    assert window.session.project is None  # nothing half-opened
    still_works(qtbot, window, good)


LABEL_WARNINGS = {
    "wrong-field-types": F.wrong_field_types,
    "duplicate-ids": F.duplicate_ids,
    "short-polygons": F.short_polygons,
    "self-intersecting": F.self_intersecting,
    "far-outside": F.far_outside,
    "unknown-category": F.unknown_category,
    "image-missing-on-disk": F.missing_image,
}


@pytest.mark.parametrize("fault", sorted(LABEL_WARNINGS))
def test_repairable_labels_open_with_a_warning(qtbot, tmp_path, window, good, fault):
    root = project_with_labels(tmp_path, LABEL_WARNINGS[fault])
    expected = load_labels(root / "labels.json", images_dir=root / "images").warnings
    assert expected
    messages: list[str] = []
    window.session.message.connect(messages.append)
    with qtbot.waitSignal(window.fullyLoaded, timeout=WAIT_MS):
        assert window.open_path(root)
    assert not open_error_boxes()
    assert messages[0] == f"{len(expected)} label warning(s): {expected[0]}"
    assert "labels.json" in messages[0]
    assert window.session.warnings == expected  # all of them, for the window to show
    assert window.session.labels.annotations_for(window.session.image_id(window.current.path))
    still_works(qtbot, window, good)


def test_a_coco_file_opened_directly_with_broken_json_is_a_message(qtbot, tmp_path, window, good):
    path = F.truncated_json(tmp_path / "export.json")
    assert not window.open_path(path)
    text = expect_error_box(qtbot, str(pytest.raises(SkysegError, load_labels, path).value))
    assert "export.json" in text
    still_works(qtbot, window, good)


def test_an_unrecoverable_autosave_is_a_message_and_can_be_discarded(qtbot, tmp_path, window, answers, good):
    root = project_with_labels(tmp_path, lambda p: F.write_json(p, F.good_labels("pano.exr")))
    project = Project.open(root)
    F.truncated_json(project.autosave_path)
    assert project.has_recovery()
    answers.answers["recover"] = "restore"
    assert not window.open_path(root)
    text = expect_error_box(qtbot, str(pytest.raises(ProjectError, project.recover).value))
    assert "discard it" in text
    assert answers.asked == ["recover"]
    answers.answers["recover"] = "discard"  # what the message tells the user to do
    with qtbot.waitSignal(window.fullyLoaded, timeout=WAIT_MS):
        assert window.open_path(root)
    assert not project.has_recovery()
    assert len(window.session.labels.annotations) == 2
    still_works(qtbot, window, good)


def test_a_folder_that_is_not_a_project_is_a_message(qtbot, tmp_path, window, good):
    folder = tmp_path / "holiday"
    folder.mkdir()
    (folder / "notes.txt").write_text("no images here", encoding="utf-8")
    assert not window.open_path(folder)
    text = expect_error_box(qtbot, str(pytest.raises(ProjectError, Project.open, folder).value))
    assert "is not a project" in text
    still_works(qtbot, window, good)


# --- model folders in the prediction panel ----------------------------------------------------
def model_folder_faults(tmp_path) -> dict:
    """Damaged model folders that need no TensorFlow to be found out."""
    missing_card = tmp_path / "no-card"
    missing_card.mkdir()
    (missing_card / "model.weights.h5").write_bytes(b"\x89HDF")
    broken_card = tmp_path / "broken-card"
    broken_card.mkdir()
    (broken_card / "card.json").write_text('{"config": {"arch": ', encoding="utf-8")
    return {"no card.json": missing_card, "broken card.json": broken_card,
            "no folder": tmp_path / "not-there"}


def predict_with(qtbot, window, folder) -> None:
    """Choose `folder` in the window's prediction panel and predict the shown image."""
    panel = window.learning.prediction
    panel.set_model(folder)
    assert window.actions.predict_current.isEnabled()
    window.actions.predict_current.trigger()


def test_a_damaged_model_folder_in_the_prediction_panel_is_a_message(qtbot, tmp_path, window, good):
    from skysegui.ml.model import load_model

    with qtbot.waitSignal(window.fullyLoaded, timeout=WAIT_MS):
        assert window.open_path(good)
    panel = window.learning.prediction
    for what, folder in model_folder_faults(tmp_path).items():
        with pytest.raises(ModelError) as err:
            load_model(folder)
        assert folder.name in str(err.value), what
        predict_with(qtbot, window, folder)
        expect_error_box(qtbot, str(err.value))
        qtbot.waitUntil(lambda: not panel.busy, timeout=WAIT_MS)
        assert panel.status_label.text() == str(err.value)
        assert panel.predict_current_button.isEnabled()  # ready for the next try
    still_works(qtbot, window, good)


def test_damaged_weights_are_a_message(qtbot, tmp_path, window, good):
    """Needs TensorFlow: corrupt weights are only found out when the model is rebuilt."""
    from skysegui.ml.model import WEIGHTS_NAME, load_model

    source = F.saved_tiny_model()
    missing = F.copy_model(source, tmp_path / "no-weights")
    (missing / WEIGHTS_NAME).unlink()
    aces = F.edit_card(F.copy_model(source, tmp_path / "aces"), input_transform="aces_log")
    corrupt = F.corrupt_weights(F.copy_model(source, tmp_path / "corrupt"))
    other = F.edit_card(F.copy_model(source, tmp_path / "other-backbone"), backbone="resnet18")
    with qtbot.waitSignal(window.fullyLoaded, timeout=WAIT_MS):
        assert window.open_path(good)
    panel = window.learning.prediction
    for folder in (missing, aces, corrupt, other):
        if folder in (corrupt, other):  # the text holds h5py's or Keras' words: check what the user needs
            predict_with(qtbot, window, folder)
            qtbot.waitUntil(lambda: bool(open_error_boxes()), timeout=WAIT_MS * 4)
            boxes = open_error_boxes()
            text = boxes[0].text()
            close_boxes()
            assert len(boxes) == 1 and boxes[0].windowTitle() != "Unexpected error", text
            assert str(folder / WEIGHTS_NAME) in text and "train the model again" in text
            if folder is other:
                assert "does not match the card (Unet + resnet18)" in text
        else:  # found out before any network is built
            with pytest.raises(ModelError) as err:
                load_model(folder)
            predict_with(qtbot, window, folder)
            expect_error_box(qtbot, str(err.value))
        qtbot.waitUntil(lambda: not panel.busy, timeout=WAIT_MS)
        assert window.actions.predict_current.isEnabled()  # ready for the next try
    still_works(qtbot, window, good)


# --- the image list: damaged files are marked before they are opened -------------------------
def test_thumbnails_mark_damaged_files_in_the_image_list(qtbot, tmp_path):
    """The real thumbnail worker on real damaged files, feeding the real image list the way
    the window does: unreadable files get no thumbnail but a sign and the reason on their
    row; a JPEG that decodes with damage gets both its thumbnail and the sign."""
    from skysegui.core.tonemap import ToneSettings
    from skysegui.gui.panels.image_list import STATUS, ImageList
    from skysegui.gui.viewer.pixmaps import to_pixmap
    from skysegui.gui.workers.load_worker import ThumbnailLoader

    sound = F.good_image(tmp_path, "exr", name="a_good")
    truncated = F.truncated(tmp_path, "exr", keep=0.4, name="b_truncated")
    empty = F.empty(tmp_path, "png", name="c_empty")
    garbled = F.corrupt(tmp_path, "jpg", name="d_garbled")
    paths = [sound, truncated, empty, garbled]
    image_list = ImageList()
    qtbot.addWidget(image_list)
    image_list.set_images([(p, p == sound) for p in paths])
    loader = ThumbnailLoader()
    thumbnails: list = []
    loader.thumbnailReady.connect(lambda p, rgb: (thumbnails.append(p), image_list.set_thumbnail(p, to_pixmap(rgb))))
    loader.thumbnailProblem.connect(image_list.set_problem)
    loader.load(paths, ToneSettings())
    qtbot.waitUntil(lambda: image_list.problem(garbled) is not None, timeout=WAIT_MS)
    assert loader.wait(WAIT_MS)
    qtbot.wait(20)  # the last queued signals
    assert thumbnails == [sound, garbled]
    assert image_list.problem(sound) is None
    for bad in (truncated, empty):
        assert image_list.problem(bad) == str(typed_read_error(bad))
    assert "the JPEG decoder reported damage" in image_list.problem(garbled)
    items = {Path(i.data(0, PATH_ROLE)): i for i in image_list._items()}
    for bad in (truncated, empty, garbled):
        assert image_list.has_sign(bad) and not items[bad].icon(0).isNull(), bad.name  # the sign
        assert bad.name in items[bad].toolTip(STATUS) and bad.name in items[bad].toolTip(0)
    assert not image_list.has_sign(sound) and items[sound].icon(STATUS).isNull()
    image_list.set_labelled(truncated, True)  # editing labels keeps the sign and the reason
    assert image_list.problem(truncated) and "truncated" in items[truncated].toolTip(STATUS)
    assert "has labels" in items[truncated].toolTip(STATUS)
