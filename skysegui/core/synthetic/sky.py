"""An analytic sky in linear radiance: gradient, sun or moon, clouds, haze, stars.

Brightness follows the CIE clear-sky shape (brighter toward the horizon and around the
sun); colour goes from a deep zenith blue to a pale horizon, warm around a low sun.
The sun disk is tens of thousands of times brighter than the sky, as in real captures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skysegui.core.synthetic.noise import sample_texture, smoothstep

SUN_RADIUS = np.radians(0.27)


@dataclass
class Lighting:
    """Everything the sky and the scene's shading need to agree on."""

    kind: str                      # "day" | "dusk" | "night" | "overcast"
    sun_azimuth: float             # radians
    sun_elevation: float           # radians (negative: below the horizon)
    zenith: float                  # zenith luminance
    zenith_rgb: np.ndarray         # colour (unit-ish) at the zenith
    horizon_rgb: np.ndarray        # colour at the horizon away from the sun
    glow_rgb: np.ndarray           # colour around the sun / dusk glow
    sun_radiance: np.ndarray       # RGB of the sun disk (0 at night)
    sun_irradiance: float          # direct light on a surface facing the sun
    ambient: np.ndarray            # RGB light from the whole sky on a surface
    cloud_cover: float             # 0..1
    cloud_rgb: np.ndarray          # lit cloud colour (radiance)
    cloud_scale: float             # texels per unit of the cloud plane
    moon_azimuth: float = 0.0
    moon_elevation: float = -1.0
    moon_radiance: float = 0.0
    star_density: float = 0.0      # 0..1, how many stars
    read_noise: float = 0.0008     # std of the sensor's dark noise


def _rgb(*v) -> np.ndarray:
    return np.asarray(v, np.float32)


