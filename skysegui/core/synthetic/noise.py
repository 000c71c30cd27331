"""Seamless noise for procedural panoramas.

Everything here is periodic, so skylines and textures continue across the 360-degree
seam (column 0 follows column W-1). Profiles are made at a fixed base resolution and
sampled, so a ridge or tree line keeps its shape at every image size.
"""

from __future__ import annotations

import cv2
import numpy as np

PROFILE_SAMPLES = 4096  # base resolution of 1D profiles (one full turn)


def _uniformise(values: np.ndarray) -> np.ndarray:
    """Map roughly Gaussian values to roughly uniform 0..1 (their normal CDF), so a
    threshold t keeps about a fraction 1-t. Cheaper than ranking."""
    z = (values - values.mean()) / max(float(values.std()), 1e-12)
    return (0.5 * (1.0 + np.tanh(0.7978845608 * z * (1.0 + 0.044715 * z * z)))).astype(np.float32)


def periodic_profile(rng: np.random.Generator, beta: float = 1.6, k_min: int = 1,
                     k_max: int = 256) -> np.ndarray:
    """A 1D fractal (1/f^beta) curve over one turn, zero mean, unit peak; periodic."""
    spectrum = np.zeros(PROFILE_SAMPLES // 2 + 1, dtype=np.complex128)
    k = np.arange(k_min, k_max + 1)
    amp = k.astype(np.float64) ** -beta
    phase = rng.uniform(0, 2 * np.pi, k.size)
    spectrum[k] = amp * np.exp(1j * phase)
    curve = np.fft.irfft(spectrum, PROFILE_SAMPLES)
    curve -= curve.mean()
    return curve / max(np.abs(curve).max(), 1e-12)


def sample_profile(profile: np.ndarray, width: int) -> np.ndarray:
    """Values of a periodic profile at the centres of `width` columns (linear, wrapping)."""
    n = profile.size
    pos = (np.arange(width) + 0.5) * (n / width) - 0.5
    i0 = np.floor(pos).astype(np.int64)
    f = pos - i0
    return (profile[i0 % n] * (1 - f) + profile[(i0 + 1) % n] * f).astype(np.float32)


def tileable_fbm(rng: np.random.Generator, size: int = 256, beta: float = 2.0,
                 k_min: float = 2.0) -> np.ndarray:
    """A square 2D fBm texture, periodic in both axes, values uniform in 0..1."""
    fy = np.fft.fftfreq(size)[:, None] * size
    fx = np.fft.rfftfreq(size)[None, :] * size
    f = np.sqrt(fx * fx + fy * fy)
    amp = np.where(f >= k_min, np.maximum(f, 1e-6) ** (-beta / 1.0), 0.0)
    phase = rng.uniform(0, 2 * np.pi, amp.shape)
    field = np.fft.irfft2(amp * np.exp(1j * phase), s=(size, size))
    return _uniformise(field.astype(np.float32))


def sample_texture(texture: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Bilinear samples of a periodic texture at texel coordinates (u right, v down)."""
    u = np.asarray(u, np.float32)
    v = np.asarray(v, np.float32)
    if u.ndim == 2 and max(u.shape) < 32000:
        return cv2.remap(texture, u, v, interpolation=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_WRAP)
    # remap takes at most 32767 columns: sample any other shape as rows of 4096.
    n = u.size
    rows = -(-n // 4096)
    uu = np.zeros(rows * 4096, np.float32)
    vv = np.zeros(rows * 4096, np.float32)
    uu[:n], vv[:n] = u.ravel(), v.ravel()
    out = cv2.remap(texture, uu.reshape(rows, 4096), vv.reshape(rows, 4096),
                    interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    return out.ravel()[:n].reshape(u.shape)


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)
