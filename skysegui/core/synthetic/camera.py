"""What a real camera does to a linear HDR panorama: white balance, exposure, sensor noise
with small negative values in the dark, and highlights clipped at the sensor's maximum.

Real merged brackets are not the clean radiance a renderer makes: the white balance was
set for one light (tungsten lamps look orange under a daylight balance, windows look blue
under a tungsten one), the overall level depends on the exposure, black-level subtraction
leaves small negative values in dark areas, and a sun or a bare lamp brighter than the
longest bracket can hold is a flat disk at one value. `apply_camera` does all of it with its
own random stream, so adding it to a kind never changes what the scene itself draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HALF_MAX = 65504.0  # the largest half-float value: every panorama must fit a half EXR

# Linear RGB of a white surface under a black-body light (normalised to luminance 1):
# tungsten is orange, daylight neutral, shade and overcast slightly blue.
_KELVIN = np.array([1900, 2700, 3200, 4000, 5000, 6500, 8000, 11000], np.float32)
_KELVIN_RGB = np.array([
    (1.0, 0.50, 0.16), (1.0, 0.64, 0.33), (1.0, 0.72, 0.45), (1.0, 0.82, 0.64),
    (1.0, 0.91, 0.82), (0.96, 0.99, 1.03), (0.86, 0.93, 1.08), (0.76, 0.87, 1.15),
], np.float32)
_REC709 = np.array((0.2126, 0.7152, 0.0722), np.float32)


def kelvin_rgb(kelvin: float) -> np.ndarray:
    """Linear RGB (luminance 1) of light at a colour temperature, 1900..11000 K."""
    k = float(np.clip(kelvin, _KELVIN[0], _KELVIN[-1]))
    rgb = np.array([np.interp(k, _KELVIN, _KELVIN_RGB[:, c]) for c in range(3)], np.float32)
    return (rgb / float(rgb @ _REC709)).astype(np.float32)


@dataclass
class CameraSettings:
    """One capture's camera: white balance, level, noise and clipping (all drawn at random)."""

    white_balance_k: float | None = 6500.0  # the light the camera was balanced for; None: auto
    auto_strength: float = 0.8        # auto white balance: how far toward grey it corrects
    median: float = 0.25              # luminance the exposure puts the median pixel at
    read_noise: float = 0.0005        # std of the dark noise, as a fraction of the median
    shot_noise: float = 0.002         # std of the photon noise at the median, as a fraction
    clip: float = HALF_MAX            # sensor maximum (per channel, after exposure)
    black_offset: float = 0.0         # black level subtracted a little too much (x read noise)


def random_camera(rng: np.random.Generator, scene_kelvin: float, median_range=(0.05, 0.8),
                  clip_stops=(9.0, 17.0)) -> CameraSettings:
    """A camera with auto white balance (grey world, most of the way), or a fixed daylight
    or tungsten setting (tungsten only where the scene's light is warm), exposed so the
    median lands in median_range."""
    r = rng.random()
    wb: float | None
    if r < 0.6:
        wb = None
    elif r < 0.88 or scene_kelvin > 4200:
        wb = float(rng.uniform(5200, 6500))
    else:
        wb = float(rng.uniform(2900, 3400))
    lo, hi = np.log(median_range[0]), np.log(median_range[1])
    median = float(np.exp(rng.uniform(lo, hi)))
    clip = min(HALF_MAX, median * 2.0 ** rng.uniform(*clip_stops))
    return CameraSettings(white_balance_k=wb, auto_strength=float(rng.uniform(0.5, 0.95)),
                          median=median,
                          read_noise=float(2.0 ** rng.uniform(-11, -7)),
                          shot_noise=float(2.0 ** rng.uniform(-9, -6)), clip=float(clip),
                          black_offset=float(rng.uniform(0.0, 2.0)))


def apply_camera(pixels: np.ndarray, camera: CameraSettings, rng: np.random.Generator,
                 reference_kelvin: float = 6500.0, rows: int = 256) -> np.ndarray:
    """White balance, expose, clip and add noise to linear pixels (in place; returned).

    reference_kelvin is the light the pixels are already balanced for (the renderer's
    white); the camera's balance multiplies them by reference / its own white. The noise
    is added after clipping, as a sensor's is, so a clipped disk stays flat but for the
    noise, and dark pixels dip slightly below zero.
    """
    sample = pixels[::4, ::4].reshape(-1, 3)
    lum = sample @ _REC709
    if camera.white_balance_k is None:  # grey world over the mid tones
        lo, hi = np.percentile(lum, [10, 90]) if lum.size else (0.0, 0.0)
        mid = sample[(lum >= lo) & (lum <= hi)]
        mean = np.maximum(mid.mean(axis=0), 1e-9) if mid.size else np.ones(3, np.float32)
        gain = (float(mean @ _REC709) / mean) ** camera.auto_strength
    else:
        gain = kelvin_rgb(reference_kelvin) / kelvin_rgb(camera.white_balance_k)
    gain = (gain / float(gain @ _REC709)).astype(np.float32)
    median = float(np.median(lum)) if lum.size else 0.0
    scale = camera.median / max(median, 1e-9)
    gain = (gain * scale).astype(np.float32)
    h, w = pixels.shape[:2]
    read = camera.read_noise * camera.median
    shot2 = (camera.shot_noise ** 2) * camera.median
    tile = rng.standard_normal((min(h, rows), w, 3), dtype=np.float32)
    for y0 in range(0, h, rows):
        band = pixels[y0:y0 + rows]
        band *= gain
        np.minimum(band, camera.clip, out=band)
        n = np.roll(tile, int(rng.integers(0, w)), axis=1)[: band.shape[0]]
        sigma = np.sqrt(read * read + shot2 * np.maximum(band, 0.0))
        band += n * sigma
        band -= camera.black_offset * read
        np.maximum(band, -(4.0 + camera.black_offset) * read, out=band)
        np.minimum(band, HALF_MAX, out=band)
    return pixels
