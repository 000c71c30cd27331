"""The region split: every image trains, and a longitude sector of it, never cropped for
training, validates (so a panorama the user just corrected is learnt from)."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import numpy as np
import pytest

from skysegui.core.metrics import IGNORE as IGNORED
from skysegui.core.synthetic import make_panorama, write_demo_project
from skysegui.ml.augment import AugmentConfig
from skysegui.ml.data import (
    CropSampler,
    SamplerConfig,
    array_sources,
    build_cache,
    validation_crops,
)
from skysegui.ml.data.split import region_bands
from skysegui.ml.quality import pooled_scores, trivial_baselines
from skysegui.ml.train.evaluation import bce_jaccard

W, H = 192, 144


def _columns(band, width):
    left, bw = band
    return (left + np.arange(bw)) % width


def _band_cache(folder, bands, pixels=None):
    """Images whose truth is sky exactly in their band's columns: a crop holding any band
    pixel holds sky."""
    items = {}
    for name, band in bands.items():
        sky = np.zeros((H, W), bool)
        sky[:, _columns(band, W)] = True
        items[name] = (np.full((H, W, 3), 0.5, np.float32) if pixels is None else pixels, sky)
    return build_cache(array_sources(items), folder, "hdr_log", codec="npy")


BANDS = {"seam": (W - 20, 48), "middle": (70, 48), "edge": (W - 48, 48), "start": (0, 40)}


@pytest.mark.parametrize("roll", [False, True])
@pytest.mark.parametrize("edge_fraction", [None, 1.0])
def test_no_training_crop_touches_its_images_band(tmp_path, roll, edge_fraction):
    cache = _band_cache(tmp_path / "c", BANDS)
    augment = dataclasses.replace(AugmentConfig.hdr(), roll=roll, hflip=True)
    for crop in (32, 64, W - 48):  # the widest crop fits the arc outside the band exactly
        sampler = CropSampler(cache, cache.names, SamplerConfig(
            crop=crop, edge_fraction=edge_fraction, augment=augment, seed=3, bands=BANDS))
        it = sampler.crops()
        for _ in range(300):
            _, y = next(it)
            # edge seeking wants sky in the crop: the only sky is the band, which it must not get
            assert not y.any()


def test_crops_cover_the_whole_arc_outside_the_band(tmp_path):
    """With roll, training crops reach every column outside the band, across the seam too."""
    left, bw = BANDS["seam"]
    sky = np.zeros((H, W), bool)
    col = np.tile(np.arange(W), (H, 1))
    pixels = np.repeat((1.0 + col)[..., None], 3, axis=2).astype(np.float32)  # a column's value
    cache = build_cache(array_sources({"seam": (pixels, sky)}), tmp_path / "c", "hdr_log", codec="npy")
    x, _, _ = cache.arrays(0)
    value_to_col = {float(v): c for c, v in enumerate(np.asarray(x[0, :, 0], np.float32))}
    assert len(value_to_col) == W
    roll = dataclasses.replace(AugmentConfig.none(), roll=True)
    it = CropSampler(cache, ["seam"], SamplerConfig(crop=32, edge_fraction=None, seed=1, augment=roll,
                                                    bands={"seam": (left, bw)})).crops()
    seen = set()
    for _ in range(400):
        xc, _ = next(it)
        seen |= {value_to_col[float(v)] for v in np.unique(xc[..., 0])}  # rows past a pole too
    band = set(_columns((left, bw), W).tolist())
    assert not seen & band
    assert seen == set(range(W)) - band


def test_validation_crops_score_band_pixels_only(tmp_path):
    """A 'model' right inside the band and wrong outside scores IoU 1.0 on the region crops."""
    bands = {"narrow": (W - 10, 40), "wide": (50, 100)}  # narrower than a crop (across the seam), wider
    rng = np.random.default_rng(0)
    items = {}
    for name, band in bands.items():
        sky = rng.random((H, W)) < 0.4
        inside = np.zeros((H, W), bool)
        inside[:, _columns(band, W)] = True
        right = sky == inside  # the 'model' says sky where this is bright
        pix = np.where((sky ^ ~inside)[..., None], 4.0, 0.05).astype(np.float32).repeat(3, axis=2)
        items[name] = (pix, sky)
        assert not right.all()
    cache = build_cache(array_sources(items), tmp_path / "c", "hdr_log", codec="npy")
    vx, vy = validation_crops(cache, cache.names, 64, max_per_image=100, bands=bands)
    scored = vy <= 1
    assert set(np.unique(vy)) <= {0.0, 1.0, IGNORED}
    # every band pixel is scored exactly once
    assert scored.sum() == H * sum(b for _, b in bands.values())
    prob = (vx[..., :1] > vx.mean()).astype(np.float32)
    s = pooled_scores(prob, vy)
    assert s.iou == 1.0 and s.miou == 1.0
    assert bce_jaccard(prob, vy) < 0.01
    # the same 'model' on the whole images is wrong outside the bands
    wx, wy = validation_crops(cache, cache.names, 64, max_per_image=100)
    assert pooled_scores((wx[..., :1] > vx.mean()).astype(np.float32), wy).miou < 0.5
    # baselines are taken on the same (scored) pixels
    t = vy[scored]
    assert trivial_baselines(vy)["all_sky"].iou == pytest.approx(t.mean())


def test_ignoring_nothing_changes_nothing():
    rng = np.random.default_rng(1)
    prob, truth = rng.random((3, 8, 8, 1)), (rng.random((3, 8, 8, 1)) > 0.5).astype(np.float32)
    marked = np.concatenate([truth, np.full_like(truth, IGNORED)], axis=1)
    padded = np.concatenate([prob, 1 - prob], axis=1)
    assert pooled_scores(padded, marked) == pooled_scores(prob, truth)
    assert bce_jaccard(padded, marked) == pytest.approx(bce_jaccard(prob, truth))
    assert trivial_baselines(marked) == trivial_baselines(truth)


def test_bands_are_seeded_per_image_and_narrow_images_train_whole():
    entries = [SimpleNamespace(name=f"p{i}", width=400, height=200) for i in range(6)]
    bands, notes = region_bands(entries, 0.25, seed=0, crop=64)
    assert not notes and sorted(bands) == [e.name for e in entries]
    assert all(b == 100 and 0 <= left < 400 for left, b in bands.values())
    # order-free, and an added image moves no other image's band
    again, _ = region_bands(list(reversed(entries)) + [SimpleNamespace(name="new", width=400, height=200)],
                            0.25, seed=0, crop=64)
    assert {n: again[n] for n in bands} == bands
    assert region_bands(entries, 0.25, seed=1, crop=64)[0] != bands
    assert region_bands(entries, 0.0, crop=64) == ({}, [])
    slim = SimpleNamespace(name="slim", width=80, height=200)
    bands, notes = region_bands(entries + [slim], 0.25, seed=0, crop=64)
    assert "slim" not in bands and len(notes) == 1 and "slim" in notes[0] and "trained on whole" in notes[0]


# -- with a real training run ------------------------------------------------------------

def _tiny(**kw):
    from tests.ml.test_train import _config

    return _config(**{"epochs": 1, "steps_per_epoch": 3, "batch_size": 8, "val_crops_per_image": 4, **kw})


@pytest.mark.slow
def test_every_labelled_image_is_trained_on_by_default(tmp_path):
    from skysegui.ml.data import project_cache
    from skysegui.ml.train import TrainConfig, Trainer

    assert TrainConfig().split == "region"
    project = write_demo_project(tmp_path / "p", count=4, width=256, height=128, labelled=3, seed=4)
    result = Trainer(_tiny(), project, name_dir := tmp_path / "model").run()
    card = json.loads((name_dir / "card.json").read_text())
    ds = card["dataset"]
    names = project_cache(project, "hdr_log")[0].names
    assert ds["split"] == "region" and sorted(ds["train_images"]) == sorted(names) and len(names) == 3
    assert ds["val_images"] == sorted(names) and sorted(ds["val_regions"]) == sorted(names)
    assert all(w == 64 for _, w in ds["val_regions"].values())
    assert "validated on a 25 % longitude sector of each image, never trained on" in card["notes"]
    assert ds["val_crops"] > 0 and "val_miou" in result.metrics


@pytest.mark.slow
def test_an_image_too_narrow_for_a_band_is_trained_on_with_a_note(tmp_path):
    from skysegui.ml.train import Trainer

    panos = {"wide": make_panorama(256, 128, seed=0, kind="day"), "slim": make_panorama(80, 64, seed=1, kind="day")}
    cache = build_cache(array_sources({k: (p.pixels, p.sky) for k, p in panos.items()}), tmp_path / "c", "hdr_log")
    result = Trainer(_tiny(), cache, tmp_path / "m").run()
    ds = json.loads((tmp_path / "m" / "card.json").read_text())["dataset"]
    assert ds["train_images"] == ["slim", "wide"] and ds["val_images"] == ["wide"]
    assert any("slim" in n and "trained on whole" in n for n in result.notes)
    # no image wide enough: no validation, the checks on a training batch stand in
    only = build_cache(array_sources({"slim": (panos["slim"].pixels, panos["slim"].sky)}), tmp_path / "c2", "hdr_log")
    alone = Trainer(_tiny(), only, tmp_path / "m2").run()
    ds = json.loads((tmp_path / "m2" / "card.json").read_text())["dataset"]
    assert ds["train_images"] == ["slim"] and ds["val_images"] == [] and ds["val_regions"] == {}
    assert "check_miou" in alone.metrics and "val_miou" not in alone.metrics
    assert any("no validation" in n for n in alone.notes)
