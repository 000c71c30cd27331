"""HDR/LDR augmentation: exact exposure maths, seeding, masks staying aligned."""

from __future__ import annotations

import math

import numpy as np

from skysegui.core.tonemap import hdr_log_transform
from skysegui.ml.augment import AugmentConfig, augment, hroll, shift_exposure


def _scene(h=64, w=96, seed=0):
    rng = np.random.default_rng(seed)
    linear = rng.uniform(0.05, 50.0, (h, w, 3)).astype(np.float32)
    mask = np.zeros((h, w), np.uint8)
    mask[: h // 2] = 1
    linear[: h // 2] *= 20.0  # bright sky above, darker ground below
    return linear, mask


def test_ev_shift_is_an_additive_constant_in_the_log_domain_for_bright_pixels():
    linear, _ = _scene()
    x = hdr_log_transform(linear)
    bright = linear > 1.0  # L >> 1e-3 even 2 EV down
    assert bright.mean() > 0.5
    for ev in (-2.0, 1.5):
        shifted = shift_exposure(x, ev, "hdr_log")
        np.testing.assert_allclose((shifted - x)[bright], ev * math.log(2) / 4.4, atol=2e-3)
    # where L is comparable to the 1e-3 floor the shift is smaller than that constant
    dark = hdr_log_transform(np.full((1, 1, 3), 2e-3, np.float32))
    assert shift_exposure(dark, 2.0, "hdr_log")[0, 0, 0] - dark[0, 0, 0] < 2 * math.log(2) / 4.4 - 0.05


def test_ev_shift_near_black_stays_at_the_floor_and_round_trips():
    x = hdr_log_transform(np.array([[[0.0, 1e-5, 1e-2]]], np.float32))
    down = shift_exposure(x, -3.0, "hdr_log")
    assert np.all(down >= hdr_log_transform(np.zeros(1, np.float32))[0] - 1e-6)
    assert np.all(down <= x + 1e-6)
    linear, _ = _scene()
    x = hdr_log_transform(linear)
    np.testing.assert_allclose(shift_exposure(shift_exposure(x, 1.0, "hdr_log"), -1.0, "hdr_log"), x, atol=1e-4)


def test_same_seed_same_result_other_seed_other_result():
    linear, mask = _scene()
    x = hdr_log_transform(linear)
    cfg = AugmentConfig.hdr()
    a = augment(x, mask, np.random.default_rng(3), cfg, "hdr_log")
    b = augment(x, mask, np.random.default_rng(3), cfg, "hdr_log")
    c = augment(x, mask, np.random.default_rng(4), cfg, "hdr_log")
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_hdr_augmentation_stays_finite_on_extreme_values():
    x = hdr_log_transform(np.array([0.0, 1e-6, 1.0, 6e4], np.float32)[None, None, :3].repeat(8, 0).repeat(8, 1))
    mask = np.ones((8, 8), np.uint8)
    cfg = AugmentConfig(exposure_ev=4, gamma=0.5, white_balance=0.5, noise=0.5)
    for seed in range(10):
        out, _ = augment(x, mask, np.random.default_rng(seed), cfg, "hdr_log")
        assert np.isfinite(out).all()


def test_geometric_ldr_set_moves_image_and_mask_together():
    h, w = 64, 64
    mask = np.zeros((h, w), np.uint8)
    mask[16:48, 8:40] = 1
    x = np.repeat((0.2 + 0.6 * mask)[..., None], 3, axis=2).astype(np.float32)  # 'ldr' input
    cfg = AugmentConfig.ldr()
    moved = 0
    for seed in range(8):
        xa, ya = augment(x, mask, np.random.default_rng(seed), cfg, "ldr")
        bright = xa[..., 0] > 0.5
        agree = (bright == (ya == 1)).mean()
        assert agree > 0.97, agree
        assert set(np.unique(ya)) <= {0, 1}
        moved += not np.array_equal(ya, mask)
    assert moved >= 6


def test_horizontal_roll_wraps_around_the_seam():
    linear, mask = _scene()
    x = hdr_log_transform(linear)
    xr, yr = hroll(x, mask, 10)
    np.testing.assert_array_equal(xr[:, 10:], x[:, :-10])
    np.testing.assert_array_equal(xr[:, :10], x[:, -10:])
    np.testing.assert_array_equal(yr, np.roll(mask, 10, axis=1))
