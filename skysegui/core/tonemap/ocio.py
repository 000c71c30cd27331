"""OpenColorIO display/view transforms, baked into look-up tables so exposure stays live.

An OCIO CPU processor takes 74-860 ms on a 1080p view (0.2-1.6 s on the 2-core development
machine; ACES views are the slow end), far from the 16 ms a frame the viewer needs. So each
(config, display, view) is baked once:

- a view that works on each channel alone (checked numerically on 4,096 colours, e.g.
  "Un-tone-mapped", "Raw", Blender's "Standard" and "Filmic") becomes a 65,536-entry
  table over the float16 bit patterns, like the built-in operators' half_lut, with the
  exposure and offset inside it, read off the view's output for every float16 grey
  (baked once): an exposure change is a few numpy passes and the frame one cv2.LUT;
- any other view (the ACES output transforms mix channels) becomes a 65^3 cube over a
  log2 shaper (2^-12 .. 2^10 after exposure, linear below), applied by OCIO's own
  tetrahedral 3D-LUT renderer in horizontal bands on a small thread pool (OCIO and
  OpenCV release the GIL); the exposure and offset live in the shaper, a 65,536-entry
  float table, so an exposure change costs that table plus the cube look-up, never
  OCIO's full transform. The cube is within one code of OCIO's exact answer almost
  everywhere.

Input pixels are linear Rec.709 / sRGB primaries (what read_image returns); the config's
colour space for them is found by name (see input_colorspace). Needs PyOpenColorIO
(`pip install "skysegui[ocio]"`); without it unavailable_reason() says so and the
built-in operators stay.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from skysegui.core.errors import ColorManagementError

BUILTIN = "builtin"  # the ACES studio config that ships inside OCIO (2.2+)
ENV = "$OCIO"  # the config named by the OCIO environment variable
BUILTIN_URI = "ocio://studio-config-latest"
INSTALL_HINT = 'install it with: pip install "skysegui[ocio]" (PyPI package opencolorio)'

#: Names configs give linear Rec.709 / sRGB (tried in order; names, aliases and roles).
REC709_LINEAR_NAMES = (
    "lin_rec709_srgb", "Linear Rec.709 (sRGB)", "Utility - Linear - sRGB", "lin_rec709",
    "Linear Rec.709", "lin_srgb", "Linear", "linear",
)

CUBE_SIZE = 65
SHAPER_LOW, SHAPER_HIGH = -12.0, 10.0  # log2 range of the cube's shaper, after exposure
_SEPARABLE_SAMPLES = 4096
_INF_BITS = 0x7C00
_ALL_HALVES = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)
_FINITE_HALVES = np.nan_to_num(_ALL_HALVES.astype(np.float64), nan=0.0, posinf=65504.0, neginf=-65504.0)


def _ocio():
    try:
        import PyOpenColorIO
    except ImportError as exc:
        raise ColorManagementError(f"OpenColorIO views need PyOpenColorIO, which is not installed; {INSTALL_HINT}") from exc
    return PyOpenColorIO


def _errors(ocio) -> tuple[type, ...]:
    """OCIO's exception types (a missing file is not a subclass of ocio.Exception)."""
    return (ocio.Exception, getattr(ocio, "ExceptionMissingFile", ocio.Exception))


def unavailable_reason() -> str | None:
    """Why OCIO views cannot be offered; None when PyOpenColorIO imports."""
    try:
        _ocio()
    except ColorManagementError as exc:
        return str(exc)
    return None


def config_sources() -> list[str]:
    """The configs to offer: the built-in ACES studio config, then $OCIO when it is set."""
    return [BUILTIN] + ([ENV] if os.environ.get("OCIO") else [])


def config_label(source: str) -> str:
    if source == BUILTIN:
        return "Built-in ACES studio config"
    if source == ENV:
        return f"$OCIO ({os.environ.get('OCIO', 'not set')})"
    return Path(source).name


def load_config(source: str):
    """The OCIO Config of a source: BUILTIN, ENV or a config file path (typed errors)."""
    return _load_config(source, os.environ.get("OCIO", "") if source == ENV else "")


