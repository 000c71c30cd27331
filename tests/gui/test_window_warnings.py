"""Warnings from loading (repaired labels, sanitised radiance) stay visible in the status bar."""

from __future__ import annotations

import json
import shutil

from tests.gui._window import make_window, open_and_wait


def test_sanitised_radiance_is_reported(qtbot, tmp_path, hdri_dir):
    win = make_window(qtbot, tmp_path / "s.ini")
    open_and_wait(qtbot, win, hdri_dir / "city.exr")
    info = win.current.image.info
    assert info.sanitised_negative > 0  # the real capture holds small negative values
    assert win.status.warnings_label.text().startswith("⚠ 1 warning: city.exr, repaired ")
    assert f"{info.sanitised_negative} negative" in win.status.warnings_label.toolTip()


def test_label_warnings_stay_after_the_image_loads(qtbot, tmp_path, hdri_dir):
    root = tmp_path / "proj"
    (root / "images").mkdir(parents=True)
    shutil.copy(hdri_dir / "sunset.exr", root / "images" / "sunset.exr")
    coco = {
        "images": [{"id": 1, "file_name": "sunset.exr", "width": 1024, "height": 512}],
        "categories": [{"id": 1, "name": "sky"}],
        "annotations": [{
            "id": 1, "image_id": 1, "category_id": 1,
            "segmentation": [[0, 0, 5000, 0, 5000, 200, 0, 200]],  # far outside: clamped
        }],
    }
    (root / "labels.json").write_text(json.dumps(coco))
    win = make_window(qtbot, tmp_path / "s.ini")
    open_and_wait(qtbot, win, root)
    assert win.session.warnings, "the loader should have clamped the polygon with a warning"
    text = win.status.warnings_label.text()
    assert "warning" in text
    assert win.session.warnings[0] in win.status.warnings_label.toolTip()
    # the first warning is in the bar itself, its file named without the folders
    assert text.startswith("⚠ ") and " warning" in text  # label warnings, then the image's
    assert ": labels.json: annotation 1 (image sunset.exr)" in text, text
    assert str(root) not in text


def test_a_long_warning_is_cut_but_keeps_its_file_name():
    from skysegui.gui.status_bar import WARNING_CHARS, short_warning

    long = "/very/deep/folder/labels.json: annotation 7 (image x.exr): " + "points outside " * 20
    short = short_warning(long)
    assert short.startswith("labels.json: annotation 7 (image x.exr): points outside")
    assert len(short) == WARNING_CHARS and short.endswith("\u2026")
    assert short_warning("pano.exr, repaired 3 NaN values") == "pano.exr, repaired 3 NaN values"
