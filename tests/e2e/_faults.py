"""Fault injection: damaged images, label files and model folders for the reliability tests.

Every helper writes a real file (made by the real writers, then damaged the way files are
damaged in practice: a copy that stopped early, flipped bytes, a wrong extension, a header
that lies) and returns its path. Nothing here touches the program's own code paths.
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np

from skysegui.core.imageio import write_exr, write_hdr, write_jpg, write_png, write_tiff

FORMATS = ("exr", "hdr", "tif", "png", "jpg")


# --- good images to damage ---------------------------------------------------------
def radiance(width: int = 64, height: int = 32, seed: int = 0) -> np.ndarray:
    """A small linear HDR picture: a bright gradient sky over a dark ground, with noise."""
    rng = np.random.default_rng(seed)
    y = np.linspace(4.0, 0.05, height, dtype=np.float32)[:, None, None]
    pixels = np.broadcast_to(y, (height, width, 3)).copy()
    pixels *= rng.uniform(0.8, 1.2, size=(height, width, 3)).astype(np.float32)
    return pixels


def good_image(folder: Path, fmt: str, name: str = "pano", width: int = 64, height: int = 32) -> Path:
    """A valid image of `fmt` (exr, hdr, tif, png, jpg) written by the program's own writers."""
    path = Path(folder) / f"{name}.{fmt}"
    pixels = radiance(width, height)
    if fmt == "exr":
        write_exr(path, pixels)
    elif fmt == "hdr":
        write_hdr(path, pixels)
    elif fmt == "tif":
        write_tiff(path, pixels)
    elif fmt == "png":
        write_png(path, np.clip(pixels / 4.0, 0, 1))
    elif fmt == "jpg":
        write_jpg(path, np.clip(pixels / 4.0, 0, 1))
    else:
        raise ValueError(fmt)
    return path


# --- damaged images ----------------------------------------------------------------
def truncated(folder: Path, fmt: str, keep: float = 0.5, name: str = "truncated") -> Path:
    """A valid file cut after `keep` of its bytes (a copy or download that stopped)."""
    source = good_image(folder, fmt, name=f".{name}-source")
    data = source.read_bytes()
    source.unlink()
    path = Path(folder) / f"{name}.{fmt}"
    path.write_bytes(data[: max(1, int(len(data) * keep))])
    return path


def corrupt(folder: Path, fmt: str, name: str = "corrupt", seed: int = 0, where: str = "data") -> Path:
    """A valid file with noise over its second half (where="data": the header survives,
    the pixels do not) or over everything after the first 16 bytes (where="header")."""
    source = good_image(folder, fmt, name=f".{name}-source")
    data = bytearray(source.read_bytes())
    source.unlink()
    rng = np.random.default_rng(seed)
    start = len(data) // 2 if where == "data" else 16
    data[start:] = rng.integers(0, 256, len(data) - start, dtype=np.uint8).tobytes()
    path = Path(folder) / f"{name}.{fmt}"
    path.write_bytes(bytes(data))
    return path


def decodable_damaged_jpeg(folder: Path) -> Path:
    """A JPEG with damaged scan data that libjpeg still decodes (complaining on stderr).
    Which corrupt() seed gives one is found by reading the candidates with the program's
    reader (the one exception to "nothing here touches the program's code paths")."""
    import warnings

    import pytest

    from skysegui.core.errors import CorruptImageError
    from skysegui.core.imageio import read_image
    from skysegui.core.imageio.model import DecoderWarning

    for seed in range(10):
        path = corrupt(folder, "jpg", name=f"damaged{seed}", seed=seed, where="data")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DecoderWarning)
            try:
                if read_image(path).info.decoder_warnings:
                    return path
            except CorruptImageError:
                continue
    pytest.fail("no corrupt() seed gave a JPEG that decodes with complaints")


def empty(folder: Path, fmt: str, name: str = "empty") -> Path:
    path = Path(folder) / f"{name}.{fmt}"
    path.write_bytes(b"")
    return path


