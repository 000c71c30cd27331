"""Find out what a file really is before a decoder touches it.

Checks, in order: the path exists and is a file, it is not empty, its extension is one
we read, and its first bytes (magic number) match the extension. A decoder then never
sees a PNG renamed to .exr, and the user is told exactly what is wrong.
"""

from __future__ import annotations

import os
from pathlib import Path

from skysegui.core.errors import (
    CorruptImageError,
    EmptyImageError,
    ImageReadError,
    ImageTooLargeError,
    UnsupportedFormatError,
)
from skysegui.core.imageio.model import (
    FORMAT_BY_EXTENSION,
    IMAGE_EXTENSIONS,
    MAX_DECODE_BYTES,
    MAX_PIXELS,
)

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
    if path.is_dir():
        raise ImageReadError(f"{path} is a folder, not an image file: choose an image inside it")
    if not path.is_file():  # a pipe, a device, a socket: reading it could block or never end
        raise ImageReadError(
            f"{path} is not a regular file (a pipe or a device): copy the image into a file first"
        )
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


def _size_words(nbytes: int) -> str:
    return f"{nbytes / 2**30:.1f} GB" if nbytes >= 2**30 else f"{nbytes / 2**20:.0f} MB"


def check_decode_bytes(path: Path, nbytes: int, what: str, advice: str) -> None:
    """Refuse a file whose decoder would allocate more than MAX_DECODE_BYTES (`what` says
    what the file holds, e.g. '43 channels in 2 parts'), before it allocates anything."""
    if nbytes > MAX_DECODE_BYTES:
        raise ImageTooLargeError(
            f"{path.name} holds {what}: decoding it needs {_size_words(nbytes)}, more than the "
            f"{_size_words(MAX_DECODE_BYTES)} SkySeg allows for one image; {advice}"
        )


def check_length(path: Path, width: int, height: int, min_bytes: int, fmt: str,
                 have: int | None = None) -> None:
    """CorruptImageError when the file (or its pixel data: `have` bytes) is shorter than any
    valid `fmt` file of its header's size can be (`min_bytes`, from the format's best
    possible compression ratio): a truncated file or a damaged size, refused before a
    decoder allocates its pixels."""
    size = path.stat().st_size if have is None else have
    if size < min_bytes:
        raise CorruptImageError(
            f"{path} is truncated or its header is damaged: a {width} x {height} {_NAMES[fmt]} "
            f"file needs at least {min_bytes:,} bytes{' of pixel data' if have is not None else ''}, "
            f"this one has {size:,}; copy it again or re-export it"
        )


def out_of_memory(path: Path, width: int | None = None, height: int | None = None) -> ImageTooLargeError:
    """The typed error for a decode that ran out of memory (MemoryError, std::bad_alloc)."""
    what = f"its {width} x {height} pixels" if width and height else "it"
    return ImageTooLargeError(
        f"{path.name}: not enough memory to decode {what}; close other programs (or images) "
        "and try again, or scale the image down"
    )
