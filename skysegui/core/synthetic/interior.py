"""Synthetic interiors: a box-shaped room, hall or industrial shed seen from a random point.

The negatives a sky model must learn: white ceilings, bare lamps many stops brighter than
the walls, frosted skylights, bright window frames, curtains lit from behind, and painted
or printed skies (a flat, low-range picture lit like the wall it is on). None of these is
sky. The sky seen through clear glass (windows, clear skylights) is sky, and only there.

Each pixel's ray is cast against the room's six planes and a few boxes (furniture,
columns, beams, hanging lamps); rectangles on the planes are windows, doors, pictures,
lamps and skylights. Surfaces are lit by the lamps and windows as small area lights
(inverse square, cosine-weighted), by sunlight through the windows (a sharp patch with the
frame's shadow) and by an ambient bounce that keeps the light's energy. Through the glass
the outdoor scene is the analytic sky of sky.py over a far skyline and, sometimes,
buildings across the street. A camera (white balance, exposure, noise, clipping) comes last.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from skysegui.core.synthetic import patterns as pat
from skysegui.core.synthetic.camera import apply_camera, kelvin_rgb, random_camera
from skysegui.core.synthetic.noise import (
    periodic_profile,
    sample_profile,
    sample_texture,
    tileable_fbm,
)
from skysegui.core.synthetic.sky import Lighting, make_lighting, sky_radiance

INTERIOR_STYLES = ("room", "hall", "industrial")
MIN_SKY_AREA = 12  # sky specks smaller than this (in pixels) become window frame

# What a pixel shows (besides its material's albedo).
DIFFUSE, EMITTER, GLASS, FROSTED, SHEER = range(5)
# Room surfaces: 0 floor, 1 ceiling, 2 wall x=0, 3 wall x=Lx, 4 wall y=0, 5 wall y=Ly.
FLOOR, CEILING, WALL_X0, WALL_X1, WALL_Y0, WALL_Y1 = range(6)
_SURFACE_AXIS = (2, 2, 0, 0, 1, 1)
_SURFACE_SIGN = (1, -1, 1, -1, 1, -1)   # the inward normal's sign along its axis
_UV_AXES = {0: (1, 2), 1: (0, 2), 2: (0, 1)}


@dataclass
class Material:
    pattern: str = "plaster"             # a function of patterns.py, or "flat"
    colour: tuple = (0.7, 0.7, 0.7)
    params: dict = field(default_factory=dict)
    emission: np.ndarray | None = None   # RGB radiance for emitters
    shows: int = DIFFUSE


@dataclass
class Feature:
    """A rectangle on a room surface, in that surface's (u, v) metres."""

    surface: int
    u0: float
    u1: float
    v0: float
    v1: float
    material: int
    kind: str = "panel"                  # window | skylight | door | picture | lamp | panel | curtain
    round: bool = False                  # an ellipse inscribed in the rectangle (lamps)
    frame: float = 0.0                   # window frame width (m)
    bars: tuple = (0, 0)                 # window mullions across u and v
    frame_material: int = -1


@dataclass
class Box:
    lo: np.ndarray
    hi: np.ndarray
    material: int
    top_material: int = -1


@dataclass
class Light:
    pos: np.ndarray
    intensity: np.ndarray                # RGB; irradiance = I cos / r^2
    normal: np.ndarray | None = None     # facing of a flat emitter (None: all around)
    size2: float = 0.05                  # r^2 floor (about the emitter's area)


@dataclass
class Scene:
    size: np.ndarray                     # room extent (x, y, z), metres
    camera: np.ndarray
    yaw: float
    style: str
    materials: list = field(default_factory=list)
    surface_material: list = field(default_factory=list)
    features: list = field(default_factory=list)
    boxes: list = field(default_factory=list)
    outside_boxes: list = field(default_factory=list)
    lights: list = field(default_factory=list)
    lamp_kelvin: float = 3000.0
    painted_sky: bool = False
    clear_glass: bool = False            # wall windows are never frosted
    floor_gloss: float = 0.0             # strength of the floor's reflection (0: matte)
    floor_blur: float = 0.01             # its blur, as a fraction of the image height

    def add(self, material: Material) -> int:
        self.materials.append(material)
        return len(self.materials) - 1


def make_interior(width: int, height: int, seed: int, style: str | None = None, *,
                  windows: bool | None = None, painted_sky: bool | None = None,
                  camera: bool = True):
    """A seeded synthetic interior (SyntheticPanorama with kind "interior", skyline = style).

    style: "room" (flat, office, hotel room), "hall" (lobby, lab, gallery) or "industrial"
    (warehouse, workshop); None picks one. windows: True gives clear windows (their sky
    is labelled sky, if the view is not blocked), False no clear glass to the outside at
    all (frosted skylights may remain); None draws. painted_sky: force a painted or
    printed sky (a mural, a ceiling, a print; labelled 0) in or out. camera: white
    balance, exposure, noise and clipping like a real capture (off: clean radiance).
    The same arguments always give the same bytes.
    """
    from skysegui.core.synthetic.panorama import SyntheticPanorama

    pixels, sky, _layers, info, cam_rng, scene_k = _make(width, height, seed, style, windows,
                                                         painted_sky)
    if camera:
        settings = random_camera(cam_rng, scene_k)
        apply_camera(pixels, settings, cam_rng)
        info["white_balance_k"] = settings.white_balance_k or "auto"
        info["clip"] = settings.clip
    classes = sky.astype(np.uint8)
    return SyntheticPanorama(pixels=pixels, classes=classes, sky=classes.copy(), seed=int(seed),
                             kind="interior", skyline=info["style"], info=info)


def interior_layers(width: int, height: int, seed: int, style: str | None = None, *,
                    windows: bool | None = None, painted_sky: bool | None = None) -> dict:
    """What each pixel of make_interior's panorama (same arguments) shows, as boolean
    H x W masks (for tests and audits): "glass" (clear windows and skylights, frames
    excluded: the sky lies inside it), "lamps" (emitters), "painted_sky" (murals and
    prints of a sky), "walls" (walls, floor and ceiling in their plain material)."""
    return _make(width, height, seed, style, windows, painted_sky)[2]


def _make(width, height, seed, style, windows, painted_sky):
    from skysegui.core.synthetic.panorama import check_size

    check_size(width, height)
    if style is not None and style not in INTERIOR_STYLES:
        raise ValueError(f"interior style must be one of {INTERIOR_STYLES}, not {style!r}")
    seeds = np.random.SeedSequence([int(seed), 0x1D0]).spawn(5)
    pick, geo, lit, tex_rng, cam_rng = (np.random.default_rng(s) for s in seeds)
    style = style or str(pick.choice(INTERIOR_STYLES, p=[0.45, 0.3, 0.25]))
    outdoor_kind = str(pick.choice(("day", "overcast", "dusk", "night"), p=[0.5, 0.3, 0.1, 0.1]))
    drawn_windows = pick.random() < {"room": 0.65, "hall": 0.75, "industrial": 0.6}[style]
    drawn_painted = pick.random() < 0.2
    clear = windows is True
    windows = drawn_windows if windows is None else bool(windows)
    painted_sky = drawn_painted if painted_sky is None else bool(painted_sky)

    light = make_lighting(outdoor_kind, lit, 0.0)
    scene = _layout(style, geo, windows, painted_sky, clear)
    textures = [tileable_fbm(tex_rng, 128, beta=b, k_min=2.0) for b in (1.2, 1.6, 2.0)]
    clouds = tileable_fbm(tex_rng, 256, beta=2.1, k_min=1.5)
    outdoor = _Outdoor(scene, light, clouds, tex_rng, outdoor_kind)
    pixels, sky, layers = _render(scene, outdoor, textures, width, height)
    info = {"style": style, "outdoor": outdoor_kind, "windows": int(sum(
        f.kind in ("window", "skylight") and scene.materials[f.material].shows == GLASS
        for f in scene.features)), "painted_sky": scene.painted_sky,
        "glass_fraction": float(layers["glass"].mean()), "lamp_kelvin": scene.lamp_kelvin,
        "room_size": tuple(float(s) for s in scene.size)}
    daylit = windows and outdoor_kind in ("day", "overcast")
    scene_k = float(np.sqrt(scene.lamp_kelvin * 6500.0)) if daylit else scene.lamp_kelvin
    return pixels, sky, layers, info, cam_rng, scene_k


# --- layout -------------------------------------------------------------------------
_WHITE_PAINTS = [(0.82, 0.82, 0.8), (0.8, 0.77, 0.7), (0.78, 0.78, 0.76), (0.84, 0.8, 0.72)]
_COLOUR_PAINTS = [(0.55, 0.7, 0.5), (0.55, 0.65, 0.75), (0.8, 0.7, 0.45), (0.75, 0.55, 0.45),
                  (0.45, 0.5, 0.55), (0.62, 0.78, 0.6), (0.35, 0.45, 0.4)]
_WOODS = [(0.45, 0.28, 0.14), (0.58, 0.42, 0.26), (0.25, 0.14, 0.08), (0.5, 0.36, 0.22),
          (0.65, 0.5, 0.32)]
_FABRICS = [(0.55, 0.5, 0.45), (0.3, 0.32, 0.38), (0.5, 0.15, 0.12), (0.6, 0.55, 0.15),
            (0.2, 0.3, 0.45), (0.75, 0.73, 0.7), (0.15, 0.15, 0.15)]


def _choice(rng, items):
    return items[int(rng.integers(len(items)))]