def wrong_extension(folder: Path, real: str = "png", claimed: str = "exr", name: str = "renamed") -> Path:
    """A valid `real` image saved under a `.claimed` name."""
    source = good_image(folder, real, name=f".{name}-source")
    path = Path(folder) / f"{name}.{claimed}"
    source.rename(path)
    return path


def unknown_extension(folder: Path, name: str = "pano.bmp") -> Path:
    """An image with an extension the program does not read."""
    source = good_image(folder, "png", name=".unknown-source")
    path = Path(folder) / name
    source.rename(path)
    return path


def exr_without_rgb(folder: Path, name: str = "depth") -> Path:
    """A real EXR holding only a depth (Z) and an alpha-like (mask.A) channel."""
    path = Path(folder) / f"{name}.exr"
    z = np.linspace(0, 100, 64 * 32, dtype=np.float32).reshape(32, 64)
    write_exr(path, np.stack([z, z / 100], axis=-1)[..., :1].repeat(3, axis=2),
              channels=("Z", "mask.A", "mask.B"), half=False)
    return path


def exr_huge_header(folder: Path, width: int = 200_000, height: int = 100_000, name: str = "huge") -> Path:
    """A real EXR whose dataWindow says `width` x `height` (a header that lies)."""
    path = good_image(folder, "exr", name=name)
    data = bytearray(path.read_bytes())
    key = b"dataWindow\x00box2i\x00"
    at = data.find(key)
    assert at > 0, "no dataWindow in the EXR header"
    value = at + len(key) + 4
    struct.pack_into("<iiii", data, value, 0, 0, width - 1, height - 1)
    path.write_bytes(bytes(data))
    return path


def png_huge_header(folder: Path, width: int = 300_000, height: int = 150_000, name: str = "huge") -> Path:
    """A real PNG whose IHDR says `width` x `height` (CRC fixed, so only the size lies)."""
    path = good_image(folder, "png", name=name)
    data = bytearray(path.read_bytes())
    struct.pack_into(">II", data, 16, width, height)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    return path


def jpg_huge_header(folder: Path, width: int = 60_000, height: int = 60_000, name: str = "huge") -> Path:
    """A real JPEG whose start-of-frame says `width` x `height` (JPEG's limit is 65535)."""
    path = good_image(folder, "jpg", name=name)
    data = bytearray(path.read_bytes())
    pos = 2
    while data[pos + 1] not in (0xC0, 0xC1, 0xC2):  # walk the markers to the frame header
        pos += 2 + struct.unpack(">H", data[pos + 2: pos + 4])[0]
    struct.pack_into(">HH", data, pos + 5, height, width)
    path.write_bytes(bytes(data))
    return path


def hdr_huge_header(folder: Path, width: int = 200_000, height: int = 100_000, name: str = "huge") -> Path:
    """A real Radiance HDR whose resolution line says `width` x `height`."""
    path = good_image(folder, "hdr", name=name)
    head, sep, rest = path.read_bytes().partition(b"\n\n")
    size_line, nl, pixels = rest.partition(b"\n")
    assert size_line.startswith(b"-Y "), size_line
    path.write_bytes(head + sep + f"-Y {height} +X {width}".encode() + nl + pixels)
    return path


def tiff_huge_header(folder: Path, width: int = 200_000, height: int = 100_000, name: str = "huge") -> Path:
    """A real TIFF whose ImageWidth / ImageLength tags say `width` x `height`."""
    import tifffile

    path = good_image(folder, "tif", name=name)
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages[0].tags
        spots = [(tags[k].valueoffset, tags[k].dtype, v)
                 for k, v in (("ImageWidth", width), ("ImageLength", height))]
    data = bytearray(path.read_bytes())
    for offset, dtype, value in spots:
        struct.pack_into("<I" if int(dtype) == 4 else "<H", data, offset, value)
    path.write_bytes(bytes(data))
    return path


