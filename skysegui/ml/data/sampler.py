"""Random training crops from the dataset cache, as numpy batches or a tf.data pipeline.

Crops are read from the memory-mapped cache (only the crop's rows are touched), wrap
around the 360-degree seam horizontally (the panorama roll), can be balanced so that a
chosen share of them cross a sky edge, and are augmented on the fly. Everything is seeded.
Validation uses a fixed, deterministic set of non-overlapping crops.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from skysegui.core.errors import TrainingError
from skysegui.ml.augment import AugmentConfig, augment
from skysegui.ml.data.cache import COARSE_BLOCK, DatasetCache


@dataclass
class SamplerConfig:
    crop: int = 256
    batch_size: int = 8
    edge_fraction: float | None = 0.5  # share of crops across a sky edge; None: uniform
    augment: AugmentConfig = field(default_factory=AugmentConfig.none)
    seed: int = 0


def read_crop(x: np.ndarray, y: np.ndarray, top: int, left: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A size x size crop at (top, left); columns wrap around the panorama's seam."""
    w = y.shape[1]
    rows = slice(top, top + size)
    if left + size <= w:
        return np.asarray(x[rows, left:left + size], np.float32), np.asarray(y[rows, left:left + size])
    cut = w - left
    xs = np.concatenate([x[rows, left:], x[rows, : size - cut]], axis=1)
    ys = np.concatenate([y[rows, left:], y[rows, : size - cut]], axis=1)
    return xs.astype(np.float32), ys


def crosses_edge(coarse: np.ndarray, top: int, left: int, size: int) -> bool:
    """Whether a crop holds both sky and non-sky, judged on the coarse cells inside it."""
    b = COARSE_BLOCK
    hb, wb = coarse.shape
    r0, r1 = -(-top // b), min(hb, (top + size) // b)
    cols = np.arange(-(-left // b), (left + size) // b) % wb
    cells = coarse[r0:r1][:, cols]
    if cells.size == 0:  # crop smaller than a cell: fall back to the overlapping cells
        cells = coarse[top // b: -(-(top + size) // b)][:, np.arange(left // b, -(-(left + size) // b)) % wb]
    return bool((cells > 0).any() and (cells < 1).any())


class CropSampler:
    """An endless, seeded stream of augmented (x, y) crops from some cache entries."""

    def __init__(self, cache: DatasetCache, names: Sequence[str], config: SamplerConfig) -> None:
        index = {n: i for i, n in enumerate(cache.names)}
        self.indices = [index[n] for n in names]
        if not self.indices:
            raise TrainingError("no training images: label at least one more image")
        self.cache = cache
        self.config = config
        self.transform = cache.input_transform
        for i in self.indices:
            e = cache.entries[i]
            if e.height < config.crop or (e.width < config.crop):
                raise TrainingError(
                    f"{e.name} is {e.width}x{e.height}, smaller than the {config.crop} px crops: "
                    "choose a smaller patch size"
                )
        weights = np.array([cache.entries[i].height * cache.entries[i].width for i in self.indices], float)
        self.weights = weights / weights.sum()

    def crops(self, seed: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        rng = np.random.default_rng(self.config.seed if seed is None else seed)
        size = self.config.crop
        cfg = self.config.augment
        while True:
            i = self.indices[rng.choice(len(self.indices), p=self.weights)]
            x, y, coarse = self.cache.arrays(i)
            h, w = y.shape
            want_edge = self.config.edge_fraction is not None and rng.random() < self.config.edge_fraction
            for _ in range(20 if want_edge else 1):
                top = int(rng.integers(0, h - size + 1))
                left = int(rng.integers(0, w)) if cfg.roll else int(rng.integers(0, w - size + 1))
                if not want_edge or crosses_edge(coarse, top, left, size):
                    break
            xc, yc = read_crop(x, y, top, left, size)
            yield augment(xc, yc, rng, cfg, self.transform)

    def batches(self, seed: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Endless (x float32 B x S x S x 3, y float32 B x S x S x 1) batches."""
        return _stacked(self.crops(seed), self.config.batch_size, self.config.crop)

    def dataset(self, seed: int | None = None, batch_size: int | None = None, streams: int = 2):
        """A tf.data.Dataset of batches (global batch size), prefetched.

        `streams` seeded crop generators run in parallel threads (numpy and zlib release
        the GIL) and are interleaved in a fixed order, so the result stays reproducible.
        """
        from skysegui.ml.tf_import import import_tensorflow

        tf = import_tensorflow()

        s = self.config.crop
        b = batch_size or self.config.batch_size
        base = self.config.seed if seed is None else seed
        streams = max(1, streams)
        sig = (tf.TensorSpec((None, s, s, 3), tf.float32), tf.TensorSpec((None, s, s, 1), tf.float32))

        def gen(stream):
            # whole batches cross into TensorFlow: one hand-over per batch, not per crop
            return _stacked(self.crops(base + 7919 * int(stream)), b, s)

        def one(stream):
            return tf.data.Dataset.from_generator(gen, args=(stream,), output_signature=sig)

        ds = tf.data.Dataset.range(streams).interleave(
            one, cycle_length=streams, block_length=1, num_parallel_calls=streams, deterministic=True)
        ds = ds.map(lambda x, y: (tf.ensure_shape(x, (b, s, s, 3)), tf.ensure_shape(y, (b, s, s, 1))))
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        return ds.with_options(options).prefetch(2)


def _stacked(crops: Iterator, batch: int, size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless (x B x S x S x 3, y B x S x S x 1) float32 batches from a crop iterator."""
    while True:
        xb = np.empty((batch, size, size, 3), np.float32)
        yb = np.empty((batch, size, size, 1), np.float32)
        for k in range(batch):
            xb[k], yb[k, ..., 0] = next(crops)
        yield xb, yb


def validation_crops(
    cache: DatasetCache, names: Sequence[str], size: int, max_per_image: int = 32, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A fixed set of non-overlapping crops of the validation images (no augmentation).

    Each image gives its grid of size x size crops; if there are more than
    `max_per_image`, a seeded choice of them is kept.
    """
    index = {n: i for i, n in enumerate(cache.names)}
    xs, ys = [], []
    rng = np.random.default_rng(seed)
    for name in names:
        x, y, _ = cache.arrays(index[name])
        h, w = y.shape
        cells = [(t, lft) for t in range(0, h - size + 1, size) for lft in range(0, w - size + 1, size)]
        if len(cells) > max_per_image:
            keep = rng.choice(len(cells), max_per_image, replace=False)
            cells = [cells[k] for k in sorted(keep)]
        for t, lft in cells:
            xc, yc = read_crop(x, y, t, lft, size)
            xs.append(xc)
            ys.append(yc[..., None].astype(np.float32))
    if not xs:
        return np.zeros((0, size, size, 3), np.float32), np.zeros((0, size, size, 1), np.float32)
    return np.stack(xs), np.stack(ys)
