"""core/imageio: real files written and read back, the shared panoramas, damaged files."""

from __future__ import annotations

import struct
import subprocess
import sys
import textwrap
import zlib

import numpy as np
import OpenEXR
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from skysegui.core.errors import (
    CorruptImageError,
    EmptyImageError,
    ImageReadError,
    ImageTooLargeError,
    UnsupportedFormatError,
)
from skysegui.core.imageio import (
    IMAGE_EXTENSIONS,
    MAX_PIXELS,
    probe_image,
    read_image,
    sanitise_inplace,
    write_exr,
    write_hdr,
    write_image,
    write_jpg,
    write_png,
    write_tiff,
)
from skysegui.core.tonemap import srgb_decode, srgb_encode

HALF_RTOL = 2.0**-10  # float16 keeps 11 significant bits


def hdr_pixels(h=24, w=40, seed=0) -> np.ndarray:
    """Linear HDR test pixels over 0.001 .. 3000 (a sun-like spot included)."""
    rng = np.random.default_rng(seed)
    p = np.exp(rng.uniform(np.log(1e-3), np.log(50.0), size=(h, w, 3))).astype(np.float32)
    p[2:4, 5:7] = 3000.0
    return p


# --- the shared real panoramas ------------------------------------------------------------
@pytest.mark.parametrize("name", ["city", "forest", "interior", "sunset"])
def test_shared_exr_loads_sanitised(hdri_dir, name):
    path = hdri_dir / f"{name}.exr"
    raw = OpenEXR.File(str(path)).channels()["RGB"].pixels
    image = read_image(path)
    assert image.pixels.shape == (512, 1024, 3)
    assert image.pixels.dtype == np.float32
    assert np.isfinite(image.pixels).all()
    assert image.pixels.min() >= 0.0
    assert image.info.sanitised_negative == int(np.count_nonzero(raw < 0))
    assert image.info.sanitised_negative > 0  # these panoramas hold small negative values
    assert image.info.is_hdr and image.info.source_type == "exr" and image.info.transfer == "linear"
    assert set(image.info.channels) == {"R", "G", "B"}
    keep = raw >= 0
    np.testing.assert_array_equal(image.pixels[keep], raw[keep])


def test_shared_exr_as_float16_matches_float32(hdri_dir):
    f32 = read_image(hdri_dir / "sunset.exr").pixels
    f16 = read_image(hdri_dir / "sunset.exr", dtype=np.float16).pixels
    assert f16.dtype == np.float16 and np.isfinite(f16).all()
    np.testing.assert_allclose(f16.astype(np.float32), f32, rtol=HALF_RTOL, atol=1e-7)


def test_probe_matches_read_without_decoding(hdri_dir):
    info = probe_image(hdri_dir / "city.exr")
    full = read_image(hdri_dir / "city.exr").info
    assert (info.width, info.height, info.channels, info.bit_depth) == (
        full.width, full.height, full.channels, full.bit_depth)
    assert info.dtype == ""


# --- round trips ------------------------------------------------------------------------------
@pytest.mark.parametrize("half", [True, False])
def test_exr_rgb_round_trip(tmp_path, half):
    pixels = hdr_pixels()
    write_exr(tmp_path / "a.exr", pixels, half=half)
    image = read_image(tmp_path / "a.exr")
    rtol = HALF_RTOL if half else 0.0
    np.testing.assert_allclose(image.pixels, pixels, rtol=rtol)
    assert image.info.bit_depth == (16 if half else 32)


def test_exr_half_read_as_float16_is_exact(tmp_path):
    pixels = hdr_pixels().astype(np.float16)
    write_exr(tmp_path / "a.exr", pixels)
    image = read_image(tmp_path / "a.exr", dtype=np.float16)
    assert image.pixels.dtype == np.float16
    np.testing.assert_array_equal(image.pixels, pixels)


def test_exr_rgba_ignores_alpha(tmp_path):
    pixels = hdr_pixels()
    rgba = np.concatenate([pixels, np.full(pixels.shape[:2] + (1,), 0.25, np.float32)], axis=2)
    write_exr(tmp_path / "a.exr", rgba)
    image = read_image(tmp_path / "a.exr")
    assert image.pixels.shape == pixels.shape and image.pixels.flags.c_contiguous
    np.testing.assert_allclose(image.pixels, pixels, rtol=HALF_RTOL)
    assert set(image.info.channels) == {"R", "G", "B", "A"}


