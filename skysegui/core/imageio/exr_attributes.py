"""The header attributes of an input EXR that an export must carry over.

A sky-alpha EXR has to drop into Nuke or Blender as the same image with an alpha, so
everything that describes the image survives: chromaticities, envmap (latlong),
owner, capDate, utcOffset, comments, the windows, pixel aspect, camera matrices, frame
rate, studio-specific attributes. Only what describes the storage of the pixels is
left out, because the writer sets it: the channel list, the compression (we always
write lossless ZIP) and its settings, line order, tiling and the multi-part layout.

Read and written through OpenEXR's own File API (OpenEXR >= 3.3), which keeps the
attribute types; the one type it reads but cannot write back (Rational) is passed as a
fractions.Fraction, which it writes as the same rational.
"""

from __future__ import annotations

import fractions
from pathlib import Path

#: Attributes the writer decides (storage, not image).
STORAGE_ATTRIBUTES = frozenset({
    "channels", "compression", "dwaCompressionLevel", "zipCompressionLevel",
    "lineOrder", "tiles", "type", "version", "chunkCount", "name", "view", "multiView",
    "maxSamplesPerPixel",
})


def carried_attributes(path: str | Path, width: int, height: int) -> dict:
    """The attributes of `path`'s image part to write into an export of that image.

    The data and display windows are kept only when the export has the same size as
    the input's data window (they place the pixels; a resized export gets new ones).
    A file that cannot be read gives {} (the export then has a plain header).
    """
    import OpenEXR

    from skysegui.core.errors import ImageReadError
    from skysegui.core.imageio.exr import _pick_part
    from skysegui.core.imageio.exr_header import read_exr_headers

    path = Path(path)
    try:
        index, _names = _pick_part(path, read_exr_headers(path))
        header = OpenEXR.File(str(path), header_only=True).parts[index].header
    except (ImageReadError, RuntimeError, ValueError, OSError, IndexError):
        return {}
    kept = {k: _writable(v) for k, v in header.items() if k not in STORAGE_ATTRIBUTES}
    window = kept.get("dataWindow")
    if window is not None:
        (x0, y0), (x1, y1) = window
        if (int(x1) - int(x0) + 1, int(y1) - int(y0) + 1) != (width, height):
            kept.pop("dataWindow")
            kept.pop("displayWindow", None)
    return kept


def _writable(value):
    """The value as OpenEXR's writer accepts it (it reads Rational but writes Fraction)."""
    import OpenEXR

    if isinstance(value, OpenEXR.Rational):
        return fractions.Fraction(int(value.n), int(value.d))
    return value


def exr_header(attributes: dict | None) -> dict:
    """A File API header: the carried attributes plus our storage (ZIP, scan lines)."""
    import OpenEXR

    header = dict(attributes or {})
    header.update(compression=OpenEXR.ZIP_COMPRESSION, type=OpenEXR.scanlineimage)
    return header


def write_with_attributes(target: str | Path, channels: dict, attributes: dict | None) -> list[str]:
    """Write `channels` (File API arrays) to `target` with the carried `attributes`.

    Returns the attributes that had to be left out ('name (why)'), normally none: when
    the whole header cannot be written, each attribute is tried alone on a 1 x 1 image
    and the unwritable ones are dropped, so one odd attribute never costs the export.
    Storage errors (disk full, no permission) still raise RuntimeError / OSError.
    """
    import OpenEXR

    # the File API turns the arrays of the dict it is given into Channels: give it copies
    try:
        OpenEXR.File(exr_header(attributes), dict(channels)).write(str(target))
        return []
    except (RuntimeError, TypeError, ValueError):
        if not attributes:
            raise
    kept, dropped = _writable_subset(attributes, channels)
    try:
        OpenEXR.File(exr_header(kept), dict(channels)).write(str(target))
    except (RuntimeError, TypeError, ValueError):
        windows = [k for k in ("dataWindow", "displayWindow") if kept.pop(k, None) is not None]
        OpenEXR.File(exr_header(kept), dict(channels)).write(str(target))
        dropped += [f"{k} (does not fit the pixels)" for k in windows]
    return dropped


def _writable_subset(attributes: dict, channels: dict) -> tuple[dict, list[str]]:
    """The attributes the OpenEXR binding can write alone, and 'name (why)' of the others."""
    import tempfile

    import numpy as np
    import OpenEXR

    sample = {name: np.ascontiguousarray(a[:1, :1]) for name, a in channels.items()}
    kept, dropped = {}, []
    with tempfile.TemporaryDirectory(prefix="skysegui-exr-") as tmp:
        probe = str(Path(tmp) / "probe.exr")
        for name, value in attributes.items():
            if name in ("dataWindow", "displayWindow"):
                kept[name] = value  # they depend on the real size: the real write checks them
                continue
            try:
                OpenEXR.File(exr_header({name: value}), sample).write(probe)
            except (RuntimeError, TypeError, ValueError) as exc:
                dropped.append(f"{name} ({exc})")
                continue
            kept[name] = value
    return kept, dropped
