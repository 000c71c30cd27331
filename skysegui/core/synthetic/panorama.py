"""make_panorama: one seeded procedural HDR panorama and its exact class map."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from skysegui.core.errors import SkysegError
from skysegui.core.synthetic import objects
from skysegui.core.synthetic.canvas import Canvas
from skysegui.core.synthetic.noise import tileable_fbm
from skysegui.core.synthetic.render import render
from skysegui.core.synthetic.sky import make_lighting
from skysegui.core.synthetic.skyline import BUILDERS, SKYLINES

KINDS = ("day", "dusk", "night", "overcast")   # outdoor skies
RANDOM_KINDS = KINDS[:3]  # kind=None draws from these (overcast only on request: seeds keep their images)
INTERIOR = "interior"
ALL_KINDS = (*KINDS, INTERIOR)                  # what make_panorama accepts
# Skylines made only on request (kind=None / skyline=None never draws them, so the
# panoramas of existing seeds stay the same): "canopy", a wood with crowns overhead.
EXTRA_SKYLINES = ("canopy",)
MIN_SIZE = (16, 8)
MAX_SIZE = (16384, 8192)


class SyntheticSizeError(SkysegError):
    """The requested panorama size is outside what the generator supports."""


@dataclass
class SyntheticPanorama:
    pixels: np.ndarray          # float32 H x W x 3, linear radiance
    classes: np.ndarray         # uint8 H x W: 0 other, 1 sky, 2 object inside the sky
    sky: np.ndarray             # uint8 H x W: 1 where classes == 1
    seed: int
    kind: str                   # "day" | "dusk" | "night" | "overcast" | "interior"
    skyline: str = ""           # "mountains" | "city" | "forest" | "sea" | "lake" | "canopy";
                                # for interiors the style: "room" | "hall" | "industrial"
    info: dict = field(default_factory=dict)  # sun position, object count, ...


def check_size(width: int, height: int) -> None:
    """SyntheticSizeError unless make_panorama can make a panorama of this size."""
    if not (MIN_SIZE[0] <= width <= MAX_SIZE[0] and MIN_SIZE[1] <= height <= MAX_SIZE[1]):
        raise SyntheticSizeError(
            f"panorama size {width}x{height} is not supported: use a width of "
            f"{MIN_SIZE[0]}..{MAX_SIZE[0]} and a height of {MIN_SIZE[1]}..{MAX_SIZE[1]} "
            "(equirectangular panoramas are usually twice as wide as high)")


def make_panorama(width: int, height: int, seed: int, kind: str | None = None,
                  skyline: str | None = None, camera: bool | None = None) -> SyntheticPanorama:
    """A panorama of the given size; the same arguments always give the same bytes.

    kind: a sky ("day", "dusk", "night", "overcast"; None draws day, dusk or night) or
    "interior" (then skyline is the interior's style: "room", "hall", "industrial", or None).
    skyline: what stands against the sky (SKYLINES, or "canopy": a wood with crowns
    overhead; None draws one of SKYLINES). camera: white balance, exposure, noise and
    clipped highlights like a real capture (see camera.py); None means on for interiors
    and the canopy, off for the other scenes (their seeds keep their images).
    """
    check_size(width, height)
    if kind is not None and kind not in ALL_KINDS:
        raise ValueError(f"kind must be one of {ALL_KINDS}, not {kind!r}")
    if kind == INTERIOR:
        from skysegui.core.synthetic.interior import make_interior

        return make_interior(width, height, seed, style=skyline,
                             camera=True if camera is None else bool(camera))
    if skyline is not None and skyline not in SKYLINES + EXTRA_SKYLINES:
        raise ValueError(f"skyline must be one of {SKYLINES + EXTRA_SKYLINES}, not {skyline!r}")
    seeds = np.random.SeedSequence(int(seed)).spawn(6)
    pick, geo, lit, tex, sky_objects, noise = (np.random.default_rng(s) for s in seeds)
    chosen_kind = kind or str(pick.choice(RANDOM_KINDS, p=[0.55, 0.25, 0.2]))
    chosen_skyline = skyline or str(pick.choice(SKYLINES))

    canvas = Canvas(width, height)
    if chosen_skyline in EXTRA_SKYLINES:
        from skysegui.core.synthetic.foliage import canopy

        canopy(canvas, geo, chosen_kind)
        top = np.radians(16.0)  # crowns close overhead: the sun may stand behind them
    else:
        BUILDERS[chosen_skyline](canvas, geo, chosen_kind)
        top = _skyline_top(canvas)
    light = make_lighting(chosen_kind, lit, top)
    n_objects = _place_sky_objects(canvas, sky_objects, light)
    canvas.remove_specks(min_area=12)

    clouds = tileable_fbm(tex, 256, beta=2.1, k_min=1.5)
    surface = tileable_fbm(tex, 256, beta=1.2, k_min=2.0)
    stars = _stars(canvas, tex, light) if light.star_density > 0 else None
    pixels = render(canvas, light, clouds, surface, stars, noise)
    classes = canvas.classes()
    info = {}
    if camera or (camera is None and chosen_skyline in EXTRA_SKYLINES):
        info = _camera(pixels, classes, int(seed))
    return SyntheticPanorama(
        pixels=pixels, classes=classes, sky=(classes == 1).astype(np.uint8), seed=int(seed),
        kind=chosen_kind, skyline=chosen_skyline,
        info=info | {
            "sun_azimuth_deg": float(np.degrees(light.sun_azimuth)),
            "sun_elevation_deg": float(np.degrees(light.sun_elevation)),
            "sun_xy": (float(canvas.x_of(light.sun_azimuth)), float(canvas.y_of(light.sun_elevation))),
            "cloud_cover": light.cloud_cover,
            "sky_objects": n_objects,
        },
    )


def _camera(pixels: np.ndarray, classes: np.ndarray, seed: int) -> dict:
    """A real camera on an outdoor panorama (its own random stream: the scene is unchanged):
    white balance near daylight or auto, exposure within about +-1.5 stops of the render,
    and the sun (or any highlight) clipped flat at the sensor's maximum."""
    from skysegui.core.synthetic.camera import CameraSettings, apply_camera

    rng = np.random.default_rng([seed, 0xCA3])
    lum = pixels[::4, ::4].mean(axis=2)
    median = float(np.median(lum))
    sky = classes[::4, ::4] == 1
    sky_level = float(np.median(lum[sky])) if sky.any() else median
    wb = None if rng.random() < 0.6 else float(rng.uniform(4800, 7500))
    target = median * 2.0 ** rng.uniform(-1.5, 1.5)
    # the sensor's maximum: 8 to 15 stops over the sky, so a day sun is often clipped
    clip = min(65504.0, sky_level * target / max(median, 1e-9) * 2.0 ** rng.uniform(8.0, 15.0))
    settings = CameraSettings(white_balance_k=wb, auto_strength=float(rng.uniform(0.2, 0.6)),
                              median=float(target), read_noise=float(2.0 ** rng.uniform(-12, -9)),
                              shot_noise=float(2.0 ** rng.uniform(-10, -7)), clip=float(clip))
    apply_camera(pixels, settings, rng)
    return {"white_balance_k": wb or "auto", "clip": settings.clip}


def _skyline_top(canvas: Canvas) -> float:
    """Elevation (radians) of the highest non-sky pixel."""
    rows = np.nonzero((canvas.index != 0).any(axis=1))[0]
    if rows.size == 0:
        return 0.0
    return float(np.pi / 2 - rows[0] * np.pi / canvas.height)


def _place_sky_objects(canvas: Canvas, rng: np.random.Generator, light) -> int:
    """Sometimes a balloon or a few birds, always fully inside the sky and clear of the sun."""
    count = 0
    if rng.random() > 0.45:
        return 0
    for _ in range(int(rng.integers(1, 3))):
        for _attempt in range(12):
            az, el = rng.uniform(0, 2 * np.pi), np.radians(rng.uniform(12, 55))
            cos_sun = (np.sin(el) * np.sin(light.sun_elevation)
                       + np.cos(el) * np.cos(light.sun_elevation) * np.cos(az - light.sun_azimuth))
            if cos_sun > np.cos(np.radians(8)):
                continue
            x, y = float(canvas.x_of(az)), float(canvas.y_of(el))
            size = max(3.0, np.radians(rng.uniform(0.8, 2.5)) * canvas.px_per_rad)
            if rng.random() < 0.5:
                ok = objects.balloon(canvas, rng, x, y, size)
            else:
                ok = objects.bird_flock(canvas, rng, x, y, size * 2.5) > 0
            if ok:
                count += 1
                break
    return count


def _stars(canvas: Canvas, rng: np.random.Generator, light):
    n = int(canvas.width * canvas.height * 0.5 * 0.004 * light.star_density)
    rows = rng.integers(0, canvas.height // 2, n)
    cols = rng.integers(0, canvas.width, n)
    bright = (rng.exponential(0.08, n) + 0.01).astype(np.float32)
    return rows, cols, bright
