"""Keras callbacks of the Trainer and the files resume needs (imports tf-keras)."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path

import numpy as np

from skysegui.core.atomicio import atomic_write, write_text_atomic
from skysegui.core.errors import TrainingError
from skysegui.ml.model import WEIGHTS_NAME, ModelCard, save_model
from skysegui.ml.quality import describe
from skysegui.ml.tf_import import import_tf_keras
from skysegui.ml.train import TrainConfig, TrainProgress
from skysegui.ml.train.batchnorm import recalibrate_batchnorm
from skysegui.ml.train.curves import CurveLog, epoch_record

keras = import_tf_keras()  # TensorFlow's start-up lines stay off stderr

STATE_NAME = "state.json"
OPTIMIZER_NAME = "optimizer.npz"


def read_state(folder: Path) -> dict | None:
    p = folder / STATE_NAME
    if not (p.is_file() and (folder / WEIGHTS_NAME).is_file()):
        return None
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise TrainingError(f"{p} is damaged ({exc}): start a new training instead of resuming") from exc


def _optimizer_of(model):
    opt = model.optimizer
    return getattr(opt, "inner_optimizer", opt)


def _save_optimizer(model, path: Path) -> None:
    opt = _optimizer_of(model)
    arrays = [np.asarray(v.numpy()) for v in opt.variables]
    with atomic_write(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, *arrays)


def restore_optimizer(model, path: Path, notes: list[str]) -> None:
    """Put back Adam's moments and step count; without them resume keeps weights and epoch."""
    if not path.is_file():
        notes.append("resumed without optimizer state (weights and epoch only)")
        return
    opt = _optimizer_of(model)
    try:
        opt.build(model.trainable_variables)
        opt.set_weights(_saved_optimizer(path, opt))
    except (ValueError, OSError, KeyError) as exc:
        notes.append(f"resumed without optimizer state ({exc})")


def optimizer_values(model, path: Path, notes: list[str]) -> list[np.ndarray]:
    """The optimizer state saved at `path` as arrays for its (built) variables, or their
    current values with a note when there is none that fits (several workers: the chief
    reads them and sends them to the others, see strategy.sync_from_chief)."""
    opt = _optimizer_of(model)
    opt.build(model.trainable_variables)
    if not path.is_file():
        notes.append("resumed without optimizer state (weights and epoch only)")
    else:
        try:
            return _saved_optimizer(path, opt)
        except (ValueError, OSError, KeyError) as exc:
            notes.append(f"resumed without optimizer state ({exc})")
    return [np.asarray(v.numpy()) for v in opt.variables]


def optimizer_variables(model) -> list:
    """The optimizer's variables, built for the model's weights."""
    opt = _optimizer_of(model)
    opt.build(model.trainable_variables)
    return list(opt.variables)


def _saved_optimizer(path: Path, opt) -> list[np.ndarray]:
    with np.load(path) as data:
        arrays = [data[f"arr_{i}"] for i in range(len(data.files))]
    shapes = [tuple(v.shape) for v in opt.variables]
    if [a.shape for a in arrays] != shapes:
        raise ValueError(f"{len(arrays)} saved arrays do not fit the optimizer's {len(shapes)} variables")
    return arrays


def _learning_rate(model) -> float | None:
    """The optimizer's learning rate in this epoch (None when it is not a plain number)."""
    try:
        return float(keras.backend.get_value(_optimizer_of(model).learning_rate))
    except (TypeError, ValueError, AttributeError):
        return None


def _scalar(logs: dict, key: str) -> float | None:
    v = logs.get(key)
    return None if v is None else float(v)


