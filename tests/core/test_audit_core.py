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