@lru_cache(maxsize=8)
def _load_config(source: str, env: str):
    """load_config, cached per source and (for ENV) per value of $OCIO."""
    ocio = _ocio()
    try:
        if source == BUILTIN:
            return _builtin_config(ocio)
        if source == ENV:
            path = env
            if not path:
                raise ColorManagementError("$OCIO is not set: set it to a config.ocio file, or choose a config file")
            if not path.startswith("ocio://") and not Path(path).is_file():
                raise ColorManagementError(f"$OCIO names {path}, which does not exist: fix $OCIO or choose a config file")
            return ocio.Config.CreateFromEnv()
        if not Path(source).is_file():
            raise ColorManagementError(f"the OCIO config {source} does not exist: choose another config file")
        return ocio.Config.CreateFromFile(str(source))
    except _errors(ocio) as exc:
        raise ColorManagementError(
            f"the OCIO config {config_label(source)} cannot be used ({exc}); choose another config"
        ) from exc


def _builtin_config(ocio):
    try:
        return ocio.Config.CreateFromFile(BUILTIN_URI)
    except _errors(ocio):  # OCIO 2.2: no "latest" URI yet; take the newest studio config
        names = [n for n in ocio.BuiltinConfigRegistry() if n.startswith("studio-config")]
        if not names:
            raise ColorManagementError(
                f"this PyOpenColorIO ({ocio.__version__}) has no built-in ACES config; {INSTALL_HINT} (2.2 or newer)"
            ) from None
        return ocio.Config.CreateFromBuiltinConfig(sorted(names)[-1])


def input_colorspace(config) -> str:
    """The config's colour space of linear Rec.709 / sRGB (our pixels)."""
    for name in REC709_LINEAR_NAMES:
        space = config.getColorSpace(name)
        if space is not None:
            return space.getName()
    ocio = _ocio()
    try:
        name = ocio.Config.IdentifyBuiltinColorSpace(config, ocio.Config.CreateFromFile("ocio://default"), "lin_rec709_srgb")
        if name:
            return name
    except (*_errors(ocio), AttributeError):
        pass
    raise ColorManagementError(
        "this OCIO config has no linear Rec.709 / sRGB colour space (tried "
        f"{', '.join(REC709_LINEAR_NAMES)}); choose another config"
    )


def list_views(source: str) -> list[tuple[str, str]]:
    """(display, view) pairs the viewer offers: every view of the config's default display
    (the program draws into an ordinary sRGB window, so other displays would look wrong)."""
    config = load_config(source)
    display = config.getDefaultDisplay()
    return [(display, view) for view in config.getViews(display)]


@dataclass(frozen=True)
class ViewKey:
    """One OCIO view: where its config comes from, its display and its view."""

    source: str
    display: str
    view: str


@lru_cache(maxsize=8)
def _processor(key: ViewKey):
    """The exact float32 CPU processor of a view (used for baking and for tests)."""
    ocio = _ocio()
    config = load_config(key.source)
    try:
        transform = ocio.DisplayViewTransform(src=input_colorspace(config), display=key.display, view=key.view)
        return config.getProcessor(transform).getDefaultCPUProcessor()
    except _errors(ocio) as exc:
        raise ColorManagementError(
            f"the OCIO view {key.display} / {key.view} cannot be used ({exc}); choose another view"
        ) from exc


def exact(key: ViewKey, rgb: np.ndarray) -> np.ndarray:
    """OCIO's own answer for float32 RGB values (N x 3 or H x W x 3), display values 0..1."""
    out = np.array(rgb, dtype=np.float32, order="C", copy=True)
    _processor(key).applyRGB(out)
    return out


def to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(np.nan_to_num(values, nan=0.0) * 255.0 + 0.5), 0, 255).astype(np.uint8)


