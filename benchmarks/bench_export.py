"""Export of one 8K panorama: an overlay PNG and an RGBA EXR (time and peak memory).

The 8K half-float EXR is made in a temp folder by upscaling a shared HDRI (or a
synthetic panorama when ../shared is absent), with its mask as a prediction file.
Each measurement runs in a fresh process so its peak memory is its own. Baseline:
a raw OpenEXR decode of the same file, in the same kind of process.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._common import in_child
from benchmarks._table import Row

WIDTH, HEIGHT = 8192, 4096
SHARED_HDRI = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "hdri" / "city.exr"
MIB = 1024 * 1024


def _make_8k(folder: Path) -> Path:
    import cv2

    from skysegui.core import imageio
    from skysegui.core.predictions import prediction_paths

    if SHARED_HDRI.exists():
        small = imageio.read_image(SHARED_HDRI).pixels
    else:
        from skysegui.core.synthetic import make_panorama

        small = make_panorama(1024, 512, seed=0).pixels
    big = cv2.resize(small.astype(np.float32), (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR)
    path = folder / "pano8k.exr"
    imageio.write_exr(path, big.astype(np.float16), half=True)
    lum = big.mean(axis=2)
    mask = (lum > np.median(lum)).astype(np.uint8) * 255  # a plausible, irregular mask
    pred_dir = folder / "predictions"
    pred_dir.mkdir()
    cv2.imwrite(str(prediction_paths(pred_dir, path).mask), mask)
    return path


def _hwm_mb() -> float:
    """This process's own peak resident memory (VmHWM; unlike ru_maxrss, reset by exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    from benchmarks._table import peak_rss_mb

    return peak_rss_mb()


def _child(task: str, path: str, out: str, queue) -> None:
    if task == "make":
        _make_8k(Path(path))
        queue.put((0.0, 0.0, 0.0, 0.0))
        return
    import OpenEXR

    from skysegui.core import (
        imageio,  # noqa: F401  (imports outside the timing)
        tonemap,  # noqa: F401
    )
    from skysegui.core.export.batch import ExportOptions, export_images

    start_rss = _hwm_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    if task == "decode":
        with OpenEXR.File(path) as f:
            _ = [c.pixels for c in f.channels().values()]
    else:
        options = ExportOptions(what=task, source="prediction")
        export_images([Path(path)], options, Path(out), predictions_dir=Path(path).parent / "predictions")
    queue.put((time.perf_counter() - t0, time.process_time() - c0, _hwm_mb(), start_rss))


def _measure(task: str, path: Path, out: Path) -> tuple[float, float, float, float]:
    return in_child(_child, task, str(path), str(out / task))


def run() -> list[Row]:
    rows: list[Row] = []
    half_rgb_mb = WIDTH * HEIGHT * 3 * 2 / MIB
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _measure("make", folder, folder)  # in a child: the parent stays small
        path = folder / "pano8k.exr"
        decode_s, decode_cpu, decode_peak, decode_start = _measure("decode", path, folder)
        rows.append(Row("export", "raw OpenEXR decode, 8K half (wall)", decode_s, "s"))
        rows.append(Row("export", "raw OpenEXR decode (CPU)", decode_cpu, "s"))
        rows.append(Row("export", "decode: peak memory above start", decode_peak - decode_start, "MB"))
        for task, label in (("overlay", "overlay PNG, 8K"), ("rgba-exr", "RGBA EXR, 8K half")):
            secs, cpu, peak, start = _measure(task, path, folder)
            rows.append(Row("export", f"{label} (wall)", secs, "s", baseline="raw decode", ratio=secs / decode_s))
            rows.append(Row("export", f"{label} (CPU)", cpu, "s", baseline="decode CPU", ratio=cpu / decode_cpu))
            extra = peak - start
            ok = extra <= 2.5 * half_rgb_mb
            rows.append(
                Row(
                    "export",
                    f"{task}: peak memory above start",
                    extra,
                    "MB",
                    baseline="half RGB image",
                    ratio=extra / half_rgb_mb,
                    target="<= 2.5x the half image",
                    ok=ok,
                )
            )
    return rows
