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
    assert win.status.warnings_label.text() == "⚠ 1 warning"
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
    assert "warning" in win.status.warnings_label.text()
    assert win.session.warnings[0] in win.status.warnings_label.toolTip()
