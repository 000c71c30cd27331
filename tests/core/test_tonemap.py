"""core/tonemap: curves against their definitions, operators, the float16 table, transforms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from skysegui.core.imageio import read_image, write_exr, write_png
from skysegui.core.tonemap import (
    OPERATORS,
    ToneSettings,
    auto_exposure,
    falsecolor_map,
    hdr_log_inverse,
    hdr_log_transform,
    ldr_transform,
    luminance,
    network_input,
    srgb_decode,
    srgb_encode,
    tonemap,
)
from skysegui.core.tonemap.apply import exact_tonemap
from skysegui.core.tonemap.operators import expose
from skysegui.core.tonemap.stats import luminance_stats


def srgb_definition(c: float) -> float:
    """IEC 61966-2-1, written out independently of the code under test."""
    return 12.92 * c if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055


# --- curves ------------------------------------------------------------------------------------
def test_srgb_encode_matches_definition():
    xs = np.concatenate([np.linspace(0, 0.01, 101), np.linspace(0.01, 1, 200)])
    expected = np.array([srgb_definition(float(x)) for x in xs])
    np.testing.assert_allclose(srgb_encode(xs), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(srgb_encode(xs.astype(np.float32)), expected, rtol=2e-6, atol=1e-7)
    assert srgb_encode(np.float64(1.0)) == pytest.approx(1.0)
    assert srgb_encode(np.float64(0.0031308)) == pytest.approx(0.04045, abs=1e-6)


def test_srgb_decode_inverts_encode():
    xs = np.linspace(0, 1, 1001)
    np.testing.assert_allclose(srgb_decode(srgb_encode(xs)), xs, atol=1e-12)
    assert srgb_decode(np.float64(128 / 255)) == pytest.approx(0.2158605, abs=1e-6)


def test_luminance_rec709_weights():
    px = np.array([[[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0], [2.0, 2.0, 2.0]]], np.float32)
    np.testing.assert_allclose(luminance(px)[0], [0.2126, 0.7152, 0.0722, 2.0], rtol=1e-6)


# --- exposure and operators ------------------------------------------------------------------
def test_plus_one_ev_doubles_linear_values():
    x = np.array([0.0, 0.01, 0.3, 7.0, 1000.0], np.float32)
    np.testing.assert_array_equal(expose(x, ToneSettings(exposure=1.0)), 2 * x)
    np.testing.assert_array_equal(expose(x, ToneSettings(exposure=-2.0)), x / 4)
    # end to end: +1 EV on x looks exactly like 0 EV on 2x
    img = np.random.default_rng(1).uniform(0, 0.5, (8, 9, 3)).astype(np.float32)
    for op in OPERATORS:
        a = tonemap(img, ToneSettings(exposure=1.0, operator=op))
        b = tonemap(img * 2, ToneSettings(operator=op))
        assert np.abs(a.astype(int) - b).max() <= 1, op


def test_offset_is_added_after_exposure():
    x = np.array([1.0], np.float32)
    assert expose(x, ToneSettings(exposure=1.0, offset=0.5))[0] == pytest.approx(2.5)


def test_srgb_operator_output_is_the_encoded_value():
    x = np.linspace(0, 1, 256, dtype=np.float32).reshape(16, 16, 1).repeat(3, axis=2)
    out = tonemap(x, ToneSettings(operator="srgb"))
    expected = np.floor(np.vectorize(srgb_definition)(x.astype(np.float64)) * 255 + 0.5)
    assert np.abs(out.astype(int) - expected).max() <= 1 and out.dtype == np.uint8


def test_gamma_operator():
    x = np.full((2, 2, 3), 0.25, np.float32)
    out = tonemap(x, ToneSettings(operator="gamma", gamma=2.0))
    assert (out == 128).all()  # 0.25 ** (1/2) = 0.5 -> 127.5 -> 128


def test_reinhard_white_point_maps_to_white():
    s = ToneSettings(operator="reinhard", white_point=8.0)
    assert tonemap(np.full((1, 1, 3), 8.0, np.float32), s)[0, 0, 0] == 255
    assert tonemap(np.full((1, 1, 3), 4.0, np.float32), s)[0, 0, 0] < 255


@pytest.mark.parametrize("op", ["srgb", "gamma", "reinhard", "filmic", "log"])
def test_per_channel_operators_are_monotonic(op):
    x = np.geomspace(1e-6, 1e4, 2000, dtype=np.float32).reshape(1, -1, 1).repeat(3, axis=2)
    out = tonemap(x, ToneSettings(operator=op)).astype(int)[0, :, 0]
    assert (np.diff(out) >= 0).all() and out[-1] > out[0]


def test_log_operator_spreads_stops():
    s = ToneSettings(operator="log", stops_min=-4.0, stops_max=4.0)
    x = np.array([[[2.0**-4] * 3, [1.0] * 3, [2.0**4] * 3]], np.float32)
    out = tonemap(x, s)[0, :, 0]
    assert out[0] == 0 and out[2] == 255 and abs(int(out[1]) - 128) <= 1


def test_falsecolor_maps_stops_range_to_colormap_ends():
    s = ToneSettings(operator="falsecolor", stops_min=-2.0, stops_max=6.0)
    x = np.array([[[0.25] * 3, [64.0] * 3, [0.0] * 3]], np.float32)
    out = tonemap(x, s)
    cmap = falsecolor_map()
    assert cmap.shape == (256, 3) and cmap.dtype == np.uint8
    np.testing.assert_array_equal(out[0, 0], cmap[0])
    np.testing.assert_array_equal(out[0, 1], cmap[255])
    np.testing.assert_array_equal(out[0, 2], cmap[0])


@pytest.mark.parametrize("op", OPERATORS)
def test_tables_match_exact_float_maths(op):
    rng = np.random.default_rng(7)
    x = np.exp(rng.uniform(-12, 11, (30, 40, 3))).astype(np.float32)
    x[0, :4, 0] = [np.nan, np.inf, -np.inf, -3.0]
    s = ToneSettings(exposure=0.7, offset=0.001, operator=op)
    exact = exact_tonemap(x, s)
    # float16 rounding may move a value by one output step (one colour-map entry)
    step = 1 if op != "falsecolor" else np.abs(np.diff(falsecolor_map().astype(int), axis=0)).max()
    for pixels in (x, x.astype(np.float16)):
        out = tonemap(pixels, s)
        assert out.dtype == np.uint8 and out.shape == (30, 40, 3)
        assert np.abs(out.astype(int) - exact).max() <= step


def test_wide_log_range_keeps_values_beyond_half_range():
    x = np.full((2, 2, 3), 2.0**18, np.float32)  # above float16's 65504
    out = tonemap(x, ToneSettings(operator="log", stops_min=-4.0, stops_max=20.0))
    assert abs(int(out[0, 0, 0]) - round(22 / 24 * 255)) <= 1


@pytest.mark.parametrize("op", ["srgb", "falsecolor"])
@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_single_channel_rgba_and_empty_inputs(op, dtype):
    s = ToneSettings(operator=op)
    rgb = tonemap(np.full((3, 4, 3), 0.5, dtype), s)
    for shape in ((3, 4), (3, 4, 1), (3, 4, 4)):
        np.testing.assert_array_equal(tonemap(np.full(shape, 0.5, dtype), s), rgb)
    assert tonemap(np.zeros((0, 4, 3), dtype), s).shape == (0, 4, 3)


def test_invalid_settings():
    with pytest.raises(ValueError):
        ToneSettings(operator="nope")
    with pytest.raises(ValueError):
        ToneSettings(gamma=0)


@settings(max_examples=80, deadline=None)
@given(
    pixels=hnp.arrays(
        dtype=st.sampled_from([np.float16, np.float32, np.float64]),
        shape=hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=6).map(
            lambda s: (s[0], s[1], 3)),
        elements=st.floats(allow_nan=True, allow_infinity=True, width=16),
    ),
    op=st.sampled_from(OPERATORS),
    exposure=st.floats(-50, 50),
    offset=st.floats(-10, 10),
)
def test_tonemap_always_uint8_never_nan_dependent(pixels, op, exposure, offset):
    out = tonemap(pixels, ToneSettings(exposure=exposure, offset=offset, operator=op))
    assert out.dtype == np.uint8 and out.shape == pixels.shape


# --- auto exposure -----------------------------------------------------------------------------
def test_auto_exposure_logavg_puts_average_at_key():
    img = np.full((40, 60, 3), 0.045, np.float32)
    assert auto_exposure(img) == pytest.approx(2.0, abs=1e-5)  # 0.045 * 4 = 0.18


def test_auto_exposure_percentile_maps_to_white():
    img = np.linspace(0.01, 8.0, 100 * 100, dtype=np.float32).reshape(100, 100, 1).repeat(3, axis=2)
    ev = auto_exposure(img, "percentile", 100.0)
    assert 8.0 * 2**ev == pytest.approx(1.0, rel=1e-4)


def test_auto_exposure_black_and_nan_images():
    assert auto_exposure(np.zeros((5, 5, 3), np.float32)) == 0.0
    assert auto_exposure(np.full((5, 5, 3), np.nan, np.float32)) == 0.0


def test_auto_exposure_on_real_panorama_is_finite(hdri_dir):
    pixels = read_image(hdri_dir / "sunset.exr", dtype=np.float16).pixels
    for method in ("logavg", "percentile"):
        assert math.isfinite(auto_exposure(pixels, method))


def test_luminance_stats_of_real_panorama(hdri_dir):
    pixels = read_image(hdri_dir / "city.exr").pixels
    stats = luminance_stats(pixels)
    lum = luminance(pixels)
    assert stats.min == pytest.approx(float(lum.min())) and stats.max == pytest.approx(float(lum.max()))
    assert stats.stops >= stats.robust_stops > 0


# --- the network's transforms ----------------------------------------------------------------
def test_log_transform_definition():
    x = np.array([0.0, 0.5, 1.0, 100.0])
    expected = (np.log(x + 1e-3) + 2.5) / 2.2 / 2
    np.testing.assert_allclose(hdr_log_transform(x), expected, rtol=1e-12)


def test_log_transform_round_trip_over_range():
    x = np.concatenate([[0.0], np.geomspace(1e-9, 1e5, 5000)])
    back = hdr_log_inverse(hdr_log_transform(x))
    np.testing.assert_allclose(back, x, rtol=1e-4, atol=0)
    x32 = x.astype(np.float32)
    back32 = hdr_log_inverse(hdr_log_transform(x32))
    assert back32.dtype == np.float32
    np.testing.assert_allclose(back32, x32, rtol=1e-4, atol=1e-9)


def test_log_transform_clamps_negatives_and_never_nan():
    y = hdr_log_transform(np.array([-0.004, -5.0, 0.0, np.nan, np.inf, -np.inf], np.float32))
    assert np.isfinite(y).all()
    assert y[0] == y[1] == y[2] == y[3] == y[5]
    assert np.isfinite(hdr_log_inverse(np.array([np.nan, np.inf, -np.inf, 1e30]))).all()


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=0.0, max_value=1e5, allow_nan=False))
def test_log_inverse_of_transform_is_identity(x):
    assert float(hdr_log_inverse(hdr_log_transform(np.float64(x)))) == pytest.approx(x, rel=1e-4, abs=1e-12)


def test_ldr_transform():
    codes = np.array([0, 51, 255], np.uint8)
    out = ldr_transform(codes)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [0.0, 0.2, 1.0])


def test_network_input_hdr_and_ldr(tmp_path):
    hdr = np.random.default_rng(2).uniform(0, 20, (6, 7, 3)).astype(np.float32)
    write_exr(tmp_path / "h.exr", hdr, half=False)
    image = read_image(tmp_path / "h.exr")
    np.testing.assert_allclose(network_input(image), hdr_log_transform(hdr), rtol=1e-6)
    codes = np.random.default_rng(3).integers(0, 256, (6, 7, 3)).astype(np.uint8)
    write_png(tmp_path / "l.png", codes)
    for dtype in (np.float32, np.float16):
        ldr = network_input(read_image(tmp_path / "l.png", dtype=dtype))
        assert ldr.dtype == np.float32
        np.testing.assert_array_equal(ldr, ldr_transform(codes))


@pytest.mark.parametrize("op", [op for op in OPERATORS if op != "falsecolor"])
@pytest.mark.parametrize("exposure", [-20.0, -2.3, 0.0, 1.7, 12.0])
def test_half_table_equals_exact_maths_on_every_float16_pattern(op, exposure):
    """The table computed from the unsigned half of the patterns (no offset) must show
    every negative, -0, -Inf and NaN exactly as the exact maths do."""
    every = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    pixels = np.repeat(every.reshape(256, 256, 1), 3, axis=2)
    for s in [ToneSettings(exposure=exposure, operator=op)] + [
        ToneSettings(exposure=exposure, operator=op, gamma=g) for g in (0.2, 5.0) if op == "gamma"
    ]:
        np.testing.assert_array_equal(tonemap(pixels, s), exact_tonemap(pixels, s))
