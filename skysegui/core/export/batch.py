"""Batch export: one output file per image, over a project or a selection of its images.

File names (in the output folder; `-inv` is added before the extension kind when the
sky is inverted):

  overlay     <stem>.overlay.png | .overlay.jpg | .overlay.tif (16-bit)
  mask        <stem>.mask.png    8-bit, sky 255, else 0
  prob        <stem>.prob.png    16-bit, probability * 65535 (labels give 0 / 65535)
  rgba-exr    <stem>.rgba.exr    radiance as read + alpha = sky (see hdr_alpha); the
                                 input EXR's header attributes are kept
  sky-exr     <stem>.sky.exr     premultiplied sky only
  ground-exr  <stem>.ground.exr  premultiplied ground only

Nothing is overwritten unless overwrite=True: the whole batch is checked first and an
ExportError names the first files in the way. Images without labels (or without a
prediction) are skipped and listed in the result's warnings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from skysegui.core.atomicio import atomic_write
from skysegui.core.choices import EXPORT_KINDS, OVERLAY_FORMATS
from skysegui.core.errors import ExportError, ImageReadError
from skysegui.core.export.hdr_alpha import alpha_layers, write_alpha_exr
from skysegui.core.export.overlay import (
    BAND_ROWS,
    binary_mask,
    check_opacity,
    composite,
    outline_mask,
    parse_color,
)
from skysegui.core.export.sources import SOURCES, SizeMismatchError, make_source
from skysegui.core.progress import CancelToken, ProgressFn, check, report

_EXR_LAYOUT = {"rgba-exr": "matte", "sky-exr": "sky", "ground-exr": "ground"}
_NAME_KIND = {"rgba-exr": "rgba", "sky-exr": "sky", "ground-exr": "ground"}
_OVERLAY_EXT = {"png": ".png", "jpg": ".jpg", "tiff16": ".tif"}
JPEG_QUALITY = 95
CONFLICTS_SHOWN = 5


class FilesExistError(ExportError):
    """Some output files already exist (the GUI asks; the CLI needs --force)."""


@dataclass(frozen=True)
class ExportOptions:
    """Everything that decides the output files (the CLI flags and the dialog's fields)."""

    what: str = "overlay"
    source: str = "labels"
    opacity: float = 0.5
    color: str = "#ff3030"
    outline: int = 0
    outline_color: str = "white"
    tone: object | None = None  # core.tonemap.ToneSettings; None: the defaults
    format: str = "png"
    invert: bool = False
    soft: bool = False  # prediction source: the probability instead of the binary mask

    def validated(self) -> ExportOptions:
        if self.what not in EXPORT_KINDS:
            raise ExportError(f"unknown export {self.what!r}: use one of {', '.join(EXPORT_KINDS)}")
        if self.source not in SOURCES:
            raise ExportError(f"unknown source {self.source!r}: use one of {', '.join(SOURCES)}")
        if self.format not in OVERLAY_FORMATS:
            raise ExportError(f"unknown format {self.format!r}: use one of {', '.join(OVERLAY_FORMATS)}")
        if self.outline < 0:
            raise ExportError(f"outline width {self.outline} is negative: give 0 (none) or a width in px")
        check_opacity(self.opacity)
        parse_color(self.color)
        parse_color(self.outline_color)
        return self

    def tone_settings(self):
        from skysegui.core.tonemap import ToneSettings

        return self.tone if self.tone is not None else ToneSettings()

    @property
    def wants_soft(self) -> bool:
        """Read the probability map (prob export, or a soft prediction overlay / alpha)."""
        return self.source == "prediction" and (self.soft or self.what == "prob")


@dataclass
class ExportResult:
    written: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PlannedFile:
    image: Path
    target: Path
    skip_reason: str | None = None


def output_name(image: str | Path, options: ExportOptions) -> str:
    """The file name of one image's export, e.g. 'city.overlay.png' or 'city.rgba-inv.exr'."""
    stem = Path(str(image).replace("\\", "/")).stem
    inv = "-inv" if options.invert else ""
    if options.what == "overlay":
        return f"{stem}.overlay{inv}{_OVERLAY_EXT[options.format]}"
    if options.what in ("mask", "prob"):
        return f"{stem}.{options.what}{inv}.png"
    return f"{stem}.{_NAME_KIND[options.what]}{inv}.exr"


def plan_export(image_paths, options: ExportOptions, out_dir, source) -> list[PlannedFile]:
    """One PlannedFile per image; two images that would write the same file are an error."""
    out_dir = Path(out_dir)
    plan = [
        PlannedFile(Path(p), out_dir / output_name(p, options), source.missing_reason(Path(p), options.wants_soft))
        for p in image_paths
    ]
    seen: dict[Path, Path] = {}
    for item in plan:
        other = seen.setdefault(item.target, item.image)
        if other != item.image:
            raise ExportError(
                f"{other.name} and {item.image.name} would both be exported as {item.target.name}: "
                "export them separately or rename one"
            )
    return plan


def check_conflicts(plan: list[PlannedFile]) -> None:
    """Raise ExportError naming the first existing targets (nothing has been written yet)."""
    taken = [f.target for f in plan if f.skip_reason is None and f.target.exists()]
    if taken:
        shown = ", ".join(p.name for p in taken[:CONFLICTS_SHOWN])
        more = f" and {len(taken) - CONFLICTS_SHOWN} more" if len(taken) > CONFLICTS_SHOWN else ""
        raise FilesExistError(
            f"{len(taken)} file(s) already exist in {taken[0].parent}: {shown}{more}; "
            "choose another folder or allow overwriting (--force)"
        )


def export_images(
    image_paths,
    options: ExportOptions,
    out_dir,
    *,
    labels=None,
    predictions_dir=None,
    overwrite: bool = False,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> ExportResult:
    """Export every image in `image_paths` to `out_dir`; see the module docstring."""
    options = options.validated()
    source = make_source(options.source, labels=labels, predictions_dir=predictions_dir)
    plan = plan_export(image_paths, options, out_dir, source)
    if not overwrite:
        check_conflicts(plan)
    result = ExportResult()
    total = len(plan)
    for done, item in enumerate(plan):
        check(cancel)
        report(progress, done, total, item.image.name)
        if item.skip_reason is not None:
            result.warnings.append(f"skipped {item.skip_reason}")
            continue
        try:
            dropped = export_one(item.image, source, options, item.target, cancel=cancel)
        except SizeMismatchError as exc:
            result.warnings.append(f"skipped {exc}")
            continue
        except ImageReadError as exc:  # one damaged panorama must not stop a long batch
            result.warnings.append(f"skipped {item.image.name}: {exc}")
            continue
        result.written.append(item.target)
        if dropped:
            result.warnings.append(
                f"{item.target.name}: header attributes not carried over: {'; '.join(dropped)}"
            )
    report(progress, total, total, "done")
    return result


def export_project(
    project,
    options: ExportOptions,
    out_dir,
    *,
    images=None,
    overwrite: bool = False,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> ExportResult:
    """Export a project's images (all, or those named in `images`) to `out_dir`."""
    paths = select_images(project.image_paths(), images)
    labels = None
    warnings: list[str] = []
    if options.source == "labels":
        loaded = project.load_labels()
        labels, warnings = loaded.labels, list(loaded.warnings)
    result = export_images(
        paths,
        options,
        out_dir,
        labels=labels,
        predictions_dir=project.predictions_dir,
        overwrite=overwrite,
        progress=progress,
        cancel=cancel,
    )
    result.warnings[:0] = warnings
    return result


def select_images(all_paths, names) -> list[Path]:
    """The paths among `all_paths` named in `names` (file name or stem); all when names is empty."""
    all_paths = [Path(p) for p in all_paths]
    if not names:
        return all_paths
    by_name: dict[str, Path] = {}
    for p in all_paths:
        by_name.setdefault(p.name, p)
        by_name.setdefault(p.stem, p)
    chosen, unknown = [], []
    for name in names:
        path = by_name.get(Path(str(name)).name) or by_name.get(Path(str(name)).stem)
        (chosen if path is not None else unknown).append(path or name)
    if unknown:
        raise ExportError(
            f"no image named {', '.join(map(str, unknown))} in the project; "
            f"images are: {', '.join(p.name for p in all_paths[:10])}"
        )
    return list(dict.fromkeys(chosen))


# --- one image -------------------------------------------------------------------


def export_one(image_path: Path, source, options: ExportOptions, target: Path, cancel=None) -> list[str]:
    """Write one image's export to `target` (atomic); returns the input header attributes
    an EXR export could not carry over (normally none).

    EXR exports are the input image with an alpha: its own pixels (in its own primaries,
    not converted to Rec.709, never sanitised) and its header attributes."""
    from skysegui.core import imageio

    info = imageio.probe_image(image_path)
    cov = source.coverage(image_path, info.width, info.height, soft=options.wants_soft)
    if options.invert:
        cov = invert_coverage(cov)
    if options.what == "mask":
        write_png_plane(target, (binary_mask(cov) * 255).astype(np.uint8))
    elif options.what == "prob":
        write_png_plane(target, cov_to_uint16(cov))
    elif options.what == "overlay":
        image = imageio.read_image(image_path, dtype=hdr_dtype(info))
        rgb = render_overlay(image.pixels, cov, options, cancel=cancel)
        del image
        write_overlay(target, rgb, options.format)
    else:
        dtype = hdr_dtype(info)
        image = imageio.read_image(image_path, dtype=dtype, sanitise=False, rec709=False)
        rgb, alpha = alpha_layers(image.pixels, cov, _EXR_LAYOUT[options.what], in_place=True)
        attributes = None
        if info.source_type == "exr":
            from skysegui.core.imageio.exr_attributes import carried_attributes

            attributes = carried_attributes(image_path, info.width, info.height)
        return write_alpha_exr(target, rgb, alpha, attributes)
    return []


def hdr_dtype(info) -> type:
    """The file's own float type: half files stay half, everything else is float32."""
    return np.float16 if info.is_hdr and info.bit_depth == 16 else np.float32


def invert_coverage(cov: np.ndarray) -> np.ndarray:
    if cov.dtype == np.uint8:
        return (cov == 0).astype(np.uint8) if cov.max(initial=0) <= 1 else 255 - cov
    return np.float32(1.0) - cov


def cov_to_uint16(cov: np.ndarray) -> np.ndarray:
    from skysegui.core.export.overlay import coverage_weights

    w = coverage_weights(cov)
    return np.floor(w * np.float32(65535) + np.float32(0.5)).astype(np.uint16)


def render_overlay(pixels: np.ndarray, cov: np.ndarray, options: ExportOptions, cancel=None) -> np.ndarray:
    """Tone-map and composite band by band (bounded memory at 8K); uint8 H x W x 3."""
    from skysegui.core.tonemap import tonemap

    h = pixels.shape[0]
    tone = options.tone_settings()
    band = outline_mask(cov, options.outline) if options.outline else None
    out = np.empty(pixels.shape[:2] + (3,), dtype=np.uint8)
    for y0 in range(0, h, BAND_ROWS):
        check(cancel)
        y1 = min(y0 + BAND_ROWS, h)
        toned = np.ascontiguousarray(tonemap(pixels[y0:y1], tone), dtype=np.uint8)
        composite(
            toned,
            cov[y0:y1],
            options.color,
            options.opacity,
            outline=None if band is None else band[y0:y1],
            outline_color=options.outline_color,
            out=out[y0:y1],
        )
    return out


def preview(pixels: np.ndarray, cov: np.ndarray, options: ExportOptions) -> np.ndarray:
    """What the export of `pixels` would look like, as uint8 RGB (for a small preview).

    Overlays are the overlay; masks are grey; EXR layouts show the tone-mapped image
    over a checkerboard where alpha is below 1.
    """
    from skysegui.core.tonemap import tonemap

    options = options.validated()
    if options.invert:
        cov = invert_coverage(cov)
    if options.what == "overlay":
        return render_overlay(pixels, cov, options)
    if options.what == "mask":
        return np.repeat((binary_mask(cov) * 255).astype(np.uint8)[..., None], 3, axis=2)
    if options.what == "prob":
        return np.repeat((cov_to_uint16(cov) >> 8).astype(np.uint8)[..., None], 3, axis=2)
    from skysegui.core.export.overlay import coverage_weights

    alpha = coverage_weights(cov)
    if options.what == "ground-exr":
        alpha = 1.0 - alpha
    toned = tonemap(pixels, options.tone_settings()).astype(np.float32)
    yy, xx = np.indices(alpha.shape)
    checker = np.where(((yy // 8 + xx // 8) % 2)[..., None] == 0, 200.0, 140.0).astype(np.float32)
    a = alpha[..., None]
    return np.floor(toned * a + checker * (1 - a) + 0.5).astype(np.uint8)


# --- writers -----------------------------------------------------------------------


def write_png_plane(path: Path, plane: np.ndarray) -> None:
    """A single-channel 8- or 16-bit PNG (atomic, through core.imageio)."""
    from skysegui.core.imageio import write_png

    write_png(path, plane, bits=16 if plane.dtype == np.uint16 else 8)


def write_overlay(path: Path, rgb: np.ndarray, fmt: str) -> None:
    """uint8 RGB as PNG, JPG (quality 95) or 16-bit TIFF (value * 257), atomically.

    The 16-bit TIFF carries the 8-bit tone-mapped values scaled to 16 bits (for tools
    that want 16-bit input); it has no more tonal detail than the PNG.
    """
    from skysegui.core.imageio import write_jpg, write_png

    if fmt == "tiff16":
        import tifffile

        with atomic_write(path) as tmp:
            tifffile.imwrite(tmp, rgb.astype(np.uint16) * np.uint16(257), photometric="rgb",
                             compression="zlib")
    elif fmt == "jpg":
        write_jpg(path, rgb, quality=JPEG_QUALITY)
    else:
        write_png(path, rgb, bits=8)