def test_exr_single_channel_y_is_replicated(tmp_path):
    y = hdr_pixels()[..., 0]
    write_exr(tmp_path / "y.exr", y)
    image = read_image(tmp_path / "y.exr")
    assert image.pixels.shape == y.shape + (3,)
    for c in range(3):
        np.testing.assert_allclose(image.pixels[..., c], y, rtol=HALF_RTOL)
    assert image.info.channels == ("Y",)


def test_exr_layered_channels_pick_first_rgb_layer(tmp_path):
    beauty = hdr_pixels(seed=1)
    path = tmp_path / "layers.exr"
    zeros = np.zeros(beauty.shape[:2], np.float32)
    chans = {
        "depth.Z": zeros,
        "diffuse.R": beauty[..., 0].astype(np.float16),
        "diffuse.G": beauty[..., 1].astype(np.float16),
        "diffuse.B": beauty[..., 2].astype(np.float16),
        "specular.R": zeros.astype(np.float16),
    }
    OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}, chans).write(str(path))
    image = read_image(path)
    np.testing.assert_allclose(image.pixels, beauty, rtol=HALF_RTOL)
    assert set(image.info.channels) == set(chans)


def test_exr_named_channels_writer(tmp_path):
    pixels = hdr_pixels()
    write_exr(tmp_path / "n.exr", pixels, channels=("beauty.R", "beauty.G", "beauty.B"))
    image = read_image(tmp_path / "n.exr")
    assert set(image.info.channels) == {"beauty.R", "beauty.G", "beauty.B"}
    np.testing.assert_allclose(image.pixels, pixels, rtol=HALF_RTOL)


def test_exr_without_colour_channels_is_refused(tmp_path):
    path = tmp_path / "depth.exr"
    OpenEXR.File({"type": OpenEXR.scanlineimage}, {"Z": np.zeros((4, 4), np.float32)}).write(str(path))
    with pytest.raises(UnsupportedFormatError, match="Z"):
        read_image(path)


@pytest.mark.parametrize("planar", [False, True])
def test_float_tiff_round_trip(tmp_path, planar):
    pixels = hdr_pixels()
    if planar:
        tifffile.imwrite(tmp_path / "a.tif", np.moveaxis(pixels, 2, 0), photometric="rgb",
                         planarconfig="separate")
    else:
        write_tiff(tmp_path / "a.tif", pixels)
    image = read_image(tmp_path / "a.tif")
    np.testing.assert_array_equal(image.pixels, pixels)
    assert image.info.is_hdr and image.info.source_type == "tiff" and image.info.bit_depth == 32


