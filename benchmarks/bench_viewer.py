"""The viewer on an 8K half-float EXR: time to the first picture and to full resolution
(ratios to a raw OpenEXR decode of the same file), frame time of an exposure change at a
1920x1080 view, the longest GUI-thread stall while an 8K image loads, and peak memory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import OpenEXR  # noqa: E402

from benchmarks._table import Row, peak_rss_mb, timed  # noqa: E402
from skysegui.core.imageio import read_image, write_exr  # noqa: E402
from skysegui.core.tonemap import ToneSettings  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "hdri" / "city.exr"
BENCH = "viewer"


def make_8k_exr(folder: Path) -> Path:
    """city.exr upscaled to 8192x4096 (half float), or a synthetic panorama without ../shared."""
    if SHARED.exists():
        small = read_image(SHARED).pixels
    else:
        from skysegui.core.synthetic import make_panorama

        small = make_panorama(1024, 512, seed=1).pixels
    big = cv2.resize(small.astype(np.float32), (8192, 4096), interpolation=cv2.INTER_LINEAR)
    path = folder / "pano8k.exr"
    write_exr(path, big, half=True)
    return path


def raw_decode(path: Path) -> np.ndarray:
    return OpenEXR.File(str(path)).parts[0].channels["RGB"].pixels


def _measure_load(path: Path) -> tuple[float, float, float]:
    """Seconds to the first picture, to full resolution (level 0 shown) and to the complete
    display pyramid, of one load."""
    from skysegui.gui.workers.load_worker import load_image

    marks = {}
    t0 = time.perf_counter()
    load_image(
        path,
        ToneSettings(),
        lambda *_a: marks.setdefault("first", time.perf_counter()),
        lambda *_a: marks.setdefault("full", time.perf_counter()),
    )
    return marks["first"] - t0, marks["full"] - t0, time.perf_counter() - t0


def make_8k_project(folder: Path, exr: Path) -> Path:
    """A project with the 8K panorama and the shared Label Studio polygons scaled to it."""
    import json
    import shutil

    root = folder / "project"
    (root / "images").mkdir(parents=True)
    shutil.copy(exr, root / "images" / "city.exr")
    coco = SHARED.parent.parent / "label-studio" / "city_coco.json"
    if coco.exists():
        data = json.loads(coco.read_text())
        for image in data["images"]:
            k = 8192 / image["width"]
            image["width"], image["height"] = 8192, 4096
        for ann in data["annotations"]:
            ann["segmentation"] = [[v * k for v in ring] for ring in ann["segmentation"]]
            ann["bbox"] = [v * k for v in ann["bbox"]]
            ann["area"] = ann["area"] * k * k
        (root / "labels.json").write_text(json.dumps(data))
    return root


def _gui_measures(project: Path) -> dict[str, float]:
    """Open the 8K project in the real window: times, the longest GUI-thread stall, frames."""
    from PySide6.QtCore import QPointF, QTimer
    from PySide6.QtWidgets import QApplication

    from skysegui.gui.main_window import MainWindow
    from skysegui.gui.settings import AppSettings, ini_settings

    app = QApplication.instance() or QApplication([])
    window = MainWindow(AppSettings(ini_settings(project.parent / "s.ini")), ask=lambda k, t: "later")
    window.resize(2300, 1300)
    window.show()
    view = window.view
    _size_viewport(app, window, view, 1920, 1080)
    marks: dict[str, float] = {}
    window.loader.previewReady.connect(lambda *_a: marks.setdefault("preview", time.perf_counter()))
    window.fullyLoaded.connect(lambda: marks.setdefault("full", time.perf_counter()))
    gaps = []
    last = [time.perf_counter()]

    def tick():  # the longest gap between 5 ms ticks = the longest GUI-thread stall
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    for _ in range(5):
        app.processEvents()
    t0 = time.perf_counter()
    last[0] = t0
    timer.start()
    window.open_path(project)
    while "full" not in marks and time.perf_counter() - t0 < 120:
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    out = {
        "stall": max(gaps),
        "preview": marks["preview"] - t0,
        "full": marks["full"] - t0,
    }

    def frame(exposure: float) -> None:
        view.set_tone(ToneSettings(exposure=exposure))
        view.render_now()
        view.viewport().repaint()

    for name, zoom in (("100", 1.0), ("fit", None)):
        if zoom is None:
            view.fit()
        else:
            view.set_zoom(zoom, anchor=QPointF(4096, 2048))
        frame(0.1)
        out[name], out[name + " cpu"] = _frame_times(frame, FRAMES)
    window.session.undo_stack.setClean()
    window.close()
    return out


FRAMES = 60  # exposure changes per zoom; each a new exposure, as while dragging the slider


def _size_viewport(app, window, view, width: int, height: int) -> None:
    """Grow or shrink the window until the view's viewport is width x height (the docks'
    layout decides the view's share of the window, so resizing the view alone is undone)."""
    for _ in range(5):
        app.processEvents()
    vp = view.viewport()
    window.resize(window.width() + width - vp.width(), window.height() + height - vp.height())
    for _ in range(5):
        app.processEvents()
    if (vp.width(), vp.height()) != (width, height):
        print(f"note: viewport is {vp.width()}x{vp.height()}, not {width}x{height}", file=sys.stderr)


