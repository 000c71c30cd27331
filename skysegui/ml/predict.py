"""Sky prediction for whole panoramas: tiled and blended, fast, or the report's baseline.

A model trained at a scale (card: pixels_per_degree, the default for new models) is run
at that scale in every mode (predict_at_scale): the panorama is resampled to it, predicted,
and the mask brought back to full resolution with the edge-aware upsampling below.
Models without a scale (older ones) run at the image's own resolution, as follows.

Modes:
  quality  full-resolution overlapping tiles blended with a Hann window into running
           sums (core.tiling), the panorama wrap-padded left and right so the
           360-degree seam is predicted like any other column.
  fast     the same tiling on a copy whose long side is `fast_long_side`, then the soft
           mask is brought back to full resolution with an edge-aware filter guided by
           the full-resolution image (core.refine); optional dense CRF at low resolution.
  report   the pipeline report's method, kept as a baseline: non-overlapping patches of
           the model's patch size, put back side by side (seams at every patch border).

In quality and fast modes the mask is then snapped to the image's own edges (ml/snap.py:
the model's probability as the prior of auto sky's graph cut), unless `snap=False`.

Tiles are cut and converted to network input one batch at a time, so an 8K panorama
never exists as a float32 network-input copy; the batch size follows free memory.
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import skysegui.ml  # noqa: F401  (selects tf-keras before TensorFlow is imported)
from skysegui.core import refine, tiling
from skysegui.core.errors import PredictionError
from skysegui.core.imageio.planes import read_plane
from skysegui.core.predictions import prediction_paths, read_source, write_source
from skysegui.core.progress import CancelToken, ProgressFn, check, report

MODES = ("quality", "fast", "report")
PROB_FORMATS = ("png16", "tiff")
# Rough activation memory of a U-Net forward pass per input pixel (float32), used only
# to choose a batch size; ResNet34 U-Net measured at about 1.2 KB per pixel.
BYTES_PER_PIXEL = 1500
MAX_BATCH = 16
DEFAULT_TILE = 1024  # px, quality mode (rounded up to a size the network takes)
DISPLAY_MAX_WIDTH = 4096  # px: wider prediction overlays are drawn reduced (see display_mask)
HALF_FLOAT_ABOVE = 16_000_000  # pixels; larger images are read as float16 to halve memory


@dataclass
class Prediction:
    """One image's prediction. prob in 0..1, mask 0/1 at `threshold`, uncertainty 0..1."""

    prob: np.ndarray
    mask: np.ndarray
    uncertainty: np.ndarray
    threshold: float = 0.5
    mode: str = ""
    seconds: float = 0.0
    source: str = ""  # who made it when not a model: "auto sky" (ml/autosky_predict.py)
    note: str = ""  # what that source says of the scene, in words ("indoors: no sky found")

    @classmethod
    def from_prob(cls, prob: np.ndarray, threshold: float = 0.5, **kw) -> Prediction:
        prob = np.clip(prob.astype(np.float32, copy=False), 0.0, 1.0)
        return cls(
            prob=prob,
            mask=(prob >= threshold).astype(np.uint8),
            uncertainty=uncertainty_map(prob),
            threshold=threshold,
            **kw,
        )

    @functools.cached_property
    def uncertainty_score(self) -> float:
        """One number to sort images by: the mean uncertainty (0 = sure everywhere)."""
        return float(self.uncertainty.mean()) if self.uncertainty.size else 0.0

    @functools.cached_property
    def sky_fraction(self) -> float:
        return float(self.mask.mean()) if self.mask.size else 0.0

    @functools.cached_property
    def display_mask(self) -> tuple[np.ndarray, int]:
        """(mask to draw, image pixels per mask pixel): at most DISPLAY_MAX_WIDTH wide, so
        the window's overlay of an 8K prediction costs its GUI thread a few milliseconds."""
        return display_mask(self.mask)

    def prepare_for_display(self) -> Prediction:
        """Compute what the window shows (scores, the overlay's mask) once, in the worker
        thread that made the prediction: on an 8K panorama each costs the GUI thread
        tens of milliseconds otherwise."""
        _ = self.uncertainty_score, self.sky_fraction, self.display_mask
        return self

    @property
    def shape(self) -> tuple[int, int]:
        return self.prob.shape[:2]