def test_16bit_tiff_is_srgb_decoded(tmp_path):
    codes = np.random.default_rng(3).integers(0, 65536, size=(10, 12, 3), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "a.tiff", codes, photometric="rgb")
    image = read_image(tmp_path / "a.tiff")
    assert not image.info.is_hdr and image.info.bit_depth == 16
    np.testing.assert_allclose(image.pixels, srgb_decode(codes / 65535.0), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("bits", [8, 16])
def test_png_round_trip_codes(tmp_path, bits):
    top = (1 << bits) - 1
    dtype = np.uint8 if bits == 8 else np.uint16
    codes = np.random.default_rng(bits).integers(0, top + 1, size=(9, 13, 3)).astype(dtype)
    write_png(tmp_path / "a.png", codes, bits=bits)
    image = read_image(tmp_path / "a.png")
    assert image.info.bit_depth == bits and image.info.transfer == "srgb" and not image.info.is_hdr
    back = np.round(srgb_encode(image.pixels.astype(np.float64)) * top)
    np.testing.assert_array_equal(back, codes)


def test_png_float_input_is_scaled(tmp_path):
    values = np.linspace(0, 1, 30, dtype=np.float32).reshape(5, 6, 1).repeat(3, axis=2)
    write_png(tmp_path / "f.png", values, bits=16)
    back = srgb_encode(read_image(tmp_path / "f.png").pixels.astype(np.float64))
    np.testing.assert_allclose(back, values, atol=1 / 65535)


def test_grey_png_becomes_rgb(tmp_path):
    grey = np.arange(20, dtype=np.uint8).reshape(4, 5) * 10
    write_png(tmp_path / "g.png", grey)
    image = read_image(tmp_path / "g.png", dtype=np.float16)
    assert image.pixels.shape == (4, 5, 3) and image.pixels.dtype == np.float16
    np.testing.assert_array_equal(image.pixels[..., 0], image.pixels[..., 2])
    assert image.info.channels == ("Y",)


def test_jpg_round_trip_is_close(tmp_path):
    codes = np.full((16, 16, 3), (200, 90, 30), np.uint8)
    write_jpg(tmp_path / "a.jpg", codes, quality=100)
    image = read_image(tmp_path / "a.jpg")
    back = np.round(srgb_encode(image.pixels) * 255)
    assert np.abs(back - codes).max() <= 2  # lossy, but RGB order and decoding are right
    assert image.info.source_type == "jpg"


def test_radiance_hdr_round_trip(tmp_path):
    pixels = hdr_pixels()
    write_hdr(tmp_path / "a.hdr", pixels)
    image = read_image(tmp_path / "a.hdr")
    assert image.info.is_hdr and image.info.source_type == "hdr"
    # RGBE: 8-bit mantissas with one exponent per pixel, so precision follows the pixel's max
    scale = pixels.max(axis=2, keepdims=True)
    assert (np.abs(image.pixels - pixels) <= scale / 64).all()


def test_write_image_by_extension(tmp_path):
    pixels = hdr_pixels()
    for ext in (".exr", ".tif", ".hdr"):
        write_image(tmp_path / f"x{ext}", pixels)
        assert read_image(tmp_path / f"x{ext}").pixels.shape == pixels.shape
    write_image(tmp_path / "x.png", (pixels / pixels.max()).astype(np.float32), bits=16)
    assert read_image(tmp_path / "x.png").info.bit_depth == 16
    with pytest.raises(UnsupportedFormatError):
        write_image(tmp_path / "x.bmp", pixels)


def test_writes_replace_atomically(tmp_path):
    write_exr(tmp_path / "a.exr", hdr_pixels(seed=1))
    write_exr(tmp_path / "a.exr", hdr_pixels(seed=2))
    np.testing.assert_allclose(read_image(tmp_path / "a.exr").pixels, hdr_pixels(seed=2), rtol=HALF_RTOL)
    assert [p.name for p in tmp_path.iterdir()] == ["a.exr"]  # no temp files left


# --- sanitising -------------------------------------------------------------------------------
def test_nan_inf_negative_are_sanitised_and_counted(tmp_path):
    pixels = hdr_pixels()
    pixels[0, 0] = [np.nan, np.inf, -np.inf]
    pixels[1, 1] = [-0.5, -0.004, np.nan]
    for half in (True, False):
        write_exr(tmp_path / "bad.exr", pixels, half=half)
        image = read_image(tmp_path / "bad.exr")
        assert np.isfinite(image.pixels).all() and image.pixels.min() >= 0
        assert (image.info.sanitised_nan, image.info.sanitised_inf, image.info.sanitised_negative) == (2, 2, 2)
        largest = np.finfo(np.float16 if half else np.float32).max  # of the file's sample type
        assert image.pixels[0, 0, 1] == largest
        assert image.pixels[0, 0, 2] == 0 and image.pixels[1, 1, 0] == 0
    raw = read_image(tmp_path / "bad.exr", sanitise=False)
    assert np.isnan(raw.pixels[0, 0, 0]) and raw.info.sanitised_total == 0


def test_float32_file_read_as_float16_saturates_not_inf(tmp_path):
    pixels = hdr_pixels()
    pixels[0, 0] = 1e6
    write_tiff(tmp_path / "big.tif", pixels)
    image = read_image(tmp_path / "big.tif", dtype=np.float16)
    assert np.isfinite(image.pixels).all() and image.pixels[0, 0, 0] == np.float16(65504)


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        dtype=st.sampled_from([np.float16, np.float32]),
        shape=hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=9),
        elements=st.floats(allow_nan=True, allow_infinity=True, width=16),
    )
)
def test_sanitise_property(values):
    expected_nan = int(np.isnan(values).sum())
    expected_inf = int(np.isinf(values).sum())
    expected_neg = int(((values < 0) & np.isfinite(values)).sum())
    before = values.copy()
    counts = sanitise_inplace(values)
    assert (counts.nan, counts.inf, counts.negative) == (expected_nan, expected_inf, expected_neg)
    assert np.isfinite(values).all() and (values >= 0).all()
    keep = np.isfinite(before) & (before >= 0)
    np.testing.assert_array_equal(values[keep], before[keep])


