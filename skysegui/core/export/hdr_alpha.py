"""HDR pixels with the sky as an alpha channel, for sky replacement downstream.

Three layouts, all RGBA in the file's own float type (half stays half, float stays
float, no float32 copy of a half image) and primaries (the header's chromaticities,
envmap and other attributes are carried over, see core.imageio.exr_attributes):

  matte   ("rgba-exr")   RGB exactly as read (bit-exact radiance, never multiplied);
                         A = sky coverage. An unassociated matte: use A as a mask.
  sky     ("sky-exr")    premultiplied: RGB * sky, A = sky. OpenEXR's own convention
                         (associated alpha), so an `over` composite is correct as is.
  ground  ("ground-exr") premultiplied: RGB * (1 - sky), A = 1 - sky.

Where the coverage is binary the premultiplied RGB is the original value or 0, bit-exact.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from skysegui.core.atomicio import atomic_write
from skysegui.core.errors import ExportError
from skysegui.core.export.overlay import check_mask_size

LAYOUTS = ("matte", "sky", "ground")

# Rows processed at a time when premultiplying a soft alpha (bounded temporaries).
BAND_ROWS = 256


def alpha_from_coverage(coverage: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Coverage (uint8 0/1 or 0/255, uint16, bool or float 0..1) as an alpha plane of `dtype`."""
    if coverage.dtype == np.bool_:
        return coverage.astype(dtype)
    if coverage.dtype == np.uint8:
        if coverage.max(initial=0) <= 1:
            return coverage.astype(dtype)
        return (coverage.astype(np.float32) * np.float32(1 / 255)).astype(dtype)
    if coverage.dtype == np.uint16:
        return (coverage.astype(np.float32) * np.float32(1 / 65535)).astype(dtype)
    return np.clip(coverage, 0.0, 1.0).astype(dtype)


def is_binary(alpha: np.ndarray) -> bool:
    return bool(np.all((alpha == 0) | (alpha == 1)))


def alpha_layers(
    rgb: np.ndarray, coverage: np.ndarray, layout: str = "matte", in_place: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(RGB, alpha) of `layout` in `rgb`'s float dtype, the sky (or ground) as alpha.

    `rgb` is H x W x 3 float16 or float32 radiance as read (negative, huge and even
    non-finite values are kept); `coverage` the sky coverage (1 = sky). With `in_place`
    the premultiplication overwrites `rgb` (no second full-size image at 8K).
    """
    if layout not in LAYOUTS:
        raise ExportError(f"unknown EXR layout {layout!r}: use one of {', '.join(LAYOUTS)}")
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype not in (np.float16, np.float32):
        raise ValueError("rgb must be float16 or float32 H x W x 3")
    check_mask_size(coverage, rgb)
    dtype = rgb.dtype
    alpha = alpha_from_coverage(coverage, dtype)
    if layout == "ground":
        np.subtract(dtype.type(1), alpha, out=alpha)
    if layout == "matte":
        return rgb, alpha
    out = rgb if in_place else rgb.copy()
    if is_binary(alpha):
        out[alpha == 0] = 0  # kept pixels stay bit-exact
    else:
        for y0 in range(0, rgb.shape[0], BAND_ROWS):
            y1 = min(y0 + BAND_ROWS, rgb.shape[0])
            np.multiply(out[y0:y1], alpha[y0:y1, :, None], out=out[y0:y1])
    return out, alpha


def compose_rgba(rgb: np.ndarray, coverage: np.ndarray, layout: str = "matte") -> np.ndarray:
    """H x W x 4 RGBA of `layout` (see alpha_layers); `rgb` is not changed."""
    out_rgb, alpha = alpha_layers(rgb, coverage, layout)
    out = np.empty(rgb.shape[:2] + (4,), dtype=rgb.dtype)
    out[..., :3] = out_rgb
    out[..., 3] = alpha
    return out


def write_alpha_exr(path, rgb: np.ndarray, alpha: np.ndarray, attributes: dict | None = None) -> list[str]:
    """RGB + A as an EXR in the arrays' own type (half or float), ZIP, written atomically.

    Written straight through OpenEXR (not core.imageio.write_exr) so nothing is clipped
    (+-Inf and values beyond the half range stay as read) and no RGBA copy is made.
    `attributes` are the input's header attributes to keep (core.imageio.exr_attributes:
    chromaticities, envmap, owner, capDate, ...); returns those that could not be
    written ('name (why)'), normally none.
    """
    from skysegui.core.imageio.exr_attributes import write_with_attributes

    channels = {"RGB": np.ascontiguousarray(rgb), "A": np.ascontiguousarray(alpha, dtype=rgb.dtype)}
    with atomic_write(path) as tmp:
        try:
            return write_with_attributes(tmp, channels, attributes)
        except (RuntimeError, OSError) as exc:
            raise ExportError(
                f"could not write {Path(path).name} ({exc}); the previous version is intact: "
                "check the disk space"
            ) from exc