class TimeBudget(keras.callbacks.Callback):
    """Ends the run at the end of the epoch after which another would overrun the budget."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = float(seconds)
        self.t0 = time.perf_counter()
        self.epochs_run = 0
        self.stopped = False

    def on_train_begin(self, logs=None):
        self.t0 = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def fraction(self) -> float:
        """Share of the budget spent (0 without a budget)."""
        return min(1.0, self.elapsed() / self.seconds) if self.seconds > 0 else 0.0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_run += 1
        if self.seconds <= 0:
            return
        per_epoch = self.elapsed() / self.epochs_run
        if self.elapsed() + per_epoch > self.seconds:
            self.stopped = True
            self.model.stop_training = True


class LearningRate(keras.callbacks.Callback):
    """Cosine decay over the run (per epoch), the run being epochs or the time budget,
    whichever ends it first; constant otherwise."""

    def __init__(self, config: TrainConfig, budget: TimeBudget | None = None) -> None:
        super().__init__()
        self.config = config
        self.budget = budget

    def on_epoch_begin(self, epoch, logs=None):
        c = self.config
        if c.lr_schedule != "cosine":
            return
        done = epoch / max(1, c.epochs)
        if self.budget is not None:
            done = max(done, self.budget.fraction())
        lr = c.learning_rate * 0.5 * (1.0 + math.cos(math.pi * done))
        _optimizer_of(self.model).learning_rate.assign(max(lr, c.learning_rate * 0.01))


class ComputeFacts(keras.callbacks.Callback):
    """What the run computed on and how fast, for the model card's "compute" entry: the
    device, replicas and workers, mixed precision and the optimizer's loss scale, and the
    measured seconds per training step (input pipeline included, the first step, which
    traces the graph, left out). Put it first in the callback list: its step clock then
    stops before the other callbacks' work."""

    def __init__(self, device: str, strategy_note: str, replicas: int, workers: int,
                 mixed_precision: bool, memory_growth: list[bool] | None = None) -> None:
        super().__init__()
        self.base = {"device": device, "strategy": strategy_note, "replicas": int(replicas),
                     "workers": int(workers), "mixed_precision": bool(mixed_precision),
                     "gpu_memory_growth": list(memory_growth or [])}
        self.t_step = 0.0
        self.steps = 0  # timed steps, the first one excluded
        self.seconds = 0.0
        self.first_step_s: float | None = None

    def on_train_batch_begin(self, batch, logs=None):
        self.t_step = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        dt = time.perf_counter() - self.t_step
        if self.first_step_s is None:
            self.first_step_s = dt
        else:
            self.steps += 1
            self.seconds += dt

    def seconds_per_step(self) -> float | None:
        if self.steps:
            return self.seconds / self.steps
        return self.first_step_s  # a one-step run: all there is

    def loss_scale(self) -> tuple[float | None, bool | None]:
        """(current loss scale, dynamic) of a mixed-precision optimizer; (None, None) without."""
        opt = getattr(self.model, "optimizer", None)
        if opt is None or not hasattr(opt, "inner_optimizer"):
            return None, None
        try:
            return float(keras.backend.get_value(opt.loss_scale)), bool(getattr(opt, "dynamic", True))
        except (TypeError, ValueError, AttributeError):
            return None, None

    def facts(self) -> dict:
        per_step = self.seconds_per_step()
        scale, dynamic = self.loss_scale()
        facts = dict(self.base)
        facts.update({
            "seconds_per_step": None if per_step is None else round(per_step, 4),
            "steps_timed": self.steps if self.steps else (1 if self.first_step_s is not None else 0),
            "first_step_seconds": None if self.first_step_s is None else round(self.first_step_s, 3),
        })
        if self.base["mixed_precision"]:
            facts.update({"loss_scale": scale, "loss_scale_dynamic": dynamic})
        return facts


class ProgressCallback(keras.callbacks.Callback):
    """Validation, progress reports and cancel (checked after every batch). Each finished
    epoch's numbers become one record (curves.py): written to curves.csv and TensorBoard
    and handed to the listener, so the GUI's curves and the files hold the same numbers."""

    def __init__(self, trainer, initial_epoch: int, evaluator, batch_size: int,
                 budget: TimeBudget | None = None, curves: CurveLog | None = None) -> None:
        super().__init__()
        self.trainer = trainer
        self.cfg = trainer.config
        self.evaluator = evaluator
        self.budget = budget
        self.curves = curves
        self.t_epoch = self.t_train = time.perf_counter()
        self.batch_size = batch_size
        self.epoch_index = initial_epoch
        self.initial_epoch = initial_epoch
        self.last_logs: dict = {}
        self.t_start = time.perf_counter()
        self.done_batches = 0
        self.last_batch = 0  # batches done in the current epoch

    def on_train_begin(self, logs=None):
        self.t_train = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_index = epoch
        self.last_batch = 0
        self.t_epoch = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.last_logs = dict(logs or {})
        self.done_batches += 1
        self.last_batch = batch + 1
        self.emit("batch", self.epoch_index + 1, batch + 1, self.last_logs)
        if self.trainer.cancel.cancelled:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        if self.trainer.cancel.cancelled:
            return
        logs.update(self.evaluator(self.model))
        self.last_logs = dict(logs)
        now = time.perf_counter()
        before = self.curves.elapsed_before if self.curves is not None else 0.0
        record = epoch_record(epoch + 1, logs, _learning_rate(self.model), now - self.t_epoch,
                              before + now - self.t_train)
        if self.curves is not None:
            self.curves.add(record)
        self.emit("epoch", epoch + 1, self.cfg.steps_per_epoch, record, record)

    def emit(self, event: str, epoch: int, batch: int, logs: dict, record: dict | None = None) -> None:
        c = self.cfg
        now = time.perf_counter()
        elapsed = now - self.t_start
        rate = self.done_batches / elapsed if elapsed > 0 and self.done_batches else 0.0
        total = c.epochs * c.steps_per_epoch
        done = (epoch - 1) * c.steps_per_epoch + batch
        remaining = max(0, total - done) if event != "done" else 0
        eta = remaining / rate if rate > 0 else 0.0
        if self.budget is not None and self.budget.seconds > 0 and event != "done":
            eta = min(eta, max(0.0, self.budget.seconds - self.budget.elapsed()))
        verdict = self.evaluator.verdict
        p = TrainProgress(
            event=event, epoch=epoch, epochs=c.epochs, batch=batch, steps=c.steps_per_epoch,
            loss=float(logs.get("loss", float("nan"))), iou=float(logs.get("iou", float("nan"))),
            val_loss=_scalar(logs, "val_loss"), val_iou=_scalar(logs, "val_iou"),
            crops_per_s=rate * self.batch_size, eta_s=eta,
            val_miou=_scalar(logs, "val_miou"), summary=describe(logs),
            verdict="" if verdict is None or verdict.ok else verdict.message,
            record=dict(record) if record is not None else None,
        )
        if self.trainer.listener is not None:
            self.trainer.listener(p)
        if self.trainer.progress is not None:
            msg = f"epoch {epoch}/{c.epochs} loss {p.loss:.3f} iou {p.iou:.3f}"
            if p.val_iou is not None:
                msg += f" val_iou {p.val_iou:.3f}"
            if p.val_miou is not None:
                msg += f" val_miou {p.val_miou:.3f}"
            msg += f" {p.crops_per_s:.1f} crops/s"
            self.trainer.progress(min(done, total), total, msg)


