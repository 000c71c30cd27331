"""Image names from label files match the panoramas on disk."""

from __future__ import annotations

import pytest

from skysegui.core.annotations import clean_name, index_images, name_key


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("/data/upload/1/cb0618f6-city.jpg", "city"),
        ("C:\\Users\\artist\\skies\\Sunset_01.EXR", "Sunset_01"),
        ("/data/local-files/?d=panos/forest%20edge.jpg", "forest edge"),
        ("https://host/x/0123abcd-my-pano.hdr?token=1", "my-pano"),
        ("city", "city"),
        ("archive.2024.tif", "archive.2024"),
        ("deadbeef-", "deadbeef-"),
    ],
)
def test_clean_name(raw, clean):
    assert clean_name(raw) == clean


def test_name_key_is_case_insensitive():
    assert name_key("/data/upload/3/CB0618F6-City.JPG") == name_key("city.exr")


def test_index_prefers_hdr_over_ldr_proxies(tmp_path):
    for name in ("city.jpg", "city.exr", "city.png", "forest.png", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    found = index_images(tmp_path)
    assert found["city"].name == "city.exr"
    assert found["forest"].name == "forest.png"
    assert "notes" not in found
