"""Procedural HDR sky panoramas with exact labels, for the demo project, tests and benchmarks."""

from skysegui.core.synthetic.panorama import (
    KINDS,
    SyntheticPanorama,
    SyntheticSizeError,
    make_panorama,
)
from skysegui.core.synthetic.skyline import SKYLINES

__all__ = ["KINDS", "SKYLINES", "SyntheticPanorama", "SyntheticSizeError", "labels_from_class_maps",
           "make_panorama", "write_demo_project"]


def write_demo_project(*args, **kwargs):
    """See synthetic.demo.write_demo_project; imported on use, as it needs the project layer."""
    from skysegui.core.synthetic.demo import write_demo_project as _write

    return _write(*args, **kwargs)


def labels_from_class_maps(*args, **kwargs):
    """See synthetic.labels.labels_from_class_maps; imported on use (needs annotations)."""
    from skysegui.core.synthetic.labels import labels_from_class_maps as _labels

    return _labels(*args, **kwargs)
