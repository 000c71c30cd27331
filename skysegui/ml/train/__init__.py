"""The Trainer: from a dataset cache (or a project) to a saved model folder.

    <out_dir>/card.json, model.weights.h5      the best epoch by val IoU (what prediction uses)
    <out_dir>/last/card.json, model.weights.h5 the last finished epoch (or the cancel point),
                   optimizer.npz, state.json   what resume needs: epoch, best score, history
    <out_dir>/curves.csv, logs/                one row / TensorBoard scalar per epoch (curves.py)

Callbacks give progress (epoch, batch, loss, IoU, throughput, ETA), cancel within one batch
(the model stops and what it has learnt is saved, loadable), the best-IoU checkpoint (as the
report's ModelCheckpoint did), a cosine or reduce-on-plateau learning rate and early
stopping. Mixed precision and tf.distribute strategies come from the config.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import skysegui.ml  # noqa: F401  (selects tf-keras before TensorFlow is imported)
from skysegui.core.errors import ModelError, TrainingError
from skysegui.core.progress import CancelToken, ProgressFn
from skysegui.ml.augment import AugmentConfig
from skysegui.ml.data.cache import DEFAULT_CODEC, DatasetCache, project_cache
from skysegui.ml.data.sampler import CropSampler, SamplerConfig, validation_crops
from skysegui.ml.data.split import SPLITS, region_bands, split_by_image
from skysegui.ml.model import (
    DEFAULT_PATCH,
    PRESETS,
    WEIGHTS_NAME,
    ModelCard,
    ModelConfig,
    build_model,
    load_weights_h5,
)

log = logging.getLogger(__name__)
SCHEDULES = ("cosine", "plateau", "constant")


@dataclass
class TrainConfig:
    """Everything a training run needs besides the data. Loadable from TOML."""

    model: ModelConfig = field(default_factory=lambda: dataclasses.replace(PRESETS["default"]))
    name: str = ""  # model folder name under <project>/models; default: date + architecture
    epochs: int = 30
    steps_per_epoch: int = 100
    batch_size: int = 8  # global: split over the replicas of a distributed strategy
    learning_rate: float = 1e-3
    lr_schedule: str = "cosine"  # cosine | plateau | constant
    early_stopping: int = 8  # epochs without val IoU gain before stopping; 0 = never
    val_fraction: float = 0.25
    # "region": a longitude sector of every image validates, the rest trains; "image": whole
    # images validate; "patch" only on request (leaks, see ml/data/split.py)
    split: str = "region"
    seed: int = 0
    edge_fraction: float | None = 0.5  # share of crops across a sky edge; None = uniform
    augment: AugmentConfig | None = None  # None: the default set for the input transform
    val_crops_per_image: int = 32
    strategy: str = "auto"  # auto | default | mirrored | multiworker
    sky_weight: float = 1.0  # for loss = "weighted_bce"
    cache_codec: str = DEFAULT_CODEC  # "jpeg": error-bounded and smaller than the sources; "zstd", "zlib": lossless (ml/data/cache.py)
    input_streams: int = 2  # parallel crop generators feeding tf.data (more on many-core servers)
    # Stop at the end of the epoch after which another would overrun this many minutes
    # (0: epochs x steps decide). The user-facing defaults set one (ml/defaults.py).
    time_budget_min: float = 0.0
    # A model folder to start from (fine-tuning: its network and weights); "" = from scratch.
    init_from: str = ""
    # Fine-tuning trains the decoder only unless this is set (ml/train/start.py freeze_encoder)
    fine_tune_encoder: bool = False
    # Fine-tuning weights each image's share of the crops by the start model's error on it
    # (ml/train/focus.py); False: by area alone
    focus_on_errors: bool = True

    def validate(self) -> None:
        self.model.validate()
        if self.lr_schedule not in SCHEDULES:
            raise TrainingError(f"unknown lr_schedule {self.lr_schedule!r}: use {', '.join(SCHEDULES)}")
        if self.split not in SPLITS:
            raise TrainingError(f"unknown split {self.split!r}: use 'region', 'image' or 'patch'")
        if self.epochs < 1 or self.steps_per_epoch < 1 or self.batch_size < 1:
            raise TrainingError("epochs, steps_per_epoch and batch_size must be at least 1")
        if not self.time_budget_min >= 0:
            raise TrainingError(f"time budget {self.time_budget_min} min must be 0 (none) or more")

    def augment_config(self) -> AugmentConfig:
        return self.augment or AugmentConfig.for_transform(self.model.input_transform)

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in dataclasses.asdict(self).items() if k not in ("model", "augment")}
        d["model"] = self.model.to_dict()
        d["augment"] = self.augment_config().to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        d = dict(d)
        model_d = dict(d.pop("model", {}) or {})
        base = PRESETS.get(model_d.pop("preset", "default"))
        if base is None:
            raise TrainingError(f"unknown model preset in config: choose one of {', '.join(PRESETS)}")
        if ("patch_size" not in model_d and base.patch_size == DEFAULT_PATCH["hdr_log"]
                and model_d.get("input_transform") in DEFAULT_PATCH):
            model_d["patch_size"] = DEFAULT_PATCH[model_d["input_transform"]]  # LDR: 512 px crops
        model = ModelConfig.from_dict({**base.to_dict(), **model_d})
        aug_d = d.pop("augment", None)
        augment = None
        if aug_d is not None:
            start = AugmentConfig.for_transform(model.input_transform).to_dict()
            unknown = set(aug_d) - set(start)
            if unknown:
                raise TrainingError(f"unknown [augment] keys {sorted(unknown)} in the training config")
            augment = AugmentConfig(**{**start, **aug_d})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise TrainingError(f"unknown training config keys {sorted(unknown)}: check the spelling")
        return cls(model=model, augment=augment, **d)

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> TrainConfig:
        try:
            import tomllib
        except ImportError as exc:  # Python 3.10
            raise TrainingError("reading TOML configs needs Python 3.11 or newer") from exc
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise TrainingError(f"cannot read training config {path}: {exc.strerror or exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise TrainingError(f"{path} is not valid TOML: {exc}") from exc
        return cls.from_dict(data.get("train", data))


@dataclass
class TrainProgress:
    """One progress report: after a batch ("batch"), an epoch ("epoch") or at the end ("done")."""

    event: str
    epoch: int  # 1-based epoch being trained
    epochs: int
    batch: int  # batches done in this epoch
    steps: int  # batches per epoch
    loss: float
    iou: float
    val_loss: float | None = None
    val_iou: float | None = None
    crops_per_s: float = 0.0
    eta_s: float = 0.0
    val_miou: float | None = None
    summary: str = ""  # the score beside the trivial masks' ("val mIoU 0.91 (all sky 0.24, ...)")
    verdict: str = ""  # why the model is not usable yet ("" when it is)
    # "epoch" events: the epoch's row of <model>/curves.csv (epoch, loss, iou, val_iou,
    # val_miou, lr, seconds, ...), the very numbers written there and to TensorBoard
    record: dict[str, float] | None = None


@dataclass
class TrainResult:
    model_dir: Path
    epochs_done: int
    best_val_iou: float | None  # sky IoU of the saved (best) model on the validation crops
    history: dict[str, list[float]]
    cancelled: bool = False
    stopped_early: bool = False
    notes: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)  # of the saved model
    verdict: dict[str, str] = field(default_factory=dict)  # of the saved model (ml/quality.py)
    budget_reached: bool = False
    seconds: float = 0.0

    @property
    def learnt(self) -> bool:
        return self.verdict.get("status", "ok") == "ok"

    @property
    def summary(self) -> str:
        """One line for the user: the score beside the trivial masks, and the verdict."""
        from skysegui.ml.quality import describe

        prefix = "val_" if "val_miou" in self.metrics else "check_"
        text = describe(self.metrics, prefix)
        if not self.learnt:
            text = f"{text}: {self.verdict.get('message', '')}" if text else self.verdict.get("message", "")
        return text


def default_model_name(config: ModelConfig) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{config.arch.lower()}-{config.backbone}"


def region_note(val_fraction: float) -> str:
    """The region split in words, for the card."""
    return f"validated on a {val_fraction * 100:.0f} % longitude sector of each image, never trained on"


class Trainer:
    """Train one model. `data` is a core Project or a DatasetCache; `out_dir` the model folder.

    `progress(done, total, message)` follows the global batch count (for text bars);
    `listener(TrainProgress)` gets the numbers (for the GUI's curves). `cancel` stops the
    run after the current batch; the model trained so far is saved and run() returns with
    `cancelled=True`.
    """

    def __init__(
        self,
        config: TrainConfig,
        data,
        out_dir: str | os.PathLike | None = None,
        progress: ProgressFn | None = None,
        cancel: CancelToken | None = None,
        listener: Callable[[TrainProgress], None] | None = None,
        resume: bool = False,
    ) -> None:
        config.validate()
        self.config = config
        self.data = data
        self.progress = progress
        self.cancel = cancel or CancelToken()
        self.listener = listener
        self.resume = resume
        self.notes: list[str] = []
        self.start_model: Path | None = None
        if config.init_from and not resume:  # first: the default name says the adopted network
            from skysegui.ml.train.start import adopt_start_model

            self.start_model = Path(config.init_from)
            self.notes.append(adopt_start_model(config, self.start_model))
        if out_dir is None:
            if isinstance(data, DatasetCache):
                raise TrainingError("give an output folder when training from a dataset cache")
            out_dir = Path(data.models_dir) / (config.name or default_model_name(config.model))
        self.out_dir = Path(out_dir)
        if resume and not config.init_from:
            _resume_as_saved(config, self.out_dir)
        # a fine-tuning run (resumed or not): decoder only, crops focused on the errors
        self.fine_tuning = bool(config.init_from)

    # -- data -----------------------------------------------------------------------
    def _cache(self) -> DatasetCache:
        if isinstance(self.data, DatasetCache):
            if self.data.input_transform != self.config.model.input_transform:
                raise TrainingError(
                    f"the dataset cache holds {self.data.input_transform!r} input but the model "
                    f"expects {self.config.model.input_transform!r}: rebuild the cache"
                )
            return self.data
        from skysegui.ml.strategy import is_chief, worker_rank

        model, project = self.config.model, self.data
        if not is_chief():  # a cache of its own: the chief may be writing the project's (same disk)
            project = copy.copy(project)
            project.cache_dir = Path(project.cache_dir) / f"worker-{worker_rank()}"
        cache, warnings = project_cache(project, model.input_transform, self.progress, self.cancel,
                                        self.config.cache_codec, model.pixels_per_degree)
        self.notes.extend(warnings)
        return cache

    def _split(self, cache: DatasetCache) -> tuple[list[str], list[str], dict[str, tuple[int, int]] | None]:
        """(training images, validation images, validation bands of the region split or None)."""
        c = self.config
        if c.split == "patch":
            note = ("per-patch split: validation crops come from the training images, so val "
                    "IoU is optimistic (leakage)")
            log.warning(note)
            self.notes.append(note)
            names = cache.names
            return list(names), (list(names) if c.val_fraction > 0 else []), None
        if c.split == "region":
            bands, notes = region_bands(cache.entries, c.val_fraction, c.seed, c.model.patch_size)
            self.notes.extend(notes)
            if bands:
                self.notes.append(region_note(c.val_fraction))
            elif c.val_fraction > 0:
                self.notes.append("no image is wide enough for a validation sector: no validation")
            return sorted(cache.names), sorted(bands), bands
        train, val = split_by_image(cache.names, c.val_fraction, c.seed)
        return train, val, None

    # -- where the run starts ------------------------------------------------------
    def _start_point(self, strategy, out_dir: Path) -> tuple[dict | None, list | None]:
        """(the state of the last finished epoch when resuming, else None; with several
        workers, the chief's weights to start from as arrays, else None).

        Several workers: only the chief reads its folder (the others need no copy of it)
        and tells the others the epoch, or that it cannot start, so that none waits for a
        chief that gave up; they get its weights once the model is built (sync_from_chief)."""
        from skysegui.ml.strategy import (
            broadcast_number,
            cluster_errors,
            cluster_workers,
            is_chief,
            worker_label,
        )
        from skysegui.ml.train.callbacks import read_state

        c, state, values, error = self.config, None, None, None
        several = cluster_workers() > 1
        if is_chief():
            try:
                if self.resume:
                    state = read_state(out_dir / "last")
                    if state is None:
                        raise TrainingError(f"nothing to resume in {out_dir}: no finished epoch was saved "
                                            "there; start a new training")
                    if int(state["epoch"]) >= c.epochs:
                        raise TrainingError(f"{out_dir} already finished {state['epoch']} of {c.epochs} "
                                            "epochs: raise epochs to continue")
                folder = out_dir / "last" if state else self.start_model
                if several and folder is not None:
                    values = _read_weights(c.model, folder, "resume" if state else "start from")
            except TrainingError as exc:
                error = exc
        if several and (self.resume or self.start_model is not None):
            with cluster_errors():
                epoch = broadcast_number(strategy, -1 if error else int(state["epoch"]) if state else 0)
            if not is_chief():
                if epoch < 0:
                    error = TrainingError(f"{worker_label()}: the chief (worker 0) cannot start "
                                          f"{self.out_dir.name}; its output says why")
                elif self.resume:
                    state = {"epoch": int(epoch)}
        if error is not None:
            raise error
        return state, values

    def _resume_hint(self, epochs_done: int) -> str:
        """How to go on after a worker of the cluster was lost."""
        if epochs_done < 1:
            return "No epoch had finished: start every worker again with the same command."
        return (f"Start every worker again with the same command and --resume --name {self.out_dir.name} "
                f"to continue after epoch {epochs_done}, the last one the chief saved.")

    # -- run ------------------------------------------------------------------------
    def run(self) -> TrainResult:
        from skysegui.ml.strategy import choose_strategy, configure_gpus, is_chief

        self.notes.extend(configure_gpus())  # first: before anything initialises the GPUs
        # then the strategy: MultiWorkerMirroredStrategy must come before other TensorFlow work
        strategy, strategy_note = choose_strategy(self.config.strategy)
        self.notes.append(f"trained with {strategy_note}")
        if is_chief():
            return self._run(strategy, strategy_note, self.out_dir)
        scratch = Path(tempfile.mkdtemp(prefix="skysegui-worker-"))  # a non-chief's model folder
        try:
            return self._run(strategy, strategy_note, scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _run(self, strategy, strategy_note: str, out_dir: Path) -> TrainResult:
        import tf_keras as keras

        from skysegui.ml.losses import make_loss, make_metrics
        from skysegui.ml.strategy import (
            cluster_errors,
            cluster_workers,
            device_description,
            gpu_memory_growth,
            is_chief,
            sync_from_chief,
            worker_rank,
        )
        from skysegui.ml.train.callbacks import (
            OPTIMIZER_NAME,
            Checkpoints,
            ComputeFacts,
            LearningRate,
            ProgressCallback,
            TimeBudget,
            optimizer_values,
            optimizer_variables,
            restore_optimizer,
        )
        from skysegui.ml.train.curves import CurveLog
        from skysegui.ml.train.evaluation import EpochEvaluator

        c = self.config
        keras.utils.set_random_seed(c.seed)
        cache = self._cache()
        train_names, val_names, bands = self._split(cache)
        crop = c.model.patch_size

        chief, several = is_chief(), cluster_workers() > 1
        state, start_values = self._start_point(strategy, out_dir)
        initial_epoch = int(state["epoch"]) if state else 0
        with strategy.scope():
            model_notes: list[str] = []
            model = build_model(c.model if not state else dataclasses.replace(c.model, encoder_weights=None),
                                notes=model_notes)
            if self.fine_tuning and not c.fine_tune_encoder:
                from skysegui.ml.train.start import freeze_encoder

                model_notes.append(freeze_encoder(model))
            self.notes.extend(model_notes)
            optimizer = keras.optimizers.Adam(learning_rate=c.learning_rate)
            model.compile(optimizer=optimizer, loss=make_loss(c.model.loss, c.sky_weight),
                          metrics=make_metrics())
            if several and (state or self.start_model is not None):
                # the chief's weights (and optimizer state) on every worker, every worker
                # running the same collectives (see strategy.sync_from_chief)
                variables, values = list(model.weights), start_values
                if state:
                    variables += optimizer_variables(model)  # built, on every worker
                    if chief:
                        values = values + optimizer_values(model, out_dir / "last" / OPTIMIZER_NAME,
                                                           self.notes)
                with cluster_errors():
                    sync_from_chief(strategy, variables, values)
            elif state:
                _load_resume_weights(model, c.model, out_dir / "last")
                restore_optimizer(model, out_dir / "last" / OPTIMIZER_NAME, self.notes)
            elif self.start_model is not None:
                _load_resume_weights(model, c.model, self.start_model, what="start from")

        focus = None
        if self.fine_tuning and c.focus_on_errors:  # after the weights: every worker has the chief's
            from skysegui.ml.train.focus import focus_weights

            focus = focus_weights(lambda x: model.predict(x, batch_size=c.batch_size, verbose=0),
                                  cache, train_names, crop, bands, c.seed)
            self.notes.append(focus.note())
        sampler = CropSampler(cache, train_names, SamplerConfig(
            crop=crop, batch_size=c.batch_size, edge_fraction=c.edge_fraction,
            augment=c.augment_config(), seed=c.seed + worker_rank(), bands=dict(bands or {}),
            image_weights=dict(focus.weights) if focus else {}))
        train_ds = sampler.dataset(batch_size=c.batch_size, streams=c.input_streams)
        vx, vy = validation_crops(cache, val_names, crop, c.val_crops_per_image, c.seed, bands)
        # its own seeded stream: recalibration and the mode check never shift the training crops
        evaluator = EpochEvaluator((vx, vy) if len(vx) else None,
                                   sampler.batches(seed=c.seed + 104_729), c.batch_size)

        card_base = ModelCard(
            config=c.model,
            name=self.out_dir.name,
            dataset={
                **cache.summary(),
                "train_images": train_names,
                "val_images": val_names,
                "split": c.split,
                "seed": c.seed,
                "crop": crop,
                "val_crops": int(len(vx)),
                # the region split's sectors (the notes say it in words)
                **({"val_regions": {n: [int(a), int(b)] for n, (a, b) in bands.items()}}
                   if bands is not None else {}),
                **({"focus": focus.as_card()} if focus else {}),
            },
            notes=list(self.notes),
            extra={"training": c.to_dict()},
        )
        monitor = evaluator.monitor
        compute = ComputeFacts(device_description(), strategy_note, strategy.num_replicas_in_sync,
                               max(1, cluster_workers()), c.model.mixed_precision, gpu_memory_growth())
        ckpt = Checkpoints(out_dir, card_base, evaluator, state, compute)
        budget = TimeBudget(c.time_budget_min * 60.0)
        curves = CurveLog(out_dir, initial_epoch if state else None)
        runner = ProgressCallback(self, initial_epoch, evaluator, c.batch_size, budget, curves)
        # the budget callback runs last: it sees the epoch's whole time, validation included
        callbacks = [compute, runner, ckpt, LearningRate(c, budget), keras.callbacks.TerminateOnNaN()]
        if c.lr_schedule == "plateau":
            callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode="max", factor=0.5,
                                                               patience=max(1, c.early_stopping // 3)))
        early = None
        if c.early_stopping > 0:
            early = keras.callbacks.EarlyStopping(monitor=monitor, mode="max", patience=c.early_stopping)
            callbacks.append(early)
        callbacks.append(budget)
        t0 = time.perf_counter()
        try:
            with cluster_errors(lambda: self._resume_hint(ckpt.epochs_done)):
                model.fit(train_ds, steps_per_epoch=c.steps_per_epoch, epochs=c.epochs,
                          initial_epoch=initial_epoch, callbacks=callbacks, verbose=0)
        finally:
            curves.close()
        if curves.problem:
            self.notes.append(curves.problem)
        cancelled = self.cancel.cancelled
        if cancelled:
            ckpt.save_cancelled(model, runner.epoch_index, runner.last_logs)
        best = ckpt.best_logs
        result = TrainResult(
            model_dir=self.out_dir,
            epochs_done=ckpt.epochs_done,
            best_val_iou=best.get("val_iou", best.get("check_iou")),
            history=ckpt.history,
            cancelled=cancelled,
            stopped_early=bool(early is not None and early.stopped_epoch > 0 and not cancelled),
            notes=self.notes,
            metrics=dict(best),
            verdict=dict(ckpt.best_verdict),
            budget_reached=budget.stopped and not cancelled,
            seconds=time.perf_counter() - t0,
        )
        runner.emit("done", runner.epoch_index + 1, runner.last_batch, runner.last_logs)
        return result


def _resume_as_saved(config: TrainConfig, out_dir: Path) -> None:
    """A resumed fine-tuning run stays one (decoder only, focused crops) though `--resume`
    names no start model: its start and encoder choice come from the last epoch's card.
    Single-worker only: the workers of a cluster must agree on what trains, and only the
    chief is sure to see the folder, so a cluster takes them from its config."""
    from skysegui.ml.model import read_card
    from skysegui.ml.strategy import cluster_workers

    if cluster_workers() > 1:
        return
    try:
        saved = read_card(out_dir / "last").extra.get("training", {})
    except ModelError:  # nothing saved or a damaged card: _start_point says so
        return
    config.init_from = str(saved.get("init_from") or "")
    config.fine_tune_encoder = bool(saved.get("fine_tune_encoder", config.fine_tune_encoder))


def _read_weights(config: ModelConfig, folder: Path, what: str) -> list:
    """The weights of a saved model as arrays, read through a network of its own outside
    any distribution strategy (loading into the distributed model would run collectives
    that only the chief reaches)."""
    template = build_model(dataclasses.replace(config, encoder_weights=None, mixed_precision=False))
    _load_resume_weights(template, config, folder, what)
    return template.get_weights()


def _load_resume_weights(model, config: ModelConfig, folder: Path, what: str = "resume") -> None:
    """Load a saved model's weights into the new network, or say why the two do not fit."""
    from skysegui.ml.model import read_card
    from skysegui.ml.train.start import network_differences

    name = folder.parent.name if what == "resume" else folder.name
    changed = network_differences(read_card(folder).config, config)
    if changed:
        raise TrainingError(
            f"cannot {what} {name}: it was trained with another network ({changed}); "
            + ("resume with the config it was trained with, or train under a new name" if what == "resume"
               else "choose a model of the same network, or train from scratch")
        )
    try:
        load_weights_h5(model, folder / WEIGHTS_NAME)
    except (ValueError, OSError, KeyError, IndexError) as exc:
        raise TrainingError(
            f"cannot {what} {folder}: its weights are damaged or do not fit the network "
            f"({exc}); " + ("train under a new name" if what == "resume" else "train from scratch")
        ) from exc