def _frame_times(frame, count: int) -> tuple[float, float]:
    """Median wall and CPU seconds (this process, all threads: Qt paints large areas in
    a thread pool) of `count` frames, each at a new exposure."""
    walls, cpus = [], []
    for i in range(count):
        exposure = 0.25 * (i % 8) + 0.001 * i  # never a cached look-up table
        c0, t0 = time.process_time(), time.perf_counter()
        frame(exposure)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return float(np.median(walls)), float(np.median(cpus))


def _tonemap_baseline(path: Path) -> float:
    """Median time of the bare tone map of a 1920x1080 region, a new exposure each time
    (its look-up table is rebuilt, as in the window's frames)."""
    from skysegui.core.tonemap import tonemap

    pixels = read_image(path, dtype=np.float16).pixels
    region = pixels[1508:2588, 3136:5056]
    times = [timed(lambda e=0.25 * (i % 8) + 0.1 + 0.001 * i: tonemap(region, ToneSettings(exposure=e)))[0]
             for i in range(FRAMES)]
    return float(np.median(times))


def run() -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-viewer-") as tmp:
        # made in a child process so its float32 upscale does not count in our peak memory
        subprocess.run(
            [sys.executable, "-c", f"from benchmarks.bench_viewer import make_8k_exr; "
             f"from pathlib import Path; make_8k_exr(Path({tmp!r}))"],
            check=True, cwd=Path(__file__).resolve().parents[1],
        )
        path = Path(tmp) / "pano8k.exr"
        decode, _ = timed(lambda: raw_decode(path), repeat=3)
        first, full, pyramid = min(_measure_load(path) for _ in range(2))
        rows.append(Row(BENCH, "raw OpenEXR decode 8K half", decode, "s"))
        rows.append(Row(BENCH, "open 8K EXR -> first picture", first, "s", "raw decode",
                        first / decode, "<= 1.5x", first / decode <= 1.5))
        rows.append(Row(BENCH, "open 8K EXR -> full resolution shown", full, "s", "raw decode",
                        full / decode))
        rows.append(Row(BENCH, "open 8K EXR -> display pyramid complete", pyramid, "s",
                        "raw decode", pyramid / decode))
        base = _tonemap_baseline(path)
        gui = _gui_measures(make_8k_project(Path(tmp), path))
        rows.append(Row(BENCH, "window: open 8K project -> preview shown", gui["preview"], "s",
                        "raw decode", gui["preview"] / decode))
        rows.append(Row(BENCH, "window: open 8K project -> full res + labels", gui["full"], "s",
                        "raw decode", gui["full"] / decode))
        rows.append(Row(BENCH, "numpy tone map of a 1920x1080 region", base * 1000, "ms"))
        for key, where in (("100", "at 100 %"), ("fit", "8K fit")):
            wall, cpu = gui[key], gui[key + " cpu"]
            rows.append(Row(BENCH, f"exposure change, 1920x1080 view {where} (median)", wall * 1000, "ms",
                            "tone map alone", wall / base, "< 16 ms", wall < 0.016))
            rows.append(Row(BENCH, "  same, CPU time (all threads)", cpu * 1000, "ms",
                            "tone map alone", cpu / base))
        rows.append(Row(BENCH, "longest GUI-thread stall, 8K project open", gui["stall"] * 1000, "ms",
                        target="<= ~50 ms", ok=gui["stall"] <= 0.06))
        rows.append(Row(BENCH, "peak memory (process: 8K image, pyramid, window)", peak_rss_mb(), "MB"))
    return rows


if __name__ == "__main__":
    from benchmarks._table import format_table

    print(format_table(run()))