class Checkpoints(keras.callbacks.Callback):
    """Best model by the monitored IoU into out_dir; the last epoch into out_dir/last."""

    def __init__(self, out_dir: Path, card: ModelCard, evaluator, state: dict | None,
                 compute: ComputeFacts | None = None) -> None:
        super().__init__()
        self.out_dir = out_dir
        self.compute = compute  # its facts go into every card saved (device, time per step)
        self.card = card
        self.evaluator = evaluator
        self.monitor = evaluator.monitor
        self.best_logs: dict = dict(state.get("best_logs", {})) if state else {}
        self.best_verdict: dict = dict(state.get("best_verdict", {})) if state else {}
        self.t0 = time.perf_counter()
        self.best: float | None = state.get("best") if state else None
        self.history: dict[str, list[float]] = dict(state.get("history", {})) if state else {}
        self.epochs_done = int(state["epoch"]) if state else 0

    def _card(self, epoch: int, logs: dict) -> ModelCard:
        metrics = {k: float(v) for k, v in logs.items() if isinstance(v, (int, float, np.floating))}
        verdict = self.evaluator.verdict
        extra = dict(self.card.extra)
        extra["training_seconds"] = round(time.perf_counter() - self.t0, 1)
        if self.compute is not None:
            extra["compute"] = self.compute.facts()
        return dataclasses.replace(self.card, epoch=epoch, metrics=metrics,
                                   date=ModelCard().date, notes=list(self.card.notes),
                                   verdict=verdict.as_dict() if verdict is not None else {},
                                   extra=extra)

    def on_train_begin(self, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if self.model.stop_training and self.monitor not in logs:
            return  # cancelled mid-epoch: handled by save_cancelled
        self.epochs_done = epoch + 1
        for k, v in logs.items():
            if isinstance(v, (int, float, np.floating)):
                self.history.setdefault(k, []).append(float(v))
        score = logs.get(self.monitor)
        if score is not None and (self.best is None or float(score) > self.best):
            self.best = float(score)
            card = self._card(epoch + 1, logs)
            self.best_logs, self.best_verdict = dict(card.metrics), dict(card.verdict)
            save_model(self.model, card, self.out_dir)
        self._save_last(epoch + 1, logs)

    def _state(self, epoch: int) -> str:
        return json.dumps({"epoch": epoch, "best": self.best, "monitor": self.monitor,
                           "history": self.history, "best_logs": self.best_logs,
                           "best_verdict": self.best_verdict}, indent=1)

    def _save_last(self, epoch: int, logs: dict) -> None:
        last = self.out_dir / "last"
        save_model(self.model, self._card(epoch, logs), last)
        _save_optimizer(self.model, last / OPTIMIZER_NAME)
        write_text_atomic(last / STATE_NAME, self._state(epoch))

    def save_cancelled(self, model, epoch_index: int, logs: dict) -> None:
        """After a cancel: keep the partial epoch's weights in last/ (resume restarts that
        epoch) and make sure out_dir holds a loadable model."""
        self.model = model
        if not (self.out_dir / WEIGHTS_NAME).is_file():
            logs = {**logs, **self.evaluator(model)}  # scored (and recalibrated) like any epoch
        else:
            recalibrate_batchnorm(model, self.evaluator.batches)
        card = self._card(self.epochs_done, logs)
        card.notes.append(f"cancelled during epoch {epoch_index + 1}")
        save_model(model, card, self.out_dir / "last")
        _save_optimizer(model, self.out_dir / "last" / OPTIMIZER_NAME)
        write_text_atomic(self.out_dir / "last" / STATE_NAME, self._state(self.epochs_done))
        if not (self.out_dir / WEIGHTS_NAME).is_file():
            self.best_logs, self.best_verdict = dict(card.metrics), dict(card.verdict)
            save_model(model, card, self.out_dir)