# --- errors a user can cause ----------------------------------------------------------------
def test_missing_file(tmp_path):
    with pytest.raises(ImageReadError, match="does not exist"):
        read_image(tmp_path / "nope.exr")


def test_empty_file(tmp_path):
    (tmp_path / "empty.exr").write_bytes(b"")
    with pytest.raises(EmptyImageError, match="empty.exr"):
        read_image(tmp_path / "empty.exr")


def test_unknown_extension(tmp_path):
    (tmp_path / "a.bmp").write_bytes(b"BM" + bytes(100))
    with pytest.raises(UnsupportedFormatError, match=r"\.bmp"):
        read_image(tmp_path / "a.bmp")
    assert ".bmp" not in IMAGE_EXTENSIONS


def test_png_named_exr_says_what_it_is(tmp_path):
    write_png(tmp_path / "real.png", np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "fake.exr").write_bytes((tmp_path / "real.png").read_bytes())
    with pytest.raises(UnsupportedFormatError, match="PNG.*fake.png"):
        read_image(tmp_path / "fake.exr")


def test_garbage_with_image_extension(tmp_path):
    (tmp_path / "text.png").write_text("not an image at all")
    with pytest.raises(UnsupportedFormatError, match="not a PNG"):
        read_image(tmp_path / "text.png")


@pytest.mark.parametrize("fraction", [0.02, 0.3, 0.6, 0.95])
def test_truncated_exr_raises(tmp_path, hdri_dir, fraction):
    data = (hdri_dir / "city.exr").read_bytes()
    path = tmp_path / "cut.exr"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(CorruptImageError, match="cut.exr"):
        read_image(path)


