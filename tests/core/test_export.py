"""Export: overlay arithmetic, RGBA EXR layouts, batch export over a project."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from skysegui.core.atomicio import write_text_atomic
from skysegui.core.errors import CancelledError, ExportError
from skysegui.core.export.batch import ExportOptions, FilesExistError, export_images, export_project
from skysegui.core.export.hdr_alpha import alpha_layers, compose_rgba, write_alpha_exr
from skysegui.core.export.overlay import composite, outline_mask, parse_color
from skysegui.core.predictions import prediction_paths
from skysegui.core.progress import CancelToken

# --- overlay arithmetic -----------------------------------------------------------


def test_overlay_at_half_opacity_is_the_mean_rounded_half_up():
    rng = np.random.default_rng(1)
    toned = rng.integers(0, 256, size=(16, 20, 3), dtype=np.uint8)
    mask = (rng.random((16, 20)) > 0.5).astype(np.uint8)
    color = (255, 48, 7)
    out = composite(toned, mask, color=color, opacity=0.5)
    total = toned.astype(np.int32) + np.array(color, dtype=np.int32)
    expected = np.where(mask[..., None] == 1, (total + 1) // 2, toned)  # mean, .5 rounds up
    np.testing.assert_array_equal(out, expected.astype(np.uint8))
    odd = (total % 2 == 1) & (mask[..., None] == 1)
    assert odd.any()  # the rounding case really occurs in this test


def test_a_mask_of_another_size_is_refused_by_overlay_and_exr_alike():
    mask = np.ones((4, 6), dtype=np.uint8)
    with pytest.raises(ExportError, match="mask size 6x4 differs from the image 5x4"):
        composite(np.zeros((4, 5, 3), np.uint8), mask)
    with pytest.raises(ExportError, match="mask size 6x4 differs from the image 6x3"):
        alpha_layers(np.zeros((3, 6, 3), np.float16), mask, "sky")


def test_overlay_opacity_ends_and_soft_coverage():
    toned = np.full((2, 3, 3), 100, dtype=np.uint8)
    mask = np.ones((2, 3), dtype=np.uint8)
    np.testing.assert_array_equal(composite(toned, mask, "#000000", 0.0), toned)
    assert (composite(toned, mask, "#ff0000", 1.0) == [255, 0, 0]).all()
    prob = np.full((2, 3), 0.5, dtype=np.float32)  # soft: half coverage at full opacity
    assert (composite(toned, prob, "#c80000", 1.0) == [150, 50, 50]).all()
    prob16 = np.full((2, 3), 65535, dtype=np.uint16)
    assert (composite(toned, prob16, "#000000", 0.5) == 50).all()


def test_parse_color_forms_and_errors():
    assert parse_color("#ff3030") == (255, 48, 48)
    assert parse_color("F00") == (255, 0, 0)
    assert parse_color("Cyan") == (0, 255, 255)
    with pytest.raises(ExportError, match="#rrggbb"):
        parse_color("skyblue-ish")
    with pytest.raises(ExportError, match="opacity"):
        composite(np.zeros((1, 1, 3), np.uint8), np.ones((1, 1), np.uint8), opacity=1.5)


def test_mask_of_other_size_is_an_export_error():
    with pytest.raises(ExportError, match="differs"):
        composite(np.zeros((4, 4, 3), np.uint8), np.ones((4, 5), np.uint8))


def test_outline_is_a_band_of_the_given_width_on_the_boundary():
    mask = np.zeros((20, 20), np.uint8)
    mask[:10] = 1  # sky above row 10
    band = outline_mask(mask, 2)
    rows = np.flatnonzero(band.any(axis=1))
    assert list(rows) == [9, 10]  # one row inside, one outside
    assert band[9].all() and band[10].all()
    assert list(np.flatnonzero(outline_mask(mask, 3).any(axis=1))) == [8, 9, 10]
    assert not outline_mask(mask, 0).any()
    out = composite(np.zeros((20, 20, 3), np.uint8), mask, "red", 0.5, outline=band, outline_color="#00ff00")
    assert (out[9] == [0, 255, 0]).all() and (out[0] == [128, 0, 0]).all()


# --- RGBA layouts -----------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_rgba_layouts_keep_radiance_bit_exact(dtype):
    rng = np.random.default_rng(2)
    rgb = (rng.standard_normal((8, 12, 3)) * 1000).astype(dtype)  # negatives and large values
    mask = (rng.random((8, 12)) > 0.4).astype(np.uint8)
    matte = compose_rgba(rgb, mask, "matte")
    assert matte.dtype == dtype and matte.shape == (8, 12, 4)
    np.testing.assert_array_equal(matte[..., :3].view(np.uint8), rgb.view(np.uint8))
    np.testing.assert_array_equal(matte[..., 3], mask.astype(dtype))
    sky = compose_rgba(rgb, mask, "sky")
    np.testing.assert_array_equal(sky[mask == 1, :3], rgb[mask == 1])
    assert (sky[mask == 0, :3] == 0).all()
    ground = compose_rgba(rgb, mask, "ground")
    np.testing.assert_array_equal(ground[mask == 0, :3], rgb[mask == 0])
    np.testing.assert_array_equal(ground[..., 3], (1 - mask).astype(dtype))


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_alpha_exr_writer_keeps_even_non_finite_values(tmp_path, dtype):
    rgb = np.array([[[np.inf, -np.inf, -0.004], [6e4, 1e-7, 0.5]]], dtype=np.float32).astype(dtype)
    alpha = np.array([[1, 0]], dtype=dtype)
    write_alpha_exr(tmp_path / "x.exr", rgb, alpha)
    chans = _read_exr(tmp_path / "x.exr")
    got = np.stack([chans[c] for c in "RGB"], axis=-1)
    assert got.dtype == dtype and chans["A"].dtype == dtype
    np.testing.assert_array_equal(got.view(np.uint8), rgb.view(np.uint8))
    np.testing.assert_array_equal(chans["A"], alpha)


def test_rgba_soft_alpha_is_premultiplied():
    rgb = np.full((2, 2, 3), 8.0, dtype=np.float32)
    prob = np.array([[0.0, 0.25], [0.5, 1.0]], dtype=np.float32)
    sky = compose_rgba(rgb, prob, "sky")
    np.testing.assert_allclose(sky[..., 0], 8.0 * prob)
    np.testing.assert_allclose(sky[..., 3], prob)


# --- batch export over a real project ----------------------------------------------

W, H = 32, 16


def _write_labels(path: Path, names: list[str], labelled: set[str]) -> None:
    """A COCO file: sky is the top half of each labelled image, with a non-sky hole."""
    images, annotations = [], []
    for i, name in enumerate(names, start=1):
        images.append({"id": i, "file_name": name, "width": W, "height": H})
        if name in labelled:
            sky = [0, 0, W, 0, W, H / 2, 0, H / 2]
            annotations.append({"id": 10 * i, "image_id": i, "category_id": 1, "segmentation": [sky],
                                "area": W * H / 2, "bbox": [0, 0, W, H / 2], "iscrowd": 0})
            bird = [4, 2, 8, 2, 8, 6, 4, 6]
            annotations.append({"id": 10 * i + 1, "image_id": i, "category_id": 2, "segmentation": [bird],
                                "area": 16, "bbox": [4, 2, 4, 4], "iscrowd": 0})
    coco = {"images": images, "annotations": annotations,
            "categories": [{"id": 1, "name": "sky"}, {"id": 2, "name": "non-sky"}]}
    write_text_atomic(path, json.dumps(coco))


def _pixels(seed: int, dtype) -> np.ndarray:
    rng = np.random.default_rng(seed)
    px = rng.gamma(1.0, 2.0, size=(H, W, 3)).astype(np.float32)
    px[0, 0] = (-0.004, 30000.0, 1e-6)  # negative, a sun, a tiny value: all kept as read
    return px.astype(dtype)


def make_project(root: Path):
    """A real project: two labelled EXRs (half and float) and one listed without labels."""
    from skysegui.core import imageio
    from skysegui.core.project import Project

    proj = Project.create(root)
    proj.images_dir.mkdir(parents=True, exist_ok=True)
    imageio.write_exr(proj.images_dir / "half.exr", _pixels(1, np.float16), half=True)
    imageio.write_exr(proj.images_dir / "full.exr", _pixels(2, np.float32), half=False)
    imageio.write_exr(proj.images_dir / "empty.exr", _pixels(3, np.float16), half=True)
    _write_labels(proj.labels_path, ["half.exr", "full.exr", "empty.exr"], {"half.exr", "full.exr"})
    return Project.open(proj.root)


@pytest.fixture()
def project(tmp_path):
    return make_project(tmp_path / "proj")


def expected_sky() -> np.ndarray:
    sky = np.zeros((H, W), np.uint8)
    sky[: H // 2] = 1
    sky[2:6, 4:8] = 0
    return sky


def _read_exr(path: Path) -> dict[str, np.ndarray]:
    import OpenEXR

    with OpenEXR.File(str(path), separate_channels=True) as f:
        return {name: np.array(ch.pixels) for name, ch in f.channels().items()}


def test_rgba_exr_round_trip_is_bit_exact_with_alpha_equal_to_the_mask(project, tmp_path):
    out = tmp_path / "out"
    result = export_project(project, ExportOptions(what="rgba-exr"), out)
    assert sorted(p.name for p in result.written) == ["full.rgba.exr", "half.rgba.exr"]
    assert any("empty.exr" in w for w in result.warnings)
    sky = expected_sky()
    for name, seed, dtype in (("half", 1, np.float16), ("full", 2, np.float32)):
        chans = _read_exr(out / f"{name}.rgba.exr")
        assert set(chans) == {"R", "G", "B", "A"}
        rgb = np.stack([chans[c] for c in "RGB"], axis=-1)
        assert rgb.dtype == dtype
        np.testing.assert_array_equal(rgb.view(np.uint8), _pixels(seed, dtype).view(np.uint8))
        np.testing.assert_array_equal(chans["A"], sky.astype(dtype))


def test_sky_and_ground_exr_are_premultiplied_and_invert_flips_alpha(project, tmp_path):
    out = tmp_path / "out"
    export_project(project, ExportOptions(what="sky-exr"), out, images=["half"])
    export_project(project, ExportOptions(what="ground-exr"), out, images=["half.exr"])
    export_project(project, ExportOptions(what="rgba-exr", invert=True), out, images=["half"])
    px, sky = _pixels(1, np.float16), expected_sky().astype(bool)
    s, g = _read_exr(out / "half.sky.exr"), _read_exr(out / "half.ground.exr")
    inv = _read_exr(out / "half.rgba-inv.exr")
    for i, c in enumerate("RGB"):
        np.testing.assert_array_equal(s[c], np.where(sky, px[..., i], 0))
        np.testing.assert_array_equal(g[c], np.where(sky, 0, px[..., i]))
        np.testing.assert_array_equal(inv[c], px[..., i])
    np.testing.assert_array_equal(g["A"], (~sky).astype(np.float16))
    np.testing.assert_array_equal(inv["A"], (~sky).astype(np.float16))


def test_batch_writes_one_file_per_image_and_refuses_to_overwrite(project, tmp_path):
    out = tmp_path / "out"
    calls = []
    export_project(project, ExportOptions(what="mask"), out, progress=lambda *a: calls.append(a))
    assert sorted(p.name for p in out.iterdir()) == ["full.mask.png", "half.mask.png"]
    assert calls[-1][:2] == (3, 3)
    mask = cv2.imread(str(out / "half.mask.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(mask, expected_sky() * 255)
    before = (out / "half.mask.png").stat().st_mtime_ns
    with pytest.raises(FilesExistError, match="full.mask.png, half.mask.png.*--force"):
        export_project(project, ExportOptions(what="mask", invert=False), out)
    assert (out / "half.mask.png").stat().st_mtime_ns == before
    again = export_project(project, ExportOptions(what="mask", invert=True), out, images=["half"])
    assert [p.name for p in again.written] == ["half.mask-inv.png"]
    again = export_project(project, ExportOptions(what="mask"), out, overwrite=True)
    assert len(again.written) == 2 and not list(out.glob(".*tmp*"))


def test_overlay_export_at_full_resolution(project, tmp_path):
    from skysegui.core.tonemap import ToneSettings, tonemap

    tone = ToneSettings(exposure=-1.0)
    out = tmp_path / "out"
    for fmt, ext in (("png", "png"), ("jpg", "jpg"), ("tiff16", "tif")):
        opts = ExportOptions(what="overlay", color="#ff3030", opacity=0.5, tone=tone, format=fmt)
        export_project(project, opts, out, images=["full"])
        assert (out / f"full.overlay.{ext}").exists()
    got = cv2.cvtColor(cv2.imread(str(out / "full.overlay.png")), cv2.COLOR_BGR2RGB)
    toned = tonemap(_pixels(2, np.float32), tone).astype(np.int32)
    sky = expected_sky().astype(bool)
    expected = np.where(sky[..., None], (toned + np.array([255, 48, 48]) + 1) // 2, toned)
    np.testing.assert_array_equal(got, expected)
    import tifffile

    tif = tifffile.imread(out / "full.overlay.tif")
    assert tif.dtype == np.uint16 and tif.shape == (H, W, 3)
    np.testing.assert_array_equal(tif, expected.astype(np.uint16) * 257)


def test_prediction_source_reads_prediction_files(project, tmp_path):
    paths = prediction_paths(project.predictions_dir, "half.exr")
    paths.mask.parent.mkdir(parents=True, exist_ok=True)
    pred = np.zeros((H, W), np.uint8)
    pred[:5] = 255
    prob = np.linspace(0, 65535, H * W).reshape(H, W).astype(np.uint16)
    cv2.imwrite(str(paths.mask), pred)
    cv2.imwrite(str(paths.prob_png), prob)
    out = tmp_path / "out"
    result = export_project(project, ExportOptions(what="mask", source="prediction"), out)
    assert [p.name for p in result.written] == ["half.mask.png"]
    assert sum("no prediction" in w for w in result.warnings) == 2
    np.testing.assert_array_equal(cv2.imread(str(out / "half.mask.png"), cv2.IMREAD_UNCHANGED), pred)
    export_project(project, ExportOptions(what="prob", source="prediction"), out, images=["half"])
    np.testing.assert_array_equal(cv2.imread(str(out / "half.prob.png"), cv2.IMREAD_UNCHANGED), prob)
    export_project(project, ExportOptions(what="rgba-exr", source="prediction", soft=True), out,
                   images=["half"])
    alpha = _read_exr(out / "half.rgba.exr")["A"]
    np.testing.assert_allclose(alpha, prob / 65535.0, atol=1e-3)


def test_cancel_stops_before_writing_and_unknown_names_are_errors(project, tmp_path):
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        export_project(project, ExportOptions(what="mask"), tmp_path / "out", cancel=token)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    with pytest.raises(ExportError, match="no image named nowhere"):
        export_project(project, ExportOptions(what="mask"), tmp_path / "out", images=["nowhere"])
    with pytest.raises(ExportError, match="unknown export"):
        ExportOptions(what="psd").validated()


def test_real_label_studio_export_and_hdri(tmp_path, hdri_dir, label_studio_dir):
    """A real panorama with Label Studio's COCO export (upload-prefixed .jpg name)."""
    import shutil

    from skysegui.core.annotations import sky_mask
    from skysegui.core.project import Project

    proj = Project.create(tmp_path / "proj")
    shutil.copy(hdri_dir / "city.exr", proj.images_dir / "city.exr")
    shutil.copy(label_studio_dir / "city_coco.json", proj.labels_path)
    proj = Project.open(proj.root)
    out = tmp_path / "out"
    result = export_project(proj, ExportOptions(what="sky-exr", source="labels"), out)
    assert [p.name for p in result.written] == ["city.sky.exr"]
    labels = proj.load_labels().labels
    record = labels.image_by_name("city.exr")
    sky = sky_mask(labels, record.id).astype(bool)
    assert 0.05 < sky.mean() < 0.95
    chans = _read_exr(out / "city.sky.exr")
    np.testing.assert_array_equal(chans["A"] == 1, sky)
    from skysegui.core import imageio

    original = imageio.read_image(hdri_dir / "city.exr", dtype=np.float32, sanitise=False).pixels
    rgb = np.stack([chans[c] for c in "RGB"], axis=-1)
    assert rgb.dtype == original.dtype
    np.testing.assert_array_equal(rgb[sky].view(np.uint8), original[sky].view(np.uint8))
    assert (rgb[~sky] == 0).all()


def test_damaged_image_is_skipped_and_same_stem_is_refused(project, tmp_path):
    (project.images_dir / "full.exr").write_bytes(b"v/1\x01" + b"\0" * 40)  # truncated EXR
    result = export_project(project, ExportOptions(what="mask"), tmp_path / "out")
    assert [p.name for p in result.written] == ["half.mask.png"]
    assert any(w.startswith("skipped full.exr") for w in result.warnings)
    twin = tmp_path / "elsewhere" / "half.exr"
    twin.parent.mkdir()
    twin.write_bytes((project.images_dir / "half.exr").read_bytes())
    labels = project.load_labels().labels
    with pytest.raises(ExportError, match="both be exported as half.mask.png"):
        export_images([project.images_dir / "half.exr", twin], ExportOptions(what="mask"),
                      tmp_path / "out2", labels=labels)