def display_mask(mask: np.ndarray, max_width: int = DISPLAY_MAX_WIDTH) -> tuple[np.ndarray, int]:
    """`mask` reduced by a whole factor (nearest) until it is at most `max_width` wide."""
    import cv2

    h, w = mask.shape[:2]
    factor = max(1, -(-w // max_width))
    if factor == 1:
        return np.ascontiguousarray(mask, dtype=np.uint8), 1
    small = cv2.resize(np.asarray(mask, np.uint8), (-(-w // factor), -(-h // factor)),
                       interpolation=cv2.INTER_NEAREST)
    return small, factor


def uncertainty_map(prob: np.ndarray) -> np.ndarray:
    """1 - |2p - 1|: 0 where the model is sure (p = 0 or 1), 1 where it hesitates (p = 0.5)."""
    return (1.0 - np.abs(2.0 * prob.astype(np.float32) - 1.0)).astype(np.float32)


def input_function(transform: str):
    """The per-tile conversion of linear pixels to what the model was trained on."""
    from skysegui.core.tonemap import hdr_log_transform, srgb_encode

    if transform == "hdr_log":
        return lambda x: np.asarray(hdr_log_transform(x.astype(np.float32, copy=False)), np.float32)
    if transform == "ldr":
        return lambda x: np.asarray(srgb_encode(np.clip(x.astype(np.float32), 0.0, 1.0)), np.float32)
    raise PredictionError(
        f"the model card names an unknown input transform {transform!r}: retrain the model "
        "or fix input_transform in its card.json (hdr_log or ldr)"
    )


def available_memory_bytes() -> int:
    """MemAvailable from /proc/meminfo, or a conservative 2 GB where that is unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 2 << 30


def choose_batch_size(tile_h: int, tile_w: int, budget_bytes: int | None = None) -> int:
    """Tiles per forward pass so activations fit in a quarter of free memory (max 4 GB)."""
    if budget_bytes is None:
        budget_bytes = min(available_memory_bytes() // 4, 4 << 30)
    per_tile = tile_h * tile_w * BYTES_PER_PIXEL
    return int(max(1, min(MAX_BATCH, budget_bytes // per_tile)))


def pixels_of(image) -> tuple[np.ndarray, bool]:
    """(H x W x 3 pixels, is_hdr) from a core Image or an array (arrays count as HDR)."""
    pixels = getattr(image, "pixels", image)
    info = getattr(image, "info", None)
    is_hdr = bool(getattr(info, "is_hdr", True))
    pixels = np.asarray(pixels)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    if pixels.ndim != 3 or pixels.shape[2] < 3 or pixels.shape[0] < 1 or pixels.shape[1] < 1:
        raise PredictionError(
            f"cannot predict an image of shape {pixels.shape}: expected height x width x 3 RGB"
        )
    return pixels[..., :3], is_hdr


def read_for_prediction(path: str | os.PathLike):
    """Read an image to predict; very large ones as float16 (tiles become float32 one by one)."""
    from skysegui.core.imageio import probe_image, read_image

    info = probe_image(path)
    dtype = np.float16 if info.width * info.height > HALF_FLOAT_ABOVE else np.float32
    return read_image(path, dtype=dtype)


class Predictor:
    """Runs a loaded model (skysegui.ml.model.LoadedModel) over whole panoramas."""

    def __init__(
        self,
        loaded,
        tile: int | None = None,
        overlap: float = 0.125,
        window: str = "hann",
        fast_long_side: int = 1024,
        upsampler: str = "fast_guided",
        use_crf: bool = False,
        threshold: float = 0.5,
        batch_size: int | None = None,
        snap: bool = True,
    ) -> None:
        from skysegui.ml.model import fixed_input_size, size_multiple

        self.model = loaded.model
        self.card = loaded.card
        self.multiple = size_multiple(self.card.config)
        self._fixed = fixed_input_size(self.model)  # PSPNet: rebuilt per tile size
        self._sized: dict[tuple[int, int], object] = {}
        if tile is None:  # the default: 1024 px, or the nearest size this network takes
            tile = tiling.round_up(DEFAULT_TILE, self.multiple)
        if tile < self.multiple or tile % self.multiple:
            raise PredictionError(
                f"tile size {tile} must be a multiple of {self.multiple} for this model: "
                f"try {tiling.round_up(max(tile, self.multiple), self.multiple)}"
            )
        if fast_long_side < self.multiple:
            raise PredictionError(f"fast mode long side {fast_long_side} is too small: use 512 or more")
        if not 0.0 <= overlap <= 0.75:
            raise PredictionError(f"tile overlap {overlap} is out of range: use 0 to 0.75 (default 0.125)")
        if not 0.0 < threshold < 1.0:
            raise PredictionError(
                f"threshold {threshold} is out of range: use a probability between 0 and 1 "
                "(default 0.5)"
            )
        if window not in tiling.WINDOWS:
            raise PredictionError(f"unknown blend window {window!r}: use one of {', '.join(tiling.WINDOWS)}")
        if upsampler not in refine.UPSAMPLERS:
            raise PredictionError(
                f"unknown upsampling {upsampler!r}: use one of {', '.join(refine.UPSAMPLERS)}"
            )
        self.tile = tile
        self.overlap = overlap
        self.window = window
        self.fast_long_side = fast_long_side
        self.upsampler = upsampler
        self.use_crf = use_crf
        self.threshold = threshold
        self.batch_size = batch_size
        self.snap = snap  # quality and fast modes: the mask's edge on the image's (ml/snap.py)
        self._to_input = input_function(self.card.input_transform)

    # --- public -----------------------------------------------------------------
    def predict(
        self,
        image,
        mode: str = "quality",
        progress: ProgressFn | None = None,
        cancel: CancelToken | None = None,
    ) -> Prediction:
        """Predict one image (a core Image or an H x W x 3 linear array)."""
        if mode not in MODES:
            raise PredictionError(f"unknown prediction mode {mode!r}: use one of {', '.join(MODES)}")
        pixels, is_hdr = pixels_of(image)
        t0 = time.perf_counter()
        if self.card.config.pixels_per_degree is not None:
            prob = self.predict_at_scale(pixels, is_hdr, mode, progress, cancel)
        elif mode == "quality":
            prob = self.predict_quality(pixels, progress, cancel)
        elif mode == "fast":
            prob = self.predict_fast(pixels, is_hdr, progress, cancel)
        else:
            prob = self.predict_report(pixels, progress, cancel)
        if self.snap and mode != "report":  # report: the pipeline report's patches, as they were
            from skysegui.ml.snap import snap_to_edges

            check(cancel)
            report(progress, 1, 1, "snapping the mask to the image's edges")
            prob = snap_to_edges(pixels, prob, is_hdr, cancel)
        return Prediction.from_prob(
            prob, self.threshold, mode=mode, seconds=time.perf_counter() - t0
        )

    def predict_at_scale(self, pixels, is_hdr=True, mode="quality", progress=None, cancel=None) -> np.ndarray:
        """The model's contract: the panorama at the scale it was trained at, whatever its
        resolution, then the mask brought back to full resolution by the edge-aware filter.

        quality: overlapping tiles wrapped round the seam, averaged with the mirrored
        panorama's prediction; fast: one pass; report: non-overlapping patches.
        """
        from skysegui.ml.data.scale import resample_linear, scaled_size

        h, w = pixels.shape[:2]
        sh, sw = scaled_size(h, w, self.card.config.pixels_per_degree)
        small = resample_linear(pixels, sh, sw)
        if mode == "report":
            prob = self.predict_report(small, progress, cancel)
        else:
            prob = self.predict_quality(small, progress, cancel)
            if mode == "quality":
                check(cancel)
                mirrored = self.predict_quality(np.ascontiguousarray(small[:, ::-1]), progress, cancel)
                prob = 0.5 * (prob + mirrored[:, ::-1])
        check(cancel)
        if (sh, sw) == (h, w):
            return prob
        return refine.upsample(prob, refine.guide_image(pixels, hdr=is_hdr), self.upsampler)

    def predict_quality(self, pixels, progress=None, cancel=None) -> np.ndarray:
        h, w = pixels.shape[:2]
        plan = tiling.plan_tiles(h, w, self.tile, self.overlap, wrap=True, multiple=self.multiple)
        window = tiling.tile_window(plan.tile_h, plan.tile_w, self.window, self.overlap)
        return self.run_plan(pixels, plan, window, progress, cancel)

    def predict_report(self, pixels, progress=None, cancel=None) -> np.ndarray:
        h, w = pixels.shape[:2]
        patch = int(self.card.patch_size)
        plan = tiling.plan_tiles(h, w, patch, 0.0, wrap=False, multiple=self.multiple)
        window = tiling.tile_window(plan.tile_h, plan.tile_w, "flat")
        return self.run_plan(pixels, plan, window, progress, cancel)

    def predict_fast(self, pixels, is_hdr=True, progress=None, cancel=None) -> np.ndarray:
        h, w = pixels.shape[:2]
        scale = self.fast_long_side / max(h, w)
        if scale >= 1.0:
            return self.predict_quality(pixels, progress, cancel)
        lh, lw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
        small = refine.area_downscale(pixels, lw, lh)
        prob_low = self.predict_quality(small, progress, cancel)
        check(cancel)
        if self.use_crf and refine.crf_available():
            from skysegui.core.tonemap import ToneSettings, tonemap

            prob_low = refine.dense_crf(prob_low, tonemap(small, ToneSettings()))
        guide = refine.guide_image(pixels, hdr=is_hdr)
        return refine.upsample(prob_low, guide, self.upsampler)

    def run_plan(self, pixels, plan, window, progress=None, cancel=None) -> np.ndarray:
        """Predict every tile of `plan` batch by batch and blend into running sums."""
        acc = tiling.BlendAccumulator(plan, window)
        boxes = list(plan.boxes())
        batch = self.batch_size or choose_batch_size(plan.tile_h, plan.tile_w)
        total = len(boxes)
        report(progress, 0, total, "predicting")
        for start in range(0, total, batch):
            check(cancel)
            chunk = boxes[start : start + batch]
            x = np.stack(
                [self._to_input(tiling.extract_tile(pixels, plan, y0, x0)) for y0, x0 in chunk]
            )
            probs = self._forward(x)
            for (y0, x0), p in zip(chunk, probs, strict=True):
                acc.add(y0, x0, p[..., 0])
            report(progress, min(total, start + batch), total, "predicting")
        return acc.result()

    def _forward(self, x: np.ndarray) -> np.ndarray:
        x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=0.0)
        out = self._model_for(x.shape[1], x.shape[2])(x, training=False)
        return np.asarray(out, dtype=np.float32)

    def _model_for(self, height: int, width: int):
        """The network for tiles of this size (a fixed-size PSPNet is rebuilt once per size)."""
        if self._fixed is None or self._fixed == (height, width):
            return self.model
        if (height, width) not in self._sized:
            from skysegui.ml.model import rebuild_for_input

            self._sized[(height, width)] = rebuild_for_input(self.model, self.card.config, height, width)
        return self._sized[(height, width)]


# --- files -------------------------------------------------------------------------
def save_prediction(
    prediction: Prediction, out_dir: str | os.PathLike, image_name: str | os.PathLike,
    prob_format: str = "png16",
):
    """Write mask (8-bit 0/255), probability (16-bit PNG or float TIFF), uncertainty (8-bit).

    Files are named by core.predictions.prediction_paths and written atomically; a stale
    probability file of the other format is removed so readers never mix two runs. A
    prediction that no model made (auto sky) is named in <stem>.source.json beside them.
    """
    if prob_format not in PROB_FORMATS:
        raise PredictionError(f"unknown probability format {prob_format!r}: use png16 or tiff")
    from skysegui.core.imageio import write_png, write_tiff

    paths = prediction_paths(out_dir, image_name)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    write_source(paths, "")  # first: a half-written new prediction never keeps an old source
    # the mask last: a run killed between files leaves no mask, so the image is predicted
    # again (readers that need all three check PredictionPaths.complete)
    paths.mask.unlink(missing_ok=True)
    if prob_format == "png16":
        write_png(paths.prob_png, np.round(prediction.prob * 65535.0).astype(np.uint16), bits=16)
        stale = paths.prob_tif
    else:
        write_tiff(paths.prob_tif, prediction.prob)
        stale = paths.prob_png
    if stale.exists():
        stale.unlink()
    write_png(paths.uncertainty, np.round(prediction.uncertainty * 255.0).astype(np.uint8))
    if prediction.source:
        write_source(paths, prediction.source, prediction.note)
    write_png(paths.mask, (prediction.mask > 0).astype(np.uint8) * 255)
    return paths


def load_prediction(out_dir: str | os.PathLike, image_name: str | os.PathLike, threshold: float = 0.5) -> Prediction:
    """Read a saved prediction back (probability preferred; the mask alone if that is all)."""
    paths = prediction_paths(out_dir, image_name)
    if not paths.exists():
        raise PredictionError(
            f"no prediction for {Path(str(image_name)).name} in {out_dir}: run `skysegui predict` first"
        )
    prob_path = paths.prob
    if prob_path is None:
        mask = _read(paths.mask) > 127
        pred = Prediction.from_prob(mask.astype(np.float32), threshold, mode="loaded")
        pred.source, pred.note = read_source(paths)
        return pred
    if prob_path.suffix == ".png":
        prob = _read(prob_path).astype(np.float32) / 65535.0
    else:
        import tifffile

        prob = tifffile.imread(prob_path).astype(np.float32)
    pred = Prediction.from_prob(prob, threshold, mode="loaded")
    pred.mask = (_read(paths.mask) > 127).astype(np.uint8)
    pred.source, pred.note = read_source(paths)
    return pred


def _read(path: Path) -> np.ndarray:
    return read_plane(path, PredictionError, "predict the image again")