#: A header that lies about a huge size, for every format.
HUGE_HEADERS = {"exr": exr_huge_header, "hdr": hdr_huge_header, "tif": tiff_huge_header,
                "png": png_huge_header, "jpg": jpg_huge_header}


def exr_bad_radiance(folder: Path, name: str = "badvalues") -> tuple[Path, dict[str, int]]:
    """A float EXR holding NaN, +Inf, -Inf and negative values; returns the planted counts."""
    pixels = radiance()
    flat = pixels.reshape(-1)
    flat[0:5] = np.nan
    flat[5:8] = np.inf
    flat[8:10] = -np.inf
    flat[10:17] = -0.25
    path = Path(folder) / f"{name}.exr"
    write_exr(path, pixels, half=False)
    return path, {"nan": 5, "inf": 5, "negative": 7}


# --- damaged label files -----------------------------------------------------------
def coco(images: list[tuple[int, str, int, int]], annotations: list[dict],
         categories: list[dict] | None = None) -> dict:
    """A COCO dict from (id, file_name, width, height) images and annotation dicts."""
    return {
        "images": [{"id": i, "file_name": f, "width": w, "height": h} for i, f, w, h in images],
        "annotations": annotations,
        "categories": categories if categories is not None else [
            {"id": 1, "name": "sky"}, {"id": 2, "name": "non-sky"}],
    }


def square(x0: float, y0: float, x1: float, y1: float) -> list[float]:
    return [x0, y0, x1, y0, x1, y1, x0, y1]


def annotation(aid, image_id=1, category_id=1, segmentation=None) -> dict:
    return {"id": aid, "image_id": image_id, "category_id": category_id,
            "segmentation": segmentation if segmentation is not None else [square(2, 2, 30, 12)],
            "iscrowd": 0}


def write_json(path: Path, data) -> Path:
    path = Path(path)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def good_labels(image: str = "pano.exr", width: int = 64, height: int = 32) -> dict:
    return coco([(1, image, width, height)], [annotation(1), annotation(2, segmentation=[square(30, 2, 60, 14)])])


def truncated_json(path: Path, keep: float = 0.6) -> Path:
    text = json.dumps(good_labels())
    Path(path).write_text(text[: int(len(text) * keep)], encoding="utf-8")
    return Path(path)


def invalid_json(path: Path) -> Path:
    Path(path).write_text('{"images": [1, 2,, ], "annotations": }', encoding="utf-8")
    return Path(path)


def binary_json(path: Path) -> Path:
    Path(path).write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00garbage")
    return Path(path)


def wrong_types(path: Path) -> Path:
    """Every field of the wrong type: the file is an object but nothing in it is usable."""
    data = {"images": {"id": 1}, "annotations": "none", "categories": 7}
    return write_json(path, data)


def wrong_field_types(path: Path) -> Path:
    """Usable structure, but some entries have wrong-typed fields (skipped with warnings)."""
    data = good_labels()
    data["annotations"] += [
        {"id": 3, "image_id": "one", "category_id": 1, "segmentation": [square(1, 1, 5, 5)]},
        {"id": 4, "image_id": 1, "category_id": 1, "segmentation": "polygon"},
        {"id": 5, "image_id": 1, "category_id": 1, "segmentation": [["a", "b", "c", "d", "e", "f"]]},
        {"id": 6, "image_id": 1, "category_id": 1, "segmentation": [square(1, 1, 5, 5)], "iscrowd": "no"},
    ]
    data["images"].append({"id": 2, "file_name": 42, "width": "wide", "height": None})
    return write_json(path, data)


def duplicate_ids(path: Path) -> Path:
    data = good_labels()
    data["annotations"].append(annotation(1, segmentation=[square(40, 16, 60, 30)]))
    data["images"].append({"id": 1, "file_name": "other.exr", "width": 64, "height": 32})
    return write_json(path, data)


