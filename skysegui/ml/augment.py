"""On-the-fly, seeded augmentation of training crops (the report's TODO for HDR).

Crops arrive as network input (the 'hdr_log' transform or sRGB 0..1 for 'ldr'). Photometric
changes are made where they mean something physically, in linear light:

* exposure: L' = 2**ev * L. With the log transform y = (ln(L + e) + 2.5) / 4.4, e = 1e-3,
  this is y' = (ln(2**ev * L + e) + 2.5) / 4.4 = y + ev * ln 2 / 4.4 + (ln(2**ev * L + e) -
  ln(2**ev * (L + e))) / 4.4: an additive constant ev * ln(2) / 4.4 (= 0.1575 per EV) wherever
  L >> e, bending towards no change near black. We apply the exact form (decode, scale,
  encode), so the darkest pixels stay at the floor and never go below it.
* gamma: L' = L ** g, i.e. ln L scaled by g (a contrast change of the log image).
* white balance: one gain 2**N(0, s) per channel (a per-channel additive shift in log).
* noise: Gaussian in linear light, its sigma proportional to the pixel (plus a small floor).

Geometric changes apply to the crop and its mask together: horizontal flip, the report's
LDR set (rotation, shift, shear, zoom; mask by nearest neighbour, outside = black and
non-sky, like ImageDataGenerator's fill_mode='constant'). The horizontal roll of a
360-degree panorama is done by the sampler, whose crops wrap around the image's seam.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

LOG_EPS = 1e-3


@dataclass
class AugmentConfig:
    exposure_ev: float = 0.0  # EV shift uniform in [-exposure_ev, +exposure_ev]
    gamma: float = 0.0  # gamma = exp(U(-gamma, +gamma))
    white_balance: float = 0.0  # per-channel gain 2**N(0, white_balance)
    noise: float = 0.0  # relative noise sigma, uniform in [0, noise]
    hflip: bool = True
    roll: bool = True  # crops wrap around the 360-degree seam at any horizontal offset
    rotation: float = 0.0  # degrees, uniform in [-rotation, rotation]
    shift: float = 0.0  # fraction of the crop, each axis
    shear: float = 0.0  # degrees (as Keras' ImageDataGenerator shear_range)
    zoom: float = 0.0  # scale uniform in [1 - zoom, 1 + zoom]

    @classmethod
    def hdr(cls) -> AugmentConfig:
        """Default for HDR input: exposure, gamma, white balance, noise, flip, roll."""
        return cls(exposure_ev=2.0, gamma=0.15, white_balance=0.1, noise=0.02)

    @classmethod
    def ldr(cls) -> AugmentConfig:
        """The report's LDR ImageDataGenerator set, plus the panorama roll."""
        return cls(rotation=15.0, shift=0.3, shear=0.1, zoom=0.3)

    @classmethod
    def none(cls) -> AugmentConfig:
        return cls(hflip=False, roll=False)

    @classmethod
    def for_transform(cls, transform: str) -> AugmentConfig:
        return cls.hdr() if transform == "hdr_log" else cls.ldr()

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def photometric(self) -> bool:
        return bool(self.exposure_ev or self.gamma or self.white_balance or self.noise)

    @property
    def geometric(self) -> bool:
        return bool(self.rotation or self.shift or self.shear or self.zoom)


def decode(x: np.ndarray, transform: str) -> np.ndarray:
    """Network input -> linear light (float32)."""
    from skysegui.core.tonemap import hdr_log_inverse, srgb_decode

    if transform == "hdr_log":
        return np.maximum(np.asarray(hdr_log_inverse(x), np.float32), 0.0)
    return np.asarray(srgb_decode(np.clip(x, 0.0, 1.0)), np.float32)


def encode(linear: np.ndarray, transform: str) -> np.ndarray:
    """Linear light -> network input (float32)."""
    from skysegui.core.tonemap import hdr_log_transform, srgb_encode

    if transform == "hdr_log":
        return np.asarray(hdr_log_transform(linear), np.float32)
    return np.asarray(srgb_encode(np.clip(linear, 0.0, 1.0)), np.float32)


