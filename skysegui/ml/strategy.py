"""Which tf.distribute strategy to train with, and what several workers need besides it.

"auto": MultiWorkerMirroredStrategy when TF_CONFIG describes a cluster of several workers
(several machines, see training/README.md), MirroredStrategy when this machine has more
than one GPU, otherwise the default strategy (one GPU or the CPU). Only the chief worker
(index 0) writes the model folder; the others write to a scratch folder.

Several workers: a worker that dies (killed, out of memory, its machine gone) stops the
others within about `SKYSEGUI_HEARTBEAT_TIMEOUT` seconds (default 30) with a
TrainingError that says how to resume, instead of leaving them waiting in a collective;
a worker whose peers never start gives up after `SKYSEGUI_CLUSTER_TIMEOUT` seconds
(default 600). Restarting every worker with `--resume` continues from the chief's last
finished epoch: the chief reads it and sends weights, optimizer state and epoch to the
others (sync_from_chief), so the other machines need no copy of the chief's folder.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path

from skysegui.core.errors import TrainingError

log = logging.getLogger(__name__)
STRATEGIES = ("auto", "default", "mirrored", "multiworker")
CLUSTER_TIMEOUT_ENV = "SKYSEGUI_CLUSTER_TIMEOUT"  # seconds to wait for every worker to start
HEARTBEAT_TIMEOUT_ENV = "SKYSEGUI_HEARTBEAT_TIMEOUT"  # seconds without news before a worker is dead
DEFAULT_CLUSTER_TIMEOUT_S = 600.0
DEFAULT_HEARTBEAT_TIMEOUT_S = 30.0


def tf_config() -> dict:
    try:
        config = json.loads(os.environ.get("TF_CONFIG", "") or "{}")
    except ValueError as exc:
        raise TrainingError(f"TF_CONFIG is not valid JSON ({exc}): fix or unset it") from exc
    if not isinstance(config, dict):
        raise TrainingError("TF_CONFIG must be a JSON object with \"cluster\" and \"task\": see training/README.md")
    return config


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


def worker_rank() -> int:
    """This worker's place in the cluster, 0 (the chief) to cluster_workers() - 1."""
    config = tf_config()
    task = config.get("task", {})
    if not task or task.get("type") == "chief":
        return 0
    return int(task.get("index", 0)) + len(config.get("cluster", {}).get("chief", []))


def worker_label() -> str:
    """"worker 1 of 2" (the chief: "worker 0 of 2, the chief"); "" outside a cluster."""
    n = cluster_workers()
    if n < 2:
        return ""
    return f"worker {worker_rank()} of {n}" + (", the chief" if is_chief() else "")


