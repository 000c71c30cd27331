"""Random training crops from the dataset cache, as numpy batches or a tf.data pipeline.

Crops are read from the memory-mapped cache (only the tiles a crop touches are decoded), wrap
around the 360-degree seam horizontally (the panorama roll), can be balanced so that a
chosen share of them cross a sky edge, and are augmented on the fly. Everything is seeded.
With a region split (SamplerConfig.bands) no training crop touches its image's validation
band. Validation uses a fixed, deterministic set of non-overlapping crops: the grid of
whole validation images, or crops over each band with the pixels outside it ignored.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from skysegui.core.errors import TrainingError
from skysegui.core.metrics import IGNORE
from skysegui.ml.augment import AugmentConfig, augment
from skysegui.ml.data.cache import COARSE_BLOCK, DatasetCache


@dataclass
class SamplerConfig:
    crop: int = 256
    batch_size: int = 8
    edge_fraction: float | None = 0.5  # share of crops across a sky edge; None: uniform
    augment: AugmentConfig = field(default_factory=AugmentConfig.none)
    seed: int = 0
    # region split: {image name: (left column, width)} of its validation band, never cropped
    # for training (plain data: the config is pickled to worker processes)
    bands: dict[str, tuple[int, int]] = field(default_factory=dict)
    # {image name: factor} on its share of the crops (area-weighted); absent names: 1.0
    image_weights: dict[str, float] = field(default_factory=dict)
    # rows a crop of a panorama (augment.roll) may reach past the zenith or the nadir, read
    # over the pole as prediction tiles are (the predictor's default margin is 64 rows;
    # at most a quarter of the image's height); 0: crops stay inside
    pole_rows: int = 64


def crop_starts(width: int, size: int, band: tuple[int, int] | None, roll: bool) -> list[tuple[int, int]]:
    """The left columns a training crop may start at, as (first, count) runs (mod width).

    Without a band: any column with roll, else those whose crop stays inside the image.
    With one: the crop lies in the arc outside the band; without roll it also keeps off
    the seam, unless no such place exists (then it wraps: the panorama is continuous).
    """
    if band is None:
        return [(0, width)] if roll else [(0, width - size + 1)]
    left, bw = band
    start = (left + bw) % width
    arc = [(start, width - bw - size + 1)]
    if roll:
        return arc
    if left + bw > width:  # the band wraps: the arc between its ends stays off the seam
        return arc
    runs = [(0, left - size + 1), (left + bw, width - left - bw - size + 1)]
    runs = [r for r in runs if r[1] > 0]
    return runs or arc


def _draw(rng: np.random.Generator, runs: list[tuple[int, int]], width: int) -> int:
    """A uniform choice among the columns of `runs` (one draw, whatever the runs)."""
    k = int(rng.integers(0, sum(n for _, n in runs)))
    for first, n in runs:
        if k < n:
            return (first + k) % width
        k -= n
    raise AssertionError("unreachable")


def read_crop(x, y, top: int, left: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A size x size crop at (top, left); columns wrap around the panorama's seam, and rows
    above the top or below the bottom are read past the pole, half a turn round (as
    prediction tiles are: tiling.pole_indices). x and y take plain slices only."""
    h, w = y.shape
    above, below = max(0, -top), max(0, top + size - h)
    if not (above or below):
        return _wrapped_rows(x, y, top, top + size, left, size)
    if above > h or below > h:
        raise ValueError(f"a {size} px crop at row {top} reaches more than the {h} px image's height past a pole")
    half = (left + w // 2) % w
    parts = []
    if above:
        xa, ya = _wrapped_rows(x, y, 0, above, half, size)
        parts.append((xa[::-1], ya[::-1]))
    parts.append(_wrapped_rows(x, y, max(top, 0), min(top + size, h), left, size))
    if below:
        xb, yb = _wrapped_rows(x, y, h - below, h, half, size)
        parts.append((xb[::-1], yb[::-1]))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _wrapped_rows(x, y, r0: int, r1: int, left: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows r0..r1 of a size px wide window at `left`, wrapped round the seam."""
    w = y.shape[1]
    rows = slice(r0, r1)
    if left + size <= w:
        return np.asarray(x[rows, left:left + size], np.float32), np.asarray(y[rows, left:left + size])
    cut = w - left
    xs = np.concatenate([x[rows, left:], x[rows, : size - cut]], axis=1)
    ys = np.concatenate([y[rows, left:], y[rows, : size - cut]], axis=1)
    return xs.astype(np.float32), ys


def _arcs_overlap(a: int, a_len: int, b: int, b_len: int, width: int) -> bool:
    """Whether columns a..a+a_len and b..b+b_len (mod width) share one."""
    return (a - b) % width < b_len or (b - a) % width < a_len


def crosses_edge(coarse: np.ndarray, top: int, left: int, size: int) -> bool:
    """Whether a crop holds both sky and non-sky, judged on the coarse cells inside it."""
    b = COARSE_BLOCK
    hb, wb = coarse.shape
    top, size = max(top, 0), min(top + size, hb * b) - max(top, 0)  # the rows inside the image
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
        self.starts: dict[int, list[tuple[int, int]]] = {}
        for i in self.indices:
            e = cache.entries[i]
            if e.height < config.crop or (e.width < config.crop):
                raise TrainingError(
                    f"{e.name} is {e.width}x{e.height}, smaller than the {config.crop} px crops: "
                    "choose a smaller patch size"
                )
            band = config.bands.get(e.name)
            if band is not None and e.width - band[1] < config.crop:
                raise TrainingError(f"{e.name}: its validation band leaves no room for a "
                                    f"{config.crop} px training crop")
            self.starts[i] = crop_starts(e.width, config.crop, band, config.augment.roll)
        weights = np.array([cache.entries[i].height * cache.entries[i].width
                            * config.image_weights.get(cache.entries[i].name, 1.0) for i in self.indices], float)
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
            band = self.config.bands.get(self.cache.entries[i].name)
            for _ in range(20 if want_edge else 1):
                left = _draw(rng, self.starts[i], w)
                reach = self._pole_reach(h, w, left, band) if cfg.roll else 0
                top = int(rng.integers(-reach, h - size + 1 + reach))
                if not want_edge or crosses_edge(coarse, top, left, size):
                    break
            xc, yc = read_crop(x, y, top, left, size)
            yield augment(xc, yc, rng, cfg, self.transform)

    def _pole_reach(self, h: int, w: int, left: int, band: tuple[int, int] | None) -> int:
        """How many rows a crop at `left` may reach past a pole: none where the columns
        half a turn round (what it would see there) touch the image's validation band."""
        size = self.config.crop
        if band is not None and _arcs_overlap((left + w // 2) % w, size, band[0], band[1], w):
            return 0
        return min(self.config.pole_rows, h // 4)

    def batches(self, seed: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Endless (x float32 B x S x S x 3, y float32 B x S x S x 1) batches."""
        return _stacked(self.crops(seed), self.config.batch_size, self.config.crop)

    def dataset(self, seed: int | None = None, batch_size: int | None = None, streams: int | None = None,
                processes: bool = False):
        """A tf.data.Dataset of batches (global batch size), prefetched.

        `streams` seeded crop generators (default: one per CPU core, at most 16) are
        interleaved in a fixed order, so the result is reproducible for a given number of
        streams, and batches are prefetched (tf.data.AUTOTUNE) while the model trains.

        With threads (default) the streams run in tf.data's parallel interleave: reading a
        crop decodes its tiles with OpenCV and zstd and augments it with numpy, which
        release the GIL, but the Python between them does not. With `processes=True` each
        stream is a worker process that writes whole batches into shared memory: the same
        batches as the threads give, without the GIL, for many-core GPU servers (the
        workers open the cache folder themselves). benchmarks/bench_training_scale.py
        measures both against the model's step rate.
        """
        from skysegui.ml.tf_import import import_tensorflow

        tf = import_tensorflow()

        s = self.config.crop
        b = batch_size or self.config.batch_size
        base = self.config.seed if seed is None else seed
        streams = default_streams() if streams is None else max(1, int(streams))
        sig = (tf.TensorSpec((None, s, s, 3), tf.float32), tf.TensorSpec((None, s, s, 1), tf.float32))

        if processes:
            def gen_all():
                with ProcessStreams(self, base, streams, b) as batches:
                    yield from batches

            ds = tf.data.Dataset.from_generator(gen_all, output_signature=sig)
        else:
            def gen(stream):
                # whole batches cross into TensorFlow: one hand-over per batch, not per crop
                return _stacked(self.crops(stream_seed(base, int(stream))), b, s)

            def one(stream):
                return tf.data.Dataset.from_generator(gen, args=(stream,), output_signature=sig)

            ds = tf.data.Dataset.range(streams).interleave(
                one, cycle_length=streams, block_length=1, num_parallel_calls=streams, deterministic=True)
        ds = ds.map(lambda x, y: (tf.ensure_shape(x, (b, s, s, 3)), tf.ensure_shape(y, (b, s, s, 1))))
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        return ds.with_options(options).prefetch(tf.data.AUTOTUNE)


def stream_seed(base: int, stream: int) -> int:
    """The seed of crop stream `stream` of a dataset seeded `base`."""
    return base + 7919 * stream


def interleaved_batches(sampler: CropSampler, seed: int, streams: int, batch: int) -> Iterator:
    """The batches `dataset(seed, batch, streams)` gives, in order, without TensorFlow."""
    its = [_stacked(sampler.crops(stream_seed(seed, k)), batch, sampler.config.crop) for k in range(streams)]
    while True:
        for it in its:
            yield next(it)


class ProcessStreams:
    """`streams` crop streams in spawned worker processes, read round-robin.

    Each worker opens the cache folder, runs CropSampler.crops with its stream's seed and
    fills batch slots in shared memory (two per worker, so it works on the next batch while
    the trainer takes one); the reader copies a slot out and hands it back. Use it as a
    context manager (or call close()): the workers stop and the shared memory is freed.
    """

    SLOTS = 2

    def __init__(self, sampler: CropSampler, seed: int, streams: int, batch: int,
                 start_timeout: float = 120.0) -> None:
        import multiprocessing as mp
        from multiprocessing import shared_memory

        s = sampler.config.crop
        self.batch = batch
        self.shapes = ((batch, s, s, 3), (batch, s, s, 1))
        self.timeout = start_timeout
        slot_bytes = 4 * batch * s * s * 4  # x (3 channels) and y (1), float32
        ctx = mp.get_context("spawn")  # TensorFlow's threads do not survive a fork
        self.shm, self.free, self.ready, self.procs = [], [], [], []
        names = [sampler.cache.names[i] for i in sampler.indices]
        # each worker keeps its own decoded tiles: the budget is shared out (a crop needs 9)
        tile_bytes = max(8 * 2**20, sampler.cache.tiles.max_bytes // streams)
        try:
            for k in range(streams):
                shm = shared_memory.SharedMemory(create=True, size=self.SLOTS * slot_bytes)
                free, ready = ctx.Queue(), ctx.Queue()
                for slot in range(self.SLOTS):
                    free.put(slot)
                proc = ctx.Process(
                    target=_stream_worker, daemon=True, name=f"crop-stream-{k}",
                    args=(str(sampler.cache.folder), names, sampler.config, tile_bytes,
                          stream_seed(seed, k), batch, shm.name, free, ready))
                self.shm.append(shm)
                self.free.append(free)
                self.ready.append(ready)
                proc.start()
                self.procs.append(proc)
        except BaseException:
            self.close()
            raise
        self._closed = False

    def _views(self, k: int, slot: int) -> tuple[np.ndarray, np.ndarray]:
        return _slot_views(self.shm[k].buf, slot, self.shapes)

    def _take(self, k: int) -> int:
        import queue

        waited = 0.0
        while True:
            try:
                msg = self.ready[k].get(timeout=1.0)
            except queue.Empty:
                waited += 1.0
                if not self.procs[k].is_alive():
                    raise TrainingError(f"crop stream {k} stopped (exit code {self.procs[k].exitcode})") from None
                if waited > self.timeout:
                    raise TrainingError(f"crop stream {k} gave no batch in {self.timeout:.0f} s") from None
                continue
            if isinstance(msg, str):
                raise TrainingError(f"crop stream {k} failed: {msg}")
            return msg

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        while True:
            for k in range(len(self.procs)):
                slot = self._take(k)
                x, y = self._views(k, slot)
                out = (x.copy(), y.copy())
                del x, y
                self.free[k].put(slot)
                yield out

    def close(self) -> None:
        if getattr(self, "_closed", False):
            return
        self._closed = True
        for free in self.free:
            try:
                free.put(None)
            except (OSError, ValueError):
                pass
        for proc in self.procs:
            proc.join(timeout=5.0)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5.0)
        for q in self.free + self.ready:
            q.close()
            q.cancel_join_thread()
        for shm in self.shm:
            shm.close()
            try:
                shm.unlink()
            except FileNotFoundError:
                pass

    def __enter__(self) -> ProcessStreams:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def _slot_views(buf, slot: int, shapes) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = shapes
    nx, ny = int(np.prod(xs)) * 4, int(np.prod(ys)) * 4
    base = slot * (nx + ny)
    x = np.ndarray(xs, np.float32, buffer=buf, offset=base)
    y = np.ndarray(ys, np.float32, buffer=buf, offset=base + nx)
    return x, y


def _stream_worker(folder, names, config, tile_bytes, seed, batch, shm_name, free, ready) -> None:
    """One crop stream of ProcessStreams (in a spawned process)."""
    from multiprocessing import shared_memory

    from skysegui.ml.data.cache import open_cache

    shm = shared_memory.SharedMemory(name=shm_name)
    try:
        cache = open_cache(folder, tile_cache_mb=tile_bytes / 2**20)
        crops = CropSampler(cache, names, config).crops(seed)
        s = config.crop
        shapes = ((batch, s, s, 3), (batch, s, s, 1))
        while True:
            slot = free.get()
            if slot is None:
                break
            x, y = _slot_views(shm.buf, slot, shapes)
            for k in range(batch):
                x[k], y[k, ..., 0] = next(crops)
            del x, y
            ready.put(slot)
    except Exception as exc:  # noqa: BLE001 - the reader raises it as a TrainingError
        ready.put(f"{type(exc).__name__}: {exc}")
    finally:
        shm.close()


def default_streams() -> int:
    """Parallel crop streams for tf.data: one per CPU core (at most 16)."""
    import os

    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(16, cores))


def _stacked(crops: Iterator, batch: int, size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless (x B x S x S x 3, y B x S x S x 1) float32 batches from a crop iterator."""
    while True:
        xb = np.empty((batch, size, size, 3), np.float32)
        yb = np.empty((batch, size, size, 1), np.float32)
        for k in range(batch):
            xb[k], yb[k, ..., 0] = next(crops)
        yield xb, yb


def validation_crops(
    cache: DatasetCache, names: Sequence[str], size: int, max_per_image: int = 32, seed: int = 0,
    bands: dict[str, tuple[int, int]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A fixed set of crops of the validation images (no augmentation).

    Without `bands`, each image gives its grid of non-overlapping size x size crops. With
    them (the region split), each image of `names` gives the crops that cover its band,
    and every pixel outside the band (or scored by an earlier crop) is IGNORE in the
    truth, so only band pixels are scored. If an image gives more than `max_per_image`
    crops, a seeded choice of them is kept.
    """
    index = {n: i for i, n in enumerate(cache.names)}
    xs, ys = [], []
    rng = np.random.default_rng(seed)
    for name in names:
        x, y, _ = cache.arrays(index[name])
        h, w = y.shape
        if bands is None:
            cells = [(t, lft, None) for t in range(0, h - size + 1, size) for lft in range(0, w - size + 1, size)]
        else:
            cells = _band_cells(h, w, size, bands[name])
        if len(cells) > max_per_image:
            keep = rng.choice(len(cells), max_per_image, replace=False)
            cells = [cells[k] for k in sorted(keep)]
        for t, lft, scored in cells:
            xc, yc = read_crop(x, y, t, lft, size)
            yc = yc.astype(np.float32)
            if scored is not None:
                (r0, r1), (c0, c1) = scored
                keep_mask = np.zeros(yc.shape, bool)
                keep_mask[r0:r1, c0:c1] = True
                yc[~keep_mask] = IGNORE
            xs.append(xc)
            ys.append(yc[..., None])
    if not xs:
        return np.zeros((0, size, size, 3), np.float32), np.zeros((0, size, size, 1), np.float32)
    return np.stack(xs), np.stack(ys)


def _spans(length: int, size: int, offset: int = 0) -> list[tuple[int, int, int]]:
    """(crop start, first scored, end scored) in crop coordinates covering [offset, offset +
    length) once: a crop centred on a span shorter than `size`, else tiles, the last one
    flush with the end and scoring only what the others left."""
    if length <= size:
        start = offset + length // 2 - size // 2
        return [(start, offset - start, offset - start + length)]
    starts = list(range(offset, offset + length - size, size)) + [offset + length - size]
    out, done = [], offset
    for s in starts:
        out.append((s, done - s, size))
        done = s + size
    return out


def _band_cells(h: int, w: int, size: int, band: tuple[int, int]) -> list:
    """(top, left, ((rows scored), (columns scored))) crops covering a band of all rows."""
    if h < size:
        return []
    left, width = band
    return [(t, c % w, ((r0, r1), (c0, c1)))
            for t, r0, r1 in _spans(h, size) for c, c0, c1 in _spans(width, size, left)]