def short_polygons(path: Path) -> Path:
    data = good_labels()
    data["annotations"] += [
        annotation(3, segmentation=[[1, 1, 5, 5]]),            # 2 points
        annotation(4, segmentation=[[1, 1, 5, 5, 1, 1]]),      # 3 points, 2 distinct
        annotation(5, segmentation=[[1, 1, 5, 5, 9]]),         # odd length
    ]
    return write_json(path, data)


def self_intersecting(path: Path) -> Path:
    data = good_labels()
    data["annotations"].append(annotation(3, segmentation=[[2, 2, 30, 20, 30, 2, 2, 20]]))  # bow tie
    return write_json(path, data)


def far_outside(path: Path) -> Path:
    data = good_labels()
    data["annotations"].append(annotation(3, segmentation=[square(-1e6, -50, 1e7, 3e6)]))
    return write_json(path, data)


def unknown_category(path: Path) -> Path:
    data = good_labels()
    data["annotations"].append(annotation(3, category_id=99))
    return write_json(path, data)


def missing_image(path: Path) -> Path:
    data = good_labels()
    data["images"].append({"id": 2, "file_name": "not-on-disk.exr", "width": 64, "height": 32})
    data["annotations"].append(annotation(3, image_id=2))
    return write_json(path, data)


# --- damaged model folders -----------------------------------------------------------
@functools.cache
def saved_tiny_model() -> Path:
    """A real saved model (the 'tiny' preset, untrained), built once per test process."""
    from skysegui.ml.model import PRESETS, ModelCard, build_model, save_model

    folder = Path(tempfile.mkdtemp(prefix="skysegui-tiny-model-"))
    atexit.register(shutil.rmtree, folder, True)
    config = PRESETS["tiny"]
    save_model(build_model(config), ModelCard(config=config), folder / "good")
    return folder / "good"


def copy_model(source: Path, target: Path) -> Path:
    """A copy of a saved model folder (card.json + weights) to damage."""
    shutil.copytree(source, target)
    return Path(target)


def corrupt_weights(folder: Path) -> Path:
    weights = Path(folder) / "model.weights.h5"
    data = bytearray(weights.read_bytes())
    data[len(data) // 3:] = bytes(len(data) - len(data) // 3)
    weights.write_bytes(bytes(data))
    return Path(folder)


def garbage_weights(folder: Path) -> Path:
    (Path(folder) / "model.weights.h5").write_bytes(b"this is not HDF5")
    return Path(folder)


def edit_card(folder: Path, **changes) -> Path:
    """Change card.json fields; keys of the model config go into card["config"] too."""
    card_path = Path(folder) / "card.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if key in card.get("config", {}):
            card["config"][key] = value
        card[key] = value
    card_path.write_text(json.dumps(card), encoding="utf-8")
    return Path(folder)


# --- a large label set that changes with each version (for kill and long-session tests) ---
def big_label_set(version: int, images: int = 24, per_image: int = 4, vertices: int = 1200):
    """A deterministic AnnotationSet of about images * per_image * vertices vertices whose
    content depends on `version` (every version differs in every annotation)."""
    from skysegui.core.annotations import Annotation, AnnotationSet, Category, ImageRecord, Polygon

    labels = AnnotationSet()
    labels.categories[1] = Category(1, "sky")
    labels.categories[2] = Category(2, "non-sky")
    labels.extra["skysegui_test_version"] = version
    t = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    aid = 1
    for i in range(1, images + 1):
        labels.images[i] = ImageRecord(i, f"pano{i:03d}.exr", 2048, 1024)
        for k in range(per_image):
            radius = 100 + 5 * k + (version % 50)
            ring = np.stack([1024 + radius * np.cos(t) + 200 * k, 512 + radius * np.sin(t)], axis=1)
            labels.annotations[aid] = Annotation(aid, i, 1 + (k % 2), [Polygon(np.round(ring, 3))])
            aid += 1
    return labels