def _layout(style: str, rng: np.random.Generator, windows: bool, painted_sky: bool,
            clear: bool = False) -> Scene:
    """The room: its size, the camera, materials, windows, lamps, furniture. clear: the
    windows' glass is clear (otherwise sometimes frosted)."""
    if style == "room":
        size = np.array([rng.uniform(3.0, 8.0), rng.uniform(3.0, 7.0), rng.uniform(2.45, 3.2)])
    elif style == "hall":
        size = np.array([rng.uniform(10, 30), rng.uniform(8, 22), rng.uniform(3.8, 8.0)])
    else:
        size = np.array([rng.uniform(15, 45), rng.uniform(12, 30), rng.uniform(6.0, 12.0)])
    margin = np.minimum(size[:2] * 0.2, 1.0)
    cam = np.array([rng.uniform(margin[0], size[0] - margin[0]),
                    rng.uniform(margin[1], size[1] - margin[1]),
                    rng.uniform(1.2, 1.8) if style != "industrial" else rng.uniform(1.4, 2.2)])
    scene = Scene(size=size, camera=cam, yaw=float(rng.uniform(0, 2 * np.pi)), style=style)
    scene.clear_glass = clear
    r = rng.random()
    scene.lamp_kelvin = float(rng.uniform(2600, 3300) if r < 0.5 else
                              rng.uniform(3800, 4500) if r < 0.8 else rng.uniform(5000, 6500))
    {"room": _room, "hall": _hall, "industrial": _industrial}[style](scene, rng, windows)
    if painted_sky:
        _paint_a_sky(scene, rng)
    floor = scene.materials[scene.surface_material[FLOOR]].pattern
    gloss = {"tiles": (0.3, 1.0), "wood_planks": (0.1, 0.6), "concrete": (0.0, 1.0)}.get(floor)
    if gloss is not None and rng.random() < 0.75:
        scene.floor_gloss = float(rng.uniform(*gloss))
        scene.floor_blur = float(np.exp(rng.uniform(np.log(0.002), np.log(0.012))))
    _check_camera_clear(scene)
    return scene


def _wall_length(scene: Scene, surface: int) -> float:
    return float(scene.size[1] if _SURFACE_AXIS[surface] == 0 else scene.size[0])


def _lamp_material(scene: Scene, rng, stops=(6.0, 10.5), kelvin=None) -> int:
    k = scene.lamp_kelvin if kelvin is None else kelvin
    radiance = 2.0 ** rng.uniform(*stops)
    return scene.add(Material("flat", (1, 1, 1), emission=kelvin_rgb(k) * radiance, shows=EMITTER))


def _away_from_camera(scene: Scene, x: float, y: float, clear: float) -> tuple[float, float]:
    """(x, y) moved (along the axis it is farther along) to at least `clear` metres from
    the camera's vertical in x or y, staying inside the room."""
    c = scene.camera
    dx, dy = x - c[0], y - c[1]
    if abs(dx) >= clear or abs(dy) >= clear:
        return x, y
    axis, delta = (0, dx) if abs(dx) >= abs(dy) else (1, dy)
    for sign in (1.0 if delta >= 0 else -1.0, -1.0 if delta >= 0 else 1.0):
        pos = c[axis] + sign * clear
        if 0.0 < pos < scene.size[axis]:
            return (pos, y) if axis == 0 else (x, pos)
    return x, y


def _ceiling_lamp(scene: Scene, rng, x, y, w, d, material: int, round_: bool = False) -> None:
    lz = scene.size[2]
    # not right over the camera: at the zenith a lamp would spread across the whole width
    x, y = _away_from_camera(scene, x, y, max(w, d) / 2 + 0.4)
    if round_ or rng.random() < 0.5:  # the fitting's trim around the diffuser
        trim = scene.add(Material("flat", (0.75, 0.75, 0.74)))
        t = max(w, d) * 0.15 + 0.01
        scene.features.append(Feature(CEILING, x - w / 2 - t, x + w / 2 + t, y - d / 2 - t, y + d / 2 + t,
                                      trim, "panel", round=round_))
    scene.features.append(Feature(CEILING, x - w / 2, x + w / 2, y - d / 2, y + d / 2, material,
                                  "lamp", round=round_))
    em = scene.materials[material].emission
    area = w * d * (np.pi / 4 if round_ else 1.0)
    scene.lights.append(Light(np.array([x, y, lz - 0.02]), em * area, np.array([0.0, 0.0, -1.0]),
                              size2=max(area, 0.05)))


def _hanging_lamp(scene: Scene, rng, x, y, z, size, material: int, shade: bool = False) -> None:
    s = size / 2
    x, y = _away_from_camera(scene, x, y, s + 0.5)
    scene.boxes.append(Box(np.array([x - s, y - s, z - s]), np.array([x + s, y + s, z + s]),
                           material))
    em = scene.materials[material].emission
    scene.lights.append(Light(np.array([x, y, z]), em * size * size * (1.5 if shade else 1.0),
                              None, size2=max(size * size, 0.05)))
    if z + s < scene.size[2] - 0.05:  # the cord or rod it hangs from
        cord = scene.add(Material("flat", (0.1, 0.1, 0.1)))
        c = max(0.006, size * 0.04)
        scene.boxes.append(Box(np.array([x - c, y - c, z + s]), np.array([x + c, y + c, scene.size[2]]),
                               cord))


def _wall_lamp(scene: Scene, rng, surface: int, u, v, w, h, material: int) -> None:
    scene.features.append(Feature(surface, u - w / 2, u + w / 2, v - h / 2, v + h / 2, material, "lamp"))
    axis, sign = _SURFACE_AXIS[surface], _SURFACE_SIGN[surface]
    pos = np.zeros(3)
    ua, va = _UV_AXES[axis]
    pos[axis] = (0.0 if sign > 0 else scene.size[axis]) + sign * 0.05
    pos[ua], pos[va] = u, v
    normal = np.zeros(3)
    normal[axis] = sign
    em = scene.materials[material].emission
    scene.lights.append(Light(pos, em * w * h, normal, size2=max(w * h, 0.05)))


def _window(scene: Scene, rng, surface: int, u0, u1, v0, v1, frame_mat: int, glass_mat: int,
            curtains: bool = True) -> None:
    fw = float(rng.uniform(0.04, 0.1))
    nu = int(rng.integers(0, 1 + int((u1 - u0) / 0.7))) if rng.random() < 0.7 else 0
    nv = int(rng.integers(0, 2)) if v1 - v0 > 1.0 and rng.random() < 0.5 else 0
    scene.features.append(Feature(surface, u0, u1, v0, v1, glass_mat, "window", frame=fw,
                                  bars=(nu, nv), frame_material=frame_mat))
    if curtains and rng.random() < 0.45:
        _curtains(scene, rng, surface, u0, u1, v0, v1)


def _curtains(scene: Scene, rng, surface, u0, u1, v0, v1) -> None:
    r = rng.random()
    top = v1 + rng.uniform(0.05, 0.3)
    if r < 0.45:    # sheer white curtains: they glow with the daylight behind them
        mat = scene.add(Material("curtain", (0.85, 0.84, 0.8), {"sheer": float(rng.uniform(0.15, 0.4))},
                                 shows=SHEER))
    elif r < 0.8:   # heavy drapes, lit by the room
        mat = scene.add(Material("curtain", _choice(rng, _FABRICS), {"sheer": 0.0}))
    else:           # blinds, pulled part way down
        mat = scene.add(Material("blinds", (0.8, 0.8, 0.78), {"sheer": float(rng.uniform(0.05, 0.2))},
                                 shows=SHEER))
        bottom = v1 - (v1 - v0) * rng.uniform(0.2, 1.0)
        scene.features.append(Feature(surface, u0, u1, bottom, v1, mat, "curtain"))
        return
    width = u1 - u0
    closed = rng.random() < 0.25
    if closed:
        scene.features.append(Feature(surface, u0 - 0.15, u1 + 0.15, v0 - 0.1, top, mat, "curtain"))
        return
    for side in (-1, 1):
        w = width * rng.uniform(0.08, 0.35) + 0.15
        a, b = (u0 - 0.15, u0 - 0.15 + w) if side < 0 else (u1 + 0.15 - w, u1 + 0.15)
        scene.features.append(Feature(surface, a, b, max(0.0, v0 - rng.uniform(0.0, 0.6)), top,
                                      mat, "curtain"))


def _place_along(rng, length: float, widths: list[float], margin: float = 0.3) -> list[float]:
    """Left edges for items of the given widths along a wall, without overlaps (the last
    items are left out until the rest fit)."""
    widths = list(widths)
    while widths and length - 2 * margin - sum(widths) - 0.2 * len(widths) <= 0:
        widths.pop()
    free = length - 2 * margin - sum(widths)
    if not widths:
        return []
    cuts = np.sort(rng.uniform(0, free, len(widths)))
    out, pos, used = [], margin, 0.0
    for w, c in zip(widths, cuts, strict=True):
        out.append(pos + (c - used) + 0.0)
        pos, used = out[-1] + w, c
    return out


def _wall_dressing(scene: Scene, rng, walls_with_windows: set, windows: bool,
                   window_v: tuple[float, float], glass: int, frame: int, n_windows=(1, 3),
                   doors: int = 1, pictures: int = 2) -> None:
    """Windows, doors and pictures on the four walls."""
    lz = scene.size[2]
    for surface in (WALL_X0, WALL_X1, WALL_Y0, WALL_Y1):
        length = _wall_length(scene, surface)
        items = []
        if windows and surface in walls_with_windows:
            for _ in range(int(rng.integers(n_windows[0], n_windows[1] + 1))):
                items.append(("window", float(rng.uniform(0.8, min(2.6, length * 0.4)))))
        for _ in range(int(rng.integers(0, doors + 1))):
            items.append(("door", float(rng.uniform(0.85, 1.0) if scene.style == "room"
                                        else rng.uniform(1.0, 2.2))))
        for _ in range(int(rng.integers(0, pictures + 1))):
            items.append(("picture", float(rng.uniform(0.4, 1.4))))
        rng.shuffle(items)
        lefts = _place_along(rng, length, [w for _, w in items])
        for (what, w), u0 in zip(items[:len(lefts)], lefts, strict=True):
            u1 = u0 + w
            if what == "window":
                v0 = float(rng.uniform(*window_v))
                v1 = min(lz - 0.15, v0 + rng.uniform(1.0, max(1.05, lz - v0 - 0.2)))
                _window(scene, rng, surface, u0, u1, v0, v1, frame, glass)
                if scene.style != "industrial" and v0 < 1.3 and rng.random() < 0.5:
                    _radiator(scene, rng, surface, u0, u1, v0)
            elif what == "door":
                h = min(lz - 0.1, rng.uniform(2.0, 2.3) if scene.style == "room" else rng.uniform(2.2, 3.5))
                if rng.random() < 0.3:   # an open doorway onto a dim corridor
                    m = scene.add(Material("plaster", tuple(np.asarray(_choice(rng, _WHITE_PAINTS))
                                                            * rng.uniform(0.05, 0.3))))
                else:
                    m = scene.add(Material("panels", _choice(rng, _WOODS + _WHITE_PAINTS[:2]),
                                           {"width": float(w / 2)}))
                trim = scene.add(Material("plaster", _choice(rng, _WHITE_PAINTS + _WOODS[:2])))
                scene.features.append(Feature(surface, u0 - 0.06, u1 + 0.06, 0.0, h + 0.06, trim, "door"))
                scene.features.append(Feature(surface, u0, u1, 0.0, h, m, "door"))
            else:
                h = w * rng.uniform(0.6, 1.3)
                vc = rng.uniform(1.3, 1.8)
                v0, v1 = vc - h / 2, min(lz - 0.1, vc + h / 2)
                rim = scene.add(Material("flat", _choice(rng, [(0.05, 0.05, 0.05), (0.7, 0.7, 0.68),
                                                               _WOODS[0], (0.5, 0.4, 0.2)])))
                scene.features.append(Feature(surface, u0 - 0.03, u1 + 0.03, v0 - 0.03, v1 + 0.03, rim, "picture"))
                r = rng.random()
                if r < 0.15:     # a screen, switched off
                    m = scene.add(Material("flat", (0.015, 0.015, 0.017)))
                else:
                    m = scene.add(Material("print", (1, 1, 1), {"seed": int(rng.integers(1 << 16))}))
                scene.features.append(Feature(surface, u0, u1, v0, v1, m, "picture"))