def make_lighting(kind: str, rng: np.random.Generator, min_sun_elevation: float) -> Lighting:
    """Random but plausible light for a time of day. min_sun_elevation keeps a day sun above the skyline."""
    az = rng.uniform(0, 2 * np.pi)
    cover = float(rng.choice([0.0, 0.15, 0.3, 0.45, 0.6], p=[0.15, 0.3, 0.25, 0.2, 0.1]))
    scale = float(rng.uniform(0.35, 0.8))
    if kind == "day":
        low = min(max(20.0, np.degrees(min_sun_elevation) + 4), 70.0)
        el = np.radians(rng.uniform(low, max(low, 65.0)))
        z = float(rng.uniform(0.7, 1.8))
        sun = float(rng.uniform(20000, 50000))
        return Lighting(
            kind, az, el, z,
            zenith_rgb=_rgb(0.25, 0.5, 1.35), horizon_rgb=_rgb(0.85, 0.95, 1.12),
            glow_rgb=_rgb(1.15, 1.05, 0.9), sun_radiance=sun * _rgb(1.0, 0.96, 0.9),
            sun_irradiance=float(rng.uniform(3.0, 5.0)), ambient=_rgb(0.9, 1.0, 1.15) * z * 1.6,
            cloud_cover=cover, cloud_rgb=_rgb(1.0, 1.0, 1.02) * z * rng.uniform(2.5, 4.0),
            cloud_scale=scale,
        )
    if kind == "dusk":
        el = np.radians(rng.uniform(-3.0, 4.0))
        z = float(rng.uniform(0.04, 0.15))
        sun = float(rng.uniform(2000, 8000)) if el > -SUN_RADIUS else 0.0
        return Lighting(
            kind, az, el, z,
            zenith_rgb=_rgb(0.3, 0.42, 1.1), horizon_rgb=_rgb(0.95, 0.75, 0.8),
            glow_rgb=_rgb(1.6, 0.75, 0.28), sun_radiance=sun * _rgb(1.0, 0.55, 0.2),
            sun_irradiance=float(max(np.sin(el), 0.0) * 4 + 0.03), ambient=_rgb(0.8, 0.7, 0.8) * z * 1.5,
            cloud_cover=cover, cloud_rgb=_rgb(1.2, 0.55, 0.4) * z * rng.uniform(2.0, 5.0),
            cloud_scale=scale, read_noise=0.0005,
        )
    if kind == "overcast":
        # A closed, bright grey-white deck: the sky of many city and landscape captures,
        # and the one most like a white ceiling, so a model must learn it from context.
        el = np.radians(rng.uniform(25.0, 60.0))
        z = float(rng.uniform(0.3, 0.9))
        grey = float(rng.uniform(0.0, 0.06))
        return Lighting(
            kind, az, el, z,
            zenith_rgb=_rgb(0.9 - grey, 0.95, 1.05 + grey), horizon_rgb=_rgb(0.95, 0.97, 1.02),
            glow_rgb=_rgb(1.0, 1.0, 1.0), sun_radiance=float(rng.uniform(20, 200)) * _rgb(1.0, 0.98, 0.95),
            sun_irradiance=float(rng.uniform(0.1, 0.3)), ambient=_rgb(1.0, 1.0, 1.05) * z * 1.0,
            cloud_cover=float(rng.uniform(0.9, 1.0)),
            cloud_rgb=_rgb(1.0, 1.0, 1.03) * z * rng.uniform(1.5, 2.5),
            cloud_scale=float(rng.uniform(0.2, 0.5)),
        )
    if kind == "night":
        el = np.radians(rng.uniform(-40.0, -20.0))
        z = float(rng.uniform(0.005, 0.02))
        moon = rng.random() < 0.7
        return Lighting(
            kind, az, el, z,
            zenith_rgb=_rgb(0.5, 0.6, 1.2), horizon_rgb=_rgb(1.3, 0.95, 0.7),
            glow_rgb=_rgb(1.0, 1.0, 1.0), sun_radiance=_rgb(0, 0, 0), sun_irradiance=0.0,
            ambient=_rgb(0.7, 0.75, 1.0) * z * (0.9 if moon else 0.5),
            cloud_cover=cover * 0.7, cloud_rgb=_rgb(1.1, 0.85, 0.7) * z * rng.uniform(1.5, 3.0),
            cloud_scale=scale,
            moon_azimuth=float(rng.uniform(0, 2 * np.pi)),
            moon_elevation=float(np.radians(rng.uniform(15, 60))) if moon else -1.0,
            moon_radiance=float(rng.uniform(150, 600)) if moon else 0.0,
            star_density=float(rng.uniform(0.3, 1.0)), read_noise=0.0002,
        )
    raise ValueError(f"unknown kind {kind!r}")


def _cos_angle(az, el, az0, el0):
    """Cosine of the angle between directions (az, el) and (az0, el0)."""
    return np.sin(el) * np.sin(el0) + np.cos(el) * np.cos(el0) * np.cos(az - az0)


