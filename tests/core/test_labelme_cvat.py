"""labelme JSON and CVAT for images 1.1 XML: round trips of real masks with their holes,
the files those tools write, and what cannot be read."""

from __future__ import annotations

import base64
import json
import os
import xml.etree.ElementTree as ET

import cv2
import numpy as np
import pytest

from skysegui.core.annotations import (
    NON_SKY,
    SKY,
    Annotation,
    AnnotationSet,
    Category,
    ImageRecord,
    Polygon,
    labels_from_masks,
    load_labels,
    sky_mask,
)
from skysegui.core.annotations.cvat import save_cvat
from skysegui.core.annotations.labelme import save_labelme
from skysegui.core.errors import AnnotationError
from skysegui.core.project import Project
from tests._masks import iou


def _holes(labels: AnnotationSet, image_id) -> int:
    return sum(len(p.holes) for a in labels.annotations_for(image_id) for p in a.polygons)


@pytest.fixture(scope="module")
def real(gt_dir, hdri_dir):
    """Our polygons of the four real sky masks, matched to the panoramas on disk."""
    masks = {f"{p.stem}.exr": (cv2.imread(str(p), cv2.IMREAD_UNCHANGED) == 1).astype(np.uint8)
             for p in sorted(gt_dir.glob("*.png"))}
    paths = {name: hdri_dir / name for name in masks}
    labels = labels_from_masks(masks, paths=paths)
    assert sum(_holes(labels, i) for i in labels.images) >= 2  # city and forest have holes
    return labels


def _assert_same(first: AnnotationSet, back: AnnotationSet) -> None:
    for image_id, image in first.images.items():
        if not first.annotations_for(image_id):
            continue
        record = back.image_by_name(image.file_name)
        assert record is not None, image.file_name
        assert iou(sky_mask(back, record.id), sky_mask(first, image_id)) >= 0.999, image.file_name
        assert _holes(back, record.id) == _holes(first, image_id), image.file_name
        assert not [a for a in back.annotations_for(record.id) if back.role_of(a.category_id) == NON_SKY]


def test_real_masks_round_trip_through_labelme(real, tmp_path, hdri_dir):
    written = save_labelme(real, tmp_path / "labelme")
    assert sorted(p.name for p in written) == ["city.json", "forest.json", "interior.json", "sunset.json"]
    city = json.loads((tmp_path / "labelme" / "city.json").read_text(encoding="utf-8"))
    # relative to the JSON file, as labelme stores it
    assert city["imagePath"] == os.path.relpath(hdri_dir / "city.exr", tmp_path / "labelme")
    assert (city["imageWidth"], city["imageHeight"], city["imageData"]) == (1024, 512, None)
    kinds = {(s["label"], s["shape_type"]) for s in city["shapes"]}
    assert kinds == {("sky", "polygon"), ("non-sky", "polygon")}
    hole = next(s for s in city["shapes"] if s["label"] == "non-sky")
    assert hole["group_id"] is not None
    assert any(s["label"] == "sky" and s["group_id"] == hole["group_id"] for s in city["shapes"])
    back = load_labels(tmp_path / "labelme", images_dir=hdri_dir)
    assert back.format == "labelme" and back.warnings == []
    _assert_same(real, back.labels)


def test_real_masks_round_trip_through_cvat(real, tmp_path, hdri_dir):
    save_cvat(real, tmp_path / "annotations.xml")
    root = ET.parse(tmp_path / "annotations.xml").getroot()
    assert root.findtext("version") == "1.1"
    assert {e.findtext("name") for e in root.iter("label")} == {"sky", "non-sky"}
    city = next(e for e in root.iter("image") if e.attrib["name"] == "city.exr")
    assert (city.attrib["width"], city.attrib["height"]) == ("1024", "512")
    z = {p.attrib["label"]: p.attrib["z_order"] for p in city.iter("polygon")}
    assert z == {"sky": "0", "non-sky": "1"}  # the hole is drawn above its sky
    assert not any("group_id" in p.attrib for p in root.iter("polygon"))
    back = load_labels(tmp_path / "annotations.xml", images_dir=hdri_dir)
    assert back.format == "cvat" and back.warnings == []
    _assert_same(real, back.labels)


