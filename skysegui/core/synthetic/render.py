"""Turn the index map into linear radiance, a band of rows at a time (bounded memory).

Sky pixels get the analytic sky; surfaces get albedo x (sky light + sun on their facing)
with texture and aerial haze; water mirrors what is above it; last, sensor noise.
"""

from __future__ import annotations

import cv2
import numpy as np

from skysegui.core.synthetic.canvas import (
    EMISSIVE,
    FACADE,
    FOLIAGE,
    GROUND,
    METAL,
    OBJECT,
    SKY,
    WATER,
    Canvas,
)
from skysegui.core.synthetic.noise import sample_texture
from skysegui.core.synthetic.sky import Lighting, cloud_layer, sky_radiance

BAND_ROWS = 256
NOISE_FLOOR = -0.004
SHOT_NOISE = 0.003


def render(canvas: Canvas, light: Lighting, clouds: np.ndarray, surface: np.ndarray,
           stars: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
           rng: np.random.Generator) -> np.ndarray:
    h, w = canvas.height, canvas.width
    out = np.empty((h, w, 3), np.float32)
    luts = _shading_tables(canvas.palette.arrays())
    az = canvas.azimuths()
    # Aerial perspective: distant things fade toward the colour of the sky at the horizon.
    horizon = sky_radiance(az[None, :], np.full((1, 1), 0.03, np.float32), light, None,
                           with_disk=False)[0]
    airlight = np.minimum(horizon, light.horizon_rgb * light.zenith * 4.0).astype(np.float32)
    for y0 in range(0, h, BAND_ROWS):
        y1 = min(h, y0 + BAND_ROWS)
        el = canvas.elevations(y0, y1)
        index = canvas.index[y0:y1]
        is_sky = index == 0
        if is_sky.all():
            band = np.zeros((y1 - y0, w, 3), np.float32)
        else:
            band = _shade_surfaces(index, y0, az, el, light, luts, surface, airlight, h)
        if is_sky.any():
            sky = sky_radiance(az[None, :], el[:, None], light, clouds)
            np.copyto(band, sky, where=is_sky[..., None])
        out[y0:y1] = band
    if stars is not None:
        _add_stars(out, canvas, light, clouds, stars)
    _reflect_water(out, canvas, luts["shading"], light, surface)
    _add_noise(out, rng, light.read_noise)
    return out


