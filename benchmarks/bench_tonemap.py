"""Re-tone-map a 1920x1080 view after an exposure change (the GUI's per-frame path).

The view is a 1920x1080 region of a float16 panorama (the display pyramid's level 0);
every call uses a new exposure, so the float16 look-up table is rebuilt each time, as
when the user drags the exposure slider. Baseline: the same view tone-mapped from float32
(exact_tonemap: float32 maths on every value) in the same process. Median and best wall time and median CPU time
are reported: on a shared machine the wall median includes waiting for a core. Also: false colour (luminance, no table) and
auto exposure of an 8K image.
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks._table import Row

REPEAT = 30


def _view() -> np.ndarray:
    from benchmarks.bench_open_exr import SHARED_HDRI

    if SHARED_HDRI.exists():
        import cv2

        from skysegui.core.imageio import read_image

        small = read_image(SHARED_HDRI).pixels
        return cv2.resize(small, (4096, 2048), interpolation=cv2.INTER_LINEAR).astype(np.float16)
    rng = np.random.default_rng(0)
    return np.exp(rng.normal(-1, 2, (2048, 4096, 3))).astype(np.float16)


def _per_frame(fn, settings_list) -> tuple[float, float, float]:
    """Median wall, best wall and median CPU time of one call per settings value."""
    wall, cpu = [], []
    for s in settings_list:
        t0, c0 = time.perf_counter(), time.process_time()
        fn(s)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return float(np.median(wall)), float(min(wall)), float(np.median(cpu))


def run() -> list[Row]:
    from skysegui.core.pyramid import DisplayPyramid
    from skysegui.core.tonemap import ToneSettings, auto_exposure, tonemap
    from skysegui.core.tonemap.apply import exact_tonemap

    pano = _view()
    pyramid = DisplayPyramid(pano, build=False)
    region = (1000, 500, 2920, 1580)
    evs = np.linspace(-3, 3, REPEAT)

    def frame(s):
        return pyramid.render(s, 1.0, region)

    frame(ToneSettings(exposure=0.123))  # first call: OpenCV's LUT set-up, page faults
    rows = []
    b = "tonemap"
    f32 = pano[500:1580, 1000:2920].astype(np.float32)
    base_med, _, _ = _per_frame(lambda s: exact_tonemap(f32, s), [ToneSettings(exposure=e) for e in evs[:8]])
    for op in ("srgb", "filmic", "reinhard"):
        med, best, cpu = _per_frame(frame, [ToneSettings(exposure=e + 0.001 * i, operator=op) for i, e in enumerate(evs)])
        rows.append(Row(b, f"1920x1080 view, exposure change, {op} (median)", med * 1e3, "ms",
                        "float32 numpy path", med / base_med, "< 16 ms", med < 0.016))
        rows.append(Row(b, f"  same, best of {REPEAT}", best * 1e3, "ms", "", None, "< 16 ms", best < 0.016))
        rows.append(Row(b, "  same, median CPU time", cpu * 1e3, "ms", "", None, "< 16 ms", cpu < 0.016))
    med, _, _ = _per_frame(frame, [ToneSettings(exposure=e, operator="falsecolor") for e in evs[:10]])
    rows.append(Row(b, "1920x1080 view, false colour (median)", med * 1e3, "ms", "float32 numpy path",
                    med / base_med))
    rows.append(Row(b, "1920x1080 view, float32 numpy path (median)", base_med * 1e3, "ms"))
    med, _, _ = _per_frame(lambda s: tonemap(f32, s), [ToneSettings(exposure=e) for e in evs[:10]])
    rows.append(Row(b, "1920x1080 float32 view via the float16 table (median)", med * 1e3, "ms",
                    "float32 numpy path", med / base_med))
    t0 = time.perf_counter()
    auto_exposure(pano)
    rows.append(Row(b, "auto exposure of a 4096x2048 image", (time.perf_counter() - t0) * 1e3, "ms"))
    return rows
