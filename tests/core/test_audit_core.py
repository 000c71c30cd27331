"""Acceptance-audit findings in core (issues 2-4), each a test that failed before its fix."""

from __future__ import annotations

import struct

import numpy as np
import OpenEXR
import pytest

from skysegui.core.errors import CorruptImageError
from skysegui.core.imageio import read_image
from skysegui.core.imageio.exr_header import read_exr_layout

SCANLINE_COMPRESSIONS = [
    "NO_COMPRESSION", "RLE_COMPRESSION", "ZIPS_COMPRESSION", "ZIP_COMPRESSION",
    "PIZ_COMPRESSION", "PXR24_COMPRESSION", "B44_COMPRESSION", "DWAA_COMPRESSION",
    "DWAB_COMPRESSION",
]


def _pixels(h=70, w=48) -> np.ndarray:
    rng = np.random.default_rng(3)
    return np.exp(rng.uniform(-5, 8, size=(h, w, 3))).astype(np.float16)


@pytest.mark.parametrize("compression", SCANLINE_COMPRESSIONS)
def test_truncated_exr_is_one_typed_error_without_library_noise(tmp_path, capfd, compression):
    """OpenEXR prints its own complaints to stderr; the chunk check must come first."""
    pixels = _pixels()
    whole = tmp_path / "whole.exr"
    header = {"type": OpenEXR.scanlineimage, "compression": getattr(OpenEXR, compression)}
    OpenEXR.File(header, {"RGB": pixels}).write(str(whole))
    assert read_image(whole, dtype=np.float16).pixels.shape == pixels.shape  # no false alarm
    data = whole.read_bytes()
    cut = tmp_path / "cut.exr"
    header_end = data.index(b"\x00\x00", 8)  # roughly: cuts before it fail in the header parser
    for n in sorted({header_end + 40, len(data) // 2, len(data) - 1, len(data) - 9}):
        cut.write_bytes(data[:n])
        with pytest.raises(CorruptImageError, match="cut.exr"):
            read_image(cut)
    assert capfd.readouterr().err == ""


def test_exr_with_an_unwritten_offset_entry_still_loads(tmp_path):
    """Zeros in the offset table with the data intact: the library rebuilds the table, so
    the truncation check must not refuse the file."""
    whole, pixels = tmp_path / "whole.exr", _pixels()
    OpenEXR.File({"type": OpenEXR.scanlineimage, "compression": OpenEXR.ZIP_COMPRESSION},
                 {"RGB": pixels}).write(str(whole))
    data = bytearray(whole.read_bytes())
    chunks = -(-70 // 16)  # ZIP: 16 scan lines a chunk
    _headers, start = read_exr_layout(whole)
    offsets = struct.unpack_from(f"<{chunks}Q", data, start)
    assert offsets[0] == start + 8 * chunks
    data[start + 8 * (chunks - 1): start + 8 * chunks] = bytes(8)  # last entry unwritten
    whole.write_bytes(bytes(data))
    np.testing.assert_array_equal(read_image(whole, dtype=np.float16).pixels, pixels)


def _date_named_project(tmp_path):
    """Panoramas named by date: "20230515-" looks exactly like a Label Studio upload prefix."""
    from skysegui.core.imageio import write_exr

    images = tmp_path / "proj" / "images"
    images.mkdir(parents=True)
    for name in ("20230515-sky", "20230516-sky", "cafe0001-roof"):
        write_exr(images / f"{name}.exr", np.ones((16, 32, 3), np.float32))
    return tmp_path / "proj"


def test_date_named_panoramas_stay_separate_images(tmp_path):
    from skysegui.core.annotations import Annotation, Polygon
    from skysegui.core.project import Project

    project = Project.open(_date_named_project(tmp_path))
    assert [p.name for p in project.image_paths()] == [
        "20230515-sky.exr", "20230516-sky.exr", "cafe0001-roof.exr"]
    result = project.load_labels()
    labels = result.labels
    assert sorted(i.file_name for i in labels.images.values()) == [
        "20230515-sky.exr", "20230516-sky.exr", "cafe0001-roof.exr"]
    second = labels.image_by_name("20230516-sky.exr")
    assert second.file_name == "20230516-sky.exr"
    ring = np.array([[0, 0], [32, 0], [32, 8], [0, 8]], float)
    labels.annotations[1] = Annotation(1, second.id, labels.category_for_role(1), [Polygon(ring)])
    project.save_labels(labels)
    again = project.load_labels()
    assert again.warnings == []
    assert len(again.labels.images) == 3
    owner = again.labels.images[again.labels.annotations[1].image_id]
    assert owner.file_name == "20230516-sky.exr" and owner.path.name == "20230516-sky.exr"


def test_label_studio_upload_names_still_find_date_named_files(tmp_path):
    from skysegui.core.annotations import labels_from_data

    root = _date_named_project(tmp_path)
    data = {
        "images": [{"id": 0, "file_name": "/data/upload/1/0a1b2c3d-20230516-sky.jpg", "width": 32, "height": 16},
                   {"id": 1, "file_name": "/data/upload/1/deadbeef-roof.jpg", "width": 32, "height": 16},
                   {"id": 2, "file_name": "sky.jpg", "width": 32, "height": 16}],  # which one?
        "categories": [{"id": 0, "name": "sky"}],
        "annotations": [],
    }
    result = labels_from_data(data, images_dir=root / "images")
    paths = {i.id: i.path and i.path.name for i in result.labels.images.values()}
    assert paths == {0: "20230516-sky.exr", 1: "cafe0001-roof.exr", 2: None}, result.warnings
    assert any("image 2" in w and "no image named" in w for w in result.warnings)


def _label_studio_base(label_studio_dir) -> list:
    import json

    tasks = json.loads((label_studio_dir / "city_tasks.json").read_text())
    result = tasks[0]["annotations"][0]["result"]
    box = dict(result[0], type="rectanglelabels",
               value={"x": 10, "y": 10, "width": 20, "height": 5, "rotation": 15,
                      "rectanglelabels": ["sky"]})
    result.append(box)
    return tasks


@pytest.mark.parametrize("mutate", [
    lambda r: r.__setitem__("to_name", {"a": 1}),             # an object where a name belongs
    lambda r: r.__setitem__("to_name", [1, 2]),
    lambda r: r["value"].__setitem__("rotation", "x"),         # rectangle rotation not a number
    lambda r: r["value"].__setitem__("rotation", {"a": 1}),
    lambda r: r["value"].__setitem__("x", 1e308),              # overflows when scaled to pixels
])
def test_odd_label_studio_results_only_raise_typed_errors_or_warn(label_studio_dir, mutate):
    import warnings

    from skysegui.core.annotations import labels_from_data
    from skysegui.core.errors import AnnotationError

    tasks = _label_studio_base(label_studio_dir)
    for result in tasks[0]["annotations"][0]["result"]:
        mutate(result)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy overflow warnings either
        try:
            labels_from_data(tasks, images_dir=label_studio_dir.parent / "hdri")
        except AnnotationError:
            pass


def test_randomly_mutated_label_studio_tasks_only_raise_typed_errors(label_studio_dir, hdri_dir):
    import copy
    import random

    from skysegui.core.annotations import labels_from_data
    from skysegui.core.errors import AnnotationError

    base = _label_studio_base(label_studio_dir)
    values = [None, 0, -1, 1.5, "", "x", [], {}, [1, 2], {"a": 1}, True, float("nan"), 1e308, "50"]

    def paths(node, path=()):
        yield path
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in items:
            yield from paths(child, path + (key,))

    every = [p for p in paths(base) if p]
    rng = random.Random(7)
    for _ in range(400):
        tasks = copy.deepcopy(base)
        for _ in range(rng.randint(1, 3)):
            path = rng.choice(every)
            parent = tasks
            try:
                for key in path[:-1]:
                    parent = parent[key]
                parent[path[-1]] = rng.choice(values)
            except (KeyError, IndexError, TypeError):
                pass
        try:
            labels_from_data(tasks, images_dir=hdri_dir)
        except AnnotationError:
            pass


def test_huge_coordinates_are_refused_without_numpy_warnings(label_studio_dir, hdri_dir):
    """A vertex at 1e308 is no drawing mistake to clamp: the polygon is skipped with a
    warning that says why (no arithmetic on it, so no numpy overflow noise); a vertex a
    little outside the image is clamped into it."""
    import json
    import warnings

    from skysegui.core.annotations import labels_from_data

    data = json.loads((label_studio_dir / "city_coco.json").read_text())
    data["annotations"][0]["segmentation"][0][:2] = [1e308, -1e308]
    data["annotations"][1]["segmentation"][0][:2] = [1030.0, -3.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = labels_from_data(data, images_dir=hdri_dir)
    assert any("within 1e9 of the image" in w and "skipped" in w for w in result.warnings)
    assert any("clamped" in w for w in result.warnings)
    (kept,) = result.labels.annotations.values()
    ring = kept.polygons[0].outer
    assert ring.min() >= 0 and ring[:, 0].max() <= 1024 and ring[:, 1].max() <= 512