def _shading_tables(pal: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-entry coefficients of one shading formula, so a band shades with lookups only:
    direct = sun * (flat * sin(sun_el) * (0.6 + 0.4 t) + (face + face_t * t) * facing
                    + const + const_t * t);  texture = tex_a + tex_b * t."""
    n = pal["shading"].size
    coef = {k: np.zeros(n, np.float32) for k in
            ("flat", "face", "face_t", "const", "const_t", "tex_b", "amb")}
    coef["tex_a"] = np.ones(n, np.float32)
    coef["amb"][:] = 1.0
    for entry, kind in enumerate(pal["shading"]):
        if kind == GROUND:
            coef["flat"][entry], coef["tex_a"][entry], coef["tex_b"][entry] = 1.0, 0.7, 0.6
        elif kind == FACADE:
            coef["face"][entry], coef["tex_a"][entry], coef["tex_b"][entry] = 1.0, 0.85, 0.3
            coef["amb"][entry] = 0.8
        elif kind == FOLIAGE:
            coef["face_t"][entry], coef["const_t"][entry] = 0.315, 0.135
            coef["tex_a"][entry], coef["tex_b"][entry], coef["amb"][entry] = 0.4, 1.2, 0.6
        elif kind in (METAL, OBJECT):
            coef["face"][entry], coef["const"][entry] = 0.6, 0.25
        elif kind in (EMISSIVE, WATER, SKY):
            coef["amb"][entry], coef["tex_a"][entry] = 0.0, 0.0
    coef.update(pal)
    return coef


def _shade_surfaces(index, y0, az, el, light: Lighting, luts, surface, airlight,
                    height) -> np.ndarray:
    """Radiance of every non-sky pixel of a band (sky and water pixels come out 0)."""
    rows = ((np.arange(index.shape[0]) + y0) * (1024.0 / height)).astype(np.int64) % surface.shape[0]
    cols = (np.arange(index.shape[1]) * (1024.0 / height)).astype(np.int64) % surface.shape[1]
    t = surface[rows[:, None], cols[None, :]]
    shading = luts["shading"][index]
    below = el < -0.01
    if below.any():
        r0 = int(np.argmax(below))
        ground = (shading[r0:] == GROUND)
        tg = _ground_texture(surface, az, el[r0:])
        t[r0:] = np.where(ground, tg, t[r0:])
    sun_el = max(light.sun_elevation, 0.0)
    facing = (np.maximum(0.0, np.cos(az + np.pi - light.sun_azimuth)) * np.cos(sun_el))[None, :]
    direct = (luts["flat"][index] * (np.sin(sun_el) * (0.6 + 0.4 * t))
              + (luts["face"][index] + luts["face_t"][index] * t) * facing
              + luts["const"][index] + luts["const_t"][index] * t) * light.sun_irradiance
    texture = luts["tex_a"][index] + luts["tex_b"][index] * t
    albedo = luts["albedo"][index] * texture[..., None]
    lit = light.ambient * luts["amb"][index][..., None] + direct[..., None] * _sun_colour(light)
    rad = albedo * lit + luts["emission"][index]
    haze = luts["haze"][index]
    if below.any():  # the ground plane itself fades into the haze toward the horizon
        ground_haze = (0.7 * np.exp(el[r0:] / 0.025))[:, None].astype(np.float32)
        haze[r0:] = np.where(ground, np.maximum(haze[r0:], ground_haze), haze[r0:])
    rad += (airlight[None, :, :] - rad) * haze[..., None]
    return rad.astype(np.float32, copy=False)


def _ground_texture(surface, az, el):
    """Texture of a flat ground seen in perspective (rows below the horizon, all columns)."""
    dist = 1.0 / np.maximum(np.tan(-el), 0.02)[:, None]
    k = surface.shape[0] * 0.35
    tex = sample_texture(surface, np.cos(az)[None, :] * dist * k, np.sin(az)[None, :] * dist * k)
    fade = np.clip(4.0 / dist, 0.0, 1.0)  # far ground averages out instead of aliasing
    return (0.5 + (tex - 0.5) * fade).astype(np.float32)


def _sun_colour(light: Lighting) -> np.ndarray:
    if light.sun_radiance.max() <= 0:
        return np.zeros(3, np.float32)
    return (light.sun_radiance / light.sun_radiance.max()).astype(np.float32)


def _reflect_water(out, canvas: Canvas, shading, light: Lighting, surface) -> None:
    """Water shows the mirrored scene (Fresnel-weighted) with ripples that grow nearer by."""
    h, w = canvas.height, canvas.width
    water_entries = np.nonzero(shading == WATER)[0]
    if water_entries.size == 0:
        return
    half = h // 2
    horizon_row = h / 2.0
    for y0 in range(half, h, BAND_ROWS):
        y1 = min(h, y0 + BAND_ROWS)
        idx = canvas.index[y0:y1]
        is_water = np.isin(idx, water_entries)
        if not is_water.any():
            continue
        rows = np.arange(y0, y1, dtype=np.float32)[:, None]
        depth = (rows + 0.5 - horizon_row) / horizon_row            # 0 at horizon .. 1 nadir
        cols = np.arange(w, dtype=np.float32)[None, :]
        tu = surface[(rows.astype(np.int64) * 7) % surface.shape[0], (cols.astype(np.int64) * 3) % surface.shape[1]]
        amp_x = 0.5 + depth * w * 0.006
        amp_y = depth * h * 0.02
        map_x = (cols + (tu - 0.5) * amp_x).astype(np.float32)
        map_y = np.clip((h - 1 - rows) + (tu - 0.5) * amp_y, 0, half - 1).astype(np.float32)
        map_x = np.broadcast_to(map_x, is_water.shape).copy()
        map_y = np.broadcast_to(map_y, is_water.shape).copy()
        mirrored = cv2.remap(out, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
        # a real water surface is never a perfect mirror: smear it a little, mostly across
        mirrored = cv2.blur(mirrored, (max(1, w // 300), max(1, h // 400)))
        sin_a = np.sin(np.minimum(depth * np.pi / 2, np.pi / 2))
        fresnel = 0.02 + 0.98 * (1 - sin_a) ** 5
        body = light.ambient * 0.05
        refl = mirrored * fresnel[..., None] * 0.9 + body
        band = out[y0:y1]
        band[is_water] = refl[is_water]


def _add_stars(out, canvas: Canvas, light: Lighting, clouds, stars) -> None:
    rows, cols, bright = stars
    keep = canvas.index[rows, cols] == 0
    rows, cols, bright = rows[keep], cols[keep], bright[keep]
    if rows.size == 0:
        return
    az = (cols + 0.5) * (2 * np.pi / canvas.width)
    el = np.pi / 2 - (rows + 0.5) * (np.pi / canvas.height)
    alpha = np.zeros(rows.size, np.float32)
    if light.cloud_cover > 0:
        alpha = cloud_layer(az[None, :].astype(np.float32), el[None, :].astype(np.float32),
                            light, clouds)[0].ravel()
    tint = np.asarray((0.95, 0.97, 1.0), np.float32)
    out[rows, cols] += (bright * (1 - alpha))[:, None] * tint


def _add_noise(out, rng: np.random.Generator, read_noise: float) -> None:
    """Dark noise (can go slightly negative, like a real black-level-subtracted capture)
    plus shot noise that grows with the signal. One band of normal samples is drawn and
    reused, shifted by a random offset, for every band (8K images stay fast)."""
    h, w = out.shape[:2]
    rows = min(h, BAND_ROWS)
    tile = rng.standard_normal((rows, w, 3), dtype=np.float32)
    for y0 in range(0, h, rows):
        band = out[y0:y0 + rows]
        n = np.roll(tile, int(rng.integers(0, w)), axis=1)[: band.shape[0]]
        if rng.random() < 0.5:
            n = n[::-1]
        sigma = np.sqrt(read_noise ** 2 + (SHOT_NOISE ** 2 * 0.01) * np.maximum(band, 0))
        band += n * sigma
        np.maximum(band, NOISE_FLOOR, out=band)
