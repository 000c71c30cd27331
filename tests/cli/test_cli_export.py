"""`skysegui export` end to end through the real CLI entry point."""

from __future__ import annotations

import cv2
import numpy as np

from skysegui.cli.main import main
from tests.core.test_export import expected_sky, make_project


def test_cli_exports_overlays_and_masks_and_needs_force_to_overwrite(tmp_path, capsys):
    project = make_project(tmp_path / "proj")
    out = tmp_path / "out"
    args = ["export", "--project", str(project.root), "--what", "mask", "--out", str(out)]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "wrote 2 file(s)" in captured.out
    assert "empty.exr" in captured.err  # skipped with a warning
    mask = cv2.imread(str(out / "half.mask.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(mask, expected_sky() * 255)

    assert main(args) == 2
    assert "--force" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0

    overlay = ["export", "--project", str(project.root), "--what", "overlay", "--opacity", "1",
               "--color", "#00ff00", "--outline", "2", "--exposure", "-1", "--operator", "reinhard",
               "--only", "full", "--format", "jpg", "--out", str(out)]
    assert main(overlay) == 0
    assert [p.name for p in out.glob("*.overlay.jpg")] == ["full.overlay.jpg"]
    assert cv2.imread(str(out / "full.overlay.jpg")).shape == expected_sky().shape + (3,)


def test_cli_rgba_exr_and_user_errors(tmp_path, capsys):
    project = make_project(tmp_path / "proj")
    out = tmp_path / "out"
    base = ["export", "--project", str(project.root), "--out", str(out)]
    assert main([*base, "--what", "rgba-exr", "--invert", "--only", "half.exr"]) == 0
    assert (out / "half.rgba-inv.exr").exists()
    capsys.readouterr()
    assert main([*base, "--what", "overlay", "--color", "sky-ish"]) == 2
    assert "#rrggbb" in capsys.readouterr().err
    assert main([*base, "--what", "mask", "--only", "nowhere"]) == 2
    assert "no image named nowhere" in capsys.readouterr().err
    assert main([*base, "--what", "mask", "--source", "prediction"]) == 2
    assert "nothing was exported" in capsys.readouterr().err
