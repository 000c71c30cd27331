"""Predict one 8K synthetic panorama with the three methods: quality, fast, report (baseline).

Two parts in one run (SKYSEGUI_BENCH_WIDTH changes the panorama width, default 8192):

1. Time and peak memory with the default model (U-Net + ResNet34, the report's network).
   Its weights are random: the time of a forward pass does not depend on them.
2. IoU against the panorama's exact sky mask (and within 32 px of the 256 px patch
   borders, where the report's unpatchify leaves seams) with a small U-Net trained here
   for a minute on crops of other synthetic day panoramas at several scales (training the
   ResNet34 on this 2-core CPU would take far longer than the benchmark itself).
   Random weights say nothing about accuracy, hence the separate model.

The methods are compared on the network's own masks (snap=False); snapping the mask to the
image's edges (ml/snap.py, on by default for users) is timed on its own at this size, and
its effect on quality is measured on real panoramas in bench_loop_quality.

Targets (DESIGN.md): quality IoU > report IoU in at most 2x the report's time; fast at
least 15x faster than the report with IoU within 0.01 of quality (not lower than
quality's IoU minus 0.01; a higher IoU passes).
"""

from __future__ import annotations

import os
import time

import numpy as np

from benchmarks._table import Row, peak_rss_mb

BENCH = "predict"
SEED = 2024
TRAIN_STEPS = int(os.environ.get("SKYSEGUI_BENCH_STEPS", "500"))


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter (Linux clear_refs 5); False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _rss_mb(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def measure(fn, repeat: int = 1):
    """(best wall seconds, CPU seconds of that run, result, peak RSS in MB while fn ran,
    RSS before in MB). CPU time is less disturbed by other work on a shared machine."""
    before = _rss_mb("VmRSS")
    resettable = _reset_peak()
    best, cpu, result = float("inf"), 0.0, None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        seconds = time.perf_counter() - t0
        if seconds < best:
            best, cpu = seconds, time.process_time() - c0
    peak = _rss_mb("VmHWM") if resettable else peak_rss_mb()
    return best, cpu, result, peak, before


def _training_set(width: int, crops: int, size: int, rng):
    """Crops of synthetic day panoramas (not the benchmark's), at scales 1 to 1/8 of `width`."""
    from skysegui.core.synthetic import make_panorama
    from skysegui.ml.toy import pyramid_crops

    sources = [make_panorama(width, width // 2, seed=1, kind="day", skyline="mountains")]
    sources += [make_panorama(2048, 1024, seed=s, kind="day", skyline="mountains") for s in (2, 3, 4)]
    return pyramid_crops(sources, crops, size, rng, scales=(1, 2, 4, 8, 16, 32), min_width=512)


def _trained_small_model(width: int):
    import tf_keras as keras

    from skysegui.ml.model import LoadedModel, ModelCard
    from skysegui.ml.toy import small_unet

    keras.utils.set_random_seed(SEED)
    x, y = _training_set(width, 8 * TRAIN_STEPS, 128, np.random.default_rng(SEED))
    model = small_unet((8, 16, 16, 32, 32), bottleneck=48)  # ~80k parameters: about a minute
    lr = keras.optimizers.schedules.CosineDecay(1e-2, TRAIN_STEPS)
    model.compile(keras.optimizers.Adam(lr), "binary_crossentropy")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    # The card of the default network at native resolution (the three native-resolution
    # methods are what is compared here): 256 px patches (report mode), HDR log input.
    return LoadedModel(model=model, card=ModelCard(config=native_default(), name="small-unet"), folder=None)


def native_default():
    """The report's network, run at the image's own resolution (no model scale)."""
    from skysegui.ml.model import preset

    return preset("default", pixels_per_degree=None)


def run() -> list[Row]:
    import skysegui.ml  # noqa: F401
    from skysegui.core.metrics import border_band, iou
    from skysegui.core.synthetic import make_panorama
    from skysegui.ml.model import LoadedModel, ModelCard, build_model
    from skysegui.ml.predict import Predictor

    width = int(os.environ.get("SKYSEGUI_BENCH_WIDTH", "8192"))
    pano = make_panorama(width, width // 2, seed=SEED, kind="day", skyline="mountains")
    pixels, truth = pano.pixels, pano.sky
    size = f"{width}x{width // 2}"
    rows: list[Row] = []

    # --- 1. time and memory, default network ---------------------------------------------
    default = LoadedModel(build_model(native_default()), ModelCard(config=native_default()), None)
    predictor = Predictor(default, snap=False)
    predictor.predict(pixels[:256, :512], mode="quality")  # warm-up: graph and oneDNN set-up
    times, cpus = {}, {}
    for mode in ("report", "quality", "fast"):
        repeat = 3 if mode == "fast" else 1  # best of 3 for the short one
        seconds, cpu, _, peak, before = measure(lambda m=mode: predictor.predict(pixels, mode=m), repeat)
        times[mode], cpus[mode] = seconds, cpu
        rows.append(Row(BENCH, f"{mode} {size} resnet34 wall time", seconds, "s"))
        rows.append(Row(BENCH, f"{mode} {size} resnet34 CPU time", cpu, "s"))
        rows.append(Row(BENCH, f"{mode} peak RSS (before: {before:.0f} MB)", peak, "MB"))
    ratio_q = times["quality"] / times["report"]
    speedup = times["report"] / times["fast"]
    rows.append(Row(BENCH, "quality time / report time (wall)", ratio_q, "x", "report",
                    ratio_q, "<= 2x", ratio_q <= 2.0))
    rows.append(Row(BENCH, "fast speed-up over report (wall)", speedup, "x", "report",
                    speedup, ">= 15x", speedup >= 15.0))
    rows.append(Row(BENCH, "quality / report (CPU time)", cpus["quality"] / cpus["report"], "x"))
    rows.append(Row(BENCH, "fast speed-up over report (CPU time)", cpus["report"] / cpus["fast"], "x"))
    del default, predictor

    # --- 2. accuracy, briefly trained small U-Net -----------------------------------------
    t0 = time.perf_counter()
    small = _trained_small_model(width)
    rows.append(Row(BENCH, "train small U-Net (accuracy part)", time.perf_counter() - t0, "s"))
    predictor = Predictor(small, snap=False)
    near = border_band(truth.shape[0], truth.shape[1], 256, 32)
    scores = {}
    for mode in ("report", "quality", "fast"):
        seconds, _, pred, _, _ = measure(lambda m=mode: predictor.predict(pixels, mode=m))
        scores[mode] = iou(pred.mask, truth)
        rows.append(Row(BENCH, f"{mode} IoU (small U-Net, {seconds:.1f} s)", scores[mode], ""))
        rows.append(Row(BENCH, f"{mode} IoU within 32 px of patch borders", iou(pred.mask, truth, where=near), ""))
        if mode == "quality":
            from skysegui.ml.snap import snap_to_edges

            t0 = time.perf_counter()
            snapped = snap_to_edges(pixels, pred.prob) >= 0.5
            rows.append(Row(BENCH, f"snap to edges {size}: time (the network's quality mode {seconds:.1f} s)",
                            time.perf_counter() - t0, "s", target="informative"))
            rows.append(Row(BENCH, "quality IoU, snapped to edges", iou(snapped, truth), ""))
    rows.append(Row(BENCH, "quality IoU - report IoU", scores["quality"] - scores["report"], "",
                    "report", None, "> 0", scores["quality"] > scores["report"]))
    # Fast mode must not lose more than 0.01 IoU against quality mode (being better is fine).
    gap = scores["fast"] - scores["quality"]
    rows.append(Row(BENCH, "fast IoU - quality IoU", gap, "", "quality", None, ">= -0.01", gap >= -0.01))
    return rows