def sky_radiance(az: np.ndarray, el: np.ndarray, light: Lighting, clouds: np.ndarray | None,
                 with_disk: bool = True) -> np.ndarray:
    """Linear RGB sky for directions (az, el) (broadcast to H x W); clouds: texture or None."""
    az, el = np.broadcast_arrays(az, el)
    el_c = np.maximum(el, 0.0)
    sin_c = np.maximum(np.sin(el_c), 0.01)
    cos_g = np.clip(_cos_angle(az, el_c, light.sun_azimuth, light.sun_elevation), -1.0, 1.0)
    gamma = np.arccos(cos_g)
    # CIE clear-sky gradation and indicatrix, normalised at the zenith.
    grad = 1.0 - np.exp(-0.32 / sin_c)
    sun_el = max(light.sun_elevation, 0.0)
    g_z = np.pi / 2 - sun_el
    norm = (1.0 - np.exp(-0.32)) * (1 + 10 * (np.exp(-3 * g_z) - np.exp(-3 * np.pi / 2))
                                    + 0.45 * np.cos(g_z) ** 2)
    indic = 1 + 10 * (np.exp(-3 * gamma) - np.exp(-3 * np.pi / 2)) + 0.45 * cos_g ** 2
    if light.kind == "night":
        indic = np.ones_like(indic)
        norm = 1.0 - np.exp(-0.32)
    lum = (light.zenith * grad * indic / norm).astype(np.float32)

    to_horizon = np.exp(-sin_c * 4.0)[..., None]
    rgb = light.zenith_rgb * (1 - to_horizon) + light.horizon_rgb * to_horizon
    if light.kind == "dusk":
        # A warm band along the horizon, strongest toward the sun.
        toward = (0.5 + 0.5 * np.cos(az - light.sun_azimuth)) ** 2
        band = (np.exp(-sin_c * 7.0) * (0.35 + 0.65 * toward))[..., None]
        rgb = rgb * (1 - band) + light.glow_rgb * band * 1.6
    else:
        near_sun = (np.exp(-gamma * 2.5) * 0.6)[..., None]
        rgb = rgb * (1 - near_sun) + light.glow_rgb * near_sun
    out = (rgb * lum[..., None]).astype(np.float32)

    if clouds is not None and light.cloud_cover > 0:
        alpha, shade = cloud_layer(az, el, light, clouds)
        forward = np.exp(-gamma / 0.25)[..., None]
        horizon_dim = (0.55 + 0.45 * smoothstep(0.0, 0.5, el))[..., None]
        cloud = light.cloud_rgb * (shade[..., None] * horizon_dim + 1.5 * forward)
        a = alpha[..., None]
        out = out * (1 - a) + cloud.astype(np.float32) * a
    else:
        alpha = None
    if with_disk:
        _add_disks(out, az, el, gamma, light, alpha)
    return out


def cloud_layer(az, el, light: Lighting, texture: np.ndarray):
    """Cloud coverage (0..1) and shading on a flat cloud plane seen in perspective."""
    size = texture.shape[0]
    t = np.maximum(np.tan(np.maximum(el, 0.0)), 0.04)
    dist = 1.0 / t
    u = np.cos(az) * dist * light.cloud_scale * size * 0.4 + 0.25 * size
    v = np.sin(az) * dist * light.cloud_scale * size * 0.4 + 0.25 * size
    d = sample_texture(texture, u, v)
    thr = 1.0 - light.cloud_cover
    alpha = smoothstep(thr, thr + 0.18, d)
    # Far away the plane's detail is finer than a pixel: let it merge into an even veil
    # (the average coverage) instead of aliasing into specks along the horizon.
    veil = smoothstep(2.5, 9.0, dist)
    alpha = alpha * (1 - veil) + (0.6 * light.cloud_cover) * veil
    alpha = (alpha * smoothstep(0.0, 0.04, el)).astype(np.float32)
    shade = (1.0 - 0.45 * smoothstep(thr + 0.1, 1.0, d)).astype(np.float32)
    return alpha, shade


def _add_disks(out, az, el, gamma, light: Lighting, cloud_alpha) -> None:
    """Sun (or moon) disk: at least the nearest pixel, never fully hidden by a thin cloud."""
    h, w = out.shape[:2]
    pix = np.pi / max(h, 1)  # one pixel in radians (vertical)
    if light.sun_radiance.max() > 0:
        r = max(SUN_RADIUS, 0.75 * pix)
        disk = gamma <= r
        if disk.any():
            keep = 1.0 if cloud_alpha is None else (1.0 - 0.7 * cloud_alpha[disk])[..., None]
            out[disk] = light.sun_radiance * keep
    if light.moon_radiance > 0:
        cos_m = _cos_angle(az, el, light.moon_azimuth, light.moon_elevation)
        r = max(np.radians(0.26), 0.75 * pix)
        disk = cos_m >= np.cos(r)
        if disk.any():
            out[disk] = light.moon_radiance * np.asarray((1.0, 0.97, 0.92), np.float32)
        halo = np.exp(-np.arccos(np.clip(cos_m, -1, 1)) / 0.06) * light.zenith * 2
        out += (halo[..., None] * np.asarray((0.8, 0.85, 1.0), np.float32)).astype(np.float32) * (~disk)[..., None]
