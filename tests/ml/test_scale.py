"""Panoramas at a model's scale: the same resampling for training crops and prediction."""

from __future__ import annotations

import numpy as np

from skysegui.ml.data import array_sources
from skysegui.ml.data.scale import (
    cache_folder_name,
    resample_linear,
    resample_mask,
    scaled_size,
    scaled_sources,
)
from skysegui.ml.model import ModelCard, panorama_width, preset


def test_sizes_follow_pixels_per_degree_whatever_the_input_resolution():
    ppd = 512 / 360
    assert panorama_width(ppd) == 512
    assert scaled_size(4096, 8192, ppd) == (256, 512)
    assert scaled_size(512, 1024, ppd) == (256, 512)
    assert scaled_size(128, 256, ppd) == (256, 512)  # small panoramas are enlarged
    assert cache_folder_name("hdr_log", ppd) == "hdr_log-512px"
    assert cache_folder_name("hdr_log", None) == "hdr_log"


def test_an_8k_panorama_and_its_1k_copy_give_the_same_network_input():
    rng = np.random.default_rng(0)
    small = rng.random((64, 128, 3), np.float32) * 10
    big = np.repeat(np.repeat(small, 8, axis=0), 8, axis=1)  # the same scene at 8x
    np.testing.assert_allclose(resample_linear(big, 32, 64), resample_linear(small, 32, 64), rtol=1e-5)


def test_masks_keep_the_majority_when_shrunk_and_stay_binary():
    m = np.zeros((8, 8), np.uint8)
    m[:5] = 1  # 5 of 8 rows sky
    out = resample_mask(m, 2, 2)
    assert out.tolist() == [[1, 1], [0, 0]]
    assert set(np.unique(resample_mask(m, 16, 16))) <= {0, 1}


def test_scaled_sources_load_at_the_scale_and_change_the_fingerprint():
    pixels = np.ones((100, 200, 3), np.float32)
    mask = np.zeros((100, 200), np.uint8)
    mask[:40] = 1
    (plain,) = array_sources({"p": (pixels, mask)})
    (scaled,) = scaled_sources([plain], 128 / 360, "hdr_log")
    x, y = scaled.load()
    assert x.shape == (64, 128, 3) and y.shape == (64, 128)
    assert abs(y.mean() - 0.4) < 0.03
    assert scaled.fingerprint != plain.fingerprint


def test_presets_and_cards_carry_the_scale():
    assert preset("cpu").pixels_per_degree == 512 / 360
    assert preset("tiny").pixels_per_degree is None  # native: the tests' small panoramas
    card = ModelCard.from_json(ModelCard(config=preset("cpu")).to_json())
    assert card.pixels_per_degree == 512 / 360 and card.learnt
