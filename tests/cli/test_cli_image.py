"""`skysegui info` and `skysegui tonemap` through the real argument parsers."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from skysegui.cli import main as cli_main
from skysegui.cli.commands import info as info_cmd
from skysegui.cli.commands import tonemap as tonemap_cmd
from skysegui.core.errors import SkysegError
from skysegui.core.imageio import read_image, write_exr
from skysegui.core.tonemap import srgb_encode


def run_command(module, argv: list[str]) -> int:
    """Parse argv with the command's own register() and run it (as main() does)."""
    parser = argparse.ArgumentParser(prog="skysegui")
    module.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_info_text_on_real_panorama(hdri_dir, capsys):
    assert run_command(info_cmd, ["info", str(hdri_dir / "city.exr")]) == 0
    out = capsys.readouterr().out
    assert "1024 x 512" in out and "OpenEXR (HDR, linear)" in out
    assert "stops" in out and "negative" in out
    assert "32-bit float" in out


def test_info_json_matches_the_image(hdri_dir, capsys):
    path = hdri_dir / "interior.exr"
    assert run_command(info_cmd, ["info", "--json", str(path)]) == 0
    d = json.loads(capsys.readouterr().out)
    image = read_image(path)
    assert (d["width"], d["height"], d["hdr"]) == (1024, 512, True)
    assert d["sanitised"]["negative"] == image.info.sanitised_negative > 0
    assert d["luminance"]["max"] >= d["luminance"]["median"] >= d["luminance"]["min"] >= 0
    assert d["luminance"]["stops"] > 0


def test_info_ldr_png(tmp_path, capsys):
    from skysegui.core.imageio import write_png

    write_png(tmp_path / "a.png", np.full((5, 6, 3), 128, np.uint16) * 257, bits=16)
    assert run_command(info_cmd, ["info", str(tmp_path / "a.png")]) == 0
    out = capsys.readouterr().out
    assert "PNG (LDR, sRGB)" in out and "16-bit integer" in out and "6 x 5" in out


def test_tonemap_writes_png(tmp_path, hdri_dir):
    out = tmp_path / "city.png"
    assert run_command(tonemap_cmd, ["tonemap", str(hdri_dir / "city.exr"), "--out", str(out)]) == 0
    picture = read_image(out)
    assert picture.pixels.shape == (512, 1024, 3)


def test_tonemap_exposure_brightens(tmp_path):
    pixels = np.full((8, 8, 3), 0.05, np.float32)
    write_exr(tmp_path / "dim.exr", pixels)
    means = {}
    for ev in ("0", "2"):
        out = tmp_path / f"ev{ev}.png"
        run_command(tonemap_cmd, ["tonemap", str(tmp_path / "dim.exr"), "--out", str(out), "--exposure", ev,
                                  "--operator", "gamma", "--gamma", "1"])
        means[ev] = float(srgb_encode(read_image(out).pixels).mean())  # back to the file's codes
    assert means["2"] == pytest.approx(4 * means["0"], rel=0.02)


def test_tonemap_auto_exposure_puts_key_at_middle_grey(tmp_path):
    write_exr(tmp_path / "dark.exr", np.full((8, 8, 3), 0.001, np.float32), half=False)
    out = tmp_path / "auto.png"
    run_command(tonemap_cmd, ["tonemap", str(tmp_path / "dark.exr"), "--out", str(out), "--auto-exposure"])
    value = float(read_image(out).pixels.mean())  # linear value written = 0.18 after auto exposure
    assert value == pytest.approx(0.18, rel=0.03)


def test_tonemap_rejects_bad_output_and_gamma(tmp_path, hdri_dir):
    with pytest.raises(SkysegError, match=r"\.png or \.jpg"):
        run_command(tonemap_cmd, ["tonemap", str(hdri_dir / "city.exr"), "--out", str(tmp_path / "x.exr")])
    with pytest.raises(SkysegError, match="gamma"):
        run_command(tonemap_cmd, ["tonemap", str(hdri_dir / "city.exr"), "--out", str(tmp_path / "x.png"),
                                  "--gamma", "0"])


def test_main_prints_one_line_error_for_missing_image(tmp_path, capsys):
    code = cli_main.main(["info", str(tmp_path / "missing.exr")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and "does not exist" in err and len(err.strip().splitlines()) == 1


def test_main_runs_tonemap(tmp_path, hdri_dir):
    out = tmp_path / "sunset.jpg"
    code = cli_main.main(["tonemap", str(hdri_dir / "sunset.exr"), "--out", str(out), "--operator", "filmic"])
    assert code == 0 and read_image(out).pixels.shape == (512, 1024, 3)


def test_real_subprocess(tmp_path, hdri_dir):
    out = tmp_path / "forest.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, "-m", "skysegui", "tonemap", str(hdri_dir / "forest.exr"), "--out", str(out), "--auto-exposure"],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout and out.exists()
    bad = subprocess.run(
        [sys.executable, "-m", "skysegui", "info", str(tmp_path / "none.exr")],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "Traceback" not in bad.stderr
