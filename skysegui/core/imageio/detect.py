"""Find out what a file really is before a decoder touches it.

Checks, in order: the path exists and is a file, it is not empty, its extension is one
we read, and its first bytes (magic number) match the extension. A decoder then never
sees a PNG renamed to .exr, and the user is told exactly what is wrong.
"""

from __future__ import annotations

import os
from pathlib import Path

from skysegui.core.errors import (
    EmptyImageError,
    ImageReadError,
    ImageTooLargeError,
    UnsupportedFormatError,
)
from skysegui.core.imageio.model import FORMAT_BY_EXTENSION, IMAGE_EXTENSIONS, MAX_PIXELS

_NAMES = {"exr": "OpenEXR", "hdr": "Radiance HDR", "tiff": "TIFF", "png": "PNG", "jpg": "JPEG"}
_EXTENSION_FOR = {"exr": ".exr", "hdr": ".hdr", "tiff": ".tif", "png": ".png", "jpg": ".jpg"}


def _a(fmt: str) -> str:
    """'a PNG', 'an OpenEXR': the format's name with its article."""
    name = _NAMES[fmt]
    return f"{'an' if name[0] in 'AEIOU' else 'a'} {name}"


def sniff(head: bytes) -> str | None:
    """The format named by a file's first bytes, or None when unknown."""
    if head.startswith(b"\x76\x2f\x31\x01"):
        return "exr"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head.startswith(b"#?"):
        return "hdr"
    return None


def check_file(path: str | os.PathLike) -> tuple[Path, str]:
    """Return (path, format) for a readable image file or raise the typed error."""
    path = Path(path)
    if not path.exists():
        raise ImageReadError(f"{path} does not exist: check the path and the file name")
    if not path.is_file():
        raise ImageReadError(f"{path} is a folder, not an image file: choose an image inside it")
    ext = path.suffix.lower()
    if ext not in IMAGE_EXTENSIONS:
        known = ", ".join(sorted(IMAGE_EXTENSIONS))
        raise UnsupportedFormatError(
            f"{path.name}: '{ext or 'no extension'}' is not an image type SkySeg reads "
            f"(it reads {known}); convert the image to EXR or PNG"
        )
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise ImageReadError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if size == 0:
        raise EmptyImageError(
            f"{path} is empty (0 bytes): the copy or download did not finish; copy it again"
        )
    expected = FORMAT_BY_EXTENSION[ext]
    actual = sniff(head)
    if actual != expected:
        if actual is None:
            raise UnsupportedFormatError(
                f"{path.name} has the extension {ext} but its content is not "
                f"{_a(expected)} file (unknown content); re-export it as {_NAMES[expected]}"
            )
        raise UnsupportedFormatError(
            f"{path.name} has the extension {ext} but is really {_a(actual)} file; "
            f"rename it to {path.stem}{_EXTENSION_FOR[actual]}"
        )
    return path, expected


def check_size(path: Path, width: int, height: int) -> None:
    """Refuse images we cannot hold (or with a nonsense size) before decoding them."""
    if width <= 0 or height <= 0:
        raise ImageReadError(f"{path} has no pixels ({width} x {height}); it cannot be used")
    if width * height > MAX_PIXELS:
        raise ImageTooLargeError(
            f"{path.name} is {width} x {height} pixels, more than the {MAX_PIXELS:,} pixels "
            "(16384 x 8192) SkySeg supports; scale it down (e.g. to 8192 x 4096) first"
        )