@lru_cache(maxsize=8)
def _grey_curve(key: ViewKey) -> np.ndarray:
    """float32 65,536 x 3: the view's output for the grey of every float16 pattern
    (NaN as 0, infinities as +-65504)."""
    return exact(key, np.repeat(_FINITE_HALVES.astype(np.float32)[:, None], 3, axis=1))


@lru_cache(maxsize=8)
def _grey_codes(key: ViewKey) -> np.ndarray:
    return to_uint8(_grey_curve(key))


@lru_cache(maxsize=8)
def is_separable(key: ViewKey) -> bool:
    """True when the view maps each channel on its own (within one 8-bit code), checked
    on 4,096 random colours of float16 values (an eighth with a zero channel)."""
    curve = _grey_curve(key)
    rng = np.random.default_rng(0)
    codes = rng.integers(0, _INF_BITS, size=(_SEPARABLE_SAMPLES, 3))  # +0 .. 65504
    codes[: _SEPARABLE_SAMPLES // 8, rng.integers(0, 3)] = 0
    predicted = np.stack([curve[codes[:, c], c] for c in range(3)], axis=1)
    actual = exact(key, _FINITE_HALVES[codes].astype(np.float32))
    return bool(np.abs(actual - predicted).max() * 255.0 <= 1.0)


def _exposed(exposure: float, offset: float) -> np.ndarray:
    """Every float16 value with the exposure and offset applied (float64, finite)."""
    scale = 2.0 ** float(np.clip(exposure, -60.0, 60.0))
    return _FINITE_HALVES * scale + float(offset)


@lru_cache(maxsize=32)
def channel_table(key: ViewKey, exposure: float, offset: float) -> np.ndarray:
    """uint8 display value of every float16 pattern for a per-channel view: 65,536 x 1 x 3
    (65,536 when the three channels share one curve).

    Read off the view's output for every float16 grey (baked once): each exposed value
    is rounded to float16 (0.05 % at most, far below one display code) and looked up,
    so an exposure change costs a few numpy passes over 65,536 values, not an OCIO run.
    """
    with np.errstate(over="ignore"):
        index = _exposed(exposure, offset).astype(np.float16).view(np.uint16)
    table = _grey_codes(key)[index]
    if np.array_equal(table[:, 0], table[:, 1]) and np.array_equal(table[:, 0], table[:, 2]):
        return np.ascontiguousarray(table[:, 0])
    return np.ascontiguousarray(table.reshape(-1, 1, 3))


def shaper(x: np.ndarray) -> np.ndarray:
    """Linear values -> cube coordinates 0..1: linear up to 2^SHAPER_LOW, log2 above."""
    x = np.maximum(np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0), 0.0)
    low = 2.0 ** SHAPER_LOW
    steps = CUBE_SIZE - 2
    logs = (np.log2(np.maximum(x, low)) - SHAPER_LOW) / (SHAPER_HIGH - SHAPER_LOW) * steps
    index = np.where(x <= low, x / low, 1.0 + logs)
    return np.clip(index, 0.0, CUBE_SIZE - 1) / (CUBE_SIZE - 1)


def shaper_inverse(coords: np.ndarray) -> np.ndarray:
    """The linear value at each cube coordinate 0..1 (the grid points of the cube)."""
    index = np.asarray(coords, dtype=np.float64) * (CUBE_SIZE - 1)
    steps = CUBE_SIZE - 2
    return np.where(index <= 1.0, index * 2.0**SHAPER_LOW,
                    2.0 ** (SHAPER_LOW + (index - 1.0) / steps * (SHAPER_HIGH - SHAPER_LOW)))


@lru_cache(maxsize=32)
def shaper_table(exposure: float, offset: float) -> np.ndarray:
    """float32 cube coordinate of every float16 pattern after exposure and offset."""
    return shaper(_exposed(exposure, offset)).astype(np.float32)


