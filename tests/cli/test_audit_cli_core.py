"""Acceptance-audit findings in the image and label commands (issues 2-4), as a user runs them."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np

from skysegui.cli.main import main
from skysegui.core.annotations import load_labels, sky_mask
from skysegui.core.imageio import write_exr


def test_polygons_honours_the_alpha_of_a_photoshop_layer(tmp_path):
    """A sky layer exported on a transparent background: white everywhere, sky = opaque."""
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    write_exr(images / "pano.exr", np.ones((32, 64, 3), np.float32))
    sky = np.zeros((32, 64), bool)
    sky[:12] = True
    sky[4:8, 20:30] = False  # a bird-sized hole
    bgra = np.full((32, 64, 4), 255, np.uint8)
    bgra[..., 3] = np.where(sky, 255, 0)
    cv2.imwrite(str(masks / "pano_sky.png"), bgra)
    out = tmp_path / "labels.json"
    assert main(["polygons", str(masks), "--images", str(images), "--out", str(out), "--quiet"]) == 0
    labels = load_labels(out, images_dir=images).labels
    (image,) = labels.images.values()
    np.testing.assert_array_equal(sky_mask(labels, image.id).astype(bool), sky)


def test_info_on_a_truncated_exr_prints_one_line(tmp_path, hdri_dir):
    """The OpenEXR library's own stderr complaints must not precede our error line."""
    data = (hdri_dir / "city.exr").read_bytes()
    cut = tmp_path / "cut.exr"
    cut.write_bytes(data[: len(data) // 3])
    proc = subprocess.run([sys.executable, "-m", "skysegui.cli.main", "info", str(cut)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "cut.exr" in lines[0], proc.stderr


def test_tonemap_gamma_alone_is_applied(tmp_path, capsys):
    """`tonemap IMAGE OUT --gamma G` (as the issue spells it) must not be silently ignored."""
    ramp = np.tile(np.linspace(0.01, 1.0, 64, dtype=np.float32)[None, :, None], (8, 1, 3))
    write_exr(tmp_path / "ramp.exr", ramp, half=False)
    outs = {}
    for name, extra in (("default", []), ("g1", ["--gamma", "1"]), ("g3", ["--gamma", "3"])):
        out = tmp_path / f"{name}.png"
        assert main(["tonemap", str(tmp_path / "ramp.exr"), "--out", str(out), *extra]) == 0
        outs[name] = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)[..., 0].astype(int)
    x = ramp[0, :, 0]
    np.testing.assert_allclose(outs["g1"][0], np.round(x * 255), atol=1)  # gamma 1: linear
    np.testing.assert_allclose(outs["g3"][0], np.round(x ** (1 / 3) * 255), atol=1)
    assert "gamma" in capsys.readouterr().out


def test_tonemap_refuses_nan_options_with_one_line(tmp_path, capsys):
    write_exr(tmp_path / "a.exr", np.ones((8, 16, 3), np.float32))
    for option in ("--exposure", "--gamma", "--offset", "--white-point"):
        code = main(["tonemap", str(tmp_path / "a.exr"), "--out", str(tmp_path / "a.png"), option, "nan"])
        err = capsys.readouterr().err.strip()
        assert code != 0 and err.startswith("error: ") and option in err and "\n" not in err
    assert not (tmp_path / "a.png").exists()


def test_masks_of_date_named_panoramas_do_not_overwrite_each_other(tmp_path):
    import json

    images = tmp_path / "images"
    images.mkdir()
    for name in ("20230515-sky", "20230516-sky"):
        write_exr(images / f"{name}.exr", np.ones((16, 32, 3), np.float32))
    ring = [0, 0, 32, 0, 32, 8, 0, 8]
    coco = {
        "images": [{"id": 1, "file_name": "20230515-sky.exr", "width": 32, "height": 16},
                   {"id": 2, "file_name": "20230516-sky.exr", "width": 32, "height": 16}],
        "categories": [{"id": 1, "name": "sky"}],
        "annotations": [{"id": 1, "image_id": 2, "category_id": 1, "segmentation": [ring]}],
    }
    (tmp_path / "labels.json").write_text(json.dumps(coco))
    for extra in ([], ["--images", str(images)]):
        out = tmp_path / f"masks{len(extra)}"
        assert main(["masks", str(tmp_path / "labels.json"), "--out", str(out), "--quiet", *extra]) == 0
        assert sorted(p.name for p in out.iterdir()) == ["20230515-sky.png", "20230516-sky.png"]
        assert cv2.imread(str(out / "20230515-sky.png"), 0).max() == 0
        assert cv2.imread(str(out / "20230516-sky.png"), 0)[:8].min() == 255


def test_demo_with_a_bad_size_leaves_nothing_so_a_retry_works(tmp_path, capsys):
    target = tmp_path / "demo"
    assert main(["demo", str(target), "--count", "1", "--width", "10"]) != 0
    assert "not supported" in capsys.readouterr().err
    assert not target.exists()
    assert main(["demo", str(target), "--count", "2", "--width", "64"]) == 0
    assert len(list((target / "images").glob("*.exr"))) == 2