def _base_surfaces(scene: Scene, floor: int, ceiling: int, walls: int | list) -> None:
    walls = walls if isinstance(walls, list) else [walls] * 4
    scene.surface_material = [floor, ceiling] + walls


def _dado(scene: Scene, rng, height: float, material: int) -> None:
    for surface in (WALL_X0, WALL_X1, WALL_Y0, WALL_Y1):
        scene.features.insert(0, Feature(surface, -1.0, _wall_length(scene, surface) + 1, 0.0,
                                         height, material, "panel"))


def _glass(scene: Scene, rng, frosted: bool = False, wall: bool = True) -> int:
    if frosted and not (wall and scene.clear_glass):
        return scene.add(Material("flat", (1, 1, 1), {"t": float(rng.uniform(0.25, 0.6))}, shows=FROSTED))
    return scene.add(Material("flat", (1, 1, 1), {"t": float(rng.uniform(0.6, 0.9))}, shows=GLASS))


def _room(scene: Scene, rng, windows: bool) -> None:
    lx, ly, lz = scene.size
    wall_col = _choice(rng, _WHITE_PAINTS) if rng.random() < 0.65 else _choice(rng, _COLOUR_PAINTS)
    wall = scene.add(Material("plaster", wall_col))
    walls = [wall] * 4
    if rng.random() < 0.3:   # one accent wall
        walls[int(rng.integers(4))] = scene.add(Material(
            _choice(rng, ["plaster", "panels", "brick"]), _choice(rng, _COLOUR_PAINTS + _WOODS)))
    r = rng.random()
    if r < 0.5:
        floor = scene.add(Material("wood_planks", _choice(rng, _WOODS),
                                   {"width": float(rng.uniform(0.09, 0.2)), "seed": int(rng.integers(99))}))
    elif r < 0.75:
        floor = scene.add(Material("carpet", _choice(rng, _FABRICS)))
    else:
        two = _choice(rng, [(0.1, 0.1, 0.1), (0.5, 0.45, 0.4)]) if rng.random() < 0.3 else None
        floor = scene.add(Material("tiles", _choice(rng, [(0.8, 0.78, 0.74), (0.5, 0.48, 0.45), (0.6, 0.52, 0.42)]),
                                   {"size": float(rng.uniform(0.3, 0.6)), "colour2": two}))
    ceiling = scene.add(Material("plaster", _choice(rng, _WHITE_PAINTS)) if rng.random() < 0.85
                        else Material("panels", _choice(rng, _WOODS), {"width": 0.12}))
    _base_surfaces(scene, floor, ceiling, walls)
    skirting = scene.add(Material("plaster", _choice(rng, _WHITE_PAINTS + _WOODS[:3])))
    _dado(scene, rng, float(rng.uniform(0.06, 0.12)), skirting)
    if rng.random() < 0.2:
        _dado(scene, rng, float(rng.uniform(0.9, 1.2)),
              scene.add(Material("panels", _choice(rng, _WOODS), {"width": 0.15})))
    frame = scene.add(Material("plaster", _choice(rng, [(0.85, 0.85, 0.83), (0.1, 0.1, 0.1), _WOODS[0]])))
    walls_w = set(int(s) for s in rng.choice([2, 3, 4, 5], int(rng.integers(1, 3)), replace=False))
    glass = _glass(scene, rng, frosted=rng.random() < 0.1)
    _wall_dressing(scene, rng, walls_w, windows, (0.4, 1.0), glass, frame, n_windows=(1, 2),
                   doors=1, pictures=2)
    # lamps
    r = rng.random()
    if r < 0.45:
        lamp = _lamp_material(scene, rng)
        n = int(rng.integers(1, 5))
        for _ in range(n):
            d = rng.uniform(0.1, 0.3)
            _ceiling_lamp(scene, rng, rng.uniform(0.5, lx - 0.5), rng.uniform(0.5, ly - 0.5), d, d,
                          lamp, round_=True)
    elif r < 0.75:
        lamp = _lamp_material(scene, rng, stops=(5.0, 8.5))
        _hanging_lamp(scene, rng, rng.uniform(lx * 0.3, lx * 0.7), rng.uniform(ly * 0.3, ly * 0.7),
                      lz - rng.uniform(0.5, 1.0), rng.uniform(0.15, 0.45), lamp, shade=True)
    else:
        lamp = _lamp_material(scene, rng, stops=(6.0, 9.0))
        w = rng.uniform(0.6, 1.2)
        _ceiling_lamp(scene, rng, rng.uniform(1.0, lx - 1.0), rng.uniform(1.0, ly - 1.0), w,
                      rng.uniform(0.1, 0.6), lamp)
    for _ in range(int(rng.integers(0, 3))):  # wall sconces
        s = int(rng.integers(2, 6))
        sconce = _lamp_material(scene, rng, stops=(5.0, 8.0))
        _wall_lamp(scene, rng, s, rng.uniform(0.4, _wall_length(scene, s) - 0.4), rng.uniform(1.7, 2.1),
                   rng.uniform(0.1, 0.25), rng.uniform(0.1, 0.2), sconce)
    _furniture(scene, rng, int(rng.integers(2, 7)))
    _ceiling_details(scene, rng)


def _hall(scene: Scene, rng, windows: bool) -> None:
    lx, ly, lz = scene.size
    wall_col = _choice(rng, _WHITE_PAINTS) if rng.random() < 0.6 else _choice(rng, _COLOUR_PAINTS)
    wall = scene.add(Material(_choice(rng, ["plaster", "plaster", "tiles", "panels"]), wall_col,
                              {"size": 0.9, "grout": 0.004}))
    r = rng.random()
    if r < 0.45:
        two = _choice(rng, [(0.15, 0.12, 0.1), (0.45, 0.35, 0.25), (0.6, 0.6, 0.6)]) if rng.random() < 0.4 else None
        floor = scene.add(Material("tiles", _choice(rng, [(0.75, 0.72, 0.65), (0.55, 0.52, 0.48), (0.7, 0.6, 0.45)]),
                                   {"size": float(rng.uniform(0.5, 1.0)), "colour2": two}))
    elif r < 0.75:
        floor = scene.add(Material("wood_planks", _choice(rng, _WOODS), {"width": float(rng.uniform(0.1, 0.2))}))
    else:
        floor = scene.add(Material("concrete", _choice(rng, [(0.45, 0.55, 0.5), (0.5, 0.5, 0.48), (0.35, 0.5, 0.35)])))
    r = rng.random()
    if r < 0.4:
        ceiling = scene.add(Material("ceiling_grid", _choice(rng, _WHITE_PAINTS), {"size": 0.6}))
    elif r < 0.8:
        ceiling = scene.add(Material("plaster", _choice(rng, _WHITE_PAINTS)))
    else:
        ceiling = scene.add(Material("plaster", _choice(rng, [(0.08, 0.08, 0.08), (0.25, 0.22, 0.2)])))
    _base_surfaces(scene, floor, ceiling, wall)
    if rng.random() < 0.4:
        _dado(scene, rng, float(rng.uniform(1.0, 2.2)),
              scene.add(Material("plaster", _choice(rng, _COLOUR_PAINTS))))
    skirting = scene.add(Material("plaster", (0.2, 0.2, 0.2)))
    _dado(scene, rng, 0.1, skirting)
    frame = scene.add(Material("plaster", _choice(rng, [(0.85, 0.85, 0.83), (0.12, 0.12, 0.12), (0.4, 0.42, 0.45)])))
    walls_w = set(int(s) for s in rng.choice([2, 3, 4, 5], int(rng.integers(1, 4)), replace=False))
    glass = _glass(scene, rng, frosted=rng.random() < 0.1)
    high = rng.random() < 0.3
    _wall_dressing(scene, rng, walls_w, windows, (lz * 0.55, lz * 0.65) if high else (0.5, 1.2),
                   glass, frame, n_windows=(2, 5), doors=2, pictures=2)
    # beams or coffers
    if rng.random() < 0.5:
        beam = scene.add(Material("plaster", scene.materials[ceiling].colour))
        depth, width = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.6)
        step = rng.uniform(3.0, 6.0)
        along = int(rng.integers(2))
        span = scene.size[1 - along]
        for k in range(1, int(span / step) + 1):
            c = k * step
            if c > span - 0.5:
                break
            lo = np.zeros(3)
            hi = scene.size.copy()
            lo[2] = lz - depth
            lo[1 - along], hi[1 - along] = c - width / 2, c + width / 2
            scene.boxes.append(Box(lo, hi, beam))
    # columns
    if rng.random() < 0.5:
        col = scene.add(Material(_choice(rng, ["plaster", "concrete"]), _choice(rng, _WHITE_PAINTS)))
        s = rng.uniform(0.35, 0.8)
        step = rng.uniform(5.0, 9.0)
        for x in np.arange(step, lx - 1.0, step):
            for y in np.arange(step, ly - 1.0, step):
                scene.boxes.append(Box(np.array([x - s / 2, y - s / 2, 0.0]),
                                       np.array([x + s / 2, y + s / 2, lz]), col))
    # lamps: a grid of panels, strips or discs
    lamp = _lamp_material(scene, rng, stops=(6.0, 10.5))
    kind = _choice(rng, ["panel", "strip", "disc"])
    step = rng.uniform(2.0, 4.5)
    for x in np.arange(step / 2 + rng.uniform(0, step / 2), lx, step):
        for y in np.arange(step / 2 + rng.uniform(0, step / 2), ly, step):
            if kind == "panel":
                _ceiling_lamp(scene, rng, x, y, 0.6, 0.6, lamp)
            elif kind == "strip":
                _ceiling_lamp(scene, rng, x, y, 1.2, 0.12, lamp)
            else:
                _ceiling_lamp(scene, rng, x, y, 0.25, 0.25, lamp, round_=True)
    _furniture(scene, rng, int(rng.integers(3, 10)))
    _ceiling_details(scene, rng)


