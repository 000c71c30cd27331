"""EXR exports are the input image with an alpha: same pixels, same primaries, same header.

Real files written with OpenEXR's own File API, exported through export_images (the path
of the CLI and the GUI), read back with OpenEXR.
"""

from __future__ import annotations

import fractions
from pathlib import Path

import cv2
import numpy as np
import OpenEXR
import pytest

from skysegui.core.export.batch import ExportOptions, export_images
from skysegui.core.imageio import read_image
from skysegui.core.imageio.exr_attributes import STORAGE_ATTRIBUTES, write_with_attributes
from skysegui.core.imageio.primaries import KNOWN
from skysegui.core.predictions import prediction_paths

AP0 = KNOWN["ACES AP0"]
H, W = 24, 48


def _attributes() -> dict:
    """What a Nuke / Blender / camera pipeline puts into a panorama's header."""
    return {
        "chromaticities": AP0,
        "envmap": OpenEXR.ENVMAP_LATLONG,
        "owner": "Jane Doe, Sky Studio",
        "capDate": "2024:05:01 12:34:56",
        "utcOffset": -7200.0,
        "comments": "HDRI of the river, bracketed 9 x 2 EV",
        "framesPerSecond": fractions.Fraction(24000, 1001),
        "worldToCamera": np.arange(16, dtype=np.float32).reshape(4, 4),
        "whiteLuminance": 100.0,
        "adoptedNeutral": np.array([0.32168, 0.33767], dtype=np.float32),
        "pixelAspectRatio": 1.0,
        "nuke/node_hash": "b0c6a9",
        "studio:shot": "sq010_sh0040",
        "studio:take": 3,
        "studio:tags": ["sky", "river", "dusk"],
        "studio:sun": np.array([0.1, 0.8, -0.2], dtype=np.float32),
        # the pixels sit at (10, 20) inside a larger display window (overscan)
        "dataWindow": (np.array([10, 20], np.int32), np.array([10 + W - 1, 20 + H - 1], np.int32)),
        "displayWindow": (np.array([0, 0], np.int32), np.array([99, 59], np.int32)),
    }


def _ap0_pixels(dtype) -> np.ndarray:
    rng = np.random.default_rng(7)
    px = rng.gamma(1.0, 1.5, size=(H, W, 3)).astype(np.float32)
    px[0, 0] = (30000.0, 0.002, 1e-6)  # a sun and tiny values: all kept as they are
    px[1, 1] = (0.0, 5.0, 0.0)  # far outside Rec.709: negative after conversion
    return px.astype(dtype)


def write_input(path: Path, dtype=np.float16, attributes: dict | None = None) -> dict:
    """An EXR with the pipeline's header (DWAA-compressed, as artists receive them)."""
    header = dict(_attributes() if attributes is None else attributes)
    header.update(compression=OpenEXR.DWAA_COMPRESSION, type=OpenEXR.scanlineimage)
    OpenEXR.File(header, {"RGB": _ap0_pixels(dtype)}).write(str(path))
    with OpenEXR.File(str(path), header_only=True) as f:
        return dict(f.header())


