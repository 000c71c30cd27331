"""The run defaults a user meets, in one place: the training dock, `skysegui train`,
the benchmarks and the tests all read them, so the settings a user gets are the settings
that were measured (benchmarks/bench_loop_quality.py runs exactly these).

A run is bounded by a time budget as well as by epochs x steps: training stops at the end
of the epoch that would overrun the budget, and the learning rate follows the budget, so
a run gives a finished model in the time the user agreed to wait. A machine with an
NVIDIA GPU gets the report's network and a larger budget.

No TensorFlow here (the window reads these before TensorFlow is imported).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class RunDefaults:
    preset: str  # skysegui.ml.model.PRESETS key
    epochs: int  # at most (the time budget usually ends the run first)
    steps_per_epoch: int
    batch_size: int
    learning_rate: float  # from scratch
    fine_tune_learning_rate: float  # when starting from a trained model
    time_budget_min: float  # 0 = no budget: epochs x steps decide
    fine_tune_budget_min: float  # a round of the loop: the project's model, a few new labels
    device: str  # "cpu" or "gpu": what these were chosen for


# Measured on the 2-core development CPU (make bench, bench_loop_quality): the cpu preset
# trains about 5 crops/s there, so 10 minutes is about 3,000 crops. Fine-tuning uses a third
# of that again: one 3-minute round from the built-in model at 3e-4 lost what it knew of
# the held-out city panorama (IoU 0.998 -> 0.921, boundary F 0.80 -> 0.24) while it
# learnt the new images; at 1e-4 it kept most of it (0.986, 0.49).
CPU_DEFAULTS = RunDefaults(preset="cpu", epochs=40, steps_per_epoch=40, batch_size=8,
                           learning_rate=1e-3, fine_tune_learning_rate=1e-4,
                           time_budget_min=10.0, fine_tune_budget_min=3.0, device="cpu")
GPU_DEFAULTS = RunDefaults(preset="default", epochs=60, steps_per_epoch=100, batch_size=16,
                           learning_rate=1e-3, fine_tune_learning_rate=1e-4,
                           time_budget_min=30.0, fine_tune_budget_min=10.0, device="gpu")


def gpu_present() -> bool:
    """An NVIDIA driver and TensorFlow's CUDA libraries are installed (no TensorFlow import).

    SKYSEGUI_DEVICE=cpu or gpu overrides the guess (e.g. to use CPU defaults on a GPU box).
    """
    forced = os.environ.get("SKYSEGUI_DEVICE", "").strip().lower()
    if forced in ("cpu", "gpu"):
        return forced == "gpu"
    if not os.path.exists("/proc/driver/nvidia/version"):
        return False
    try:
        return importlib.util.find_spec("nvidia.cudnn") is not None
    except (ImportError, ValueError):
        return False


def run_defaults(gpu: bool | None = None) -> RunDefaults:
    """The defaults for this machine (or for a GPU / CPU machine when `gpu` is given)."""
    return GPU_DEFAULTS if (gpu_present() if gpu is None else gpu) else CPU_DEFAULTS


def default_train_config(gpu: bool | None = None):
    """The TrainConfig of a run with no settings changed (dock, CLI and benchmark alike)."""
    from skysegui.ml.model import preset
    from skysegui.ml.train import TrainConfig

    d = run_defaults(gpu)
    return TrainConfig(model=preset(d.preset), epochs=d.epochs, steps_per_epoch=d.steps_per_epoch,
                       batch_size=d.batch_size, learning_rate=d.learning_rate,
                       time_budget_min=d.time_budget_min,
                       split="region")  # every image trains; a sector of each validates