def test_truncated_exr_never_hangs_or_crashes(tmp_path):
    """Decode many truncations in a child process: a segfault or hang would fail here."""
    pixels = hdr_pixels(64, 96)
    write_exr(tmp_path / "whole.exr", pixels)
    script = textwrap.dedent(f"""
        from pathlib import Path
        from skysegui.core.errors import ImageReadError
        from skysegui.core.imageio import read_image
        data = Path({str(tmp_path / 'whole.exr')!r}).read_bytes()
        cut = Path({str(tmp_path / 'cut.exr')!r})
        for n in range(1, len(data), max(1, len(data) // 60)):
            cut.write_bytes(data[:n])
            try:
                read_image(cut)
            except ImageReadError:
                pass
            else:
                raise SystemExit(f"no error for {{n}} of {{len(data)}} bytes")
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("ok")


@pytest.mark.parametrize("ext", [".png", ".jpg", ".tif", ".hdr"])
def test_truncated_other_formats_raise(tmp_path, ext):
    pixels = hdr_pixels(64, 64)
    if ext in (".png", ".jpg"):
        write_image(tmp_path / f"whole{ext}", (np.random.default_rng(0).random((64, 64, 3))))
    else:
        write_image(tmp_path / f"whole{ext}", pixels)
    data = (tmp_path / f"whole{ext}").read_bytes()
    (tmp_path / f"cut{ext}").write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptImageError, match=f"cut{ext}"):
        read_image(tmp_path / f"cut{ext}")


def test_too_large_png_refused_before_decoding(tmp_path):
    side = int(np.sqrt(MAX_PIXELS)) + 100
    chunk = b"IHDR" + struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    crc = struct.pack(">I", zlib.crc32(chunk) & 0xFFFFFFFF)  # a valid header: only the size is wrong
    (tmp_path / "huge.png").write_bytes(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + crc)
    with pytest.raises(ImageTooLargeError, match="huge.png"):
        read_image(tmp_path / "huge.png")


def test_too_large_exr_refused_before_decoding(tmp_path):
    write_exr(tmp_path / "small.exr", hdr_pixels(4, 4))
    data = bytearray((tmp_path / "small.exr").read_bytes())
    key = b"dataWindow\x00box2i\x00"
    at = data.index(key) + len(key) + 4
    data[at : at + 16] = struct.pack("<iiii", 0, 0, 40000, 20000)
    (tmp_path / "huge.exr").write_bytes(bytes(data))
    with pytest.raises(ImageTooLargeError, match="huge.exr"):
        read_image(tmp_path / "huge.exr")


def test_folder_is_not_an_image(tmp_path):
    (tmp_path / "dir.exr").mkdir()
    with pytest.raises(ImageReadError, match="folder"):
        read_image(tmp_path / "dir.exr")


def test_tiled_multipart_and_offset_window_exrs(tmp_path):
    a = hdr_pixels(40, 70).astype(np.float16)
    tiles = OpenEXR.TileDescription()
    tiles.xSize, tiles.ySize, tiles.mode = 16, 16, OpenEXR.ONE_LEVEL
    OpenEXR.File({"type": OpenEXR.tiledimage, "tiles": tiles,
                  "compression": OpenEXR.PIZ_COMPRESSION}, {"RGB": a}).write(str(tmp_path / "tiled.exr"))
    parts = [
        OpenEXR.Part({"type": OpenEXR.scanlineimage}, {"RGB": a}, name="beauty"),
        OpenEXR.Part({"type": OpenEXR.scanlineimage}, {"Z": a[..., 0].astype(np.float32)}, name="depth"),
    ]
    OpenEXR.File(parts).write(str(tmp_path / "multi.exr"))
    OpenEXR.File(parts[::-1]).write(str(tmp_path / "depth_first.exr"))  # colour in the 2nd part
    window = (np.array([10, 5], np.int32), np.array([79, 44], np.int32))
    display = (np.array([0, 0], np.int32), np.array([99, 59], np.int32))
    OpenEXR.File({"type": OpenEXR.scanlineimage, "dataWindow": window, "displayWindow": display},
                 {"RGB": a}).write(str(tmp_path / "window.exr"))
    for name in ("tiled.exr", "multi.exr", "depth_first.exr", "window.exr"):
        image = read_image(tmp_path / name, dtype=np.float16)
        np.testing.assert_array_equal(image.pixels, a, err_msg=name)
        assert (image.info.width, image.info.height) == (70, 40)


def test_probe_every_format(tmp_path):
    pixels = hdr_pixels(12, 20)
    write_exr(tmp_path / "a.exr", pixels)
    write_tiff(tmp_path / "a.tif", pixels)
    write_hdr(tmp_path / "a.hdr", pixels)
    write_png(tmp_path / "a.png", np.zeros((12, 20, 3), np.uint16), bits=16)
    write_jpg(tmp_path / "a.jpg", np.zeros((12, 20, 3), np.uint8))
    expected = {"exr": (True, 16), "tiff": (True, 32), "hdr": (True, 32), "png": (False, 16), "jpg": (False, 8)}
    for ext, (kind, (hdr, bits)) in zip((".exr", ".tif", ".hdr", ".png", ".jpg"), expected.items(), strict=True):
        info = probe_image(tmp_path / f"a{ext}")
        assert (info.source_type, info.width, info.height, info.is_hdr, info.bit_depth) == (kind, 20, 12, hdr, bits)
        assert info.transfer == ("linear" if hdr else "srgb")


def test_grey_and_half_float_tiffs(tmp_path):
    grey = hdr_pixels()[..., 0]
    write_tiff(tmp_path / "grey.tif", grey)
    image = read_image(tmp_path / "grey.tif")
    assert image.pixels.shape == grey.shape + (3,)
    np.testing.assert_array_equal(image.pixels[..., 1], grey)
    half = hdr_pixels().astype(np.float16)
    tifffile.imwrite(tmp_path / "half.tif", half, photometric="rgb")
    image = read_image(tmp_path / "half.tif", dtype=np.float16)
    assert image.info.bit_depth == 16 and image.info.is_hdr
    np.testing.assert_array_equal(image.pixels, half)