def _labels_with_cutouts() -> AnnotationSet:
    """A sky with a hole, a non-sky object over it (with a hole showing sky) and one that
    sticks out of the sky."""
    labels = AnnotationSet()
    labels.categories = {SKY: Category(SKY, "sky"), NON_SKY: Category(NON_SKY, "non-sky")}
    labels.images[1] = ImageRecord(1, "pano.jpg", 200, 100)
    square = lambda x0, y0, x1, y1: np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)  # noqa: E731
    labels.annotations[1] = Annotation(1, 1, SKY, [Polygon(square(0, 0, 200, 60), [square(10, 10, 30, 30)])])
    labels.annotations[2] = Annotation(2, 1, NON_SKY, [Polygon(square(100, 10, 160, 50), [square(120, 20, 140, 40)])])
    labels.annotations[3] = Annotation(3, 1, NON_SKY, [Polygon(square(50, 40, 70, 80))])
    return labels


@pytest.mark.parametrize("fmt", ["labelme", "cvat"])
def test_holes_of_sky_and_of_objects_come_back(tmp_path, fmt):
    labels = _labels_with_cutouts()
    if fmt == "labelme":
        save_labelme(labels, tmp_path / "lm")
        back = load_labels(tmp_path / "lm").labels
    else:
        save_cvat(labels, tmp_path / "a.xml")
        back = load_labels(tmp_path / "a.xml").labels
    (record,) = back.images.values()
    assert np.array_equal(sky_mask(back, record.id), sky_mask(labels, 1))
    shapes = sorted((back.categories[a.category_id].name, len(p.holes))
                    for a in back.annotations_for(record.id) for p in a.polygons)
    if fmt == "labelme":  # groups say which shape is whose hole: exactly what was written
        assert shapes == [("non-sky", 0), ("non-sky", 1), ("sky", 1)]
    else:  # CVAT has no such mark: the object inside the sky is read as a hole of it,
        # and its own hole as an island of sky in there (the same sky pixels)
        assert shapes == [("non-sky", 0), ("sky", 0), ("sky", 2)]


def _png_b64(mask: np.ndarray) -> str:
    ok, data = cv2.imencode(".png", mask.astype(np.uint8) * 255)
    assert ok
    return base64.b64encode(data.tobytes()).decode("ascii")


def test_labelme_files_as_labelme_writes_them(tmp_path):
    """Shapes labelme makes: polygons, rectangles, circles and masks are areas; a line is
    not (skipped with a warning); a hand-drawn cut-out inside the sky becomes a hole."""
    small = np.ones((4, 6), bool)
    data = {
        "version": "5.4.1", "flags": {}, "imagePath": "../images/pano.jpg", "imageData": None,
        "imageHeight": 100, "imageWidth": 200,
        "shapes": [
            {"label": "sky", "points": [[0, 0], [200, 0], [200, 50], [0, 50]], "group_id": None,
             "shape_type": "polygon", "flags": {}},
            {"label": "non-sky", "points": [[20, 10], [40, 10], [40, 30], [20, 30]], "group_id": None,
             "shape_type": "polygon", "flags": {}},
            {"label": "sky", "points": [[100, 60], [120, 80]], "shape_type": "rectangle"},
            {"label": "sky", "points": [[160, 80], [165, 80]], "shape_type": "circle"},
            {"label": "sky", "points": [[10, 90], [15, 93]], "shape_type": "mask", "mask": _png_b64(small)},
            {"label": "sky", "points": [[0, 99], [50, 99]], "shape_type": "line"},
            {"label": "sky", "points": [[1, 2]], "shape_type": "point"},
        ],
    }
    path = tmp_path / "pano.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = load_labels(path)
    assert result.format == "labelme"
    assert [w.split(": ", 1)[1] for w in result.warnings] == [
        "shape #5 ('sky') is a line, not an area; skipped",
        "shape #6 ('sky') is a point, not an area; skipped",
    ]
    labels = result.labels
    (record,) = labels.images.values()
    assert (record.file_name, record.width, record.height) == ("pano.jpg", 200, 100)
    mask = sky_mask(labels, record.id)
    assert mask[10:30, 20:40].sum() == 0 and mask[:50].sum() == 200 * 50 - 400
    assert mask[60:80, 100:120].all() and mask[80, 160] == 1 and mask[90:94, 10:16].all()
    assert sum(len(p.holes) for a in labels.annotations.values() for p in a.polygons) == 1


def test_a_cutout_crossing_the_sky_outline_stays_an_object(tmp_path):
    data = {"imagePath": "pano.jpg", "imageHeight": 100, "imageWidth": 200, "shapes": [
        {"label": "sky", "points": [[0, 0], [200, 0], [200, 50], [0, 50]], "shape_type": "polygon"},
        {"label": "non-sky", "points": [[20, 40], [40, 40], [40, 70], [20, 70]], "shape_type": "polygon"},
    ]}
    path = tmp_path / "pano.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    labels = load_labels(path).labels
    roles = sorted(labels.role_of(a.category_id) for a in labels.annotations.values())
    assert roles == [SKY, NON_SKY]
    assert sky_mask(labels, 1)[40:50, 20:40].sum() == 0


