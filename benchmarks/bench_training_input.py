"""Training input: pipeline throughput vs the model's step rate, cache size vs sources.

* crops/s of the tf.data crop sampler (256 px HDR crops, default HDR augmentation) against
  crops/s of a training step of the default model (Unet + ResNet34) and of the "cpu" preset,
  on this CPU: target >= 5x, so the input never starves the model.
* dataset cache bytes against the source EXRs (half float, ZIP, as write_exr writes them,
  and the real DWAB-compressed samples in ../shared/data/hdri when present): target <= 1x.
* the report's float32 TIFF patch dataset (256 px, stride 100) for the same images.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._table import Row

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


def _model_crops_per_s(preset_name: str, crop: int = 256, batch: int = 8, steps: int = 3) -> float:
    from skysegui.ml.losses import make_loss, make_metrics
    from skysegui.ml.model import build_model, preset

    model = build_model(preset(preset_name, patch_size=crop))
    model.compile("adam", loss=make_loss(), metrics=make_metrics())
    rng = np.random.default_rng(0)
    x = rng.random((batch, crop, crop, 3), dtype=np.float32)
    y = (rng.random((batch, crop, crop, 1)) > 0.5).astype(np.float32)
    model.train_on_batch(x, y)  # trace
    t0 = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return steps * batch / (time.perf_counter() - t0)


def _cache_rows(name: str, folder: Path, image_paths: list[Path], codec: str = "zlib"):
    from skysegui.core.imageio import probe_image, read_image
    from skysegui.ml.data import array_sources, build_cache, report_dataset_bytes

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
    return [
        Row(BENCH, f"cache size ({codec}), {name}", cache_bytes / 1e6, "MB", f"source EXRs {src_bytes / 1e6:.1f} MB",
            ratio, "<= 1x", ratio <= 1.0),
        Row(BENCH, f"report's TIFF patches, {name}", report_bytes / 1e6, "MB",
            f"cache {cache_bytes / 1e6:.1f} MB", report_bytes / cache_bytes, "(comparison)"),
    ], cache


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
        rows += _cache_rows("same, raw memory maps", tmp / "cache_npy", paths, codec="npy")[0][:1]
        if SHARED_HDRI.is_dir():
            real = sorted(SHARED_HDRI.glob("*.exr"))
            rows += _cache_rows(f"{len(real)} real 1024x512 DWAB EXRs", tmp / "cache_real", real)[0]

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
