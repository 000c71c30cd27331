"""The training curves: one record per finished epoch, kept in three places from one dict.

    <model>/curves.csv          epoch, loss, iou, f1, val_loss, val_iou, val_miou, ...,
                                lr, seconds (this epoch, validation included), elapsed_s
    <model>/logs/train/         TensorBoard scalars, one point per epoch: epoch_loss,
                                epoch_iou, epoch_f1, epoch_lr, epoch_seconds
    <model>/logs/validation/    epoch_loss, epoch_iou, epoch_miou, ... (the val_ numbers)
    <model>/logs/check/         the same for the check_ numbers (one training batch
                                predicted in inference mode; the only scores without
                                validation images)

The same record goes to the progress listener (TrainProgress.record), so the training
dock's curves plot exactly the numbers of the CSV. Only scalars per epoch are written
(no per-step histograms): a few kilobytes a run. The event files are written with
TensorFlow's own summary ops, so the `tensorboard` package is needed only to look at them.

Resume keeps the rows and event files of the epochs already done and appends; a new run
into the same folder starts both afresh at its first finished epoch (the previous CSV is
kept as curves.csv.bak).
"""

from __future__ import annotations

import csv
import io
import logging
import math
import shutil
from pathlib import Path

from skysegui.core.atomicio import write_text_atomic

log = logging.getLogger(__name__)

CURVES_NAME = "curves.csv"
LOGS_NAME = "logs"
# Columns in this order first; any other number the epoch's logs hold follows (sorted: the
# training's, then val_, then check_), then LAST_COLUMNS.
FIRST_COLUMNS = ("epoch", "loss", "iou", "f1", "val_loss", "val_iou", "val_miou")
LAST_COLUMNS = ("lr", "seconds", "elapsed_s")
# TensorBoard run (sub-folder of logs/) by key prefix; the rest goes to "train".
RUNS = (("val_", "validation"), ("check_", "check"))


def read_curves(path: str | Path) -> list[dict[str, float]]:
    """The rows of a curves.csv as numbers (empty cells left out); [] when there is none."""
    path = Path(path)
    if not path.is_file():
        return []
    rows = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            try:
                rows.append({k: float(v) for k, v in row.items() if k and v not in (None, "")})
            except ValueError:
                continue  # a damaged row: the others still count
    return rows


def columns_of(rows: list[dict[str, float]]) -> list[str]:
    keys = {k for r in rows for k in r}
    middle = sorted(keys - set(FIRST_COLUMNS) - set(LAST_COLUMNS),
                    key=lambda k: (k.startswith("check_"), k.startswith("val_"), k))
    return [k for k in FIRST_COLUMNS if k in keys] + middle + [k for k in LAST_COLUMNS if k in keys]


def format_curves(rows: list[dict[str, float]]) -> str:
    """CSV text; floats as repr, so reading them back gives the very same numbers."""
    columns = columns_of(rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(k, row[k]) for k in columns if k in row})
    return out.getvalue()


def _cell(key: str, value: float) -> str:
    if key == "epoch":
        return str(int(value))
    return repr(float(value))


def epoch_record(epoch: int, logs: dict, lr: float | None, seconds: float,
                 elapsed_s: float) -> dict[str, float]:
    """One epoch's numbers: every finite number in the Keras logs plus lr and times."""
    record: dict[str, float] = {"epoch": float(epoch)}
    for key, value in logs.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            record[str(key)] = number
    if lr is not None:
        record["lr"] = float(lr)
    record["seconds"] = round(float(seconds), 3)
    record["elapsed_s"] = round(float(elapsed_s), 3)
    return record


class CurveLog:
    """curves.csv and TensorBoard scalars of one model folder (see the module doc)."""

    def __init__(self, folder: str | Path, resume_epoch: int | None = None) -> None:
        """`resume_epoch`: the epochs already done when resuming (their rows are kept);
        None: a new run (the folder's old curves go at the first record)."""
        self.folder = Path(folder)
        self.csv_path = self.folder / CURVES_NAME
        self.logs_dir = self.folder / LOGS_NAME
        self.resume_epoch = resume_epoch
        self.rows: list[dict[str, float]] = []
        if resume_epoch is not None:
            self.rows = [r for r in read_curves(self.csv_path) if r.get("epoch", 0) <= resume_epoch]
        # training seconds of the epochs done before this run (resume)
        self.elapsed_before = float(self.rows[-1].get("elapsed_s", 0.0)) if self.rows else 0.0
        self._started = resume_epoch is not None
        self._writers: dict = {}
        self.problem = ""

    def add(self, record: dict[str, float]) -> None:
        """Append one epoch's record to the CSV (rewritten atomically) and TensorBoard.

        A failure to write (a full disk) is logged and kept in `problem`; training goes on."""
        try:
            self._add(record)
        except Exception as exc:  # SaveError, OSError, tf.errors.OpError: the logs only
            if not self.problem:
                self.problem = f"the training curves could not be written to {self.folder} ({exc})"
                log.warning(self.problem)

    def _add(self, record: dict[str, float]) -> None:
        fresh = not self._started  # a new run's first epoch: the old curves go
        if fresh:
            self._started = True
            if self.logs_dir.is_dir():
                shutil.rmtree(self.logs_dir, ignore_errors=True)
        self.rows = [r for r in self.rows if r["epoch"] < record["epoch"]] + [dict(record)]
        write_text_atomic(self.csv_path, format_curves(self.rows), keep_backup=fresh)
        self._write_events(record)

    def _write_events(self, record: dict[str, float]) -> None:
        from skysegui.ml.tf_import import import_tensorflow

        tf = import_tensorflow()
        step = int(record["epoch"])
        by_run: dict[str, dict[str, float]] = {}
        for key, value in record.items():
            if key in ("epoch", "elapsed_s"):
                continue
            run, name = "train", key
            for prefix, prefix_run in RUNS:
                if key.startswith(prefix):
                    run, name = prefix_run, key[len(prefix):]
            by_run.setdefault(run, {})[f"epoch_{name}"] = value
        metadata = _scalar_metadata()
        for run, values in by_run.items():
            writer = self._writer(tf, run)
            with writer.as_default():
                for tag, value in values.items():
                    tf.summary.write(tag, tf.constant(value, tf.float32), step=step, metadata=metadata)
            writer.flush()

    def _writer(self, tf, run: str):
        if run not in self._writers:
            self._writers[run] = tf.summary.create_file_writer(str(self.logs_dir / run))
        return self._writers[run]

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()


def _scalar_metadata():
    """What TensorBoard's scalar plugin writes beside each value (tensorboard.summary's
    scalar, without needing the tensorboard package)."""
    from tensorflow.core.framework import summary_pb2

    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
        data_class=summary_pb2.DATA_CLASS_SCALAR,
    )
