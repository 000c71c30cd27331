"""Cleaning image names from label files so they match the panoramas on disk.

Label Studio writes upload paths ("/data/upload/1/cb0618f6-city.jpg"), local-storage
URLs ("/data/local-files/?d=images/city.jpg"), Windows paths and LDR proxy extensions.
What identifies an image is its cleaned stem ("city"), compared case-insensitively.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

IMAGE_EXTENSIONS = (".exr", ".hdr", ".tif", ".tiff", ".png", ".jpg", ".jpeg")
# When several files share a stem, the first in this order wins (HDR before LDR proxies).
EXTENSION_PREFERENCE = {ext: rank for rank, ext in enumerate(IMAGE_EXTENSIONS)}

_UPLOAD_PREFIX = re.compile(r"^[0-9a-fA-F]{8}-(?=.)")


def base_name(name: str) -> str:
    """The last path component of a path, URL or Windows path, URL-decoded."""
    text = unquote(str(name)).strip()
    if "?d=" in text:  # Label Studio local storage: /data/local-files/?d=folder/file.jpg
        text = text.split("?d=", 1)[1]
    text = text.split("?", 1)[0].split("#", 1)[0]
    return text.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def clean_name(name: str) -> str:
    """The stem an image is known by: no folders, no upload prefix, no extension."""
    base = base_name(name)
    base = _UPLOAD_PREFIX.sub("", base, count=1)
    suffix = Path(base).suffix
    if suffix.lower() in EXTENSION_PREFERENCE or suffix.lower() in (".json", ".webp", ".bmp"):
        base = base[: -len(suffix)]
    return base


def name_key(name: str) -> str:
    """The case-insensitive key used to match a label entry to a file on disk."""
    return clean_name(name).casefold()


def index_images(folder: str | Path | None) -> dict[str, Path]:
    """Image files of a folder (not recursive) by name key, preferring HDR formats.

    Hidden files are left out: they include the half-written temporary files
    (`.<stem>.*.tmp.exr`) a crash in the middle of an atomic write leaves behind.
    """
    found: dict[str, Path] = {}
    if folder is None:
        return found
    folder = Path(folder)
    if not folder.is_dir():
        return found
    for path in sorted(folder.iterdir()):
        ext = path.suffix.lower()
        if ext not in EXTENSION_PREFERENCE or path.name.startswith(".") or not path.is_file():
            continue
        key = name_key(path.name)
        old = found.get(key)
        if old is None or EXTENSION_PREFERENCE[ext] < EXTENSION_PREFERENCE[old.suffix.lower()]:
            found[key] = path
    return found
