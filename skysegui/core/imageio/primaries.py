"""Colour primaries a file declares, and the 3x3 matrix that takes its RGB to Rec.709 / sRGB.

The program works in linear Rec.709 / sRGB primaries (the display, the tone curves and
the training data all are), so read_image converts the pixels of a file that declares
other primaries (an OpenEXR "chromaticities" attribute, e.g. ACES AP0) into them.

The matrix follows the standard XYZ route: file RGB -> XYZ (from the file's primaries
and white point), a Bradford chromatic adaptation from the file's white to D65, then
XYZ -> Rec.709. This is what OpenColorIO's ACES configs and Nuke use; for ACES AP0 it
equals the studio config's "ACES2065-1 -> Linear Rec.709 (sRGB)" matrix. Bradford also
recognises a file whose primaries are sRGB's adapted to another white (Photoshop writes
sRGB adapted to D50): its matrix is the identity within 1e-4, so nothing is converted.
"""

from __future__ import annotations

import numpy as np

Chromaticities = tuple[float, float, float, float, float, float, float, float]

#: red x,y, green x,y, blue x,y, white x,y: what OpenEXR means when a file declares none.
REC709: Chromaticities = (0.64, 0.33, 0.30, 0.60, 0.15, 0.06, 0.3127, 0.3290)
REC709_NAME = "Rec.709 / sRGB"
KNOWN: dict[str, Chromaticities] = {
    REC709_NAME: REC709,
    "ACES AP0": (0.7347, 0.2653, 0.0, 1.0, 0.0001, -0.0770, 0.32168, 0.33767),
    "ACES AP1 (ACEScg)": (0.713, 0.293, 0.165, 0.830, 0.128, 0.044, 0.32168, 0.33767),
    "Rec.2020": (0.708, 0.292, 0.170, 0.797, 0.131, 0.046, 0.3127, 0.3290),
    "P3-D65": (0.680, 0.320, 0.265, 0.690, 0.150, 0.060, 0.3127, 0.3290),
}
_WHITES = {"D65": (0.3127, 0.3290), "D60": (0.32168, 0.33767), "D50": (0.3457, 0.3585)}
#: chromaticity coordinates closer than this are the same primaries
MATCH_TOLERANCE = 1e-3
#: a matrix closer than this to the identity changes no half-float value by more than
#: about two steps of its precision: the pixels are left as they are
IDENTITY_TOLERANCE = 1e-3

_BRADFORD = np.array(
    [[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]]
)


def _xyz(x: float, y: float) -> np.ndarray:
    return np.array([x / y, 1.0, (1.0 - x - y) / y])


def rgb_to_xyz(chroma: Chromaticities) -> np.ndarray:
    """3x3 matrix from linear RGB in these primaries to CIE XYZ (white has Y = 1)."""
    c = [float(v) for v in chroma]
    primaries = np.column_stack([_xyz(c[0], c[1]), _xyz(c[2], c[3]), _xyz(c[4], c[5])])
    scale = np.linalg.solve(primaries, _xyz(c[6], c[7]))
    return primaries * scale


def bradford(src_white: tuple[float, float], dst_white: tuple[float, float]) -> np.ndarray:
    """3x3 chromatic adaptation of XYZ from one white point (x, y) to another."""
    src, dst = _BRADFORD @ _xyz(*src_white), _BRADFORD @ _xyz(*dst_white)
    return np.linalg.inv(_BRADFORD) @ np.diag(dst / src) @ _BRADFORD


def to_rec709_matrix(chroma: Chromaticities) -> np.ndarray:
    """float64 3x3 matrix M with rec709_rgb = M @ file_rgb (see the module docstring)."""
    adapt = bradford((chroma[6], chroma[7]), (REC709[6], REC709[7]))
    return np.linalg.inv(rgb_to_xyz(REC709)) @ adapt @ rgb_to_xyz(chroma)


def valid(chroma) -> bool:
    """Eight finite numbers whose primaries and white span a colour space."""
    if chroma is None or len(chroma) != 8 or not np.all(np.isfinite(chroma)):
        return False
    if any(abs(chroma[i]) < 1e-6 for i in (1, 3, 5, 7)):
        return False
    try:
        return bool(np.all(np.isfinite(to_rec709_matrix(chroma))))
    except np.linalg.LinAlgError:
        return False


def needs_conversion(chroma) -> bool:
    """True when pixels in these primaries must be converted to show as Rec.709 / sRGB."""
    if not valid(chroma):
        return False
    return float(np.abs(to_rec709_matrix(chroma) - np.eye(3)).max()) > IDENTITY_TOLERANCE


def primaries_name(chroma) -> str:
    """'ACES AP0', 'Rec.709 / sRGB', 'Rec.709 / sRGB (D50-adapted)', 'custom', ... for
    `info` and the status bar; a file that declares none is Rec.709 / sRGB (not declared)."""
    if chroma is None:
        return f"{REC709_NAME} (not declared)"
    if not valid(chroma):
        return "invalid (ignored: shown as Rec.709 / sRGB)"
    for name, known in KNOWN.items():
        if np.abs(np.subtract(chroma, known)).max() <= MATCH_TOLERANCE:
            return name
    if not needs_conversion(chroma):
        white = (chroma[6], chroma[7])
        label = next(
            (n for n, w in _WHITES.items() if np.abs(np.subtract(white, w)).max() <= MATCH_TOLERANCE),
            f"x {white[0]:.4f} y {white[1]:.4f}",
        )
        return f"{REC709_NAME} ({label}-adapted)" if label in _WHITES else f"{REC709_NAME} (white {label})"
    return "custom"


def convert_to_rec709(raw: np.ndarray, chroma: Chromaticities, dtype, rows: int = 256) -> np.ndarray:
    """H x W x 3 pixels of `dtype` in Rec.709 primaries, converted in float32 row blocks.

    Colours outside Rec.709 come out with a negative channel, which is set to 0 (the
    display and the network cannot use it; export writes the file's own pixels). NaN
    stays NaN for the sanitiser to count; float16 output saturates at +-65504.
    """
    import cv2

    matrix = to_rec709_matrix(chroma).astype(np.float32)
    dtype = np.dtype(dtype)
    out = np.empty(raw.shape[:2] + (3,), dtype=dtype)
    for y in range(0, raw.shape[0], rows):
        block = cv2.transform(np.ascontiguousarray(raw[y : y + rows], dtype=np.float32), matrix)
        np.maximum(block, np.float32(0), out=block)
        if dtype == np.float16:
            np.minimum(block, np.float32(65504.0), out=block)
        out[y : y + rows] = block
    return out
