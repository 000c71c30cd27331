"""Dataset cache, image-level split, crop sampler and the report-layout export."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
import tifffile

from skysegui.core.annotations import sky_mask
from skysegui.core.errors import ExportError, TrainingError
from skysegui.core.imageio import read_image
from skysegui.core.synthetic import make_panorama, write_demo_project
from skysegui.core.tiling import TilePlan
from skysegui.ml.augment import AugmentConfig
from skysegui.ml.data import (
    CropSampler,
    SamplerConfig,
    array_sources,
    build_cache,
    export_patches,
    project_cache,
    project_sources,
    report_dataset_bytes,
    split_by_image,
    to_network_input,
    validation_crops,
)
from skysegui.ml.data.cache import DEFAULT_CODEC, ERROR_BOUND
from skysegui.ml.data.export_patches import patch_origins
from skysegui.ml.data.sampler import read_crop


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return write_demo_project(tmp_path_factory.mktemp("proj") / "p", count=5, width=256, height=128,
                              labelled=4, seed=2)


@pytest.fixture(scope="module")
def synthetic_cache(tmp_path_factory):
    panos = {f"s{i}": make_panorama(192, 96, seed=i) for i in range(4)}
    return build_cache(array_sources({k: (p.pixels, p.sky) for k, p in panos.items()}),
                       tmp_path_factory.mktemp("cache"), "hdr_log")


def test_project_cache_holds_the_network_input_and_mask_of_each_labelled_image(project, tmp_path):
    cache, _ = project_cache(project, "hdr_log")
    labels = project.load_labels().labels
    labelled = [p for p in project.image_paths()
                if (r := labels.image_by_name(p.name)) is not None and labels.annotations_for(r.id)]
    assert sorted(cache.names) == sorted(p.stem for p in labelled) and len(cache) == 4
    raw = build_cache(project_sources(project, "hdr_log")[0], tmp_path / "npy", "hdr_log", codec="npy")
    lossless = build_cache(project_sources(project, "hdr_log")[0], tmp_path / "zstd", "hdr_log", codec="zstd")
    for i, entry in enumerate(cache.entries):
        x, y, _ = cache.arrays(i)
        # "jpeg" decodes to float32; the lossless codecs give the stored float16
        assert x.dtype == np.float32 and y.dtype == np.uint8 and x.shape == (128, 256, 3)
        assert lossless.arrays(i)[0].dtype == raw.arrays(i)[0].dtype == np.float16
        path = next(p for p in labelled if p.stem == entry.name)
        image = read_image(path)
        expect = to_network_input(image.pixels, True, "hdr_log")
        # the default codec is lossy, within its stated bound (ml/data/cache.py)
        assert entry.codec == DEFAULT_CODEC == "jpeg"
        np.testing.assert_allclose(np.asarray(x, np.float32), expect, atol=ERROR_BOUND["hdr_log"] + 2e-3)
        np.testing.assert_array_equal(np.asarray(y), sky_mask(labels, labels.image_by_name(path.name).id))
        # the lossless tiles hold exactly what the raw memory maps hold, also for sub-regions
        xr, yr, _ = raw.arrays(i)
        xl, yl, _ = lossless.arrays(i)
        assert isinstance(xr, np.memmap)
        np.testing.assert_allclose(np.asarray(xr, np.float32), expect, atol=2e-3)
        np.testing.assert_array_equal(np.asarray(xl), xr)
        np.testing.assert_array_equal(xl[5:120, 100:], xr[5:120, 100:])
        np.testing.assert_array_equal(y[:, 130:131], yr[:, 130:131])
        np.testing.assert_array_equal(np.asarray(x[5:120, 100:]), np.asarray(x)[5:120, 100:])
    # raw: 7 bytes per pixel (float16 RGB + mask) plus a tiny coarse map and the manifest
    assert raw.size_bytes() < 7.2 * sum(e.height * e.width for e in raw.entries) + 8000
    # compact (default): about the size of the source EXRs (half float, ZIP); the manifest and
    # tile indexes weigh a few percent at 256x128 (benchmarks/bench_training_input.py: full size)
    assert cache.size_bytes() <= 1.1 * sum(p.stat().st_size for p in labelled)
    assert cache.size_bytes() < 0.6 * raw.size_bytes()


def test_cache_rebuilds_only_what_changed(project):
    cache, _ = project_cache(project, "hdr_log")
    assert project_cache(project, "hdr_log")[0].rebuilt == 0
    # move one polygon of one image
    labels = project.load_labels().labels
    ann = next(iter(labels.annotations.values()))
    ann.polygons[0].outer[:, 1] += 3.0
    project.save_labels(labels)
    again, _ = project_cache(project, "hdr_log")
    assert again.rebuilt == 1
    # rewrite one image file (new mtime)
    path = project.image_paths()[0]
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert project_cache(project, "hdr_log")[0].rebuilt == (1 if path.stem in cache.names else 0)
    # another input transform is a separate cache
    ldr, _ = project_cache(project, "ldr")
    assert ldr.rebuilt == 4 and ldr.folder != cache.folder


def test_split_by_image_is_seeded_disjoint_and_order_free():
    names = [f"img{i}" for i in range(12)]
    train, val = split_by_image(names, 0.25, seed=1)
    assert len(val) == 3 and not set(train) & set(val) and set(train) | set(val) == set(names)
    assert split_by_image(list(reversed(names)), 0.25, seed=1) == (train, val)
    assert split_by_image(names, 0.25, seed=2) != (train, val)
    with pytest.raises(TrainingError, match="at least two"):
        split_by_image(["only"], 0.25)


def test_crops_wrap_around_the_seam(synthetic_cache):
    x, y, _ = synthetic_cache.arrays(0)
    w = y.shape[1]
    xc, yc = read_crop(x, y, 10, w - 20, 64)
    rolled_x, rolled_y = np.roll(np.asarray(x, np.float32), 20, axis=1), np.roll(y, 20, axis=1)
    np.testing.assert_array_equal(xc, rolled_x[10:74, :64])
    np.testing.assert_array_equal(yc, rolled_y[10:74, :64])


def test_crops_reach_past_the_poles_as_prediction_tiles_do(synthetic_cache):
    x, y, _ = synthetic_cache.arrays(0)
    h, w = y.shape
    full_x, full_y = np.asarray(x, np.float32), np.asarray(y)
    for top, left, size in ((-12, 5, 48), (h - 30, w - 10, 48), (-3, 0, h + 5)):
        xc, yc = read_crop(x, y, top, left, size)
        plan = TilePlan(h, w, size, size, 0, 0, 0, 0, (top,), (left,), True)
        rows, cols = plan.source_index(top, left)
        np.testing.assert_array_equal(xc, full_x[rows, cols])
        np.testing.assert_array_equal(yc, full_y[rows, cols])
    xc, yc = read_crop(x, y, -2, 7, 16)  # row -1 is row 0 half a turn round, row -2 row 1
    np.testing.assert_array_equal(yc[:2, 0], full_y[[1, 0], (7 + w // 2) % w])


@pytest.mark.parametrize("roll", [True, False])
def test_training_crops_see_the_poles_from_beyond_as_prediction_does(tmp_path, roll):
    # Each row's brightness is its row number: a crop read inside the image brightens
    # downwards in every column; one that reaches past a pole turns back at the pole.
    h, w = 64, 256
    pixels = np.repeat(np.repeat(np.arange(1, h + 1, dtype=np.float32)[:, None, None], w, 1), 3, 2)
    sky = np.zeros((h, w), np.uint8)
    sky[: h // 2] = 1
    cache = build_cache(array_sources({"p": (pixels, sky)}), tmp_path, "hdr_log")
    augment = AugmentConfig(hflip=False, roll=roll)
    it = CropSampler(cache, ["p"], SamplerConfig(crop=h, edge_fraction=None, augment=augment, seed=3)).crops()
    turns = 0
    for _ in range(40):
        x, _ = next(it)
        steps = np.diff(x[:, 0, 0])
        turns += bool((steps < 0).any())
    if roll:  # a panorama: most crops reach up to 64 rows past the zenith or the nadir
        assert turns > 20
    else:
        assert turns == 0


def test_sampler_is_seeded_and_edge_balancing_finds_sky_edges(synthetic_cache):
    names = synthetic_cache.names
    cfg = SamplerConfig(crop=32, batch_size=4, edge_fraction=1.0, augment=AugmentConfig.none(), seed=5)
    a = next(CropSampler(synthetic_cache, names, cfg).batches())
    b = next(CropSampler(synthetic_cache, names, cfg).batches())
    np.testing.assert_array_equal(a[0], b[0])
    assert a[0].shape == (4, 32, 32, 3) and a[1].shape == (4, 32, 32, 1)

    def edge_share(fraction):
        s = CropSampler(synthetic_cache, names, SamplerConfig(crop=32, edge_fraction=fraction,
                                                              augment=AugmentConfig.none(), seed=1))
        it = s.crops()
        crops = [next(it)[1] for _ in range(200)]
        return np.mean([0 < c.mean() < 1 for c in crops])

    assert edge_share(1.0) > 0.9
    assert edge_share(1.0) > edge_share(None) + 0.2


def test_sampler_rejects_crops_larger_than_the_images(synthetic_cache):
    with pytest.raises(TrainingError, match="smaller patch size"):
        CropSampler(synthetic_cache, synthetic_cache.names, SamplerConfig(crop=128))


def test_validation_crops_are_a_fixed_grid(synthetic_cache):
    vx, vy = validation_crops(synthetic_cache, synthetic_cache.names[:2], 32, max_per_image=100)
    assert vx.shape == (2 * 3 * 6, 32, 32, 3)
    vx2, _ = validation_crops(synthetic_cache, synthetic_cache.names[:2], 32, max_per_image=100)
    np.testing.assert_array_equal(vx, vx2)
    assert set(np.unique(vy)) <= {0.0, 1.0}


def test_export_writes_the_reports_layout(project, tmp_path):
    sources, _ = project_sources(project, "hdr_log")
    out = tmp_path / "export"
    summary = export_patches(sources, out, size=64, stride=40, val_fraction=0.25, split="image")
    per_image = len(patch_origins(128, 256, 64, 40))
    assert per_image == 2 * 5
    assert summary.train + summary.val == 4 * per_image
    assert summary.val == per_image * len(summary.val_images) and len(summary.val_images) == 1
    xs = sorted((out / "X_train" / "train").glob("*.tif")) + sorted((out / "X_val" / "val").glob("*.tif"))
    ys = sorted((out / "Y_train" / "train").glob("*.png")) + sorted((out / "Y_val" / "val").glob("*.png"))
    assert len(xs) == len(ys) == 4 * per_image
    numbers = sorted(int(p.stem) for p in xs)
    assert numbers == list(range(1, 4 * per_image + 1))
    assert {p.stem for p in (out / "X_val" / "val").glob("*.tif")} == {p.stem for p in (out / "Y_val" / "val").glob("*.png")}
    patch = tifffile.imread(xs[0])
    assert patch.dtype == np.float32 and patch.shape == (64, 64, 3)
    mask = cv2.imread(str(ys[0]), cv2.IMREAD_UNCHANGED)
    assert mask.dtype == np.uint8 and mask.shape == (64, 64) and set(np.unique(mask)) <= {0, 1}
    with pytest.raises(ExportError, match="not empty"):
        export_patches(sources, out, size=64, stride=40)


def test_per_patch_split_is_explicit_and_warns(project, tmp_path):
    sources, _ = project_sources(project, "hdr_log")
    summary = export_patches(sources[:2], tmp_path / "e", size=64, stride=64, split="patch")
    assert summary.val > 0 and any("leak" in w or "optimistic" in w for w in summary.warnings)


def test_report_patch_dataset_size_of_an_8k_image():
    # the report: about 3,000 patches and 2.4 GB of float32 TIFFs per 8K panorama
    n = len(patch_origins(4096, 8192, 256, 100))
    assert n == 39 * 80
    assert 2.4e9 < report_dataset_bytes(4096, 8192) < 2.7e9


def test_cli_dataset_export(project, tmp_path, capsys):
    from skysegui.cli.main import main

    out = tmp_path / "cli"
    code = main(["dataset", "export", "--project", str(project.root), "--out", str(out),
                 "--patch", "64", "--stride", "64", "--val", "0.25"])
    assert code == 0
    n_train = len(list((out / "X_train" / "train").glob("*.tif")))
    n_val = len(list((out / "X_val" / "val").glob("*.tif")))
    assert (n_train, n_val) == (3 * 8, 8)
    assert f"{n_train} train and {n_val} val patches" in capsys.readouterr().out
    assert main(["dataset", "export", "--project", str(tmp_path / "missing"), "--out", str(out)]) == 2
