"""Procedural HDR panoramas with exact labels, for the demo project, tests, benchmarks and
training.

make_panorama(width, height, seed, kind, skyline) gives a SyntheticPanorama: linear float32
RGB pixels and the class map its labels come from (0 other, 1 sky, 2 object in the sky).

Outdoor kinds (KINDS): "day", "dusk", "night", "overcast", over one of SKYLINES
("mountains", "city", "forest", "sea", "lake") or, on request only, "canopy" (a wood seen
from under the trees: crowns close overhead and the sky shows through the gaps between
leaves, labelled sky where it is seen). kind=None draws day, dusk or night and skyline=None
one of SKYLINES; the images of existing seeds never change.

"interior" (make_interior): a room, hall or industrial shed (INTERIOR_STYLES, passed as
skyline) lit by lamps many stops brighter than its walls and by its windows. Sky seen
through clear glass is sky; walls, white ceilings, lamps, frames, frosted skylights,
curtains and painted or printed skies are not. Most interiors hold no sky at all.

camera=True adds what a real capture does (white balance, exposure, noise with small
negative values, highlights such as the sun clipped flat); it is on by default for the
interior and the canopy, off for the other scenes.

write_demo_project writes a project of them; its scenes= argument takes any list of
(kind, skyline) pairs, e.g. mixed_scenes(40, interiors=8) for a training set with negatives.
"""

from skysegui.core.synthetic.interior import INTERIOR_STYLES, make_interior
from skysegui.core.synthetic.panorama import (
    ALL_KINDS,
    EXTRA_SKYLINES,
    INTERIOR,
    KINDS,
    SyntheticPanorama,
    SyntheticSizeError,
    make_panorama,
)
from skysegui.core.synthetic.skyline import SKYLINES

__all__ = ["ALL_KINDS", "EXTRA_SKYLINES", "INTERIOR", "INTERIOR_STYLES", "KINDS", "SKYLINES",
           "SyntheticPanorama", "SyntheticSizeError", "labels_from_class_maps", "make_interior",
           "make_panorama", "mixed_scenes", "write_demo_project"]


def write_demo_project(*args, **kwargs):
    """See synthetic.demo.write_demo_project; imported on use, as it needs the project layer."""
    from skysegui.core.synthetic.demo import write_demo_project as _write

    return _write(*args, **kwargs)


def mixed_scenes(*args, **kwargs):
    """See synthetic.demo.mixed_scenes: a scene list with interiors and woods among the skies."""
    from skysegui.core.synthetic.demo import mixed_scenes as _mixed

    return _mixed(*args, **kwargs)


def labels_from_class_maps(*args, **kwargs):
    """See synthetic.labels.labels_from_class_maps; imported on use (needs annotations)."""
    from skysegui.core.synthetic.labels import labels_from_class_maps as _labels

    return _labels(*args, **kwargs)
