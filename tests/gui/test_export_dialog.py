"""The export dialog offscreen: options change the preview; OK exports; it asks before overwriting."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

from skysegui.gui.dialogs.export_dialog import ExportDialog
from tests.core.test_export import make_project

# The preview loads in a thread; on a CI machine whose other test worker is training it can
# wait its turn for many seconds (a 10 s wait once ran out there). Waits end as soon as it shows.
PREVIEW_WAIT_MS = 60_000


def _ok(dialog):
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)


def test_preview_follows_the_options(qtbot, tmp_path):
    project = make_project(tmp_path / "proj")
    dialog = ExportDialog(project, current=project.images_dir / "half.exr")
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.preview_pixels() is not None, timeout=PREVIEW_WAIT_MS)
    first = dialog.preview_pixels().copy()
    dialog.opacity.setValue(1.0)
    opaque = dialog.preview_pixels().copy()
    assert not np.array_equal(first, opaque)
    assert (opaque == [255, 48, 48]).all(axis=2).any()  # full-opacity sky is the colour itself
    dialog.what.setCurrentText("mask")
    mask = dialog.preview_pixels()
    assert set(np.unique(mask)) <= {0, 255} and mask.max() == 255
    dialog.invert.setChecked(True)
    assert np.array_equal(dialog.preview_pixels(), 255 - mask)
    dialog.source.setCurrentText("prediction")  # no prediction yet: says so, no picture
    assert dialog.preview_pixels() is None
    assert "no prediction" in dialog.preview_label.text()
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=PREVIEW_WAIT_MS)


def test_ok_exports_and_asks_before_overwriting(qtbot, tmp_path):
    project = make_project(tmp_path / "proj")
    out = tmp_path / "out"
    dialog = ExportDialog(project, current=project.images_dir / "full.exr")
    qtbot.addWidget(dialog)
    dialog.out_dir.setText(str(out))
    dialog.what.setCurrentText("overlay")
    dialog.images.clearSelection()
    dialog.images.findItems("full.exr", Qt.MatchFlag.MatchExactly)[0].setSelected(True)
    with qtbot.waitSignal(dialog.exported, timeout=20000) as blocker:
        _ok(dialog).click()
    assert [p.name for p in blocker.args[0].written] == ["full.overlay.png"]
    assert [p.name for p in out.iterdir()] == ["full.overlay.png"]

    dialog.images.selectAll()
    _ok(dialog).click()  # full.overlay.png exists: a question, nothing written yet
    box = dialog.overwrite_box
    assert box is not None and box.isVisible()
    assert "full.overlay.png" in box.text()
    with qtbot.waitSignal(dialog.exported, timeout=20000) as blocker:
        box.button(QMessageBox.StandardButton.Yes).click()
    result = blocker.args[0]
    assert sorted(p.name for p in result.written) == ["full.overlay.png", "half.overlay.png"]
    assert any("empty.exr" in w for w in result.warnings)
    assert "empty.exr" in dialog.status.text()
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=PREVIEW_WAIT_MS)


def test_exr_preview_shows_alpha_and_bad_colour_is_reported(qtbot, tmp_path):
    project = make_project(tmp_path / "proj")
    dialog = ExportDialog(project, current=project.images_dir / "half.exr")
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.preview_pixels() is not None, timeout=PREVIEW_WAIT_MS)
    dialog.what.setCurrentText("sky-exr")
    sky = dialog.preview_pixels().copy()
    dialog.what.setCurrentText("ground-exr")
    ground = dialog.preview_pixels().copy()
    h = sky.shape[0]
    # the ground half is checkerboard (grey levels only) in the sky export, picture in the other
    bottom_sky, bottom_ground = sky[h - 2], ground[h - 2]
    assert set(np.unique(bottom_sky)) <= {140, 200}
    assert not np.array_equal(bottom_sky, bottom_ground)
    dialog.what.setCurrentText("overlay")
    dialog.color.setText("not-a-colour")
    dialog.color.editingFinished.emit()
    assert dialog.preview_pixels() is None
    assert "#rrggbb" in dialog.preview_label.text()
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=PREVIEW_WAIT_MS)
