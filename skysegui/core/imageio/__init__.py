"""Read and write HDR and LDR images (EXR, Radiance HDR, TIFF, PNG, JPEG) with typed errors.

Public names are those of docs/architecture.md (core/imageio); the modules behind them
each do one job: detect (what a file really is), *_header (sizes without decoding),
exr / tiff / opencv_formats (decoders), sanitise (NaN/Inf/negatives), read, write.
"""

from skysegui.core.imageio.model import (
    FORMAT_BY_EXTENSION,
    IMAGE_EXTENSIONS,
    MAX_PIXELS,
    Image,
    ImageInfo,
)
from skysegui.core.imageio.read import probe_image, read_image
from skysegui.core.imageio.sanitise import SanitiseCounts, sanitise_inplace
from skysegui.core.imageio.write import (
    write_exr,
    write_hdr,
    write_image,
    write_jpg,
    write_png,
    write_tiff,
)

__all__ = [
    "FORMAT_BY_EXTENSION",
    "IMAGE_EXTENSIONS",
    "MAX_PIXELS",
    "Image",
    "ImageInfo",
    "SanitiseCounts",
    "probe_image",
    "read_image",
    "sanitise_inplace",
    "write_exr",
    "write_hdr",
    "write_image",
    "write_jpg",
    "write_png",
    "write_tiff",
]
