"""TIFF through tifffile: float (HDR, linear) and 8/16-bit (sRGB) files, first image only.

tifffile logs every damaged tag (often a dozen lines) before it gives up; while our
readers run, its log records are collected for the reading thread instead of printed,
and a failed read names the decisive one in its CorruptImageError.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import tifffile

from skysegui.core.errors import CorruptImageError, UnsupportedFormatError
from skysegui.core.imageio.detect import check_decode_bytes, check_length, check_size
from skysegui.core.imageio.model import ImageInfo


class _TifffileLog(logging.Handler):
    """tifffile's records go to the reading thread's list while one of our readers runs;
    elsewhere (other code calling tifffile) they are printed as Python would print them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        records = getattr(self.local, "records", None)
        if records is not None:
            records.append(record.getMessage())
        elif sys.stderr is not None:
            sys.stderr.write(f"{record.getMessage()}\n")


_LOG = _TifffileLog()
_logger = logging.getLogger("tifffile")
_logger.addHandler(_LOG)
_logger.propagate = False
_logger.setLevel(logging.WARNING)


@contextmanager
def _collect_log() -> Iterator[list[str]]:
    """tifffile's log lines of this thread while the block runs (nested: the outer list)."""
    outer = getattr(_LOG.local, "records", None)
    records = outer if outer is not None else []
    _LOG.local.records = records
    try:
        yield records
    finally:
        _LOG.local.records = outer


def _log_reason(records: list[str]) -> str:
    """The last logged complaint without tifffile's object prefix, or ''."""
    if not records:
        return ""
    text = records[-1]
    inner = re.search(r"raised \w+\('(.*)'\)$", text)
    if inner:
        text = inner.group(1)
    text = re.sub(r"^<[^>]*>\s*", "", text).strip()
    return text[:160]

_ERRORS = (ValueError, OSError, KeyError, IndexError, RuntimeError, EOFError, TypeError)


#: the largest expansion of each compression on decoding (TIFF compression tag -> ratio):
#: none, LZW (codes of at least 9 bits for strings of at most 4096 bytes), deflate (both
#: tags), PackBits. Others (JPEG, zstd, LZMA, ...) get no length check.
_RATIO = {1: 1, 5: 4096, 8: 1032, 32946: 1032, 32773: 64}


def _stored_bytes(page, size: int) -> int:
    """Bytes of the page's strips or tiles that lie inside the file."""
    return sum(min(int(count), max(0, size - int(offset)))
               for offset, count in zip(page.dataoffsets, page.databytecounts, strict=False))


def _series_layout(path: Path):
    """(width, height, channel count, dtype, bits, axes, pages, decoded bytes, fewest stored
    bytes, stored bytes) of the first image of the first series (a series of several pages
    is a stack: only its first page is read)."""
    with _collect_log() as logged:
        try:
            with tifffile.TiffFile(path) as tif:
                series = tif.series[0]
                pages = len(series.pages)
                key = series.keyframe
                axes, shape = (key.axes, key.shape) if pages > 1 else (series.axes, series.shape)
                dtype = np.dtype(series.dtype)
                bits = int(tif.pages[0].bitspersample)
                samples = int(np.prod(shape, dtype=object))
                decoded = samples * dtype.itemsize
                ratio = _RATIO.get(int(key.compression))
                # half of what the best ratio allows: flat files come within about 10 % of it
                fewest = samples * int(key.bitspersample) // 8 // ratio // 2 if ratio else 0
                stored = _stored_bytes(series.pages[0] or key, path.stat().st_size)
        except _ERRORS as exc:
            raise CorruptImageError(f"{path} is a damaged TIFF ({exc}); export it again") from exc
        except Exception as exc:  # tifffile raises its own TiffFileError (a ValueError subclass)
            raise CorruptImageError(f"{path} is a damaged TIFF ({exc}); export it again") from exc
    dims = dict(zip(axes, shape, strict=True))
    if ("Y" not in dims or "X" not in dims) and logged:  # tifffile gave up on damaged tags
        raise CorruptImageError(f"{path} is a damaged TIFF ({_log_reason(logged)}); export it again")
    if "Y" not in dims or "X" not in dims:
        raise UnsupportedFormatError(f"{path.name} is not a 2-D TIFF image (axes {axes})")
    count = dims.get("S", dims.get("C", 1))
    return dims["X"], dims["Y"], count, dtype, bits, axes, pages, decoded, fewest, stored


def probe_tiff(path: Path) -> ImageInfo:
    width, height, count, dtype, bits, _axes, _pages, decoded, fewest, stored = _series_layout(path)
    check_size(path, width, height)
    check_decode_bytes(path, decoded, f"{count} samples per pixel", "save it as an RGB TIFF")
    check_length(path, width, height, fewest, "tiff", have=stored)
    is_float = dtype.kind == "f"
    if not is_float and dtype not in (np.uint8, np.uint16):
        raise UnsupportedFormatError(
            f"{path.name} stores {dtype} samples; SkySeg reads 8/16-bit and float TIFFs"
        )
    names = {1: ("Y",), 2: ("Y", "A"), 3: ("R", "G", "B")}.get(count, ("R", "G", "B", "A"))
    return ImageInfo(
        path=path, source_type="tiff", width=width, height=height, channels=names,
        is_hdr=is_float, bit_depth=bits, dtype="", transfer="linear" if is_float else "srgb",
    )


def read_tiff_array(path: Path) -> np.ndarray:
    """H x W x C (or H x W) array of the first image in the file's own sample type."""
    _w, _h, _c, _dtype, _bits, axes, pages, _decoded, _fewest, _stored = _series_layout(path)
    try:
        with _collect_log() as logged:
            # a stack (several pages): its first page only, not every page at once
            data = tifffile.imread(path, series=0, key=0 if pages > 1 else None)
    except MemoryError:
        raise
    except Exception as exc:  # tifffile/imagecodecs raise many types for damaged data
        msg = str(exc)
        if "imagecodecs" in msg:
            raise UnsupportedFormatError(
                f"{path.name} uses a TIFF compression this installation cannot decode ({msg}); "
                "re-save it uncompressed or with deflate (zlib) compression"
            ) from exc
        raise CorruptImageError(f"{path} is damaged or truncated ({msg}); export it again") from exc
    if data.ndim != len(axes) or data.size == 0:  # tifffile hands back an empty array for damaged pages
        reason = _log_reason(logged)
        raise CorruptImageError(
            f"{path} is damaged: its pixel data does not match its header (axes {axes}, "
            f"decoded shape {data.shape}{'; ' + reason if reason else ''}); export it again"
        )
    keep = [a for a in axes if a in "YXSC"]
    if len(keep) != data.ndim:  # extra axes (pages, time, ...): take the first of each
        index = tuple(slice(None) if a in "YXSC" else 0 for a in axes)
        data = data[index]
    order = [keep.index(a) for a in "YX"] + [i for i, a in enumerate(keep) if a in "SC"]
    if order != list(range(data.ndim)):
        data = np.ascontiguousarray(np.transpose(data, order))
    return data
