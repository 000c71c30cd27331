"""The real program under Xvfb: `python -m skysegui --screenshot OUT.png PROJECT` shows the panorama."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from skysegui.core.imageio import read_image
from skysegui.core.tonemap import ToneSettings, tonemap

pytestmark = pytest.mark.xvfb


def best_match(screenshot: np.ndarray, picture: np.ndarray) -> tuple[float, int]:
    """Highest normalised correlation of `picture` (any width) inside `screenshot`, and that width.
    Both are compared at a quarter size to keep the multi-scale search quick."""
    shot = cv2.resize(screenshot, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    shot = cv2.cvtColor(shot, cv2.COLOR_BGR2GRAY).astype(np.float32)
    gray = cv2.cvtColor(picture, cv2.COLOR_RGB2GRAY).astype(np.float32)
    best, best_w = -1.0, 0
    for w in range(120, shot.shape[1], 2):
        h = round(w * gray.shape[0] / gray.shape[1])
        if h >= shot.shape[0] or w >= shot.shape[1]:
            break
        template = cv2.resize(gray, (w, h), interpolation=cv2.INTER_AREA)
        score = float(cv2.matchTemplate(shot, template, cv2.TM_CCOEFF_NORMED).max())
        if score > best:
            best, best_w = score, w
    return best, best_w * 4


def test_screenshot_of_the_real_program_shows_the_panorama(tmp_path, hdri_dir, label_studio_dir):
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run is not installed (apt-get install xvfb): cannot start a real X display")
    project = tmp_path / "project"
    (project / "images").mkdir(parents=True)
    shutil.copy(hdri_dir / "city.exr", project / "images" / "city.exr")
    shutil.copy(label_studio_dir / "city_coco.json", project / "labels.json")
    out = tmp_path / "window.png"
    env = dict(os.environ, QT_QPA_PLATFORM="xcb", XDG_CONFIG_HOME=str(tmp_path / "config"))
    proc = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24",
         sys.executable, "-m", "skysegui", "--screenshot", str(out), str(project)],
        env=env, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    shot = cv2.imread(str(out))
    assert shot is not None and shot.shape[0] >= 600 and shot.shape[1] >= 1000
    assert shot.std() > 30  # not an empty, uniform window

    # the tone-mapped panorama (the ground: the sky carries the label overlay) is in the window
    picture = tonemap(read_image(hdri_dir / "city.exr").pixels, ToneSettings())
    ground = picture[picture.shape[0] * 45 // 100 :]
    score, width = best_match(shot, ground)
    assert score > 0.85, f"panorama not found in the screenshot (best correlation {score:.2f})"
    assert width > 600  # shown large, not as a thumbnail
    # no project labels were written or autosaved by looking
    assert not (project / "labels.autosave.json").exists()
    assert not (project / "labels.json.bak").exists()


def test_screenshot_of_a_missing_path_fails_with_one_line(tmp_path):
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run is not installed (apt-get install xvfb): cannot start a real X display")
    env = dict(os.environ, QT_QPA_PLATFORM="xcb", XDG_CONFIG_HOME=str(tmp_path / "config"))
    proc = subprocess.run(
        ["xvfb-run", "-a", sys.executable, "-m", "skysegui", "--screenshot",
         str(tmp_path / "out.png"), str(tmp_path / "nowhere")],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert "error:" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out.png").exists()
