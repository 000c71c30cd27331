"""PNG, JPEG (8/16-bit, sRGB) and Radiance .hdr (linear float) through OpenCV.

Files are read with np.fromfile + cv2.imdecode, which works for any path (OpenCV's own
file functions fail on non-ASCII paths on Windows) and reports damage as None. The
decoders' own lines on stderr (libpng, libjpeg, OpenCV's log) are captured: a failed
decode names them in its CorruptImageError, a JPEG that decodes with complaints keeps
them as ImageInfo.decoder_warnings. Decodes run in parallel (the GUI's load and
thumbnail workers); when the decoder complained or failed while another capture ran, the
decode is repeated alone, so the lines we report are this file's.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from skysegui.core.errors import CorruptImageError
from skysegui.core.imageio.detect import check_length, check_size, out_of_memory
from skysegui.core.imageio.headers import hdr_header, jpeg_header, png_header
from skysegui.core.imageio.model import ImageInfo
from skysegui.core.native_stderr import NativeOutput, capture_native_stderr, library_words
from skysegui.core.tonemap.curves import srgb_decode_table

_NAMES = {1: ("Y",), 2: ("Y", "A"), 3: ("R", "G", "B"), 4: ("R", "G", "B", "A")}

# Keep OpenCV's log at ERROR (its WARN lines are about files it cannot open, which we
# report ourselves); the user's OPENCV_LOG_LEVEL wins. Its ERROR line from a failed
# imdecode is captured and named in our error.
if "OPENCV_LOG_LEVEL" not in os.environ:
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)



class _SharedOrAlone:
    """Decodes share; a repeated decode runs alone (new decodes wait while one waits)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._running = 0
        self._alone_waiting = 0
        self._alone = False

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not (self._alone or self._alone_waiting))
            self._running += 1
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()

    @contextmanager
    def alone(self) -> Iterator[None]:
        with self._cond:
            self._alone_waiting += 1
            self._cond.wait_for(lambda: not (self._alone or self._running))
            self._alone_waiting -= 1
            self._alone = True
        try:
            yield
        finally:
            with self._cond:
                self._alone = False
                self._cond.notify_all()


_DECODES = _SharedOrAlone()

#: libpng warnings about colour-profile metadata that every viewer ignores.
_HARMLESS = ("iCCP:", "sRGB:", "cHRM:", "gAMA:", "known incorrect sRGB profile")


def probe_opencv(path: Path, source_type: str) -> ImageInfo:
    read_header = {"png": png_header, "jpg": jpeg_header}.get(source_type, hdr_header)
    width, height, bits, count, min_bytes = read_header(path)
    check_size(path, width, height)
    check_length(path, width, height, min_bytes, source_type)
    hdr = source_type == "hdr"
    return ImageInfo(
        path=path, source_type=source_type, width=width, height=height,
        channels=_NAMES.get(count, ("R", "G", "B")), is_hdr=hdr, bit_depth=bits, dtype="",
        transfer="linear" if hdr else "srgb",
    )


def decode_opencv(path: Path) -> tuple[np.ndarray, tuple[str, ...]]:
    """(the decoded array as OpenCV gives it (BGR order, uint8/uint16/float32), the
    decoder's complaints about a picture it still decoded, e.g. a damaged JPEG scan)."""
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise CorruptImageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        with _DECODES.shared():
            decoded, said = _imdecode(raw)
        if not said.alone and (decoded is None or _decoder_lines(said)):
            with _DECODES.alone():  # another thread's lines may be among ours: decode again
                decoded, said = _imdecode(raw)
    except cv2.error as exc:  # imdecode lets some failures through (its own allocation)
        if "Insufficient memory" in str(exc) or "Failed to allocate" in str(exc):
            raise out_of_memory(path) from exc
        reason = str(exc).strip().splitlines()[-1][:160]
        raise CorruptImageError(
            f"{path} is damaged or truncated and cannot be decoded ({reason}); copy or export it again"
        ) from exc
    if decoded is None:
        words = library_words(said, "libpng", "libjpeg", "opencv")
        raise CorruptImageError(
            f"{path} is damaged or truncated and cannot be decoded"
            + (f" ({words})" if words else "")
            + "; copy or export it again"
        )
    return decoded, tuple(dict.fromkeys(_decoder_lines(said)))


def _imdecode(raw: np.ndarray):
    with capture_native_stderr() as said:
        decoded = cv2.imdecode(raw, cv2.IMREAD_UNCHANGED)
    return decoded, said


def _decoder_lines(said: NativeOutput) -> list[str]:
    """The decoder's complaints about a picture (libpng's colour-profile notes left out)."""
    return said.lines("libjpeg") + [
        line for line in said.lines("libpng") if not any(h in line for h in _HARMLESS)
    ]


@lru_cache(maxsize=4)
def _decode_table(bits: int, dtype_name: str) -> np.ndarray:
    return srgb_decode_table(bits).astype(dtype_name)


def to_linear_rgb(decoded: np.ndarray, dtype, srgb: bool) -> np.ndarray:
    """BGR(A)/grey OpenCV output -> H x W x 3 RGB of `dtype`; integer sRGB codes decoded."""
    if decoded.ndim == 2:
        decoded = decoded[..., None]
    count = decoded.shape[2]
    order = [0, 0, 0] if count < 3 else [2, 1, 0]  # grey -> RGB, BGR(A) -> RGB, alpha dropped
    if decoded.dtype in (np.uint8, np.uint16):
        bits = 8 if decoded.dtype == np.uint8 else 16
        if srgb:
            table = _decode_table(bits, np.dtype(dtype).name)
        else:
            table = (np.arange(1 << bits) / ((1 << bits) - 1)).astype(dtype)
        out = np.empty(decoded.shape[:2] + (3,), dtype=dtype)
        for i, c in enumerate(order):
            np.take(table, decoded[..., c], out=out[..., i])
        return out
    out = np.empty(decoded.shape[:2] + (3,), dtype=decoded.dtype)
    for i, c in enumerate(order):
        out[..., i] = decoded[..., c]
    return out
