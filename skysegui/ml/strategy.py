"""Which tf.distribute strategy to train with.

"auto": MultiWorkerMirroredStrategy when TF_CONFIG describes a cluster of several workers
(several machines, see training/README.md), MirroredStrategy when this machine has more
than one GPU, otherwise the default strategy (one GPU or the CPU). Only the chief worker
(index 0) writes the model folder; the others write to a scratch folder.
"""

from __future__ import annotations

import json
import os

from skysegui.core.errors import TrainingError

STRATEGIES = ("auto", "default", "mirrored", "multiworker")


def tf_config() -> dict:
    try:
        return json.loads(os.environ.get("TF_CONFIG", "") or "{}")
    except ValueError as exc:
        raise TrainingError(f"TF_CONFIG is not valid JSON ({exc}): fix or unset it") from exc


def cluster_workers() -> int:
    cluster = tf_config().get("cluster", {})
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def is_chief() -> bool:
    """True unless TF_CONFIG makes this process a non-chief worker."""
    task = tf_config().get("task", {})
    if not task:
        return True
    kind, index = task.get("type", "worker"), int(task.get("index", 0))
    has_chief = bool(tf_config().get("cluster", {}).get("chief"))
    return kind == "chief" or (not has_chief and kind == "worker" and index == 0)


def choose_strategy(kind: str = "auto"):
    """(strategy, a one-line description). Build and compile the model inside its scope."""
    from skysegui.ml.tf_import import import_tensorflow

    tf = import_tensorflow()

    if kind not in STRATEGIES:
        raise TrainingError(f"unknown strategy {kind!r}: choose one of {', '.join(STRATEGIES)}")
    if kind == "auto":
        if cluster_workers() > 1:
            kind = "multiworker"
        elif len(tf.config.list_logical_devices("GPU")) > 1:
            kind = "mirrored"
        else:
            kind = "default"
    if kind == "multiworker":
        if cluster_workers() < 1:
            raise TrainingError("multi-worker training needs TF_CONFIG with a cluster: see training/README.md")
        s = tf.distribute.MultiWorkerMirroredStrategy()
        return s, f"MultiWorkerMirroredStrategy over {s.num_replicas_in_sync} replicas"
    if kind == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        s = tf.distribute.MirroredStrategy(devices=devices)
        return s, f"MirroredStrategy over {s.num_replicas_in_sync} devices"
    s = tf.distribute.get_strategy()
    gpus = tf.config.list_logical_devices("GPU")
    return s, f"one device ({'GPU' if gpus else 'CPU'})"
