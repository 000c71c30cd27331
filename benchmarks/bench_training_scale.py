"""Training at the pipeline report's scale: 75 panoramas of 8192 x 4096.

A scaled run by default (SKYSEGUI_BENCH_SCALE_IMAGES=4 panoramas of
SKYSEGUI_BENCH_SCALE_WIDTH=8192 x 4096 px, written as half-float ZIP EXRs and as DWAB copies),
with the count-dependent figures extrapolated to 75 images, marked "extrapolated" in the
table. Set SKYSEGUI_BENCH_SCALE_IMAGES=75 on a big machine for the real thing.

Measured, each in its own process so peak memory belongs to one path:
* the cache build (default codec, min(4, cores) workers): time, bytes against the ZIP and
  the DWAB sources, peak RSS (bounded by workers x one image, not by the dataset);
* the training input (tf.data crop sampler, 256 px HDR crops, HDR augmentation): crops/s
  with one stream and with the default streams, peak RSS;
* a training loop of the "cpu" preset fed by that pipeline: peak RSS;
* the model's step rate on this CPU (default = Unet ResNet34, and "cpu"), and a GPU step
  rate PROJECTED from a published number (see GPU_REFERENCE), to say whether the input
  pipeline would keep a GPU fed.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._common import in_child
from benchmarks._table import Row, peak_rss_mb
from benchmarks.bench_training_input import compiled_model

BENCH = "training_scale"
TARGET_IMAGES, TARGET_WIDTH = 75, 8192  # the report's dataset

# The published anchor of the GPU projection: NVIDIA DeepLearningExamples,
# PyTorch/Classification/ConvNets/resnet50v1.5/README.md, "Training performance: NVIDIA DGX
# A100 (8x A100 80GB)", 1 GPU, mixed precision: 2470 img/s (224 px ResNet-50 training; the
# same README gives 1200 img/s for one V100 16GB). We scale it by the multiply-adds of one
# ResNet-50 224 px image over one crop of our model, both counted on the Keras graphs below,
# i.e. we assume the GPU reaches the same efficiency on our U-Net. U-Net decoders run at
# full resolution and are more memory-bound than ResNet-50, so the real rate is probably
# lower: this is a projection, not a measurement.
GPU_REFERENCE = ("A100 80GB, mixed precision", 2470.0)
SERVER_CORES = 16  # CPU cores beside one GPU on a typical training server (and our GPU hosts)


def _config() -> tuple[int, int]:
    n = int(os.environ.get("SKYSEGUI_BENCH_SCALE_IMAGES", "4"))
    width = int(os.environ.get("SKYSEGUI_BENCH_SCALE_WIDTH", "8192"))
    return max(1, n), max(512, width // 2 * 2)


def _write_dwab(path: Path, pixels: np.ndarray) -> None:
    import OpenEXR

    header = {"compression": OpenEXR.DWAB_COMPRESSION, "type": OpenEXR.scanlineimage}
    OpenEXR.File(header, {"RGB": np.ascontiguousarray(pixels, np.float16)}).write(str(path))


def _make_dataset(root: Path, n: int, width: int) -> tuple[list[Path], list[Path], list[Path]]:
    """n panoramas as ZIP EXRs, DWAB copies (OpenEXR's default level 45) and sky masks (.npy).

    One synthetic panorama is made at full size; the others are distinct variants of it
    (rolled around the seam by an odd number of pixels, brighter or darker, mirrored), so
    making the data does not dominate the run. No two share a tile."""
    from skysegui.core.imageio import write_exr
    from skysegui.core.synthetic import make_panorama

    root.mkdir(parents=True, exist_ok=True)
    pano = make_panorama(width, width // 2, seed=0)
    zips, dwabs, masks = [], [], []
    for i in range(n):
        shift = (i * 1237) % width
        pixels = np.roll(pano.pixels, shift, axis=1) * np.float32(2.0 ** (0.4 * i - 1.0))
        sky = np.roll(pano.sky, shift, axis=1)
        if i % 2:
            pixels, sky = pixels[:, ::-1], sky[:, ::-1]
        zips.append(root / f"pano{i:02d}.exr")
        write_exr(zips[-1], pixels, half=True)
        dwabs.append(root / f"dwab{i:02d}.exr")
        _write_dwab(dwabs[-1], pixels)
        masks.append(root / f"pano{i:02d}.sky.npy")
        np.save(masks[-1], np.ascontiguousarray(sky, np.uint8))
        del pixels, sky
    return zips, dwabs, masks


def _file_sources(images: list[Path], masks: list[Path]):
    """LabelledSources that read an EXR and its mask when the cache asks (as a project does)."""
    from skysegui.ml.data.cache import LabelledSource, network_input_f16

    sources = []
    for image, mask in zip(images, masks, strict=True):
        def load(image=image, mask=mask):
            from skysegui.core.imageio import read_image

            decoded = read_image(image)
            x = network_input_f16(decoded.pixels, True, "hdr_log")
            del decoded
            return x, np.load(mask)

        st = image.stat()
        fp = {"image": image.name, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "transform": "hdr_log"}
        sources.append(LabelledSource(name=image.stem, fingerprint=fp, load=load))
    return sources


def _build_child(images, masks, folder, queue) -> None:
    from skysegui.ml.data.cache import build_cache, default_workers

    sources = _file_sources([Path(p) for p in images], [Path(p) for p in masks])
    before = hwm_mb()
    steps = []
    t0 = time.perf_counter()
    cache = build_cache(sources, folder, "hdr_log", progress=lambda d, t, m: steps.append(d))
    seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = build_cache(sources, folder, "hdr_log")
    noop = time.perf_counter() - t0
    errors = [e.error for e in cache.entries]
    queue.put({"seconds": seconds, "noop_seconds": noop, "noop_rebuilt": again.rebuilt,
               "bytes": cache.size_bytes(), "peak_mb": hwm_mb(), "before_mb": before,
               "workers": default_workers(), "progress_reports": len(steps),
               "max_abs": max(e.get("max_abs", 0.0) for e in errors),
               "rms": float(np.sqrt(np.mean([e.get("rms", 0.0) ** 2 for e in errors]))),
               "codec": cache.entries[0].codec})


def _finish_child(queue, result) -> None:
    """Hand the result over and leave at once (tf.data's generator threads can hold up exit)."""
    queue.put(result)
    queue.close()
    queue.join_thread()
    os._exit(0)


def _sampler(folder):
    from skysegui.ml.augment import AugmentConfig
    from skysegui.ml.data import CropSampler, SamplerConfig, open_cache

    cache = open_cache(folder)
    return cache, CropSampler(cache, cache.names, SamplerConfig(crop=256, batch_size=8,
                                                                augment=AugmentConfig.hdr(), seed=0))


def _input_child(folder, batches, queue) -> None:
    import skysegui.ml  # noqa: F401  (TensorFlow's environment first)
    from skysegui.ml.augment import AugmentConfig
    from skysegui.ml.data import CropSampler, SamplerConfig
    from skysegui.ml.data.sampler import default_streams

    cache, sampler = _sampler(folder)
    # one core's work per crop, without TensorFlow: what one process stream does
    ms = {}
    for key, aug in (("read", AugmentConfig.none()), ("read+augment", AugmentConfig.hdr())):
        crops = CropSampler(cache, cache.names, SamplerConfig(crop=256, augment=aug, seed=1)).crops()
        next(crops)
        t0 = time.perf_counter()
        for _ in range(60):
            next(crops)
        ms[key] = (time.perf_counter() - t0) / 60 * 1000
    rates = {}
    streams = default_streams()
    for key, n, processes in (("threads-1", 1, False), ("threads", streams, False),
                              ("processes", streams, True)):
        rates[key] = _pipeline_rate(sampler, batches, n, processes)
    _finish_child(queue, {"rates": rates, "streams": streams, "ms": ms, "peak_mb": hwm_mb(),
                          "tiles_mb": cache.tiles.peak_bytes / 2**20})


def _pipeline_rate(sampler, batches: int, streams: int | None = None, processes: bool = False) -> float:
    """crops/s of sampler.dataset (batches of 8) once warm."""
    import gc

    it = iter(sampler.dataset(streams=streams, processes=processes))
    next(it)  # warm up: TensorFlow traces, workers start, the first tiles decode
    t0 = time.perf_counter()
    for _ in range(batches):
        next(it)
    rate = batches * 8 / (time.perf_counter() - t0)
    del it  # stops its threads (or worker processes) before the next measurement
    gc.collect()
    return rate


def _train_child(folder, steps, queue) -> None:
    """A few training steps of the cpu preset fed by the pipeline (peak memory), then the
    pipeline's and the models' rates measured in turn, twice, best of each: the machine is
    shared, and a comparison is only fair under the same load."""
    from skysegui.ml.losses import make_loss, make_metrics
    from skysegui.ml.model import build_model, preset

    cache, sampler = _sampler(folder)
    model = build_model(preset("cpu", patch_size=256))
    model.compile("adam", loss=make_loss(), metrics=make_metrics())
    model.fit(sampler.dataset(), steps_per_epoch=steps, epochs=1, verbose=0)
    train_peak = hwm_mb()
    del model
    models = {name: compiled_model(name) for name in ("cpu", "default")}
    rates: dict[str, float] = {}
    for _ in range(2):
        for key, rate in (("pipeline", lambda: _pipeline_rate(sampler, 12)),
                          ("cpu", lambda: _model_rate(models["cpu"])),
                          ("default", lambda: _model_rate(models["default"], steps=1))):
            rates[key] = max(rates.get(key, 0.0), rate())
    macs = {name: count_macs(m[0], 256) for name, m in models.items()}
    _finish_child(queue, {"train_peak_mb": train_peak, "rates": rates, "macs": macs,
                          "resnet50_macs": _resnet50_macs()})


def _model_rate(compiled, steps: int = 2) -> float:
    model, x, y = compiled
    t0 = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return steps * len(x) / (time.perf_counter() - t0)


def hwm_mb() -> float:
    """Peak resident memory of this process (MB): VmHWM, which, unlike ru_maxrss, does not
    carry the parent's figure into a spawned child on Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return peak_rss_mb()


def count_macs(model, size: int) -> float:
    """Multiply-adds of one forward pass of one size x size image: convolutions and dense
    layers (the output sizes come from one forward pass, as the models take any size)."""
    from skysegui.ml.tf_import import import_tf_keras

    keras = import_tf_keras()
    kinds = ("Conv2D", "DepthwiseConv2D", "Dense", "SeparableConv2D")
    layers = [la for la in _all_layers(model) if type(la).__name__ in kinds]
    probe = keras.Model(model.inputs, [la.output for la in layers])
    outputs = probe(np.zeros((1, size, size, 3), np.float32), training=False)
    total = 0.0
    for layer, out in zip(layers, outputs, strict=True):
        positions = float(np.prod(out.shape[1:-1])) if len(out.shape) > 2 else 1.0
        total += positions * float(np.prod(layer.weights[0].shape))  # kh * kw * C_in * C_out
    return total


def _all_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            yield from _all_layers(layer)
        else:
            yield layer


def _resnet50_macs() -> float:
    from skysegui.ml.tf_import import import_tf_keras

    keras = import_tf_keras()
    return count_macs(keras.applications.ResNet50(weights=None, input_shape=(224, 224, 3)), 224)


def run() -> list[Row]:
    import skysegui.ml  # noqa: F401

    n, width = _config()
    height = width // 2
    factor = TARGET_IMAGES * TARGET_WIDTH * TARGET_WIDTH // 2 / (n * width * height)
    scaled = factor != 1.0
    ext = f"extrapolated x{factor:.3g} from {n} x {width}x{height}" if scaled else "measured"
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        zips, dwabs, masks = _make_dataset(tmp / "images", n, width)
        make_s = time.perf_counter() - t0
        zip_bytes = sum(p.stat().st_size for p in zips)
        dwab_bytes = sum(p.stat().st_size for p in dwabs)
        folder = tmp / "cache"
        b = in_child(_build_child, [str(p) for p in zips], [str(p) for p in masks], str(folder))
        codec = b["codec"]
        rows.append(Row(BENCH, f"data: {n} synthetic {width}x{height} panoramas", make_s, "s",
                        f"ZIP {zip_bytes / 1e6:.0f} MB, DWAB {dwab_bytes / 1e6:.0f} MB"))
        rows.append(Row(BENCH, f"cache build, {n} images, {b['workers']} workers", b["seconds"], "s",
                        f"{b['seconds'] / n:.1f} s per image, {b['progress_reports']} progress reports"))
        if scaled:
            rows.append(Row(BENCH, f"cache build, {TARGET_IMAGES} x 8K ({ext})", b["seconds"] * factor / 60,
                            "min", f"{b['workers']} workers; linear in pixels"))
        rows.append(Row(BENCH, "cache refresh, nothing changed", b["noop_seconds"], "s",
                        f"{b['noop_rebuilt']} rebuilt", ok=b["noop_rebuilt"] == 0, target="0 rebuilt"))
        for name, src in (("ZIP", zip_bytes), ("DWAB", dwab_bytes)):
            ratio = b["bytes"] / src
            rows.append(Row(BENCH, f"cache ({codec}) vs half-float {name} sources", b["bytes"] / 1e6, "MB",
                            f"{name} {src / 1e6:.0f} MB", ratio, "<= 1x", ratio <= 1.0))
        if scaled:
            rows.append(Row(BENCH, f"cache size, {TARGET_IMAGES} x 8K ({ext})", b["bytes"] * factor / 1e9, "GB",
                            f"ZIP {zip_bytes * factor / 1e9:.1f} GB, DWAB {dwab_bytes * factor / 1e9:.1f} GB"))
        rows.append(Row(BENCH, f"{codec} error vs log input (max abs)", b["max_abs"], "",
                        f"RMS {b['rms']:.4f}; input range -1.0..3.1"))
        build_peak = b["peak_mb"]
        per_image = (build_peak - b["before_mb"]) * (TARGET_WIDTH / width) ** 2
        rows.append(Row(BENCH, "peak RSS, cache build", build_peak, "MB",
                        f"{b['before_mb']:.0f} MB before; {b['workers']} images in flight"))
        if width != TARGET_WIDTH:
            rows.append(Row(BENCH, f"peak RSS, cache build of 8K images ({ext})", b["before_mb"] + per_image,
                            "MB", "bounded by workers x image, not by the image count"))

        inp = in_child(_input_child, str(folder), 16)
        streams, rates, ms = inp["streams"], inp["rates"], inp["ms"]
        rows.append(Row(BENCH, "one crop, read from the cache (1 core)", ms["read"], "ms",
                        "9 tiles decoded (3x3 of 128 px) for a 256 px crop"))
        rows.append(Row(BENCH, "one crop, read + HDR augmentation (1 core)", ms["read+augment"], "ms",
                        f"augmentation {ms['read+augment'] - ms['read']:.1f} ms (ml/augment.py)"))
        one = rates["threads-1"]
        rows.append(Row(BENCH, "input pipeline, 1 stream", one, "crops/s", "256 px HDR crops + augmentation"))
        rows.append(Row(BENCH, f"input pipeline, {streams} thread streams", rates["threads"], "crops/s",
                        f"{os.cpu_count()} cores, shared", rates["threads"] / one))
        rows.append(Row(BENCH, f"input pipeline, {streams} process streams", rates["processes"], "crops/s",
                        f"{os.cpu_count()} cores, shared", rates["processes"] / one))
        rows.append(Row(BENCH, "peak RSS, input pipeline (main process)", inp["peak_mb"], "MB",
                        f"decoded tiles <= {inp['tiles_mb']:.0f} MB"))

        t = in_child(_train_child, str(folder), 3)
        rows.append(Row(BENCH, "peak RSS, training (cpu preset, 3 steps)", t["train_peak_mb"], "MB",
                        "model + pipeline"))
        pipeline = t["rates"]["pipeline"]  # measured in turn with the models, under the same load
        for name in ("default", "cpu"):
            step = t["rates"][name]
            ratio = pipeline / step
            rows.append(Row(BENCH, f"pipeline vs {name} preset step (this CPU)", ratio, "x",
                            f"pipeline {pipeline:.0f}, model {step:.2f} crops/s", ratio,
                            ">= 10x" if name == "cpu" else "", ratio >= 10.0 if name == "cpu" else None))
        gpu_name, r50_rate = GPU_REFERENCE
        gpu = r50_rate * t["resnet50_macs"] / t["macs"]["default"]
        rows.append(Row(BENCH, f"PROJECTED default preset step, {gpu_name}", gpu, "crops/s",
                        f"ResNet-50 {r50_rate:g} img/s x {t['resnet50_macs'] / 1e9:.1f} / "
                        f"{t['macs']['default'] / 1e9:.1f} GMAC"))
        cores = os.cpu_count() or 1
        # a process stream keeps one core busy with the crop loop, free of the GIL: the rate
        # of one core is that loop's (measured above), the better of it and the processes'
        per_core = max(1000.0 / ms["read+augment"], rates["processes"] / min(streams, cores))
        need = gpu / per_core
        best = max(rates.values())
        rows.append(Row(BENCH, "keeps that GPU fed on this machine", best / gpu, "x",
                        f"{cores} cores, best of threads/processes", best / gpu, ">= 1x", best >= gpu))
        fed = per_core * SERVER_CORES >= gpu
        rows.append(Row(BENCH, f"keeps it fed with {SERVER_CORES} cores (PROJECTED, linear)", need, "cores needed",
                        f"{per_core:.0f} crops/s per core", per_core * SERVER_CORES / gpu, ">= 1x", fed))
    return rows


if __name__ == "__main__":
    from benchmarks._table import format_table

    print(format_table(run()))
