"""Cleaning image names from label files so they match the panoramas on disk.

Label Studio writes upload paths ("/data/upload/1/cb0618f6-city.jpg"), local-storage
URLs ("/data/local-files/?d=images/city.jpg"), Windows paths and LDR proxy extensions.
What identifies an image is its cleaned stem ("city"), compared case-insensitively.
Files on disk are indexed by their whole stem: a name that merely looks like an upload
prefix ("20230515-sky.exr", a date) must not make two panoramas one. A label-file name is
looked up by its whole stem first and without the upload prefix second (`lookup_keys`).
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


def clean_name(name: str, upload_prefix: bool = True) -> str:
    """The stem an image is known by: no folders, no upload prefix, no extension.

    upload_prefix=False keeps a leading "cb0618f6-" (for names of files on disk)."""
    base = base_name(name)
    if upload_prefix:
        base = _UPLOAD_PREFIX.sub("", base, count=1)
    suffix = Path(base).suffix
    if suffix.lower() in EXTENSION_PREFERENCE or suffix.lower() in (".json", ".webp", ".bmp"):
        base = base[: -len(suffix)]
    return base


def name_key(name: str) -> str:
    """The case-insensitive key of a label entry's name, without the upload prefix."""
    return clean_name(name).casefold()


def label_stem(name: str) -> str:
    """The stem of a label-file name, without the upload prefix only when the name is a
    path or URL (Label Studio's "/data/upload/1/cb0618f6-city.jpg"): a bare
    "20230515-sky.exr" is a file name of its own, not an upload."""
    text = unquote(str(name))
    uploaded = "/" in text or "\\" in text
    return clean_name(name, upload_prefix=uploaded)


def file_key(name: str) -> str:
    """The case-insensitive key of a file on disk: its whole stem (see index_images)."""
    return clean_name(name, upload_prefix=False).casefold()


def lookup_keys(name: str) -> tuple[str, ...]:
    """Keys to try, in order, to find the file a label entry names in an index_images dict."""
    whole, short = file_key(name), name_key(name)
    return (whole,) if whole == short else (whole, short)


def find_image(on_disk: dict[str, Path], name: str) -> Path | None:
    """The file of `on_disk` (from index_images) that a label-file name refers to.

    Last resort: the one file whose own upload prefix makes the difference (images
    downloaded back from Label Studio, "cb0618f6-city.exr" for "city.jpg"), if only one."""
    for key in lookup_keys(name):
        if key in on_disk:
            return on_disk[key]
    short = name_key(name)
    matches = [path for path in on_disk.values() if name_key(path.name) == short]
    return matches[0] if len(matches) == 1 else None


MAX_NAME_BYTES = 200  # an output file's stem; the file system allows 255 with the suffix


def output_name_problem(stem: str) -> str | None:
    """Why `stem` (cleaned from a label file) cannot name an output file, or None.

    A NUL byte, control characters (newlines), folder separators, '..', an empty stem or
    one longer than MAX_NAME_BYTES in UTF-8 never name a file we write."""
    if not stem or not stem.strip():
        return "its name is empty"
    if any(ord(c) < 32 or ord(c) == 127 for c in stem):
        return "its name holds a NUL byte or control characters"
    if "/" in stem or "\\" in stem or stem in (".", ".."):
        return "its name is a path, not a file name"
    if any(0xD800 <= ord(c) <= 0xDFFF for c in stem):
        return "its name holds a lone surrogate (not a valid Unicode character)"
    if len(stem.encode("utf-8", "replace")) > MAX_NAME_BYTES:
        return f"its name is longer than {MAX_NAME_BYTES} bytes"
    return None


def check_output_stem(stem: str) -> str:
    """`stem` itself when it can name an output file inside the chosen folder (see
    output_name_problem); UnsafeNameError otherwise. The one check every output named
    after a label file's image name goes through."""
    from skysegui.core.errors import UnsafeNameError

    problem = output_name_problem(stem)
    if problem:
        raise UnsafeNameError(f"{stem!r} cannot name an output file: {problem}")
    return stem


def safe_output_stem(name: str) -> str:
    """The output stem of a label file's image name (absolute path, '..', URL, Windows
    drive or UNC path: only the last component, see label_stem), or UnsafeNameError when
    what is left still cannot name a file inside the chosen folder (NUL, newline, ...)."""
    return check_output_stem(label_stem(name))


def index_images(folder: str | Path | None) -> dict[str, Path]:
    """Image files of a folder (not recursive) by file_key, preferring HDR formats.

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
        key = file_key(path.name)
        old = found.get(key)
        if old is None or EXTENSION_PREFERENCE[ext] < EXTENSION_PREFERENCE[old.suffix.lower()]:
            found[key] = path
    return found
