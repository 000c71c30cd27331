"""Training input: pipeline throughput vs the model's step rate, cache size vs sources.

* crops/s of the tf.data crop sampler (256 px HDR crops, default HDR augmentation) against
  crops/s of a training step of the default model (Unet + ResNet34) and of the "cpu" preset,
  on this CPU: target >= 5x, so the input never starves the model.
* dataset cache bytes (the default codec, "jpeg": error-bounded, see ml/data/cache.py)
  against the source EXRs (half float, ZIP, as write_exr writes them, and the real
  DWAB-compressed samples in ../shared/data/hdri when present): target <= 1x.
* the lossy codec's error against the log-transformed network input on the real samples
  (max abs and RMS, also relative to the input's range), beside the error DWAB itself puts
  into the same input (OpenEXR's default level 45, and the level 300 of the real samples).
* the lossless codec ("zstd") against the first format ("zlib"): size and tile decode speed.
* the report's float32 TIFF patch dataset (256 px, stride 100) for the same images.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._table import Row, timed

BENCH = "training_input"
SHARED_HDRI = Path(__file__).resolve().parents[2] / "shared" / "data" / "hdri"


def _pipeline_crops_per_s(cache, crop: int = 256, batch: int = 8, batches: int = 30) -> float:
    from skysegui.ml.augment import AugmentConfig
    from skysegui.ml.data import CropSampler, SamplerConfig

    sampler = CropSampler(cache, cache.names, SamplerConfig(crop=crop, batch_size=batch,
                                                            augment=AugmentConfig.hdr(), seed=0))
    it = iter(sampler.dataset())
    next(it)  # warm up
    t0 = time.perf_counter()
    for _ in range(batches):
        next(it)
    return batches * batch / (time.perf_counter() - t0)


def compiled_model(preset_name: str, crop: int = 256, batch: int = 8):
    """A preset's model, compiled and traced on one random batch, with that batch."""
    from skysegui.ml.losses import make_loss, make_metrics
    from skysegui.ml.model import build_model, preset

    model = build_model(preset(preset_name, patch_size=crop))
    model.compile("adam", loss=make_loss(), metrics=make_metrics())
    rng = np.random.default_rng(0)
    x = rng.random((batch, crop, crop, 3), dtype=np.float32)
    y = (rng.random((batch, crop, crop, 1)) > 0.5).astype(np.float32)
    model.train_on_batch(x, y)  # trace
    return model, x, y


def _model_crops_per_s(preset_name: str, crop: int = 256, batch: int = 8, steps: int = 3) -> float:
    model, x, y = compiled_model(preset_name, crop, batch)
    t0 = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return steps * batch / (time.perf_counter() - t0)


def _cache_rows(name: str, folder: Path, image_paths: list[Path], codec: str | None = None):
    from skysegui.core.imageio import probe_image, read_image
    from skysegui.ml.data import array_sources, build_cache, report_dataset_bytes
    from skysegui.ml.data.cache import DEFAULT_CODEC

    codec = codec or DEFAULT_CODEC

    items = {}
    for p in image_paths:
        image = read_image(p)
        items[p.stem] = (image.pixels, np.zeros(image.pixels.shape[:2], np.uint8))
    sources = array_sources(items, "hdr_log")
    cache = build_cache(sources, folder, "hdr_log", codec=codec)
    src_bytes = sum(p.stat().st_size for p in image_paths)
    cache_bytes = cache.size_bytes()
    report_bytes = 0
    for p in image_paths:
        info = probe_image(p)
        report_bytes += report_dataset_bytes(info.height, info.width, 256, 100)
    ratio = cache_bytes / src_bytes
    default = codec == DEFAULT_CODEC
    return [
        Row(BENCH, f"cache size ({codec}), {name}", cache_bytes / 1e6, "MB", f"source EXRs {src_bytes / 1e6:.1f} MB",
            ratio, "<= 1x" if default else "(comparison)", ratio <= 1.0 if default else None),
        Row(BENCH, f"report's TIFF patches, {name}", report_bytes / 1e6, "MB",
            f"cache {cache_bytes / 1e6:.1f} MB", report_bytes / cache_bytes, "(comparison)"),
    ], cache


def _parallel_build_row(image_paths: list[Path], tmp: Path) -> Row:
    """Build time of the default cache with the default workers against one worker (best of 2)."""
    from skysegui.core.imageio import read_image
    from skysegui.ml.data import array_sources, build_cache
    from skysegui.ml.data.cache import default_workers

    items = {}
    for p in image_paths:
        pixels = read_image(p).pixels
        items[p.stem] = (pixels, np.zeros(pixels.shape[:2], np.uint8))
    best = {}
    for run in range(4):
        workers = 1 if run % 2 == 0 else default_workers()
        t, _ = timed(lambda w=workers, r=run: build_cache(array_sources(items), tmp / f"par{r}", "hdr_log",
                                                             workers=w))
        best[workers] = min(best.get(workers, float("inf")), t)
    w = default_workers()
    return Row(BENCH, f"cache build, {len(items)} images, {w} workers (threads)", best[w], "s",
               f"1 worker {best[1]:.2f} s", best[1] / best[w], "(speed-up)")


