"""Synthetic negatives and harder positives: interiors (lamps, windows, painted skies), woods
seen from under the canopy, and the camera model (white balance, exposure, noise, clipping).

Interiors hold no sky but what clear glass shows; a painted or printed sky is labelled 0.
The outdoor kinds keep their images: the new scenes and the camera are only on request.
"""

from __future__ import annotations

import numpy as np
import pytest

from skysegui.core.annotations import class_map
from skysegui.core.synthetic import (
    ALL_KINDS,
    INTERIOR_STYLES,
    SKYLINES,
    labels_from_class_maps,
    make_interior,
    make_panorama,
    mixed_scenes,
    write_demo_project,
)
from skysegui.core.synthetic.camera import CameraSettings, apply_camera, kelvin_rgb
from skysegui.core.synthetic.demo import labelled_indices
from skysegui.core.synthetic.interior import interior_layers

W, H = 256, 128


def _lum(p: np.ndarray) -> np.ndarray:
    return p.mean(axis=2)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


@pytest.mark.parametrize("style", INTERIOR_STYLES)
def test_interiors_are_finite_half_float_hdr_with_sky_as_the_only_class(style):
    for seed in range(3):
        p = make_interior(W, H, seed=seed, style=style)
        assert p.pixels.shape == (H, W, 3) and p.pixels.dtype == np.float32
        assert np.isfinite(p.pixels).all()
        assert p.pixels.max() <= 65504 and p.pixels.min() > -0.01
        assert p.classes.dtype == np.uint8 and set(np.unique(p.classes)) <= {0, 1}
        np.testing.assert_array_equal(p.sky, p.classes)
        assert (p.kind, p.skyline, p.seed) == ("interior", style, seed)
        assert 0.02 < float(np.median(_lum(p.pixels))) < 2.0  # exposed like a real capture


def test_make_panorama_makes_interiors_and_checks_their_style():
    assert "interior" in ALL_KINDS
    a = make_panorama(W, H, seed=5, kind="interior", skyline="hall")
    b = make_interior(W, H, seed=5, style="hall")
    assert a.kind == "interior" and a.skyline == "hall"
    assert a.pixels.tobytes() == b.pixels.tobytes()
    with pytest.raises(ValueError, match="style"):
        make_panorama(W, H, seed=0, kind="interior", skyline="city")
    with pytest.raises(ValueError, match="kind"):
        make_panorama(W, H, seed=0, kind="cellar")


def test_interiors_are_deterministic_and_seeds_differ():
    a = make_interior(W, H, seed=11)
    b = make_interior(W, H, seed=11)
    c = make_interior(W, H, seed=12)
    assert a.pixels.tobytes() == b.pixels.tobytes() and a.classes.tobytes() == b.classes.tobytes()
    assert a.info == b.info
    assert not np.array_equal(a.pixels, c.pixels)


def test_lamps_are_many_stops_brighter_than_the_walls():
    stops = []
    for seed in range(8):
        p = make_interior(W, H, seed=seed, camera=False)
        layers = interior_layers(W, H, seed=seed)
        lum = _lum(p.pixels)
        assert layers["lamps"].any() and layers["walls"].mean() > 0.3, seed
        stops.append(np.log2(np.median(lum[layers["lamps"]]) / np.median(lum[layers["walls"]])))
        assert np.log2(lum.max() / np.median(lum)) >= 5.0, seed
        assert layers["lamps"].mean() < 0.05  # small emitters, not a glowing room
    assert min(stops) >= 3.0 and np.median(stops) >= 6.0, stops  # a lampshade .. a bare bulb


def test_no_clear_window_means_no_sky():
    for style in INTERIOR_STYLES:
        for seed in range(4):
            p = make_interior(W, H, seed=seed, style=style, windows=False)
            assert not p.sky.any(), (style, seed)
            assert not interior_layers(W, H, seed=seed, style=style, windows=False)["glass"].any()


def test_sky_is_seen_only_through_clear_glass():
    with_sky = 0
    for seed in range(12):
        p = make_interior(W, H, seed=seed, windows=True)
        glass = interior_layers(W, H, seed=seed, windows=True)["glass"]
        assert not (p.sky.astype(bool) & ~glass).any(), seed  # no sky outside the glass
        with_sky += int(p.sky.any())
        if p.sky.any():
            assert p.info["windows"] > 0
            # sky through a window is a region a polygon can follow
            labels = labels_from_class_maps({"room.exr": p.classes})
            assert _iou(class_map(labels, 1) == 1, p.sky == 1) >= 0.95
    assert with_sky >= 6


def test_most_interiors_have_little_or_no_sky():
    fractions = np.array([make_interior(128, 64, seed=s).sky.mean() for s in range(30)])
    assert (fractions == 0).mean() >= 0.3
    assert np.median(fractions) < 0.01 and fractions.max() < 0.08


def test_a_painted_sky_is_not_sky():
    seen = 0
    for seed in range(8):
        p = make_interior(W, H, seed=seed, painted_sky=True)
        painted = interior_layers(W, H, seed=seed, painted_sky=True)["painted_sky"]
        assert p.info["painted_sky"] and not (p.sky.astype(bool) & painted).any()
        if painted.mean() < 0.002:  # hidden behind furniture, or far away
            continue
        seen += 1
        lum = _lum(p.pixels)
        rgb = p.pixels[painted]
        grey = p.pixels.reshape(-1, 3).mean(0)
        assert (rgb[:, 2] / grey[2] > rgb[:, 0] / grey[0]).mean() > 0.6  # bluer than the room
        lamps = interior_layers(W, H, seed=seed, painted_sky=True)["lamps"]
        # a picture lit like a wall: stops below the lamps, and a low range of its own
        top = np.percentile(lum[painted], 95)
        assert np.log2(np.median(lum[lamps]) / top) >= 4.0
        assert np.log2(top / np.percentile(lum[painted], 5)) < 4.0
    assert seen >= 5


