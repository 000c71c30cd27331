"""Edge-aware upsampling of a low-resolution sky probability map (and optional dense CRF).

The fast prediction mode runs the network on a reduced copy of the panorama and brings
the soft mask back to full resolution with a filter guided by the full-resolution image,
so the mask snaps to the real sky edges instead of to blocky, blurred upsampled ones.
This is the approach of Google's on-phone sky segmentation (Liba et al., "Sky
Optimization", 2020): a small network plus guided-filter upsampling.

Methods:
  fast_guided  He & Sun's fast guided filter: the linear coefficients (a, b) are fitted
               at low resolution, upsampled bilinearly, and applied to the full-resolution
               guide (q = a * I + b). Cost at full resolution: two resizes and one
               multiply-add, so 8K costs well under a second.
  guided       OpenCV's cv2.ximgproc.guidedFilter on the bilinearly upsampled map at
               full resolution (slower, same idea).
  fgs          OpenCV's fast global smoother (cv2.ximgproc.fastGlobalSmootherFilter).
  bilinear     plain resize, for comparison.
Dense CRF (pydensecrf, from the optional pydensecrf2 package) is used only if installed.
"""

from __future__ import annotations

import cv2
import numpy as np

UPSAMPLERS = ("fast_guided", "guided", "fgs", "bilinear")


def area_downscale(pixels: np.ndarray, width: int, height: int, rows: int = 256) -> np.ndarray:
    """float32 pixels shrunk to width x height with OpenCV's area filter, without a float32
    copy of the whole input (an 8K float16 panorama would need 400 MB).

    OpenCV's area filter is separable: the columns are shrunk band by band (rows are
    independent in that pass), then the narrow result is shrunk vertically. Equal to one
    cv2.resize(..., INTER_AREA) up to float rounding.
    """
    h = pixels.shape[0]
    narrow = np.empty((h, width, *pixels.shape[2:]), np.float32)
    for y in range(0, h, rows):
        block = np.ascontiguousarray(pixels[y : y + rows], dtype=np.float32)
        narrow[y : y + rows] = cv2.resize(block, (width, block.shape[0]), interpolation=cv2.INTER_AREA)
    return cv2.resize(narrow, (width, height), interpolation=cv2.INTER_AREA)


