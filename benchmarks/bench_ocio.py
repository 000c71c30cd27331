"""OpenColorIO views on a 1920x1080 view after an exposure change (the GUI's per-frame path).

The same view and exposure sweep as bench_tonemap: every call uses a new exposure, so
the baked table (a per-channel view) or the cube's shaper table (an ACES view) is rebuilt
each time, as when the user drags the exposure slider. Baseline: OCIO's own CPU
processor on the same view (float32 in, the exposure applied first), in the same process.
Rows: the built-in ACES studio config's default (ACES) view and its "Un-tone-mapped"
view, plus the one-off bake of each. Skipped with one row when PyOpenColorIO is missing.
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks._table import Row
from benchmarks.bench_tonemap import REPEAT, _per_frame, _view

BASELINE_REPEAT = 3


def run() -> list[Row]:
    from skysegui.core.pyramid import DisplayPyramid
    from skysegui.core.tonemap import OCIO, ToneSettings
    from skysegui.core.tonemap import ocio as ocio_views

    b = "ocio"
    reason = ocio_views.unavailable_reason()
    if reason:
        return [Row(b, f"skipped: {reason}", float("nan"), "")]
    pano = _view()
    pyramid = DisplayPyramid(pano, build=False)
    region = (1000, 500, 2920, 1580)
    f32 = np.ascontiguousarray(pano[500:1580, 1000:2920], dtype=np.float32)
    evs = np.linspace(-3, 3, REPEAT)
    rows = []
    for display, view in ocio_views.list_views(ocio_views.BUILTIN):
        if view not in ("Un-tone-mapped",) and not view.startswith("ACES"):
            continue
        key = ocio_views.ViewKey(ocio_views.BUILTIN, display, view)
        t0 = time.perf_counter()
        ocio_views.prepare(key)
        bake = time.perf_counter() - t0

        def settings(ev, key=key):
            return ToneSettings(exposure=float(ev), operator=OCIO, ocio_config=key.source,
                                ocio_display=key.display, ocio_view=key.view)

        pyramid.render(settings(0.123), 1.0, region)  # first call: OpenCV / OCIO set-up

        def exact(s, key=key):
            return ocio_views.exact(key, f32 * np.float32(2.0**s.exposure))

        base, _, _ = _per_frame(exact, [settings(e) for e in evs[:BASELINE_REPEAT]])
        med, best, cpu = _per_frame(lambda s: pyramid.render(s, 1.0, region),
                                    [settings(e + 0.001 * i) for i, e in enumerate(evs)])
        kind = "per-channel table" if ocio_views.is_separable(key) else "65^3 cube + shaper"
        rows.append(Row(b, f"1920x1080 view, exposure change, OCIO '{view}' ({kind}, median)",
                        med * 1e3, "ms", "OCIO CPU processor", med / base, "< 16 ms", med < 0.016))
        rows.append(Row(b, f"  same, best of {REPEAT}", best * 1e3, "ms", "", None, "< 16 ms", best < 0.016))
        rows.append(Row(b, "  same, median CPU time", cpu * 1e3, "ms", "", None, "< 16 ms", cpu < 0.016))
        rows.append(Row(b, "  OCIO CPU processor on the same view (median)", base * 1e3, "ms"))
        rows.append(Row(b, "  bake once per view (separability check + cube)", bake * 1e3, "ms"))
    return rows
