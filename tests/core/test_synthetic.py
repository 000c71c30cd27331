"""Synthetic panoramas: determinism, exact labels through the annotations module, radiance
ranges like a real capture, and the 360-degree seam."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skysegui.core.annotations import class_map, load_labels, save_coco
from skysegui.core.errors import CancelledError, ProjectError, SkysegError
from skysegui.core.progress import CancelToken
from skysegui.core.project import Project
from skysegui.core.synthetic import (
    KINDS,
    SKYLINES,
    SyntheticSizeError,
    labels_from_class_maps,
    make_panorama,
    write_demo_project,
)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def test_same_seed_gives_the_same_bytes():
    for kind, skyline in (("day", "city"), ("night", "forest"), (None, None)):
        a = make_panorama(128, 64, seed=7, kind=kind, skyline=skyline)
        b = make_panorama(128, 64, seed=7, kind=kind, skyline=skyline)
        assert a.pixels.tobytes() == b.pixels.tobytes()
        assert a.classes.tobytes() == b.classes.tobytes()
        assert (a.kind, a.skyline) == (b.kind, b.skyline)


def test_different_seeds_differ():
    a = make_panorama(128, 64, seed=1, kind="day", skyline="mountains")
    b = make_panorama(128, 64, seed=2, kind="day", skyline="mountains")
    assert not np.array_equal(a.classes, b.classes)
    assert not np.array_equal(a.pixels, b.pixels)


def test_arrays_have_the_contract_types_and_sky_is_class_one():
    p = make_panorama(96, 48, seed=3)
    assert p.pixels.shape == (48, 96, 3) and p.pixels.dtype == np.float32
    assert p.classes.shape == (48, 96) and p.classes.dtype == np.uint8
    assert set(np.unique(p.classes)) <= {0, 1, 2}
    assert p.sky.dtype == np.uint8
    np.testing.assert_array_equal(p.sky, (p.classes == 1).astype(np.uint8))
    assert p.kind in KINDS and p.skyline in SKYLINES and p.seed == 3


def test_sixteen_small_panoramas_vary():
    panos = [make_panorama(64, 32, seed=s) for s in range(16)]
    assert len({p.kind for p in panos}) >= 2
    assert len({p.skyline for p in panos}) >= 3
    for p in panos:
        assert np.isfinite(p.pixels).all()
        assert 0.05 < p.sky.mean() < 0.95


@pytest.mark.parametrize("skyline", SKYLINES)
def test_sky_mask_matches_its_coco_polygons(skyline):
    for seed in (0, 1):
        p = make_panorama(512, 256, seed=seed, skyline=skyline)
        labels = labels_from_class_maps({"pano.exr": p.classes})
        back = class_map(labels, 1)
        assert _iou(back == 1, p.classes == 1) >= 0.995, (skyline, seed)
        if (p.classes == 2).any():
            assert _iou(back == 2, p.classes == 2) >= 0.9


def test_labels_keep_holes_and_seam_regions(tmp_path):
    """An object in the sky is a hole in the sky polygon; the sky reaches x=0 and x=W."""
    p = next(q for s in range(40)
             if (q := make_panorama(256, 128, seed=s, kind="day", skyline="sea")).info["sky_objects"])
    labels = labels_from_class_maps({"pano.exr": p.classes})
    save_coco(labels, tmp_path / "labels.json")
    loaded = load_labels(tmp_path / "labels.json").labels
    sky_id = loaded.category_for_role(1)
    rings = [poly for a in loaded.annotations.values() if a.category_id == sky_id for poly in a.polygons]
    assert any(poly.holes for poly in rings)
    xs = np.concatenate([poly.outer[:, 0] for poly in rings])
    assert xs.min() == 0 and xs.max() == p.pixels.shape[1]
    assert _iou(class_map(loaded, next(iter(loaded.images))) == 1, p.classes == 1) >= 0.995


@pytest.mark.parametrize("skyline", SKYLINES)
def test_day_radiance_looks_like_a_capture(skyline):
    p = make_panorama(256, 128, seed=5, kind="day", skyline=skyline)
    lum = p.pixels.mean(axis=2)
    sky_median = float(np.median(lum[p.classes == 1]))
    ground_median = float(np.median(lum[p.classes == 0]))
    assert 0.3 < sky_median < 5.0
    assert lum.max() > 1000 * sky_median            # the sun disk
    assert lum.max() < 65504                        # fits a half-float EXR
    assert sky_median > ground_median
    assert np.isfinite(p.pixels).all()


def test_dusk_and_night_skies_are_dim():
    day = make_panorama(256, 128, seed=2, kind="day", skyline="city")
    dusk = make_panorama(256, 128, seed=2, kind="dusk", skyline="city")
    night = make_panorama(256, 128, seed=2, kind="night", skyline="city")
    med = {k: float(np.median(p.pixels.mean(2)[p.classes == 1])) for k, p in
           (("day", day), ("dusk", dusk), ("night", night))}
    assert 0.0005 < med["night"] < 0.05
    assert med["night"] < med["dusk"] < med["day"]


def test_sensor_noise_has_small_negatives_and_no_nan():
    for kind in KINDS:
        p = make_panorama(256, 128, seed=4, kind=kind, skyline="mountains")
        assert not np.isnan(p.pixels).any()
        assert p.pixels.min() >= -0.005
    night = make_panorama(256, 128, seed=4, kind="night", skyline="mountains")
    assert (night.pixels < 0).any()


def test_the_scene_continues_across_the_seam():
    """Column 0 follows column W-1 as closely as any two neighbouring columns."""
    seam, inner = [], []
    for skyline in SKYLINES:
        for seed in range(3):
            c = make_panorama(256, 128, seed=seed, skyline=skyline).classes
            seam.append(np.count_nonzero(c[:, 0] != c[:, -1]))
            inner.append(np.count_nonzero(c[:, 1:] != c[:, :-1]) / (c.shape[1] - 1))
    assert np.mean(seam) <= 3 * np.mean(inner) + 1.0


def test_unsupported_sizes_are_user_errors():
    with pytest.raises(SyntheticSizeError) as info:
        make_panorama(8, 4, seed=0)
    assert isinstance(info.value, SkysegError)
    assert "width" in str(info.value)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(width=st.integers(16, 200), height=st.integers(8, 120), seed=st.integers(0, 2**31),
       kind=st.sampled_from(KINDS), skyline=st.sampled_from(SKYLINES))
def test_any_size_and_seed_gives_a_valid_panorama(width, height, seed, kind, skyline):
    p = make_panorama(width, height, seed=seed, kind=kind, skyline=skyline)
    assert p.pixels.shape == (height, width, 3) and p.classes.shape == (height, width)
    assert np.isfinite(p.pixels).all() and p.pixels.min() >= -0.004
    assert set(np.unique(p.classes)) <= {0, 1, 2}
    assert p.sky.any() and not p.sky.all()


def test_write_demo_project_labels_the_chosen_number(tmp_path):
    calls = []
    project = write_demo_project(tmp_path / "demo", count=3, width=64, height=32, labelled=1,
                                 progress=lambda done, total, msg: calls.append((done, total)))
    assert isinstance(project, Project)
    assert len(project.image_paths()) == 3
    result = project.load_labels()
    assert result.warnings == []
    assert sum(1 for i in result.labels.images.values() if result.labels.annotations_for(i.id)) == 1
    assert calls[-1] == (3, 3) and calls[0] == (0, 3)


def test_write_demo_project_stops_when_cancelled_and_refuses_a_used_folder(tmp_path):
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        write_demo_project(tmp_path / "a", count=2, width=64, height=32, cancel=token)
    assert not (tmp_path / "a" / "labels.json").exists()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("mine")
    with pytest.raises(ProjectError, match="--force"):
        write_demo_project(tmp_path / "b", count=1, width=64, height=32)