def _seconds_from_env(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise TrainingError(f"{name}={text!r} is not a number of seconds: fix or unset it") from None
    if not value > 0:
        raise TrainingError(f"{name}={text!r} must be more than 0 seconds")
    return value


def configure_gpus() -> list[str]:
    """Let TensorFlow take GPU memory as it needs it (memory growth) instead of all of it
    up front, on every GPU; call before anything initialises the GPUs. Returns notes (one
    when the GPUs were initialised already and keep their setting); nothing on a CPU."""
    from skysegui.ml.tf_import import import_tensorflow

    tf = import_tensorflow()
    notes = []
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            if not tf.config.experimental.get_memory_growth(gpu):
                tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # "Physical devices cannot be modified after being initialized"
            notes.append(f"{gpu.name}: memory growth not set (the GPU was in use before training started)")
            log.info(notes[-1])
    return notes


def gpu_memory_growth() -> list[bool]:
    """Whether memory growth is on, for each GPU ([] on a CPU)."""
    from skysegui.ml.tf_import import import_tensorflow

    tf = import_tensorflow()
    return [bool(tf.config.experimental.get_memory_growth(g)) for g in tf.config.list_physical_devices("GPU")]


def device_description() -> str:
    """What this process trains on, for the model card: "GPU: NVIDIA H100 80GB HBM3",
    "2 x GPU: NVIDIA A100-SXM4-40GB", or "CPU: <model name> (16 cores)"."""
    from skysegui.ml.tf_import import import_tensorflow

    tf = import_tensorflow()
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = []
        for gpu in gpus:
            try:
                details = tf.config.experimental.get_device_details(gpu)
            except (ValueError, RuntimeError):
                details = {}
            name = str(details.get("device_name") or gpu.name)
            if details.get("compute_capability"):
                name += " (compute capability {}.{})".format(*details["compute_capability"])
            names.append(name)
        if len(set(names)) == 1:
            return f"{len(names)} x GPU: {names[0]}" if len(names) > 1 else f"GPU: {names[0]}"
        return "GPUs: " + ", ".join(names)
    return f"CPU: {_cpu_name()} ({os.cpu_count() or 1} cores)"


def _cpu_name() -> str:
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name") and ":" in line:
                return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _configure_cluster() -> None:
    """Bound MultiWorkerMirroredStrategy's waits: for the other workers to start (TF's
    default is an hour) and for a silent worker before the others stop (heartbeats).
    TensorFlow offers this only through its coordination service settings, which must be
    made before the strategy is created; where that API is missing, TF's defaults stay."""
    register_s = _seconds_from_env(CLUSTER_TIMEOUT_ENV, DEFAULT_CLUSTER_TIMEOUT_S)
    heartbeat_s = _seconds_from_env(HEARTBEAT_TIMEOUT_ENV, DEFAULT_HEARTBEAT_TIMEOUT_S)
    try:
        from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
        from tensorflow.python.eager import context
    except ImportError as exc:
        log.warning("cannot bound the cluster's waits with this TensorFlow (%s): a dead worker may "
                    "leave the others waiting", exc)
        return
    ctx = context.context()
    if ctx.coordination_service is not None:
        return  # set already (an earlier strategy in this process)
    cluster = tf_config().get("cluster", {})
    jobs = [coordination_config_pb2.CoordinatedJob(name=job, num_tasks=len(cluster[job]))
            for job in ("chief", "worker") if cluster.get(job)]
    leader = "/job:chief/replica:0/task:0" if cluster.get("chief") else "/job:worker/replica:0/task:0"
    ctx.configure_coordination_service(
        service_type="standalone", service_leader=leader, coordinated_jobs=jobs,
        cluster_register_timeout_in_ms=int(register_s * 1000),
        heartbeat_timeout_in_ms=int(heartbeat_s * 1000))
    config = ctx.coordination_service
    if "cluster_register_with_barrier" in config.DESCRIPTOR.fields_by_name:
        # without it a worker whose peers never start waits for them with no time limit
        config.cluster_register_with_barrier = True


def choose_strategy(kind: str = "auto"):
    """(strategy, a one-line description). Build and compile the model inside its scope.
    Make it before any other TensorFlow work of the run (MultiWorkerMirroredStrategy
    must come first)."""
    from skysegui.ml.tf_import import import_tensorflow

    tf = import_tensorflow()

    if kind not in STRATEGIES:
        raise TrainingError(f"unknown strategy {kind!r}: choose one of {', '.join(STRATEGIES)}")
    if kind == "auto":
        if cluster_workers() > 1:
            kind = "multiworker"
        elif len(tf.config.list_physical_devices("GPU")) > 1:
            kind = "mirrored"
        else:
            kind = "default"
    if kind == "multiworker":
        if cluster_workers() < 1:
            raise TrainingError("multi-worker training needs TF_CONFIG with a cluster: see training/README.md")
        _configure_cluster()
        try:
            with cluster_errors():
                s = tf.distribute.MultiWorkerMirroredStrategy()
        except RuntimeError as exc:  # e.g. the cluster's address is taken
            raise TrainingError(f"{worker_label() or 'this worker'}: cannot join the cluster of "
                                f"TF_CONFIG ({_first_line(exc)}); check the addresses and ports") from exc
        return s, f"MultiWorkerMirroredStrategy over {s.num_replicas_in_sync} replicas ({worker_label()})"
    if kind == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        s = tf.distribute.MirroredStrategy(devices=devices)
        return s, f"MirroredStrategy over {s.num_replicas_in_sync} devices"
    s = tf.distribute.get_strategy()
    gpus = tf.config.list_logical_devices("GPU")
    return s, f"one device ({'GPU' if gpus else 'CPU'})"


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", "") or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextlib.contextmanager
def cluster_errors(resume_hint: Callable[[], str] | None = None):
    """Turn TensorFlow's errors for a lost or silent peer into one TrainingError that
    says what happened and how to continue (`resume_hint()`, asked when it happens)."""
    try:
        yield
    except Exception as exc:
        error = _cluster_error(exc, resume_hint() if resume_hint is not None else "")
        if error is None:
            raise
        raise error from exc


def _cluster_error(exc: BaseException, resume_hint: str) -> TrainingError | None:
    if cluster_workers() < 2:
        return None
    from skysegui.ml.tf_import import import_tensorflow

    tf = import_tensorflow()
    lost = (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.AbortedError,
            tf.errors.CancelledError, tf.errors.FailedPreconditionError, tf.errors.InternalError)
    if not isinstance(exc, lost):
        return None
    text = str(getattr(exc, "message", "") or exc)
    lost_ranks = sorted({_rank_of(job, int(task)) for job, task in _TASK.findall(text)} - {worker_rank()})
    who = (" and ".join(f"worker {r}" for r in lost_ranks) if lost_ranks else "another worker")
    if "register" in text.lower():
        wait = _seconds_from_env(CLUSTER_TIMEOUT_ENV, DEFAULT_CLUSTER_TIMEOUT_S)
        what = (f"{who if lost_ranks else 'not every worker of TF_CONFIG'} did not join the cluster "
                f"within {wait:g} s (set {CLUSTER_TIMEOUT_ENV} to wait longer)")
    elif "heartbeat" in text or "unhealthy" in text:
        what = f"{who} stopped (no heartbeat from it)"
    elif any(k in text for k in ("Connection reset", "Connection refused", "Socket closed", "connection")):
        what = f"{who} stopped (the connection to it was lost)"
    else:
        what = f"{who} of the cluster stopped or cannot be reached ({_first_line(exc)})"
    return TrainingError(
        f"{worker_label()}: {what}; training cannot go on without every worker. "
        + (resume_hint or "Start every worker again with the same command.")
    )


_TASK = re.compile(r"/job:(chief|worker)/replica:\d+/task:(\d+)")


def _rank_of(job: str, index: int) -> int:
    return 0 if job == "chief" else index + len(tf_config().get("cluster", {}).get("chief", []))


def sync_from_chief(strategy, variables, values=None) -> None:
    """Give every worker the chief's `values` (numpy arrays, one per variable; ignored on
    the other workers) in `variables`. An all-reduce in which only the chief's first replica
    sends: every worker must call it with the same variables in the same order. Nothing
    here reads a variable: reading one that is synchronised on read (BatchNormalization's
    moving statistics) is itself a collective, which only the chief would run."""
    from skysegui.ml.tf_import import import_tensorflow

    tf = import_tensorflow()
    variables = list(variables)
    if cluster_workers() < 2:
        for var, value in zip(variables, values or [], strict=True):
            var.assign(value, read_value=False)
        return
    chief = is_chief()
    if chief and (values is None or len(values) != len(variables)):
        raise ValueError("the chief must give one value per variable")
    wire = [tf.float64 if v.dtype.is_integer or v.dtype.is_bool else v.dtype for v in variables]
    sent = tuple(tf.cast(tf.convert_to_tensor(values[i]), wire[i]) if chief else tf.zeros(v.shape, wire[i])
                 for i, v in enumerate(variables))
    is_sender = tf.constant(chief)

    def send(*tensors):
        ctx = tf.distribute.get_replica_context()
        first = tf.logical_and(is_sender, tf.equal(ctx.replica_id_in_sync_group, 0))
        out = list(tensors)
        for dtype in dict.fromkeys(wire):  # one all-reduce per dtype (it packs its tensors)
            group = [i for i, d in enumerate(wire) if d == dtype]
            summed = ctx.all_reduce(tf.distribute.ReduceOp.SUM,
                                    [tf.where(first, tensors[i], tf.zeros_like(tensors[i])) for i in group])
            for i, t in zip(group, summed, strict=True):
                out[i] = t
        return out

    reduced = strategy.run(tf.function(send), args=sent)
    for var, value in zip(variables, reduced, strict=True):
        var.assign(tf.cast(strategy.experimental_local_results(value)[0], var.dtype), read_value=False)


def broadcast_number(strategy, value: float) -> float:
    """The chief's `value` on every worker (other workers' values are ignored)."""
    from skysegui.ml.tf_import import import_tensorflow

    tf = import_tensorflow()
    if cluster_workers() < 2:
        return float(value)
    with strategy.scope():
        var = tf.Variable(0.0, dtype=tf.float64, trainable=False)
    sync_from_chief(strategy, [var], [float(value)])
    return float(var.numpy())