def write_prediction(folder: Path, image: Path, height: int = H, width: int = W) -> np.ndarray:
    paths = prediction_paths(folder, image)
    paths.mask.parent.mkdir(parents=True, exist_ok=True)
    mask = np.zeros((height, width), np.uint8)
    mask[: height // 2] = 255
    cv2.imwrite(str(paths.mask), mask)
    return mask >= 128


def read_back(path: Path) -> tuple[dict, dict]:
    with OpenEXR.File(str(path), separate_channels=True) as f:
        return dict(f.header()), {name: np.array(ch.pixels) for name, ch in f.channels().items()}


def same(a, b) -> bool:
    if isinstance(a, tuple | list | np.ndarray) or isinstance(b, tuple | list | np.ndarray):
        if isinstance(a, tuple) and a and isinstance(a[0], np.ndarray):  # a box: two vectors
            return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
        return np.array_equal(np.asarray(a), np.asarray(b))
    return a == b


@pytest.mark.parametrize("what", ["rgba-exr", "sky-exr", "ground-exr"])
@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_every_exr_export_keeps_the_header_and_the_pixels(tmp_path, what, dtype):
    image = tmp_path / "river.exr"
    original = write_input(image, dtype)
    sky = write_prediction(tmp_path / "pred", image)
    result = export_images([image], ExportOptions(what=what, source="prediction"), tmp_path / "out",
                           predictions_dir=tmp_path / "pred")
    assert len(result.written) == 1 and not result.warnings, result.warnings
    header, channels = read_back(result.written[0])

    kept = {k for k in original if k not in STORAGE_ATTRIBUTES}
    assert {"chromaticities", "envmap", "owner", "capDate", "studio:tags"} <= kept
    for name in sorted(kept):
        assert same(header.get(name), original[name]), (name, header.get(name), original[name])
    assert header["compression"] == OpenEXR.ZIP_COMPRESSION  # lossless, whatever the input used

    # the input's own pixels (AP0, not converted to Rec.709), bit-exact where kept
    assert set(channels) == {"R", "G", "B", "A"}
    rgb = np.stack([channels[c] for c in "RGB"], axis=-1)
    assert rgb.dtype == dtype
    stored = read_image(image, dtype=dtype, sanitise=False, rec709=False).pixels
    keep = {"rgba-exr": np.ones_like(sky), "sky-exr": sky, "ground-exr": ~sky}[what]
    np.testing.assert_array_equal(rgb[keep].view(np.uint8), stored[keep].view(np.uint8))
    np.testing.assert_array_equal(rgb[~keep], 0)
    alpha = sky if what != "ground-exr" else ~sky
    np.testing.assert_array_equal(channels["A"], alpha.astype(dtype))


def test_the_exported_file_reads_as_the_same_image_with_an_alpha(tmp_path):
    """What the program itself sees in the export equals what it sees in the input."""
    image = tmp_path / "river.exr"
    write_input(image)
    write_prediction(tmp_path / "pred", image)
    [out] = export_images([image], ExportOptions(what="rgba-exr", source="prediction"), tmp_path / "out",
                          predictions_dir=tmp_path / "pred").written
    a, b = read_image(image), read_image(out)
    assert b.info.primaries == a.info.primaries == "ACES AP0"
    assert a.info.converted_to_rec709 and b.info.converted_to_rec709
    np.testing.assert_array_equal(a.pixels, b.pixels)


def test_real_hdri_header_survives_export(tmp_path, hdri_dir):
    """city.exr (OpenImageIO wrote it): capture date, sRGB adapted to D50, Exif history."""
    image = hdri_dir / "city.exr"
    with OpenEXR.File(str(image), header_only=True) as f:
        original = dict(f.header())
    write_prediction(tmp_path / "pred", image, 512, 1024)
    [out] = export_images([image], ExportOptions(what="rgba-exr", source="prediction"), tmp_path / "out",
                          predictions_dir=tmp_path / "pred").written
    header, _ = read_back(out)
    for name in ("capDate", "utcOffset", "chromaticities", "Exif:ImageHistory", "PhotoshopLayerInfo",
                 "Software", "xDensity", "ResolutionUnit"):
        assert same(header[name], original[name]), name
    assert "dwaCompressionLevel" not in header  # a setting of the DWAB compression we replaced


def test_an_attribute_that_cannot_be_written_is_named_and_the_rest_kept(tmp_path):
    px = np.ones((4, 6, 3), np.float16)
    dropped = write_with_attributes(tmp_path / "x.exr", {"RGB": px},
                                    {"owner": "Jane", "broken": object(), "capDate": "2024:01:01 00:00:00"})
    assert len(dropped) == 1 and dropped[0].startswith("broken (")
    header, _ = read_back(tmp_path / "x.exr")
    assert header["owner"] == "Jane" and header["capDate"] == "2024:01:01 00:00:00"
