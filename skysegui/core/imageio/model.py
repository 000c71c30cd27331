"""The in-memory image and its metadata, and the limits every reader enforces."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

# defined beside the typed errors (no numpy there), so the CLI starts without numpy
from skysegui.core.errors import DecoderWarning  # noqa: F401

#: Extensions we read, lower case.
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".exr", ".hdr", ".tif", ".tiff", ".png", ".jpg", ".jpeg"}
)

#: source_type for each extension.
FORMAT_BY_EXTENSION: dict[str, str] = {
    ".exr": "exr",
    ".hdr": "hdr",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".png": "png",
    ".jpg": "jpg",
    ".jpeg": "jpg",
}

_DECODER_NAMES = {"jpg": "JPEG", "png": "PNG", "hdr": "Radiance HDR", "tiff": "TIFF", "exr": "OpenEXR"}

#: Largest image we open: a 16K x 8K panorama (134 M pixels, 2x the width and height of
#: the 8K panoramas artists use). Its float16 RGB pixels take 0.8 GB and a float32 copy
#: 1.6 GB, which is the most a desktop machine can be expected to hold next to a model.
MAX_PIXELS: int = 16384 * 8192

#: The most memory one file's decoded samples may take before we keep what we show: an
#: image of MAX_PIXELS as RGBA float32 (2 GiB). It bounds what the decoders allocate for
#: files whose pixel count is within MAX_PIXELS but that carry many channels or parts (an
#: EXR with dozens of AOVs, a second huge part) or many pages (a TIFF stack).
MAX_DECODE_BYTES: int = 16 * MAX_PIXELS


@dataclass
class ImageInfo:
    """What a file holds, read from its header where the format allows."""

    path: Path
    source_type: str  # "exr" | "hdr" | "tiff" | "png" | "jpg"
    width: int
    height: int
    channels: tuple[str, ...]  # names in the file, e.g. ("R","G","B") or ("diffuse.R", ...)
    is_hdr: bool
    bit_depth: int  # bits per channel in the file: 8, 16 or 32
    dtype: str  # dtype of the returned pixels ("" when only probed)
    transfer: str  # "linear" (HDR) or "srgb" (LDR files)
    sanitised_nan: int = 0
    sanitised_inf: int = 0
    sanitised_negative: int = 0
    #: What the decoder said about a picture it still decoded (a damaged JPEG scan:
    #: "Corrupt JPEG data: premature end of data segment"); the pixels may be wrong.
    decoder_warnings: tuple[str, ...] = ()
    #: The primaries the file declares (an EXR's "chromaticities": red, green, blue and
    #: white x,y); None when it declares none, which means Rec.709 / sRGB.
    chromaticities: tuple[float, ...] | None = None
    #: True when read_image converted the pixels from those primaries to Rec.709 / sRGB
    #: (read_image(..., rec709=False) keeps the file's own pixels, as export does).
    converted_to_rec709: bool = False

    @property
    def primaries(self) -> str:
        """The declared primaries in words: 'ACES AP0', 'Rec.709 / sRGB', 'custom', ..."""
        from skysegui.core.imageio.primaries import primaries_name

        return primaries_name(self.chromaticities)

    @property
    def sanitised_total(self) -> int:
        return self.sanitised_nan + self.sanitised_inf + self.sanitised_negative

    @property
    def decoder_note(self) -> str:
        """One line for the user about decoder_warnings ('' when there are none)."""
        if not self.decoder_warnings:
            return ""
        kind = _DECODER_NAMES.get(self.source_type, self.source_type.upper())
        return (
            f"{Path(self.path).name}: the {kind} decoder reported damage "
            f"({'; '.join(self.decoder_warnings)}); parts of the picture may be wrong, "
            "export it again"
        )


@dataclass
class Image:
    """H x W x 3 linear RGB pixels (LDR files are sRGB-decoded; Rec.709 / sRGB primaries
    unless read with rec709=False) and where they came from."""

    pixels: np.ndarray
    info: ImageInfo

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])