def test_interiors_continue_across_the_seam():
    seam, inner = [], []
    for seed in range(6):
        p = make_interior(W, H, seed=seed, camera=False)
        log = np.log2(np.maximum(_lum(p.pixels), 1e-4))
        seam.append(float(np.abs(log[:, 0] - log[:, -1]).mean()))
        inner.append(float(np.abs(log[:, 1:] - log[:, :-1]).mean()))
        assert np.count_nonzero(p.classes[:, 0] != p.classes[:, -1]) <= 2
    assert np.mean(seam) <= 2 * np.mean(inner) + 0.02


def test_camera_white_balance_exposure_noise_and_clipping():
    rng = np.random.default_rng(0)
    pixels = np.full((64, 128, 3), 0.2, np.float32)
    pixels[:8, :8] = 1e5      # a sun
    pixels[-8:, :] = 0.0      # a black band
    cam = CameraSettings(white_balance_k=3200, median=0.4, clip=5000.0, black_offset=1.0,
                         read_noise=0.01)
    out = apply_camera(pixels.copy(), cam, rng)
    assert np.isfinite(out).all() and out.dtype == np.float32
    rec709 = np.array((0.2126, 0.7152, 0.0722), np.float32)
    assert abs(float(np.median(out @ rec709)) - 0.4) < 0.02
    # a tungsten balance on neutral grey: blue up, red down
    mid = out[20:40].reshape(-1, 3).mean(0)
    assert mid[2] > 1.3 * mid[0]
    # the sun is a flat disk at the sensor's maximum, give or take the noise
    sun = out[:8, :8].reshape(-1, 3)
    assert sun.max() < 5000 * 1.1 and sun.std(axis=0).max() < 5000 * 0.05
    assert (out[-8:] < 0).mean() > 0.3  # dark areas dip below zero, as in real EXRs
    assert out.min() > -0.05
    warm = kelvin_rgb(2700)
    assert warm[0] > warm[1] > warm[2]


def test_camera_is_off_for_old_scenes_and_on_request_changes_only_pixels():
    plain = make_panorama(W, H, seed=3, kind="day", skyline="mountains")
    same = make_panorama(W, H, seed=3, kind="day", skyline="mountains", camera=False)
    shot = make_panorama(W, H, seed=3, kind="day", skyline="mountains", camera=True)
    assert plain.pixels.tobytes() == same.pixels.tobytes()
    assert shot.classes.tobytes() == plain.classes.tobytes()
    assert not np.array_equal(shot.pixels, plain.pixels)
    assert np.isfinite(shot.pixels).all() and shot.pixels.max() <= shot.info["clip"] * 1.05


def test_canopy_shows_sky_through_the_leaves():
    for seed in range(3):
        p = make_panorama(512, 256, seed=seed, kind="day", skyline="canopy")
        assert p.skyline == "canopy" and np.isfinite(p.pixels).all()
        assert 0.02 < p.sky.mean() < 0.6
        top = p.sky[: 256 // 6]          # the crowns close overhead, with gaps
        assert 0.02 < top.mean() < 0.98
        labels = labels_from_class_maps({"wood.exr": p.classes})
        assert _iou(class_map(labels, 1) == 1, p.classes == 1) >= 0.97
        again = make_panorama(512, 256, seed=seed, kind="day", skyline="canopy")
        assert again.pixels.tobytes() == p.pixels.tobytes()
    assert "canopy" not in SKYLINES  # never drawn for skyline=None: old seeds keep their images


def test_mixed_scenes_spread_interiors_over_both_halves():
    scenes = mixed_scenes(40, interiors=8, canopies=4)
    assert len(scenes) == 40
    assert sum(k == "interior" for k, _ in scenes) == 8
    assert sum(s == "canopy" for _, s in scenes) == 4
    labelled = set(labelled_indices(40, 20))
    styles_in = {s for i, (k, s) in enumerate(scenes) if k == "interior" and i in labelled}
    styles_out = {s for i, (k, s) in enumerate(scenes) if k == "interior" and i not in labelled}
    assert len(styles_in) >= 2 and len(styles_out) >= 2
    with pytest.raises(ValueError):
        mixed_scenes(4, interiors=5)


def test_demo_project_takes_a_scene_list_with_interiors(tmp_path):
    scenes = [("interior", "room"), ("day", "canopy"), ("interior", None)]
    project = write_demo_project(tmp_path / "p", count=3, width=64, height=32, labelled=3,
                                 scenes=scenes)
    names = sorted(p.name for p in project.image_paths())
    assert names == ["synthetic_00_interior_room.exr", "synthetic_01_day_canopy.exr",
                     "synthetic_02_interior_any.exr"]
    labels = project.load_labels().labels
    for name in names:  # every image is a label, an interior without sky a negative
        assert labels.is_labelled(labels.image_by_name(name).id)
    with pytest.raises(ValueError, match="style"):
        write_demo_project(tmp_path / "q", count=1, width=64, height=32,
                           scenes=[("interior", "city")])