def guide_image(pixels: np.ndarray, hdr: bool = True, rows: int = 256) -> np.ndarray:
    """A float32 H x W guide in about 0..1 from linear RGB pixels.

    HDR: the network's log transform of the luminance (sky and ground separate well in
    log space, and bright suns do not swamp the filter). LDR: sRGB-encoded luminance.
    Computed in bands of `rows` rows with OpenCV (an 8K panorama in a fraction of a
    second, and float16 input is never copied whole to float32).
    """
    from skysegui.core.tonemap import srgb_encode
    from skysegui.core.tonemap.curves import REC709
    from skysegui.core.tonemap.transforms import LOG_EPS, LOG_SCALE, LOG_SHIFT

    h, w = pixels.shape[:2]
    out = np.empty((h, w), np.float32)
    weights = np.asarray(REC709, np.float32).reshape(1, 3)
    for y in range(0, h, rows):
        block = np.ascontiguousarray(pixels[y : y + rows, :, :3], dtype=np.float32)
        lum = cv2.transform(block, weights)
        if lum.ndim == 3:
            lum = lum[..., 0]
        np.nan_to_num(lum, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        np.maximum(lum, 0.0, out=lum)
        if hdr:
            lum += np.float32(LOG_EPS)
            cv2.log(lum, lum)
            lum += np.float32(LOG_SHIFT)
            lum *= np.float32(LOG_SCALE)
        else:
            lum = srgb_encode(np.minimum(lum, 1.0))
        out[y : y + rows] = lum
    return np.clip(out, 0.0, 1.0, out=out)


def _box(img: np.ndarray, radius: int) -> np.ndarray:
    k = 2 * radius + 1
    return cv2.boxFilter(img, cv2.CV_32F, (k, k), borderType=cv2.BORDER_REFLECT)


def _resize(img: np.ndarray, width: int, height: int, area: bool = False) -> np.ndarray:
    interp = cv2.INTER_AREA if area else cv2.INTER_LINEAR
    return cv2.resize(img, (width, height), interpolation=interp)


def wrap_pad(img: np.ndarray, pad: int) -> np.ndarray:
    """Pad left and right with the other side of the panorama (the 360-degree seam)."""
    return np.pad(img, ((0, 0), (pad, pad)), mode="wrap") if pad else img


def upscale(low: np.ndarray, width: int, height: int, pad: int = 0) -> np.ndarray:
    """Bilinear resize of `low` (whose `pad` columns each side are wrap padding) to width x height.

    Same sampling as cv2.resize, but the columns next to the seam interpolate towards the
    other side of the panorama instead of repeating the edge. cv2.warpAffine maps every
    output pixel to its exact source position, so the padding never shifts the grid.
    """
    lh, lw = low.shape[0], low.shape[1] - 2 * pad
    sx, sy = lw / width, lh / height
    m = np.array([[sx, 0.0, 0.5 * sx - 0.5 + pad], [0.0, sy, 0.5 * sy - 0.5]], np.float64)
    return cv2.warpAffine(
        low, m, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )


def fast_guided_upsample(
    prob_low: np.ndarray, guide: np.ndarray, radius: int = 2, eps: float = 1e-3, wrap: bool = True
) -> np.ndarray:
    """He & Sun's fast guided filter: fit q = a*I + b at low resolution, apply at full.

    With `wrap` the low-resolution work is padded around the 360-degree seam, so the
    first and last columns get the same coefficients a panorama's neighbours would give.
    """
    h, w = guide.shape[:2]
    lh, lw = prob_low.shape[:2]
    pad = 2 * radius + 2 if wrap else 0
    p = wrap_pad(prob_low.astype(np.float32), pad)
    i_low = wrap_pad(_resize(guide.astype(np.float32), lw, lh, area=True), pad)
    mean_i = _box(i_low, radius)
    mean_p = _box(p, radius)
    var_i = _box(i_low * i_low, radius) - mean_i * mean_i
    cov_ip = _box(i_low * p, radius) - mean_i * mean_p
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    mean_a = upscale(_box(a, radius), w, h, pad)
    mean_b = upscale(_box(b, radius), w, h, pad)
    out = mean_a * guide.astype(np.float32, copy=False)
    out += mean_b
    return np.clip(out, 0.0, 1.0, out=out)


def guided_upsample(
    prob_low: np.ndarray, guide: np.ndarray, radius: int | None = None, eps: float = 1e-3
) -> np.ndarray:
    """Full-resolution guided filter (cv2.ximgproc) of the bilinearly upsampled map."""
    h, w = guide.shape[:2]
    scale = max(1.0, w / prob_low.shape[1])
    r = radius if radius is not None else max(2, int(round(2 * scale)))
    up = upscale(wrap_pad(prob_low.astype(np.float32), 1), w, h, 1)
    out = cv2.ximgproc.guidedFilter(guide.astype(np.float32), up, r, eps)
    return np.clip(out, 0.0, 1.0)


def fgs_upsample(
    prob_low: np.ndarray, guide: np.ndarray, lam: float = 100.0, sigma_color: float = 8.0
) -> np.ndarray:
    """Fast global smoother (cv2.ximgproc) of the upsampled map, guided by an 8-bit guide."""
    h, w = guide.shape[:2]
    up = upscale(wrap_pad(prob_low.astype(np.float32), 1), w, h, 1)
    guide8 = np.clip(guide * 255.0 + 0.5, 0, 255).astype(np.uint8)
    out = cv2.ximgproc.fastGlobalSmootherFilter(guide8, up, lam, sigma_color)
    return np.clip(out, 0.0, 1.0)


def upsample(prob_low: np.ndarray, guide: np.ndarray, method: str = "fast_guided") -> np.ndarray:
    """Bring a low-resolution probability map to the guide's size with `method`."""
    if method not in UPSAMPLERS:
        raise ValueError(f"unknown upsampling {method!r}; use one of {', '.join(UPSAMPLERS)}")
    h, w = guide.shape[:2]
    if prob_low.shape[:2] == (h, w):
        return prob_low.astype(np.float32)
    if method == "fast_guided":
        return fast_guided_upsample(prob_low, guide)
    if method == "guided":
        return guided_upsample(prob_low, guide)
    if method == "fgs":
        return fgs_upsample(prob_low, guide)
    return np.clip(upscale(wrap_pad(prob_low.astype(np.float32), 1), w, h, 1), 0.0, 1.0)


def crf_available() -> bool:
    try:
        import pydensecrf.densecrf  # noqa: F401
    except ImportError:
        return False
    return True


def dense_crf(prob: np.ndarray, rgb8: np.ndarray, iterations: int = 5) -> np.ndarray:
    """Refine a probability map with a fully connected CRF (pydensecrf), if installed.

    Returns the CRF's sky marginal. Without pydensecrf the map comes back unchanged, so
    callers need not care whether the optional extra is installed.
    """
    if not crf_available():
        return prob.astype(np.float32)
    import pydensecrf.densecrf as dcrf
    from pydensecrf.utils import unary_from_softmax

    h, w = prob.shape
    p = np.clip(prob.astype(np.float32), 1e-5, 1 - 1e-5)
    crf = dcrf.DenseCRF2D(w, h, 2)
    crf.setUnaryEnergy(np.ascontiguousarray(unary_from_softmax(np.stack([1 - p, p]))))
    crf.addPairwiseGaussian(sxy=3, compat=3)
    crf.addPairwiseBilateral(sxy=60, srgb=10, rgbim=np.ascontiguousarray(rgb8), compat=5)
    q = np.array(crf.inference(iterations)).reshape(2, h, w)
    return q[1].astype(np.float32)
