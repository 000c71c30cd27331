"""Declared primaries: named, converted to Rec.709 / sRGB on reading, kept on export."""

from __future__ import annotations

import argparse
import json

import numpy as np
import OpenEXR
import pytest

from skysegui.cli.commands import info as info_cmd
from skysegui.core.imageio import read_image
from skysegui.core.imageio.primaries import (
    KNOWN,
    REC709,
    needs_conversion,
    primaries_name,
    to_rec709_matrix,
)

AP0, AP1 = KNOWN["ACES AP0"], KNOWN["ACES AP1 (ACEScg)"]
CITY_D50 = (0.6484474, 0.3308766, 0.3211871, 0.5978943, 0.1559014, 0.0660563, 0.3457084, 0.3585413)


def _ocio_matrix(src: str) -> np.ndarray:
    ocio = pytest.importorskip("PyOpenColorIO", reason="PyOpenColorIO is not installed (pip install 'skysegui[ocio]')")
    config = ocio.Config.CreateFromFile("ocio://studio-config-latest")
    cpu = config.getProcessor(src, "Linear Rec.709 (sRGB)").getDefaultCPUProcessor()
    rows = np.eye(3, dtype=np.float32)
    cpu.applyRGB(rows)  # each row is the image of a unit primary: the matrix's columns
    return rows.T


@pytest.mark.parametrize(("chroma", "space"), [(AP0, "ACES2065-1"), (AP1, "ACEScg")])
def test_matrices_equal_opencolorio_aces_config(chroma, space):
    """Bradford XYZ route == the ACES studio config's own conversion to Linear Rec.709."""
    np.testing.assert_allclose(to_rec709_matrix(chroma), _ocio_matrix(space), atol=2e-5)


def test_names_of_declared_primaries():
    assert primaries_name(None) == "Rec.709 / sRGB (not declared)"
    assert primaries_name(REC709) == "Rec.709 / sRGB"
    assert primaries_name(AP0) == "ACES AP0"
    assert primaries_name(AP1) == "ACES AP1 (ACEScg)"
    assert primaries_name(CITY_D50) == "Rec.709 / sRGB (D50-adapted)"  # Photoshop's sRGB in D50
    assert primaries_name((0.69, 0.3, 0.2, 0.75, 0.13, 0.05, 0.3127, 0.329)) == "custom"
    assert primaries_name((0.7, 0.3, 0.7, 0.3, 0.7, 0.3, 0.3127, 0.329)).startswith("invalid")
    assert not needs_conversion(CITY_D50) and not needs_conversion(REC709) and needs_conversion(AP0)


def _write(path, pixels, chroma=None) -> None:
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    if chroma is not None:
        header["chromaticities"] = chroma
    OpenEXR.File(header, {"RGB": pixels}).write(str(path))


def test_an_ap0_exr_is_read_as_rec709_and_its_own_pixels_stay_available(tmp_path):
    rng = np.random.default_rng(3)
    rec709 = rng.uniform(0.01, 4.0, size=(16, 32, 3))  # in the Rec.709 gamut, so no clipping
    ap0 = (rec709 @ np.linalg.inv(to_rec709_matrix(AP0)).T).astype(np.float32)
    _write(tmp_path / "aces.exr", ap0, AP0)
    image = read_image(tmp_path / "aces.exr")
    assert image.info.primaries == "ACES AP0" and image.info.converted_to_rec709
    np.testing.assert_allclose(image.pixels, rec709, rtol=1e-5, atol=1e-6)
    half = read_image(tmp_path / "aces.exr", dtype=np.float16)
    np.testing.assert_allclose(half.pixels.astype(np.float64), rec709, rtol=2e-3, atol=1e-4)
    own = read_image(tmp_path / "aces.exr", rec709=False)
    assert not own.info.converted_to_rec709
    np.testing.assert_array_equal(own.pixels, ap0)


def test_colours_outside_rec709_clip_at_zero_and_nan_is_still_counted(tmp_path):
    px = np.zeros((2, 2, 3), np.float32)
    px[0, 0] = (0.0, 1.0, 0.0)  # AP0 green: far outside Rec.709
    px[1, 1] = (np.nan, 1.0, 1.0)
    _write(tmp_path / "wide.exr", px, AP0)
    image = read_image(tmp_path / "wide.exr")
    assert (image.pixels >= 0).all() and np.isfinite(image.pixels).all()
    assert image.info.sanitised_nan == 1


def test_a_file_in_rec709_or_sRGB_adapted_to_d50_is_left_as_it_is(tmp_path, hdri_dir):
    city = hdri_dir / "city.exr"  # declares sRGB primaries adapted to D50 (OpenImageIO / Photoshop)
    a, b = read_image(city), read_image(city, rec709=False)
    assert a.info.primaries == "Rec.709 / sRGB (D50-adapted)" and not a.info.converted_to_rec709
    np.testing.assert_array_equal(a.pixels, b.pixels)
    assert read_image(hdri_dir / "forest.exr").info.primaries == "Rec.709 / sRGB (not declared)"


def _info(path, *flags) -> None:
    parser = argparse.ArgumentParser(prog="skysegui")
    info_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["info", *flags, str(path)])
    assert args.func(args) == 0


def test_info_names_the_declared_primaries(tmp_path, capsys):
    _write(tmp_path / "aces.exr", np.ones((4, 8, 3), np.float16), AP0)
    _info(tmp_path / "aces.exr")
    text = capsys.readouterr().out
    assert "primaries:     ACES AP0 (declared; converted to Rec.709 / sRGB" in text
    _info(tmp_path / "aces.exr", "--json")
    d = json.loads(capsys.readouterr().out)
    assert d["primaries"] == "ACES AP0" and d["converted_to_rec709"] is True
    assert d["chromaticities"] == pytest.approx(list(AP0), abs=1e-6)
    _write(tmp_path / "plain.exr", np.ones((4, 8, 3), np.float16))
    _info(tmp_path / "plain.exr")
    assert "primaries:     Rec.709 / sRGB (not declared)\n" in capsys.readouterr().out
