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
from skysegui.ml.tf_import import import_tf_keras
from skysegui.ml.train import TrainConfig, TrainProgress

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
        with np.load(path) as data:
            arrays = [data[f"arr_{i}"] for i in range(len(data.files))]
        opt.build(model.trainable_variables)
        opt.set_weights(arrays)
    except (ValueError, OSError, KeyError) as exc:
        notes.append(f"resumed without optimizer state ({exc})")


def _scalar(logs: dict, key: str) -> float | None:
    v = logs.get(key)
    return None if v is None else float(v)


class LearningRate(keras.callbacks.Callback):
    """Cosine decay over the epochs (per epoch); constant otherwise."""

    def __init__(self, config: TrainConfig) -> None:
        super().__init__()
        self.config = config

    def on_epoch_begin(self, epoch, logs=None):
        c = self.config
        if c.lr_schedule != "cosine":
            return
        lr = c.learning_rate * 0.5 * (1.0 + math.cos(math.pi * epoch / max(1, c.epochs)))
        _optimizer_of(self.model).learning_rate.assign(max(lr, c.learning_rate * 0.01))


class ProgressCallback(keras.callbacks.Callback):
    """Validation, progress reports and cancel (checked after every batch)."""

    def __init__(self, trainer, initial_epoch: int, val, batch_size: int) -> None:
        super().__init__()
        self.trainer = trainer
        self.cfg = trainer.config
        self.val = val
        self.batch_size = batch_size
        self.epoch_index = initial_epoch
        self.initial_epoch = initial_epoch
        self.last_logs: dict = {}
        self.t_start = time.perf_counter()
        self.done_batches = 0
        self.last_batch = 0  # batches done in the current epoch

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_index = epoch
        self.last_batch = 0

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
        if self.val is not None:
            vx, vy = self.val
            val = self.model.evaluate(vx, vy, batch_size=self.batch_size, verbose=0, return_dict=True)
            logs.update({f"val_{k}": v for k, v in val.items()})
        self.last_logs = dict(logs)
        self.emit("epoch", epoch + 1, self.cfg.steps_per_epoch, self.last_logs)

    def emit(self, event: str, epoch: int, batch: int, logs: dict) -> None:
        c = self.cfg
        now = time.perf_counter()
        elapsed = now - self.t_start
        rate = self.done_batches / elapsed if elapsed > 0 and self.done_batches else 0.0
        total = c.epochs * c.steps_per_epoch
        done = (epoch - 1) * c.steps_per_epoch + batch
        remaining = max(0, total - done) if event != "done" else 0
        eta = remaining / rate if rate > 0 else 0.0
        p = TrainProgress(
            event=event, epoch=epoch, epochs=c.epochs, batch=batch, steps=c.steps_per_epoch,
            loss=float(logs.get("loss", float("nan"))), iou=float(logs.get("iou", float("nan"))),
            val_loss=_scalar(logs, "val_loss"), val_iou=_scalar(logs, "val_iou"),
            crops_per_s=rate * self.batch_size, eta_s=eta,
        )
        if self.trainer.listener is not None:
            self.trainer.listener(p)
        if self.trainer.progress is not None:
            msg = f"epoch {epoch}/{c.epochs} loss {p.loss:.3f} iou {p.iou:.3f}"
            if p.val_iou is not None:
                msg += f" val_iou {p.val_iou:.3f}"
            msg += f" {p.crops_per_s:.1f} crops/s"
            self.trainer.progress(min(done, total), total, msg)


class Checkpoints(keras.callbacks.Callback):
    """Best model by the monitored IoU into out_dir; the last epoch into out_dir/last."""

    def __init__(self, out_dir: Path, card: ModelCard, monitor: str, state: dict | None) -> None:
        super().__init__()
        self.out_dir = out_dir
        self.card = card
        self.monitor = monitor
        self.best: float | None = state.get("best") if state else None
        self.history: dict[str, list[float]] = dict(state.get("history", {})) if state else {}
        self.epochs_done = int(state["epoch"]) if state else 0

    def _card(self, epoch: int, logs: dict) -> ModelCard:
        metrics = {k: float(v) for k, v in logs.items() if isinstance(v, (int, float, np.floating))}
        return dataclasses.replace(self.card, epoch=epoch, metrics=metrics,
                                   date=ModelCard().date, notes=list(self.card.notes))

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
            save_model(self.model, self._card(epoch + 1, logs), self.out_dir)
        self._save_last(epoch + 1, logs)

    def _save_last(self, epoch: int, logs: dict) -> None:
        last = self.out_dir / "last"
        save_model(self.model, self._card(epoch, logs), last)
        _save_optimizer(self.model, last / OPTIMIZER_NAME)
        state = {"epoch": epoch, "best": self.best, "monitor": self.monitor, "history": self.history}
        write_text_atomic(last / STATE_NAME, json.dumps(state, indent=1))

    def save_cancelled(self, model, epoch_index: int, logs: dict) -> None:
        """After a cancel: keep the partial epoch's weights in last/ (resume restarts that
        epoch) and make sure out_dir holds a loadable model."""
        self.model = model
        card = self._card(self.epochs_done, logs)
        card.notes.append(f"cancelled during epoch {epoch_index + 1}")
        save_model(model, card, self.out_dir / "last")
        _save_optimizer(model, self.out_dir / "last" / OPTIMIZER_NAME)
        state = {"epoch": self.epochs_done, "best": self.best, "monitor": self.monitor,
                 "history": self.history}
        write_text_atomic(self.out_dir / "last" / STATE_NAME, json.dumps(state, indent=1))
        if not (self.out_dir / WEIGHTS_NAME).is_file():
            save_model(model, card, self.out_dir)
