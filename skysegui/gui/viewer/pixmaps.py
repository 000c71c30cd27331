"""numpy <-> QPixmap, and the region renders the view draws (pyramid or strided samples)."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtGui import QImage, QPixmap

from skysegui.core.tonemap import RenderedView, ToneSettings, tonemap


def to_pixmap(rgb: np.ndarray) -> QPixmap:
    rgb = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image)  # copies: rgb may be freed afterwards


def rendered_parts(rendered) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """(uint8 pixels, full-res rectangle x0, y0, x1, y1) of a DisplayPyramid.render result."""
    return rendered.pixels, tuple(float(v) for v in rendered.rect_full_res)


def render_strided(full: np.ndarray, level: int, region, tone: ToneSettings) -> RenderedView:
    """Like DisplayPyramid.render at `level`, but sampling every 2**level-th full-res pixel
    (no averaging): a sharp-enough view before the pyramid's levels are built."""
    f = 1 << level
    h, w = full.shape[:2]
    x0, y0, x1, y1 = region
    lx0, ly0 = max(0, math.floor(x0 / f)), max(0, math.floor(y0 / f))
    lx1 = max(lx0, min(math.ceil(x1 / f), math.ceil(w / f)))
    ly1 = max(ly0, min(math.ceil(y1 / f), math.ceil(h / f)))
    sample = full[ly0 * f : ly1 * f : f, lx0 * f : lx1 * f : f]
    rect = (lx0 * f, ly0 * f, min(lx1 * f, w), min(ly1 * f, h))
    return RenderedView(pixels=tonemap(sample, tone), level=level, rect_full_res=rect)


def pixmap_to_rgb(pixmap: QPixmap) -> np.ndarray:
    image = pixmap.toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    buf = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * h)
    return buf.reshape(h, image.bytesPerLine())[:, : 3 * w].reshape(h, w, 3).copy()
