"""Export: composited overlays, mask PNGs and sky-alpha EXRs, for one image or a project.

overlay    the tone-mapped image with the mask painted over it (pure compositing)
hdr_alpha  HDR radiance with the sky as alpha (matte, premultiplied sky, ground)
sources    where the sky comes from: the labels or a saved prediction
batch      one file per image over a project or a selection; progress, cancel,
           never overwrites without overwrite=True
"""

from skysegui.core.export.batch import (
    EXPORT_KINDS,
    OVERLAY_FORMATS,
    ExportOptions,
    ExportResult,
    FilesExistError,
    export_images,
    export_project,
    output_name,
    preview,
)
from skysegui.core.export.hdr_alpha import LAYOUTS, alpha_layers, compose_rgba, write_alpha_exr
from skysegui.core.export.overlay import NAMED_COLORS, composite, outline_mask, parse_color
from skysegui.core.export.sources import SOURCES

__all__ = [
    "EXPORT_KINDS",
    "LAYOUTS",
    "NAMED_COLORS",
    "OVERLAY_FORMATS",
    "SOURCES",
    "ExportOptions",
    "ExportResult",
    "FilesExistError",
    "alpha_layers",
    "composite",
    "compose_rgba",
    "export_images",
    "export_project",
    "outline_mask",
    "output_name",
    "parse_color",
    "preview",
    "write_alpha_exr",
]
