"""OpenColorIO views baked into tables: the same picture as OCIO itself, at any exposure.

Uses the real PyOpenColorIO and its built-in ACES studio config (speed is measured in
benchmarks/bench_ocio.py, not here).
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from skysegui.core.errors import ColorManagementError
from skysegui.core.imageio import read_image
from skysegui.core.tonemap import OCIO, ToneSettings, ocio, tonemap

pytest.importorskip("PyOpenColorIO", reason="PyOpenColorIO is not installed (pip install 'skysegui[ocio]')")


def _key(view_prefix: str) -> ocio.ViewKey:
    for display, view in ocio.list_views(ocio.BUILTIN):
        if view.startswith(view_prefix):
            return ocio.ViewKey(ocio.BUILTIN, display, view)
    raise AssertionError(f"no view {view_prefix!r} in {ocio.list_views(ocio.BUILTIN)}")


def _settings(key: ocio.ViewKey, exposure: float = 0.0, offset: float = 0.0) -> ToneSettings:
    return ToneSettings(exposure=exposure, offset=offset, operator=OCIO, ocio_config=key.source,
                        ocio_display=key.display, ocio_view=key.view)


@pytest.fixture(scope="module")
def pano(hdri_dir) -> np.ndarray:
    return read_image(hdri_dir / "city.exr", dtype=np.float16).pixels  # sun, sky, dark shadows


def test_the_builtin_aces_config_offers_its_views_for_our_rec709_pixels():
    views = [v for _d, v in ocio.list_views(ocio.BUILTIN)]
    assert any(v.startswith("ACES") for v in views) and "Un-tone-mapped" in views
    assert ocio.input_colorspace(ocio.load_config(ocio.BUILTIN)) == "Linear Rec.709 (sRGB)"


@pytest.mark.parametrize(("exposure", "offset"), [(0.0, 0.0), (-1.3, 0.0), (2.5, 0.0), (0.0, 0.05)])
def test_the_aces_view_through_its_cube_is_what_ocio_shows(pano, exposure, offset):
    key = _key("ACES")
    assert not ocio.is_separable(key)  # the ACES output transform mixes the channels
    shown = tonemap(pano, _settings(key, exposure, offset))
    exposed = pano.astype(np.float32) * np.float32(2.0**exposure) + np.float32(offset)
    truth = ocio.to_uint8(ocio.exact(key, exposed))
    diff = np.abs(shown.astype(int) - truth)
    assert np.mean(diff <= 1) > 0.999, np.percentile(diff, [99, 99.9, 100])
    assert diff.mean() < 0.25 and diff.max() <= 12


@pytest.mark.parametrize("view", ["Un-tone-mapped", "Raw"])
def test_a_per_channel_view_is_one_half_float_table(pano, view):
    key = _key(view)
    assert ocio.is_separable(key)
    for exposure in (0.0, -2.0, 1.7):
        shown = tonemap(pano, _settings(key, exposure))
        truth = ocio.to_uint8(ocio.exact(key, pano.astype(np.float32) * np.float32(2.0**exposure)))
        assert np.abs(shown.astype(int) - truth).max() <= 1


def test_float32_and_tiny_inputs_take_the_same_path(pano):
    key = _key("ACES")
    small = pano[:3, :5]
    np.testing.assert_array_equal(tonemap(small.astype(np.float32), _settings(key)), tonemap(small, _settings(key)))
    assert tonemap(pano[:1, :1], _settings(key)).shape == (1, 1, 3)


def test_a_chosen_config_file_and_a_broken_ocio_variable(tmp_path, monkeypatch):
    path = tmp_path / "studio.ocio"
    path.write_text(ocio.load_config(ocio.BUILTIN).serialize(), encoding="utf-8")
    assert ocio.list_views(str(path)) == ocio.list_views(ocio.BUILTIN)
    monkeypatch.setenv("OCIO", str(tmp_path / "missing.ocio"))
    with pytest.raises(ColorManagementError, match="missing.ocio, which does not exist"):
        ocio.load_config(ocio.ENV)
    monkeypatch.setenv("OCIO", str(path))
    assert ocio.list_views(ocio.ENV) == ocio.list_views(ocio.BUILTIN)
    with pytest.raises(ColorManagementError, match="does not exist"):
        ocio.load_config(str(tmp_path / "nothing.ocio"))


def test_without_pyopencolorio_the_reason_names_the_package():
    code = (
        "import sys; sys.modules['PyOpenColorIO'] = None\n"
        "from skysegui.core.tonemap import ocio\n"
        "print(ocio.unavailable_reason())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert out.returncode == 0, out.stderr
    assert "PyOpenColorIO, which is not installed" in out.stdout and 'pip install "skysegui[ocio]"' in out.stdout