def _log_error(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    e = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    return float(np.abs(e).max()), float(np.sqrt(np.mean(e * e)))


def _codec_rows(real: list[Path], tmp: Path) -> list[Row]:
    """The lossy codec's error on the real samples, DWAB's own error, zstd vs zlib."""
    import OpenEXR

    from skysegui.core.imageio import read_image
    from skysegui.core.synthetic import make_panorama
    from skysegui.ml.data import array_sources, build_cache
    from skysegui.ml.data.cache import ERROR_BOUND, network_input_f16

    rows: list[Row] = []
    items = {}
    for p in real:
        pixels = read_image(p).pixels
        items[p.stem] = (pixels, np.zeros(pixels.shape[:2], np.uint8))
    truth = {k: network_input_f16(v[0], True, "hdr_log").astype(np.float32) for k, v in items.items()}
    lossy = build_cache(array_sources(items), tmp / "err_jpeg", "hdr_log")
    worst, sq, n = 0.0, 0.0, 0
    lo, hi = np.inf, -np.inf
    for i, name in enumerate(lossy.names):
        m, r = _log_error(np.asarray(lossy.arrays(i)[0]), truth[name])
        worst, sq, n = max(worst, m), sq + r * r * truth[name].size, n + truth[name].size
        lo, hi = min(lo, float(truth[name].min())), max(hi, float(truth[name].max()))
    rms = float(np.sqrt(sq / n))
    span = hi - lo
    bound = ERROR_BOUND["hdr_log"]
    rows.append(Row(BENCH, f"jpeg cache error, max abs ({len(real)} real panoramas, log input)", worst, "",
                    f"bound {bound:.4f} (0.25 EV); {100 * worst / span:.2f} % of range {span:.2f}",
                    worst / bound, "<= 1x bound", worst <= bound))
    rows.append(Row(BENCH, "jpeg cache error, RMS (same)", rms, "", f"{100 * rms / span:.2f} % of range"))
    # what DWAB itself does to the same input, on a synthetic panorama saved both ways
    pano = make_panorama(1024, 512, seed=7).pixels.astype(np.float16)
    ref = network_input_f16(pano, True, "hdr_log")
    for level in (45.0, 300.0):
        path = tmp / f"dwab{int(level)}.exr"
        header = {"compression": OpenEXR.DWAB_COMPRESSION, "dwaCompressionLevel": level,
                  "type": OpenEXR.scanlineimage}
        OpenEXR.File(header, {"RGB": pano}).write(str(path))
        m, r = _log_error(network_input_f16(read_image(path).pixels, True, "hdr_log"), ref)
        rows.append(Row(BENCH, f"DWAB level {level:g}'s own error, max abs (log input)", m, "",
                        f"RMS {r:.4f} (comparison)"))
    # lossless: zstd against zlib, same tiles
    caches = {c: build_cache(array_sources(items), tmp / f"err_{c}", "hdr_log", codec=c) for c in ("zlib", "zstd")}
    speed = {}
    for codec, cache in caches.items():
        decoded, best = 0, float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            decoded = 0
            for i in range(len(cache)):
                x = cache.arrays(i)[0]
                for ty in range(x.index.shape[0]):
                    for tx in range(x.index.shape[1]):
                        decoded += x.decode_tile(ty, tx).nbytes
            best = min(best, time.perf_counter() - t0)
        speed[codec] = decoded / best / 1e6
    size = {c: cache.size_bytes() for c, cache in caches.items()}
    rows.append(Row(BENCH, "lossless zstd tiles: size vs zlib", size["zstd"] / 1e6, "MB",
                    f"zlib {size['zlib'] / 1e6:.1f} MB", size["zstd"] / size["zlib"], "~1x"))
    rows.append(Row(BENCH, "lossless zstd tiles: decode vs zlib", speed["zstd"], "MB/s",
                    f"zlib {speed['zlib']:.0f} MB/s", speed["zstd"] / speed["zlib"], ">= 3x",
                    speed["zstd"] >= 3 * speed["zlib"]))
    return rows


def run() -> list[Row]:
    import skysegui.ml  # noqa: F401
    from skysegui.core.imageio import write_exr
    from skysegui.core.synthetic import make_panorama

    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = []
        for i in range(3):
            pano = make_panorama(2048, 1024, seed=i)
            path = tmp / "images" / f"pano{i}.exr"
            path.parent.mkdir(exist_ok=True)
            write_exr(path, pano.pixels, half=True)
            paths.append(path)
        cache_rows, cache = _cache_rows("3 synthetic 2048x1024 half/ZIP EXRs", tmp / "cache", paths)
        rows += cache_rows
        rows += _cache_rows("same, lossless zstd tiles", tmp / "cache_zstd", paths, codec="zstd")[0][:1]
        rows += _cache_rows("same, raw memory maps", tmp / "cache_npy", paths, codec="npy")[0][:1]
        rows.append(_parallel_build_row(paths, tmp))
        if SHARED_HDRI.is_dir():
            real = sorted(SHARED_HDRI.glob("*.exr"))
            rows += _cache_rows(f"{len(real)} real 1024x512 DWAB EXRs", tmp / "cache_real", real)[0]
            rows += _cache_rows("same, lossless zstd tiles", tmp / "cache_real_zstd", real, codec="zstd")[0][:1]
            more = sorted((SHARED_HDRI.parent / "hdri-unlabelled").glob("*.exr"))
            rows += _codec_rows(real + more, tmp)

        pipeline = _pipeline_crops_per_s(cache)
        rows.append(Row(BENCH, "input pipeline, 256 px HDR crops + augmentation", pipeline, "crops/s"))
        for preset_name in ("default", "cpu"):
            step = _model_crops_per_s(preset_name)
            ratio = pipeline / step
            rows.append(Row(BENCH, f"pipeline vs training step ({preset_name} preset, CPU)", ratio, "x",
                            f"model {step:.2f} crops/s", ratio, ">= 5x", ratio >= 5.0))
    return rows


if __name__ == "__main__":
    from benchmarks._table import format_table

    print(format_table(run()))