def _industrial(scene: Scene, rng, windows: bool) -> None:
    lx, ly, lz = scene.size
    r = rng.random()
    if r < 0.4:
        wall = scene.add(Material("corrugated", _choice(rng, [(0.6, 0.62, 0.63), (0.45, 0.5, 0.55), (0.7, 0.7, 0.68)])))
    elif r < 0.7:
        wall = scene.add(Material("tiles", _choice(rng, [(0.7, 0.7, 0.68), (0.55, 0.55, 0.52)]),
                                  {"size": 0.4, "grout": 0.01, "vary": 0.05}))
    else:
        wall = scene.add(Material("brick", _choice(rng, [(0.5, 0.3, 0.22), (0.6, 0.45, 0.35)])))
    floor = scene.add(Material("concrete", _choice(rng, [(0.45, 0.44, 0.42), (0.55, 0.54, 0.5),
                                                         (0.3, 0.45, 0.32), (0.5, 0.5, 0.52)])))
    roof = scene.add(Material(_choice(rng, ["corrugated", "concrete", "panels"]),
                              _choice(rng, [(0.7, 0.7, 0.7), (0.35, 0.35, 0.35), (0.55, 0.5, 0.45)]),
                              {"pitch": 0.2, "width": 0.6}))
    _base_surfaces(scene, floor, roof, wall)
    if rng.random() < 0.5:
        _dado(scene, rng, float(rng.uniform(1.0, 2.5)),
              scene.add(Material("concrete", _choice(rng, [(0.6, 0.6, 0.58), (0.4, 0.45, 0.5)]))))
    # painted lines on the floor
    if rng.random() < 0.5:
        paint = scene.add(Material("flat", _choice(rng, [(0.75, 0.6, 0.05), (0.8, 0.8, 0.78)])))
        for y in rng.uniform(1.0, ly - 1.0, int(rng.integers(1, 3))):
            scene.features.append(Feature(FLOOR, 0.5, lx - 0.5, y, y + 0.1, paint, "panel"))
    frame = scene.add(Material("plaster", _choice(rng, [(0.12, 0.12, 0.12), (0.4, 0.42, 0.45)])))
    walls_w = set(int(s) for s in rng.choice([2, 3, 4, 5], int(rng.integers(1, 3)), replace=False))
    glass = _glass(scene, rng, frosted=rng.random() < 0.3)
    _wall_dressing(scene, rng, walls_w, windows, (lz * 0.45, lz * 0.65), glass, frame,
                   n_windows=(1, 4), doors=1, pictures=0)
    # roller door
    s = int(rng.integers(2, 6))
    w = rng.uniform(3.0, 5.0)
    u0 = rng.uniform(0.5, max(0.6, _wall_length(scene, s) - w - 0.5))
    scene.features.append(Feature(s, u0, u0 + w, 0.0, min(lz - 1.0, rng.uniform(3.5, 5.0)),
                                  scene.add(Material("corrugated", (0.5, 0.5, 0.5), {"pitch": 0.1})), "door"))
    # roof beams (steel), with skylights between some of them
    steel = scene.add(Material("flat", _choice(rng, [(0.2, 0.2, 0.22), (0.5, 0.25, 0.1), (0.55, 0.55, 0.55)])))
    step = rng.uniform(4.0, 7.0)
    depth = rng.uniform(0.4, 0.9)
    along = int(rng.integers(2))
    span = scene.size[1 - along]
    sky_glass = _glass(scene, rng, frosted=rng.random() < 0.6, wall=False) if windows else \
        _glass(scene, rng, frosted=True, wall=False)
    skylights = rng.random() < 0.6
    positions = np.arange(step, span - 0.5, step)
    for c in positions:
        lo, hi = np.zeros(3), scene.size.copy()
        lo[2] = lz - depth
        lo[1 - along], hi[1 - along] = c - 0.12, c + 0.12
        scene.boxes.append(Box(lo, hi, steel))
    if skylights:  # rows of roof lights in some of the bays between the beams
        length = scene.size[along]
        edges = np.concatenate([[0.0], positions, [span]])
        each = rng.uniform(1.2, 3.0)
        pitch = each + rng.uniform(1.0, 4.0)
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            if rng.random() < 0.5:
                continue
            mid, half = (a + b) / 2, min(0.75, (b - a) * 0.15)
            for start in np.arange(1.0, length - each - 0.5, pitch):
                uv = [0.0, 0.0, 0.0, 0.0]
                uv[along * 2:along * 2 + 2] = [start, start + each]
                uv[(1 - along) * 2:(1 - along) * 2 + 2] = [mid - half, mid + half]
                scene.features.append(Feature(CEILING, uv[0], uv[1], uv[2], uv[3], sky_glass,
                                              "skylight", frame=0.05, frame_material=steel))
    # columns under the beams, along the two walls the beams meet
    if rng.random() < 0.6:
        s = rng.uniform(0.25, 0.45)
        for c in positions:
            for end in (s / 2 + 0.02, scene.size[along] - s / 2 - 0.02):
                p = np.zeros(2)
                p[1 - along], p[along] = c, end
                scene.boxes.append(Box(np.array([p[0] - s / 2, p[1] - s / 2, 0.0]),
                                       np.array([p[0] + s / 2, p[1] + s / 2, lz - depth]), steel))
    # lamps: high-bay bells or rows of tubes, hanging
    lamp = _lamp_material(scene, rng, stops=(7.0, 11.0))
    z = lz - depth - rng.uniform(0.2, 1.5)
    gx = rng.uniform(4.0, 8.0)
    for x in np.arange(gx / 2, lx, gx):
        for y in np.arange(gx / 2, ly, gx):
            _hanging_lamp(scene, rng, x, y, z, rng.uniform(0.3, 0.5), lamp)
    # racks and machines
    for _ in range(int(rng.integers(2, 8))):
        w, d, h = rng.uniform(1.0, 6.0), rng.uniform(0.6, 2.5), rng.uniform(0.8, 4.0)
        x, y = rng.uniform(0.5, lx - w - 0.5), rng.uniform(0.5, ly - d - 0.5)
        m = scene.add(Material("flat", _choice(rng, [(0.5, 0.5, 0.5), (0.15, 0.3, 0.6), (0.7, 0.45, 0.1),
                                                     (0.3, 0.3, 0.3), (0.55, 0.4, 0.25)])))
        scene.boxes.append(Box(np.array([x, y, 0.0]), np.array([x + w, y + d, h]), m))


def _against_wall(rng, lx, ly, w, d):
    """A spot for a w x d footprint: most furniture stands against a wall."""
    x = rng.uniform(0.2, lx - w - 0.2)
    y = rng.uniform(0.2, ly - d - 0.2)
    if rng.random() < 0.6:
        if rng.random() < 0.5:
            x = 0.02 if rng.random() < 0.5 else lx - w - 0.02
        else:
            y = 0.02 if rng.random() < 0.5 else ly - d - 0.02
    return x, y


def _box(scene: Scene, lo, hi, material: int, top: int = -1) -> None:
    scene.boxes.append(Box(np.asarray(lo, float), np.asarray(hi, float), material, top))


def _furniture(scene: Scene, rng, count: int) -> None:
    """Tables with chairs, desks, sofas, cabinets, beds, counters and book shelves."""
    lx, ly, _ = scene.size
    kinds = ["table", "sofa", "cabinet", "bed", "counter", "shelf", "desk"]
    for _ in range(count):
        kind = _choice(rng, kinds)
        w, d, h = {
            "table": (rng.uniform(0.8, 2.0), rng.uniform(0.6, 1.0), rng.uniform(0.7, 0.78)),
            "sofa": (rng.uniform(1.5, 2.5), rng.uniform(0.8, 1.0), rng.uniform(0.7, 0.85)),
            "cabinet": (rng.uniform(0.5, 2.0), rng.uniform(0.4, 0.6), rng.uniform(0.8, 2.2)),
            "bed": (rng.uniform(1.4, 2.0), rng.uniform(2.0, 2.2), rng.uniform(0.45, 0.6)),
            "counter": (rng.uniform(1.5, 4.0), rng.uniform(0.5, 0.8), rng.uniform(0.9, 1.1)),
            "shelf": (rng.uniform(0.8, 3.0), rng.uniform(0.3, 0.4), rng.uniform(1.6, 2.3)),
            "desk": (rng.uniform(1.2, 1.8), rng.uniform(0.6, 0.8), 0.74),
        }[kind]
        if rng.random() < 0.5:
            w, d = d, w
        if w > lx - 0.4 or d > ly - 0.4:
            continue
        x, y = _against_wall(rng, lx, ly, w, d)
        colour = _choice(rng, _WOODS + _FABRICS + _WHITE_PAINTS[:1])
        if kind in ("table", "desk"):
            m = scene.add(Material("panels", _choice(rng, _WOODS + _WHITE_PAINTS[:1]), {"width": 0.4}))
            top, leg = 0.04, 0.05
            _box(scene, (x, y, h - top), (x + w, y + d, h), m)
            for x0, y0 in ((x, y), (x + w - leg, y), (x, y + d - leg), (x + w - leg, y + d - leg)):
                _box(scene, (x0, y0, 0.0), (x0 + leg, y0 + leg, h - top), m)
            if kind == "desk":  # a screen on it
                screen = scene.add(Material("flat", (0.02, 0.02, 0.025)))
                sw = min(w, d) * 0.5
                cx, cy = x + w / 2, y + d / 2
                if w > d:
                    _box(scene, (cx - sw / 2, cy - 0.02, h), (cx + sw / 2, cy + 0.02, h + sw * 0.6), screen)
                else:
                    _box(scene, (cx - 0.02, cy - sw / 2, h), (cx + 0.02, cy + sw / 2, h + sw * 0.6), screen)
            seat = scene.add(Material("carpet", _choice(rng, _FABRICS)))
            for _ in range(int(rng.integers(0, 5))):  # chairs around it
                side = int(rng.integers(4))
                cx = x + w * rng.uniform(0.2, 0.8) if side < 2 else (x - 0.35 if side == 2 else x + w + 0.35)
                cy = y + d * rng.uniform(0.2, 0.8) if side >= 2 else (y - 0.35 if side == 0 else y + d + 0.35)
                if not (0.3 < cx < lx - 0.3 and 0.3 < cy < ly - 0.3):
                    continue
                _box(scene, (cx - 0.22, cy - 0.22, 0.42), (cx + 0.22, cy + 0.22, 0.47), seat)
                for ox, oy in ((-0.2, -0.2), (0.17, -0.2), (-0.2, 0.17), (0.17, 0.17)):
                    _box(scene, (cx + ox, cy + oy, 0.0), (cx + ox + 0.03, cy + oy + 0.03, 0.42), m)
                bx = {0: (cx - 0.22, cy - 0.25, cx + 0.22, cy - 0.21), 1: (cx - 0.22, cy + 0.21, cx + 0.22, cy + 0.25),
                      2: (cx - 0.25, cy - 0.22, cx - 0.21, cy + 0.22), 3: (cx + 0.21, cy - 0.22, cx + 0.25, cy + 0.22)}[side]
                _box(scene, (bx[0], bx[1], 0.47), (bx[2], bx[3], 0.9), seat)
        elif kind == "sofa":
            m = scene.add(Material("carpet", _choice(rng, _FABRICS)))
            _box(scene, (x, y, 0.0), (x + w, y + d, 0.42), m)
            back = 0.2
            if w > d:
                _box(scene, (x, y + d - back, 0.42), (x + w, y + d, h), m)
            else:
                _box(scene, (x + w - back, y, 0.42), (x + w, y + d, h), m)
        elif kind == "shelf":
            wood = scene.add(Material("panels", _choice(rng, _WOODS + _WHITE_PAINTS[:1]), {"width": 0.8}))
            books = scene.add(Material("books", (1, 1, 1), {"seed": int(rng.integers(1 << 16))}))
            _box(scene, (x, y, 0.0), (x + w, y + d, h), books, wood)
        else:
            m = scene.add(Material("plaster" if kind != "bed" else "carpet", colour))
            top = scene.add(Material("carpet", _choice(rng, _WHITE_PAINTS + _FABRICS))) if kind == "bed" else -1
            _box(scene, (x, y, 0.0), (x + w, y + d, h), m, top)