CVAT_XML = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta><task><name>skies</name><size>1</size><mode>annotation</mode></task></meta>
  <image id="0" name="folder/pano.jpg" width="200" height="100">
    <polygon label="sky" source="manual" occluded="0" points="0.00,0.00;200.00,0.00;200.00,50.00;0.00,50.00" z_order="0"></polygon>
    <box label="sky" source="manual" occluded="0" xtl="100.00" ytl="60.00" xbr="120.00" ybr="80.00" z_order="0"></box>
    <box label="sky" source="manual" occluded="0" xtl="140.00" ytl="60.00" xbr="180.00" ybr="70.00" rotation="90.0" z_order="0"></box>
    <mask label="sky" source="manual" occluded="0" rle="3, 4, 2, 1, 2" left="10" top="90" width="3" height="4" z_order="0"></mask>
    <polyline label="sky" source="manual" occluded="0" points="0,99;50,99" z_order="0"></polyline>
    <polygon label="non-sky" source="manual" occluded="0" points="20,10;40,10;40,30;20,30" z_order="1"></polygon>
  </image>
</annotations>
"""


def test_cvat_files_as_cvat_writes_them(tmp_path):
    path = tmp_path / "annotations.xml"
    path.write_text(CVAT_XML, encoding="utf-8")
    result = load_labels(path)
    assert result.format == "cvat"
    assert [w.split(": ", 1)[1] for w in result.warnings] == [
        "image 'folder/pano.jpg': a polyline ('sky') is not an area; skipped"]
    labels = result.labels
    (record,) = labels.images.values()
    mask = sky_mask(labels, record.id)
    assert mask[10:30, 20:40].sum() == 0  # the non-sky polygon drawn above came back as a hole
    assert sum(len(p.holes) for a in labels.annotations.values() for p in a.polygons) == 1
    assert mask[60:80, 100:120].all()
    assert mask[50:80, 155:165].all() and mask[62:68, 140:150].sum() == 0  # rotated about its centre
    # runs over the 3 x 4 box, row by row, background first: 3 off, 4 on, 2 off, 1 on, 2 off
    expected = np.zeros((4, 3), np.uint8)
    expected.reshape(-1)[3:7] = 1
    expected.reshape(-1)[9] = 1
    np.testing.assert_array_equal(mask[90:94, 10:13], expected)


@pytest.mark.parametrize("text, message", [
    ("<annotations><version>1.1</version><track id='0' label='sky'></track></annotations>", "CVAT for video"),
    ("<annotations><image name='a.jpg'", "not valid XML"),
    ("<dataset></dataset>", "not a CVAT XML file"),
])
def test_unusable_cvat_files_are_errors(tmp_path, text, message):
    path = tmp_path / "bad.xml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AnnotationError, match=message):
        load_labels(path)


def test_a_folder_without_labelme_files_is_an_error(tmp_path):
    (tmp_path / "other.json").write_text("{}", encoding="utf-8")
    with pytest.raises(AnnotationError, match="no labelme JSON files"):
        load_labels(tmp_path)


def test_opening_a_labelme_file_reads_its_folder_and_saves_beside(real, tmp_path, hdri_dir):
    """labelme keeps one file per image beside it: opening one opens them all; edits are
    saved as COCO beside it and never overwrite labelme's files."""
    folder = tmp_path / "shoot"
    folder.mkdir()
    for name in ("city.exr", "forest.exr"):
        (folder / name).write_bytes((hdri_dir / name).read_bytes())
    copy = real.copy()
    for image in copy.images.values():
        image.path = folder / image.file_name if (folder / image.file_name).exists() else None
    copy.images = {k: v for k, v in copy.images.items() if v.path is not None}
    save_labelme(copy, folder)
    project = Project.open(folder / "city.json")
    result = project.load_labels()
    assert result.format == "labelme"
    assert {i.file_name for i in result.labels.images.values() if result.labels.annotations_for(i.id)} == {
        "city.exr", "forest.exr"}
    assert project.labels_path == folder / "city.coco.json"
    project.save_labels(result.labels)
    assert json.loads((folder / "city.json").read_text(encoding="utf-8"))["shapes"]


def test_opening_a_cvat_file_is_a_project(real, tmp_path, hdri_dir):
    save_cvat(real, tmp_path / "annotations.xml")
    project = Project.open(tmp_path / "annotations.xml")
    assert project.load_labels().format == "cvat"
    assert project.labels_path == tmp_path / "annotations.coco.json"  # the XML is never overwritten