def shift_exposure(x: np.ndarray, ev: float, transform: str) -> np.ndarray:
    """Network input of the same scene 2**ev times brighter (exact, in linear light)."""
    return encode(decode(x, transform) * np.float32(2.0 ** ev), transform)


def photometric(x: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig, transform: str) -> np.ndarray:
    """Exposure, gamma, white balance and noise in linear light (see the module doc)."""
    if not cfg.photometric:
        return x
    lin = decode(x, transform)
    if cfg.gamma:
        g = math.exp(rng.uniform(-cfg.gamma, cfg.gamma))
        lin = np.power(lin + LOG_EPS, g) - LOG_EPS
    gains = np.ones(3, np.float32)
    if cfg.exposure_ev:
        gains *= 2.0 ** rng.uniform(-cfg.exposure_ev, cfg.exposure_ev)
    if cfg.white_balance:
        gains *= (2.0 ** rng.normal(0.0, cfg.white_balance, 3)).astype(np.float32)
    lin = lin * gains
    if cfg.noise:
        sigma = rng.uniform(0.0, cfg.noise)
        n = rng.standard_normal(lin.shape, dtype=np.float32)
        lin = lin + sigma * (lin + 0.01) * n
    return encode(np.maximum(lin, 0.0), transform)


def geometric(
    x: np.ndarray, y: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig, fill: float
) -> tuple[np.ndarray, np.ndarray]:
    """One random affine warp (rotation, shift, shear, zoom) of crop and mask together."""
    if not cfg.geometric:
        return x, y
    import cv2

    h, w = y.shape
    angle = math.radians(rng.uniform(-cfg.rotation, cfg.rotation))
    shear = math.radians(rng.uniform(-cfg.shear, cfg.shear))
    zx, zy = rng.uniform(1 - cfg.zoom, 1 + cfg.zoom, 2) if cfg.zoom else (1.0, 1.0)
    tx, ty = rng.uniform(-cfg.shift, cfg.shift, 2) * (w, h) if cfg.shift else (0.0, 0.0)
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, -s], [s, c]])
    shr = np.array([[1.0, -math.sin(shear)], [0.0, math.cos(shear)]])
    zm = np.diag([zx, zy])
    a = rot @ shr @ zm
    centre = np.array([w / 2.0, h / 2.0])
    m = np.hstack([a, (centre - a @ centre + (tx, ty))[:, None]]).astype(np.float32)
    xw = cv2.warpAffine(np.ascontiguousarray(x, np.float32), m, (w, h), flags=cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_CONSTANT, borderValue=(fill, fill, fill))
    yw = cv2.warpAffine(np.ascontiguousarray(y, np.uint8), m, (w, h), flags=cv2.INTER_NEAREST,
                        borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return xw, yw


def augment(
    x: np.ndarray, y: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig, transform: str
) -> tuple[np.ndarray, np.ndarray]:
    """Augment one crop (network input H x W x 3, mask H x W); same rng -> same result."""
    x = np.asarray(x, np.float32)
    if cfg.hflip and rng.random() < 0.5:
        x, y = x[:, ::-1], y[:, ::-1]
    if cfg.geometric:
        fill = float(encode(np.zeros((1, 1, 3), np.float32), transform)[0, 0, 0])
        x, y = geometric(x, y, rng, cfg, fill)
    x = photometric(x, rng, cfg, transform)
    return np.ascontiguousarray(x, np.float32), np.ascontiguousarray(y, np.uint8)


def hroll(x: np.ndarray, y: np.ndarray, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """Rotate a whole panorama horizontally by `shift` pixels (it wraps at 360 degrees)."""
    return np.roll(x, shift, axis=1), np.roll(y, shift, axis=1)