def _radiator(scene: Scene, rng, surface: int, u0: float, u1: float, sill: float) -> None:
    """A white ribbed radiator under a window."""
    if sill < 0.45:
        return
    axis, sign = _SURFACE_AXIS[surface], _SURFACE_SIGN[surface]
    ua, va = _UV_AXES[axis]
    m = scene.add(Material("panels", (0.85, 0.85, 0.83), {"width": 0.05}))
    lo, hi = np.zeros(3), np.zeros(3)
    wall = 0.0 if sign > 0 else scene.size[axis]
    lo[axis], hi[axis] = sorted((wall, wall + sign * 0.1))
    margin = (u1 - u0) * 0.1
    lo[ua], hi[ua] = u0 + margin, u1 - margin
    lo[va], hi[va] = 0.12, max(0.3, sill - 0.12)
    _box(scene, lo, hi, m)


def _ceiling_details(scene: Scene, rng) -> None:
    """Smoke detectors and air vents: small grey-white things on the ceiling."""
    lx, ly, _ = scene.size
    grey = scene.add(Material("flat", _choice(rng, [(0.8, 0.8, 0.78), (0.6, 0.6, 0.6)])))
    slots = scene.add(Material("blinds", (0.72, 0.72, 0.72), {"sheer": 0.0, "contrast": 0.15}))
    for _ in range(int(rng.integers(0, 4))):
        x, y = rng.uniform(0.4, lx - 0.4), rng.uniform(0.4, ly - 0.4)
        if rng.random() < 0.5:
            scene.features.append(Feature(CEILING, x - 0.06, x + 0.06, y - 0.06, y + 0.06, grey, "panel", round=True))
        else:
            s = rng.uniform(0.2, 0.35)
            scene.features.append(Feature(CEILING, x - s, x + s, y - s, y + s, slots, "panel"))


def _paint_a_sky(scene: Scene, rng) -> None:
    """A painted or printed sky: a ceiling mural, coffers, a wall mural or a large print."""
    lx, ly, lz = scene.size
    r = rng.random() if scene.style != "industrial" else 1.0
    if r < 0.35:   # the whole ceiling
        m = scene.add(Material("painted_sky", (1, 1, 1), {"span": (float(lx), float(ly)), "seed": int(rng.integers(99))}))
        scene.surface_material[CEILING] = m
        # keep lamps and skylights: remove nothing
    elif r < 0.6:  # recessed panels in the ceiling
        m = scene.add(Material("painted_sky", (1, 1, 1), {"span": (float(lx), float(ly)), "seed": int(rng.integers(99))}))
        n = int(rng.integers(1, 4))
        for _ in range(n):
            w, d = rng.uniform(lx * 0.2, lx * 0.6), rng.uniform(ly * 0.2, ly * 0.6)
            x, y = rng.uniform(0.2, lx - w - 0.2), rng.uniform(0.2, ly - d - 0.2)
            scene.features.insert(0, Feature(CEILING, x, x + w, y, y + d, m, "panel"))
    else:          # a wall mural or a big print, most often on the wall nearest the camera
        c = scene.camera
        near = {WALL_X0: c[0], WALL_X1: lx - c[0], WALL_Y0: c[1], WALL_Y1: ly - c[1]}
        s = min(near, key=near.get) if rng.random() < 0.7 else int(rng.integers(2, 6))
        length = _wall_length(scene, s)
        if rng.random() < 0.3:   # a framed print
            w = rng.uniform(0.8, min(2.5, length * 0.6))
            v0 = rng.uniform(0.9, 1.3)
            v1 = min(lz - 0.1, v0 + w * rng.uniform(0.5, 0.8))
        else:                    # a mural
            w = rng.uniform(0.4, 0.95) * length
            v0 = rng.uniform(0.0, 1.0)
            v1 = min(lz - 0.05, v0 + rng.uniform(1.5, 4.5))
        u0 = rng.uniform(0.05, max(0.06, length - w - 0.05))
        m = scene.add(Material("painted_sky", (1, 1, 1), {"span": (float(w), float(v1 - v0)),
                                                          "origin": (float(u0), float(v0)),
                                                          "vertical": True, "seed": int(rng.integers(99))}))
        scene.features.append(Feature(s, u0, u0 + w, v0, v1, m, "picture"))
    scene.painted_sky = True


def _check_camera_clear(scene: Scene) -> None:
    """No box may hold the camera: drop those that would."""
    c = scene.camera
    scene.boxes = [b for b in scene.boxes
                   if not np.all((c > b.lo - 0.25) & (c < b.hi + 0.25))]


# --- outdoors ------------------------------------------------------------------------
class _Outdoor:
    """What clear glass shows: sky over a far skyline, the ground, maybe near buildings.

    Radiance is in the room's units: `scale` times the sky model's, with the daylight
    several stops brighter than the room (darker at night).
    """

    def __init__(self, scene: Scene, light: Lighting, clouds, rng, kind: str) -> None:
        self.light, self.clouds, self.yaw = light, clouds, scene.yaw
        stops = {"day": (4.0, 7.5), "overcast": (3.0, 6.0), "dusk": (0.5, 3.0), "night": (-5.0, -2.0)}[kind]
        sky_level = float(light.zenith) * 1.5
        self.scale = float(2.0 ** rng.uniform(*stops) / sky_level)
        city = rng.random() < 0.55
        prof = periodic_profile(rng, beta=1.2 if city else 1.4, k_min=3, k_max=200)
        raw = sample_profile(prof, 2048)
        if city:  # blocks: hold the profile flat over runs of samples
            step = int(rng.integers(16, 64))
            raw = np.repeat(raw[::step], step)[:2048]
        lo = rng.uniform(0.0, 3.0)
        self.profile = np.radians(lo + (raw - raw.min()) / max(float(np.ptp(raw)), 1e-6)
                                  * rng.uniform(4.0, 18.0)).astype(np.float32)
        self.far_colour = np.asarray(_choice(rng, [(0.25, 0.25, 0.27), (0.3, 0.27, 0.24)]) if city
                                     else _choice(rng, [(0.05, 0.09, 0.04), (0.08, 0.1, 0.05)]), np.float32)
        self.ground = np.asarray(_choice(rng, [(0.12, 0.12, 0.12), (0.06, 0.09, 0.04), (0.2, 0.18, 0.15)]),
                                 np.float32)
        self.buildings: list[Box] = []
        self.facades: list[np.ndarray] = []
        if rng.random() < 0.5:  # buildings across the street
            for _ in range(int(rng.integers(1, 5))):
                ang = rng.uniform(0, 2 * np.pi)
                dist = rng.uniform(15, 60)
                w, d, h = rng.uniform(10, 40), rng.uniform(10, 30), rng.uniform(8, 60)
                cx = scene.camera[0] + np.cos(ang) * (dist + max(scene.size[:2]))
                cy = scene.camera[1] + np.sin(ang) * (dist + max(scene.size[:2]))
                self.buildings.append(Box(np.array([cx - w / 2, cy - d / 2, -scene.camera[2] - 5]),
                                          np.array([cx + w / 2, cy + d / 2, h]), 0))
                self.facades.append(np.asarray(_choice(rng, [(0.5, 0.45, 0.4), (0.35, 0.33, 0.3),
                                                             (0.6, 0.58, 0.55), (0.4, 0.25, 0.18)]), np.float32))
        self.camera = scene.camera
        self.texture = tileable_fbm(rng, 128, beta=1.4, k_min=2.0)
        self.mean = self._mean_radiance()

    def sky(self, az: np.ndarray, el: np.ndarray) -> np.ndarray:
        return sky_radiance(az[None, :], el[None, :], self.light, self.clouds)[0] * self.scale

    def lit(self, albedo: np.ndarray, facing: np.ndarray | float = 0.3) -> np.ndarray:
        light = self.light
        sun = light.sun_irradiance * max(np.sin(light.sun_elevation), 0.0)
        return albedo * (light.ambient + sun * np.asarray(facing)[..., None] * 1.0) * self.scale

    def view(self, az: np.ndarray, el: np.ndarray, dirs: np.ndarray):
        """Radiance and sky flag for pixel directions (panorama azimuth, elevation, world dirs)."""
        n = az.size
        out = np.zeros((n, 3), np.float32)
        is_sky = np.ones(n, bool)
        x = ((az % (2 * np.pi)) * (self.profile.size / (2 * np.pi))).astype(np.int64) % self.profile.size
        far = el < self.profile[x]
        ground = el < -0.005
        if far.any():  # trees and blocks far away: mottled, darker low down
            t = sample_texture(self.texture, az[far] * 40.0, el[far] * 40.0)
            shade = (0.55 + 0.9 * t) * (0.7 + 0.3 * np.clip(el[far] / 0.2, 0, 1))
            out[far] = self.lit(self.far_colour[None, :] * shade[:, None], 0.3)
        if ground.any():
            t = sample_texture(self.texture, az[ground] * 25.0, np.log(-el[ground]) * 30.0)
            out[ground] = self.lit(self.ground[None, :] * (0.7 + 0.6 * t)[:, None], 1.0)
        is_sky &= ~(far | ground)
        if self.buildings:
            t_best = np.full(n, np.inf, np.float32)
            face = np.zeros(n, np.int64)
            which = np.full(n, -1, np.int64)
            for k, b in enumerate(self.buildings):
                t, ax, hit = _slab(self.camera, dirs, b.lo, b.hi)
                closer = hit & (t < t_best)
                t_best[closer], face[closer], which[closer] = t[closer], ax[closer], k
            hit = which >= 0
            if hit.any():
                p = self.camera[None, :] + dirs[hit] * t_best[hit, None]
                fac = np.stack([self.facades[k] for k in which[hit]])
                # a grid of windows on the facade: darker glass in lighter walls
                ax = face[hit]
                u = np.where(ax == 0, p[:, 1], p[:, 0])
                win = (np.abs((u / 3.0) % 1 - 0.5) < 0.25) & (np.abs((p[:, 2] / 3.2) % 1 - 0.5) < 0.22)
                fac = np.where(win[:, None], fac * 0.3 + 0.02, fac)
                facing = np.where(ax == 0, 0.5, 0.8)
                out[hit] = self.lit(fac, facing)
                is_sky[hit] = False
        if is_sky.any():
            out[is_sky] = self.sky(az[is_sky], el[is_sky])
        return out, is_sky

    def _mean_radiance(self) -> np.ndarray:
        """Average radiance over a window's view (half sky, half ground and skyline)."""
        az = np.linspace(0, 2 * np.pi, 64, endpoint=False).astype(np.float32)
        el = np.full(64, np.radians(25), np.float32)
        sky = sky_radiance(az[None, :], el[None, :], self.light, self.clouds, with_disk=False)[0]
        surroundings = self.lit(np.full(3, 0.3, np.float32), 0.6)  # sunlit walls, paving, trees
        return (0.4 * sky.mean(0) * self.scale + 0.6 * surroundings).astype(np.float32)