@lru_cache(maxsize=4)
def cube_processor(key: ViewKey):
    """OCIO's CPU renderer of the view baked into a 65^3 cube over the shaper (F32 -> UINT8)."""
    ocio = _ocio()
    grid = shaper_inverse(np.linspace(0.0, 1.0, CUBE_SIZE)).astype(np.float32)
    r, g, b = np.meshgrid(grid, grid, grid, indexing="ij")  # OCIO's order: blue fastest
    values = exact(key, np.stack([r, g, b], axis=-1).reshape(-1, 3))
    cube = ocio.Lut3DTransform()
    cube.setGridSize(CUBE_SIZE)
    cube.setData(np.ascontiguousarray(values.reshape(-1)))
    cube.setInterpolation(ocio.INTERP_TETRAHEDRAL)
    return ocio.Config.CreateRaw().getProcessor(cube).getOptimizedCPUProcessor(
        ocio.BIT_DEPTH_F32, ocio.BIT_DEPTH_UINT8, ocio.OPTIMIZATION_DEFAULT
    )


_prepared: set[ViewKey] = set()


def prepare(key: ViewKey) -> None:
    """Bake what the view needs (0.2-0.4 s for an ACES view) so its first frame is fast;
    the GUI calls this on a worker thread before switching to the view."""
    if not is_separable(key):
        cube_processor(key)
    _prepared.add(key)


def is_prepared(key: ViewKey) -> bool:
    return key in _prepared


def _half_bits(pixels: np.ndarray) -> np.ndarray:
    """The pixels as float16 bit patterns (float32 rounds to half; 8-bit is sRGB-decoded)."""
    p = np.asarray(pixels)
    if p.dtype == np.float16:
        return np.ascontiguousarray(p).view(np.uint16)
    if p.dtype == np.uint8:
        from skysegui.core.tonemap.curves import srgb_decode_table

        p = srgb_decode_table(8).astype(np.float32)[p]
    f32 = np.ascontiguousarray(p, dtype=np.float32)
    if f32.size <= 4:  # OpenCV takes a tiny array for a scalar
        return f32.astype(np.float16).view(np.uint16)
    return cv2.multiply(f32, 1.0, dtype=cv2.CV_16F).reshape(f32.shape).view(np.uint16)


def ocio_tonemap(pixels: np.ndarray, key: ViewKey, exposure: float = 0.0, offset: float = 0.0) -> np.ndarray:
    """uint8 H x W x 3 display picture of linear Rec.709 H x W x 3 pixels through an OCIO view."""
    from skysegui.core.tonemap.apply import lut16

    bits = _half_bits(pixels)
    if is_separable(key):
        table = channel_table(key, float(exposure), float(offset))
        if table.ndim == 1:
            return lut16(bits, table)
        return cv2.LUT(bits, table)
    return apply_cube(cube_processor(key), shaper_table(float(exposure), float(offset)), bits)


_BAND_ROWS = 128  # below this a picture is done in one piece
_WORKERS = max(1, min(4, os.cpu_count() or 1))


@lru_cache(maxsize=1)
def _pool():
    """Threads for the cube: OCIO's apply and cv2.LUT release the GIL, so bands run in
    parallel on the machine's cores (the frame budget is wall time)."""
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="ocio")


def apply_cube(processor, shaper_values: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """uint8 H x W x 3: the shaper table looked up on the float16 `bits`, then the cube,
    in horizontal bands on the thread pool."""
    ocio = _ocio()
    h, w = bits.shape[:2]
    out = np.empty((h, w, 3), dtype=np.uint8)

    def band(y0: int, y1: int) -> None:
        coords = cv2.LUT(np.ascontiguousarray(bits[y0:y1]), shaper_values)
        rows = y1 - y0
        processor.apply(
            ocio.PackedImageDesc(coords, w, rows, 3, ocio.BIT_DEPTH_F32, 4, 12, w * 12),
            ocio.PackedImageDesc(out[y0:y1], w, rows, 3, ocio.BIT_DEPTH_UINT8, 1, 3, w * 3),
        )

    parts = max(1, min(_WORKERS, h // _BAND_ROWS))
    edges = np.linspace(0, h, parts + 1).astype(int)
    if parts == 1:
        band(0, h)
    else:
        for future in [_pool().submit(band, int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]:
            future.result()
    return out