# --- ray casting ----------------------------------------------------------------------
def _slab(o: np.ndarray, d: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """Entry distance, entry axis and hit flag of rays (origin o, directions d) into a box."""
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / d
        t0 = (lo[None, :] - o[None, :]) * inv
        t1 = (hi[None, :] - o[None, :]) * inv
    tmin = np.minimum(t0, t1)
    tmax = np.maximum(t0, t1)
    tmin = np.where(np.isnan(tmin), -np.inf, tmin)
    tmax = np.where(np.isnan(tmax), np.inf, tmax)
    axis = np.argmax(tmin, axis=1)
    t_in = np.take_along_axis(tmin, axis[:, None], 1)[:, 0]
    t_out = tmax.min(axis=1)
    hit = (t_in <= t_out) & (t_in > 1e-4)
    return t_in.astype(np.float32), axis, hit


def _box_pixels(scene: Scene, box: Box, width: int, height: int) -> np.ndarray:
    """Flat indices of the pixels whose rays can reach a box (its angular bounding box)."""
    c = scene.camera
    dx = np.clip(c[0], box.lo[0], box.hi[0]) - c[0]
    dy = np.clip(c[1], box.lo[1], box.hi[1]) - c[1]
    dmin = float(np.hypot(dx, dy))
    corners = np.array([(x, y) for x in (box.lo[0], box.hi[0]) for y in (box.lo[1], box.hi[1])]) - c[:2]
    dmax = float(np.hypot(corners[:, 0], corners[:, 1]).max())
    top, bot = box.hi[2] - c[2], box.lo[2] - c[2]
    el_hi = np.arctan2(top, dmin if top > 0 else dmax)
    el_lo = np.arctan2(bot, dmax if bot > 0 else dmin)
    r0 = max(0, int(np.floor((0.5 - el_hi / np.pi) * height)) - 1)
    r1 = min(height, int(np.ceil((0.5 - el_lo / np.pi) * height)) + 1)
    if r1 <= r0:
        return np.zeros(0, np.int64)
    if dmin < 1e-6:
        cols = np.arange(width)
    else:
        ang = np.arctan2(corners[:, 1], corners[:, 0]) - scene.yaw
        rel = (ang - ang[0] + np.pi) % (2 * np.pi) - np.pi
        a0, a1 = ang[0] + rel.min(), ang[0] + rel.max()
        j0 = int(np.floor(a0 * width / (2 * np.pi) - 0.5)) - 1
        j1 = int(np.ceil(a1 * width / (2 * np.pi) - 0.5)) + 2
        cols = np.arange(j0, j1) % width
        if j1 - j0 >= width:
            cols = np.arange(width)
    return (np.arange(r0, r1)[:, None] * width + cols[None, :]).ravel()


def _cast(scene: Scene, dirs: np.ndarray, width: int, height: int):
    """Distance, surface id (0..5 room, 6 + 6*box + face) and hit point of every pixel ray."""
    c = scene.camera
    with np.errstate(divide="ignore", invalid="ignore"):
        tt = np.where(dirs > 0, (scene.size[None, :] - c[None, :]) / dirs,
                      np.where(dirs < 0, -c[None, :] / dirs, np.inf)).astype(np.float32)
    axis = np.argmin(tt, axis=1)
    t = np.take_along_axis(tt, axis[:, None], 1)[:, 0]
    positive = np.take_along_axis(dirs, axis[:, None], 1)[:, 0] > 0
    # axis 0 -> walls 2/3, axis 1 -> walls 4/5, axis 2 -> floor 0 / ceiling 1
    surf = np.where(axis == 2, positive.astype(np.int64),
                    2 + 2 * axis + positive.astype(np.int64)).astype(np.int32)
    for b, box in enumerate(scene.boxes):
        idx = _box_pixels(scene, box, width, height)
        if idx.size == 0:
            continue
        tb, ax, hit = _slab(c, dirs[idx], box.lo, box.hi)
        closer = hit & (tb < t[idx])
        if not closer.any():
            continue
        sel = idx[closer]
        sign = (dirs[sel, ax[closer]] < 0).astype(np.int64)  # the face looks back at the camera
        t[sel] = tb[closer]
        surf[sel] = 6 + 6 * b + 2 * ax[closer] + sign
    points = c.astype(np.float32)[None, :] + dirs * t[:, None]
    return t, surf, points


def _normals(surf: np.ndarray) -> np.ndarray:
    """Unit normals (N x 3) of surface ids."""
    n = np.zeros((surf.size, 3), np.float32)
    room = surf < 6
    axes = np.asarray(_SURFACE_AXIS)[np.minimum(surf, 5)]
    signs = np.asarray(_SURFACE_SIGN, np.float32)[np.minimum(surf, 5)]
    face = (surf - 6) % 6
    axes = np.where(room, axes, face // 2)
    signs = np.where(room, signs, np.where(face % 2 == 1, 1.0, -1.0)).astype(np.float32)
    n[np.arange(surf.size), axes] = signs
    return n


def _uv(points: np.ndarray, normals: np.ndarray):
    """Surface coordinates: the two world coordinates across each pixel's normal axis."""
    ax = np.argmax(np.abs(normals), axis=1)
    u = np.where(ax == 0, points[:, 1], points[:, 0])
    v = np.where(ax == 2, points[:, 1], points[:, 2])
    return u.astype(np.float32), v.astype(np.float32), ax


# --- rendering -----------------------------------------------------------------------
def _render(scene: Scene, outdoor: _Outdoor, textures, width: int, height: int):
    az = ((np.arange(width) + 0.5) * (2 * np.pi / width)).astype(np.float32)
    el = (np.pi / 2 - (np.arange(height) + 0.5) * (np.pi / height)).astype(np.float32)
    azw = az + scene.yaw
    ce = np.cos(el)[:, None]
    dirs = np.stack([np.broadcast_to(ce * np.cos(azw)[None, :], (height, width)),
                     np.broadcast_to(ce * np.sin(azw)[None, :], (height, width)),
                     np.broadcast_to(np.sin(el)[:, None], (height, width))], -1)
    dirs = dirs.reshape(-1, 3).astype(np.float32)
    t, surf, points = _cast(scene, dirs, width, height)
    normals = _normals(surf)
    u, v, nax = _uv(points, normals)
    cos_i = np.abs(np.sum(dirs * normals, axis=1))
    fp = (t * (np.pi / height) / np.maximum(cos_i, 0.15)).astype(np.float32)

    n = t.size
    mat = np.zeros(n, np.int32)
    room = surf < 6
    mat[room] = np.asarray(scene.surface_material, np.int32)[surf[room]]
    for b, box in enumerate(scene.boxes):
        lo, hi = 6 + 6 * b, 12 + 6 * b
        sel = (surf >= lo) & (surf < hi)
        if sel.any():
            mat[sel] = box.material
            if box.top_material >= 0:
                mat[sel & (surf == lo + 5)] = box.top_material
    window_of = np.full(n, -1, np.int32)   # feature index of the window whose glass a pixel shows
    _apply_features(scene, surf, u, v, fp, mat, window_of)

    shows = np.asarray([m.shows for m in scene.materials], np.int8)[mat]
    albedo = np.zeros((n, 3), np.float32)
    for m_id in np.unique(mat):
        sel = np.nonzero(mat == m_id)[0]
        albedo[sel] = _albedo(scene.materials[m_id], u[sel], v[sel], fp[sel], nax[sel], textures)

    # light
    irradiance = _irradiance(scene, outdoor, points, normals, width, height)
    rad = albedo * irradiance / np.pi
    emit = shows == EMITTER
    if emit.any():
        em = np.stack([scene.materials[m].emission if scene.materials[m].emission is not None
                       else np.zeros(3) for m in range(len(scene.materials))]).astype(np.float32)
        rad[emit] = em[mat[emit]]
    sky = np.zeros(n, bool)
    glass = np.nonzero(shows == GLASS)[0]
    if glass.size:
        view, is_sky = outdoor.view(az[glass % width], el[glass // width], dirs[glass])
        tr = np.asarray([scene.materials[m].params.get("t", 0.8) for m in range(len(scene.materials))],
                        np.float32)[mat[glass]]
        reflection = irradiance[glass] * 0.04 / np.pi
        rad[glass] = view * tr[:, None] * np.asarray((0.97, 1.0, 0.99), np.float32) + reflection
        sky[glass] = is_sky
    for kind in (FROSTED, SHEER):
        sel = np.nonzero(shows == kind)[0]
        if sel.size == 0:
            continue
        tr = np.asarray([scene.materials[m].params.get("t", scene.materials[m].params.get("sheer", 0.3))
                         for m in range(len(scene.materials))], np.float32)[mat[sel]]
        glow = outdoor.mean[None, :] * tr[:, None]
        if kind == SHEER:  # fabric lit by the room, and the daylight through it
            rad[sel] += glow * (albedo[sel] / 0.85)
        else:              # frosted glass: an even glow with a little mottling
            rad[sel] = glow * (0.85 + 0.3 * pat.fbm(textures[0], u[sel], v[sel], 4.0))[:, None]

    pixels = rad.reshape(height, width, 3).astype(np.float32)
    if scene.floor_gloss > 0:
        _floor_reflection(scene, pixels, points, dirs, surf, width, height)
    raw = sky.reshape(height, width)
    sky = _clean_sky(raw)
    removed = np.nonzero((raw & ~sky).ravel())[0]
    if removed.size:  # glass too small to label: it becomes part of its window's frame
        frames = np.asarray([scene.features[k].frame_material for k in window_of[removed]])
        colour = np.stack([np.asarray(scene.materials[f].colour, np.float32) if f >= 0
                           else np.full(3, 0.5, np.float32) for f in frames])
        pixels.reshape(-1, 3)[removed] = colour * irradiance[removed] / np.pi
    glass_mask = shows == GLASS
    glass_mask[removed] = False
    painted = np.asarray([m.pattern == "painted_sky" for m in scene.materials])[mat]
    plain = np.zeros(n, bool)
    plain[room] = mat[room] == np.asarray(scene.surface_material, np.int32)[surf[room]]
    layers = {"glass": glass_mask, "lamps": shows == EMITTER, "painted_sky": painted,
              "walls": plain & ~painted}
    return pixels, sky, {k: v.reshape(height, width) for k, v in layers.items()}


def _floor_reflection(scene: Scene, pixels, points, dirs, surf, width: int, height: int) -> None:
    """A polished floor mirrors the room (lamps and windows above all), blurred, stronger
    at grazing angles. The reflected point is looked up in the picture itself (where the
    camera sees it), which is exact for everything but what furniture hides."""
    floor = np.nonzero(surf == FLOOR)[0]
    if floor.size == 0:
        return
    p, d = points[floor], dirs[floor].copy()
    d[:, 2] = -d[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        tt = np.where(d > 0, (scene.size[None, :].astype(np.float32) - p) / d,
                      np.where(d < 0, -p / d, np.inf))
    t = np.min(tt, axis=1)
    q = p + d * t[:, None] - scene.camera[None, :].astype(np.float32)
    az = (np.arctan2(q[:, 1], q[:, 0]) - scene.yaw) % (2 * np.pi)
    el = np.arctan2(q[:, 2], np.hypot(q[:, 0], q[:, 1]))
    # elsewhere each pixel maps to itself, so the blur mixes in the wall's own base
    map_x = np.tile(np.arange(width, dtype=np.float32), height)
    map_y = np.repeat(np.arange(height, dtype=np.float32), width)
    map_x[floor] = az * (width / (2 * np.pi)) - 0.5
    map_y[floor] = (0.5 - el / np.pi) * height - 0.5
    mirrored = cv2.remap(pixels, map_x.reshape(height, width), map_y.reshape(height, width),
                         cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    sx = max(1, int(round(scene.floor_blur * height)) | 1)
    sy = max(1, int(round(scene.floor_blur * height * 3)) | 1)
    mirrored = cv2.GaussianBlur(mirrored, (2 * sx + 1, 2 * sy + 1), 0, borderType=cv2.BORDER_REFLECT)
    cos = np.clip(-dirs[floor, 2], 0.0, 1.0)
    fresnel = (0.025 + 0.5 * (1.0 - cos) ** 5) * scene.floor_gloss
    flat = pixels.reshape(-1, 3)
    flat[floor] += mirrored.reshape(-1, 3)[floor] * fresnel[:, None]


def _clean_sky(sky: np.ndarray) -> np.ndarray:
    """Drop sky specks no polygon can follow (as the outdoor canvas does), across the seam."""
    if not sky.any():
        return sky
    m = sky.astype(np.uint8)
    m[0] &= m[1]    # no 1-px slivers along the zenith and nadir rows (a skylight overhead)
    m[-1] &= m[-2]
    pad = 2
    wrapped = np.concatenate([m[:, -pad:], m, m[:, :pad]], axis=1)
    opened = cv2.morphologyEx(wrapped, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8),
                              borderType=cv2.BORDER_REPLICATE)[:, pad:-pad]
    opened &= m  # 1-px slivers go; nothing is added
    n, lab, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=4)
    keep = stats[:, cv2.CC_STAT_AREA] >= MIN_SKY_AREA
    keep[0] = False
    left, right = lab[:, 0], lab[:, -1]
    both = (left > 0) & (right > 0)
    for a, b in zip(left[both], right[both], strict=True):  # a region cut by the seam counts whole
        total = stats[a, cv2.CC_STAT_AREA] + (stats[b, cv2.CC_STAT_AREA] if b != a else 0)
        if total >= MIN_SKY_AREA:
            keep[a] = keep[b] = True
    return keep[lab]


def _apply_features(scene: Scene, surf, u, v, fp, mat, window_of) -> None:
    by_surface: dict[int, list[int]] = {}
    for k, f in enumerate(scene.features):
        by_surface.setdefault(f.surface, []).append(k)
    for s, ks in by_surface.items():
        sel = np.nonzero(surf == s)[0]
        if sel.size == 0:
            continue
        su, sv = u[sel], v[sel]
        for k in ks:
            f = scene.features[k]
            inside = (su >= f.u0) & (su < f.u1) & (sv >= f.v0) & (sv < f.v1)
            if f.round:
                cu, cv = (f.u0 + f.u1) / 2, (f.v0 + f.v1) / 2
                inside &= ((su - cu) / ((f.u1 - f.u0) / 2)) ** 2 + ((sv - cv) / ((f.v1 - f.v0) / 2)) ** 2 <= 1
            if not inside.any():
                continue
            idx = sel[inside]
            mat[idx] = f.material
            if f.kind in ("window", "skylight"):
                window_of[idx] = k
                if f.frame > 0 and f.frame_material >= 0:
                    fu, fv = su[inside], sv[inside]
                    frame = (fu < f.u0 + f.frame) | (fu >= f.u1 - f.frame) | \
                            (fv < f.v0 + f.frame) | (fv >= f.v1 - f.frame)
                    bar = f.frame * 0.6
                    for j in range(1, f.bars[0] + 1):
                        c = f.u0 + (f.u1 - f.u0) * j / (f.bars[0] + 1)
                        frame |= np.abs(fu - c) < bar / 2
                    for j in range(1, f.bars[1] + 1):
                        c = f.v0 + (f.v1 - f.v0) * j / (f.bars[1] + 1)
                        frame |= np.abs(fv - c) < bar / 2
                    mat[idx[frame]] = f.frame_material
                    window_of[idx[frame]] = -1


def _albedo(m: Material, u, v, fp, nax, textures) -> np.ndarray:
    p, c = m.params, m.colour
    tex = textures[1]
    if m.pattern == "flat":
        return np.broadcast_to(np.asarray(c, np.float32)[None, :], (u.size, 3)).copy()
    if m.pattern == "plaster":
        return pat.plaster(u, v, fp, c, textures[0])
    if m.pattern == "concrete":
        return pat.concrete(u, v, fp, c, textures[2])
    if m.pattern == "wood_planks":
        return pat.wood_planks(u, v, fp, c, tex, width=p.get("width", 0.14), seed=p.get("seed", 0))
    if m.pattern == "tiles":
        return pat.tiles(u, v, fp, c, tex, size=p.get("size", 0.45), grout=p.get("grout", 0.006),
                         colour2=p.get("colour2"), vary=p.get("vary", 0.08))
    if m.pattern == "carpet":
        return pat.carpet(u, v, fp, c, textures[2])
    if m.pattern == "brick":
        return pat.brick(u, v, fp, c, tex)
    if m.pattern == "ceiling_grid":
        return pat.ceiling_grid(u, v, fp, c, textures[0], size=p.get("size", 0.6))
    if m.pattern == "corrugated":
        # the ribs run vertically on walls and across the roof
        uu = np.where(nax == 2, v, u)
        return pat.corrugated(uu, v, fp, c, tex, pitch=p.get("pitch", 0.12))
    if m.pattern == "panels":
        return pat.panels(u, v, fp, c, tex, width=p.get("width", 0.3))
    if m.pattern == "painted_sky":
        su, sv = p.get("span", (4.0, 4.0))
        ou, ov = p.get("origin", (0.0, 0.0))
        if p.get("vertical"):
            return pat.painted_sky(u - ou, (ov + sv) - v, fp, textures[2], su, sv, p.get("seed", 0),
                                   vertical=True)
        return pat.painted_sky(u - ou, v - ov, fp, textures[2], su, sv, p.get("seed", 0))
    if m.pattern == "print":
        return pat.abstract_print(u, v, fp, textures[0], p.get("seed", 0))
    if m.pattern == "curtain":
        folds = 0.75 + 0.25 * np.sin(u * (2 * np.pi / 0.16)) * (1 - pat.fade(fp, 0.16))
        return np.asarray(c, np.float32)[None, :] * folds[:, None]
    if m.pattern == "books":
        return pat.books(u, v, fp, tex, p.get("seed", 0))
    if m.pattern == "blinds":
        slats = 1.0 - p.get("contrast", 0.35) * pat.lines(v, 0.05, 0.01, fp)
        return np.asarray(c, np.float32)[None, :] * slats[:, None]
    raise ValueError(f"unknown pattern {m.pattern!r}")


SMOOTH_LIGHT_WIDTH = 1536  # from this width on, lamp light is computed on every other pixel


def _irradiance(scene: Scene, outdoor: _Outdoor, points, normals, width: int, height: int) -> np.ndarray:
    """Irradiance (RGB) on every pixel's surface: lamps, windows, sunlight and the bounce.

    Lamp and window light varies slowly: on big panoramas it is computed on every other
    pixel and interpolated; the sun patch, which has sharp edges, on every pixel."""
    windows = [f for f in scene.features if f.kind in ("window", "skylight")
               and scene.materials[f.material].shows in (GLASS, FROSTED)]
    if width >= SMOOTH_LIGHT_WIDTH:
        grid = (slice(None, None, 2), slice(None, None, 2))
        sub_p = points.reshape(height, width, 3)[grid]
        sub_n = normals.reshape(height, width, 3)[grid]
        small = _soft_light(scene, outdoor, windows, sub_p.reshape(-1, 3), sub_n.reshape(-1, 3))
        small = small.reshape(sub_p.shape[0], sub_p.shape[1], 3)
        e = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR).reshape(-1, 3)
    else:
        e = _soft_light(scene, outdoor, windows, points, normals)
    _sunlight(scene, outdoor, windows, points, normals, e)
    return e


def _soft_light(scene: Scene, outdoor: _Outdoor, windows, points, normals) -> np.ndarray:
    """Lamps, windows (as area lights) and the bounce, on the given surface points."""
    n = points.shape[0]
    e = np.zeros((n, 3), np.float32)
    daylight = []
    for f in windows:
        axis, sign = _SURFACE_AXIS[f.surface], _SURFACE_SIGN[f.surface]
        ua, va = _UV_AXES[axis]
        pos = np.zeros(3)
        pos[axis] = (0.0 if sign > 0 else scene.size[axis]) + sign * 0.1
        pos[ua], pos[va] = (f.u0 + f.u1) / 2, (f.v0 + f.v1) / 2
        normal = np.zeros(3)
        normal[axis] = sign
        area = (f.u1 - f.u0) * (f.v1 - f.v0)
        tr = scene.materials[f.material].params.get("t", 0.7)
        daylight.append(Light(pos, outdoor.mean * area * tr, normal, size2=area * 0.5))
    lights = _fewer(scene.lights, 14, 1) + _fewer(daylight, 8, 2)
    flux = np.zeros(3, np.float32)
    px, py, pz = (np.ascontiguousarray(points[:, k]) for k in range(3))
    nx, ny, nz = (np.ascontiguousarray(normals[:, k]) for k in range(3))
    groups: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}  # colour -> (colour, weight)
    for light in lights:
        strength = float(light.intensity.max())
        if strength <= 0:
            continue
        colour = (light.intensity / strength).astype(np.float32)
        key = tuple(np.round(colour, 3))
        if key not in groups:
            groups[key] = (colour, np.zeros(n, np.float32))
        weight = groups[key][1]
        x, y, z = (np.float32(c) for c in light.pos)
        lx, ly, lz = x - px, y - py, z - pz
        r2 = lx * lx
        r2 += ly * ly
        r2 += lz * lz
        np.maximum(r2, np.float32(light.size2), out=r2)
        inv_r = 1.0 / np.sqrt(r2)
        cos_p = nx * lx
        cos_p += ny * ly
        cos_p += nz * lz
        cos_p *= inv_r
        np.maximum(cos_p, 0.0, out=cos_p)
        if light.normal is not None:
            axis = int(np.argmax(np.abs(light.normal)))
            cos_e = (lx, ly, lz)[axis] * np.float32(-light.normal[axis])
            cos_e *= inv_r
            np.maximum(cos_e, 0.0, out=cos_e)
            cos_p *= cos_e
            flux += np.pi * light.intensity
        else:
            flux += 4 * np.pi * light.intensity
        cos_p /= r2
        cos_p *= np.float32(strength)
        weight += cos_p
    for colour, weight in groups.values():
        e += weight[:, None] * colour[None, :]
    # the bounce: light that stays in the room after the first hit, spread evenly
    lx, ly, lz = scene.size
    area = 2 * (lx * ly + lx * lz + ly * lz)
    rho = 0.5
    ambient = (flux * rho / (area * (1 - rho))).astype(np.float32)
    ao = _occlusion(scene, px, py, pz, normals)
    e += ambient[None, :] * ao[:, None]
    return e


def _fewer(lights: list, most: int, seed: int) -> list:
    """At most `most` of the lights, carrying the light of all of them (many small lamps)."""
    if len(lights) <= most:
        return list(lights)
    keep = np.random.default_rng(len(lights) + seed).choice(len(lights), most, replace=False)
    factor = len(lights) / most
    return [Light(lights[k].pos, lights[k].intensity * factor, lights[k].normal, lights[k].size2)
            for k in keep]


def _occlusion(scene: Scene, px, py, pz, normals) -> np.ndarray:
    """Darker toward the room's corners and edges (less of the room sees them)."""
    lx, ly, lz = (np.float32(v) for v in scene.size)
    big = np.float32(1e6)
    d = np.full(px.size, big, np.float32)
    for k, (p, size) in enumerate(((px, lx), (py, ly), (pz, lz))):
        dk = np.minimum(np.abs(p), np.abs(size - p))
        dk[normals[:, k] != 0] = big  # the plane a pixel lies on does not shade it
        np.minimum(d, dk, out=d)
    return (1.0 - 0.35 * np.exp(-d / 0.35)).astype(np.float32)


SUN_GRID = 0.02  # metres per cell of the map of where sunlight passes a window's plane


def _sunlight(scene: Scene, outdoor: _Outdoor, windows, points, normals, e) -> None:
    """A sharp sun patch (with the frame's shadow) where sunlight comes in through clear glass.

    Per wall (or roof) facing the sun: a map of that plane at SUN_GRID resolution says
    where the sun gets through (clear glass, not frames, bars, curtains or blinds); every
    pixel facing the sun looks its ray up in it, so the cost does not grow with the
    number of windows."""
    light = outdoor.light
    if light.sun_radiance.max() <= 0 or light.sun_elevation <= 0.02 or light.kind == "overcast":
        return
    az = light.sun_azimuth + scene.yaw
    s = np.array([np.cos(light.sun_elevation) * np.cos(az), np.cos(light.sun_elevation) * np.sin(az),
                  np.sin(light.sun_elevation)], np.float32)
    irr = light.sun_irradiance * outdoor.scale * light.sun_radiance / max(light.sun_radiance.max(), 1e-9)
    facing = None
    for surface in sorted({f.surface for f in windows}):
        axis, sign = _SURFACE_AXIS[surface], _SURFACE_SIGN[surface]
        if s[axis] * sign >= 0:  # the sun is not outside this wall
            continue
        grid, (ua, va) = _sun_map(scene, surface, windows), _UV_AXES[axis]
        if grid is None:
            continue
        if facing is None:
            facing = normals @ s
            cand_all = np.nonzero(facing > 0)[0]
        plane = 0.0 if sign > 0 else scene.size[axis]
        k = (plane - points[cand_all, axis]) / s[axis]
        ok = k > 0
        cand, k = cand_all[ok], k[ok]
        gu = ((points[cand, ua] + k * s[ua]) / SUN_GRID).astype(np.int64)
        gv = ((points[cand, va] + k * s[va]) / SUN_GRID).astype(np.int64)
        inside = (gu >= 0) & (gu < grid.shape[1]) & (gv >= 0) & (gv < grid.shape[0])
        cand, gu, gv = cand[inside], gu[inside], gv[inside]
        t = grid[gv, gu]
        lit = t > 0
        if lit.any():
            sel = cand[lit]
            e[sel] += ((facing[sel] * t[lit])[:, None] * irr[None, :]).astype(np.float32)


def _cells(a: float, b: float, n: int) -> tuple[int, int]:
    """Grid cells [first, last) of the span a..b metres on a plane's sunlight map."""
    return max(0, int(a / SUN_GRID)), min(n, int(np.ceil(b / SUN_GRID)))


def _sun_map(scene: Scene, surface: int, windows) -> np.ndarray | None:
    """Transmittance of one room plane for sunlight (0 where walls, frames or curtains)."""
    axis = _SURFACE_AXIS[surface]
    ua, va = _UV_AXES[axis]
    nu = int(np.ceil(scene.size[ua] / SUN_GRID)) + 1
    nv = int(np.ceil(scene.size[va] / SUN_GRID)) + 1
    grid = np.zeros((nv, nu), np.float32)
    any_glass = False
    for f in windows:
        m = scene.materials[f.material]
        if f.surface != surface or m.shows != GLASS:
            continue
        u0, u1 = _cells(f.u0 + f.frame, f.u1 - f.frame, nu)
        v0, v1 = _cells(f.v0 + f.frame, f.v1 - f.frame, nv)
        if u1 <= u0 or v1 <= v0:
            continue
        grid[v0:v1, u0:u1] = m.params.get("t", 0.8)
        any_glass = True
        bar = f.frame * 0.6
        for j in range(1, f.bars[0] + 1):
            c = f.u0 + (f.u1 - f.u0) * j / (f.bars[0] + 1)
            a, b = _cells(c - bar / 2, c + bar / 2, nu)
            grid[v0:v1, a:b] = 0.0
        for j in range(1, f.bars[1] + 1):
            c = f.v0 + (f.v1 - f.v0) * j / (f.bars[1] + 1)
            a, b = _cells(c - bar / 2, c + bar / 2, nv)
            grid[a:b, u0:u1] = 0.0
    if not any_glass:
        return None
    for c in scene.features:  # curtains and blinds in front of the windows cut the sun
        if c.kind == "curtain" and c.surface == surface:
            u0, u1 = max(0, int(c.u0 / SUN_GRID)), min(nu, int(np.ceil(c.u1 / SUN_GRID)))
            v0, v1 = max(0, int(c.v0 / SUN_GRID)), min(nv, int(np.ceil(c.v1 / SUN_GRID)))
            grid[v0:v1, u0:u1] = 0.0
    return grid
