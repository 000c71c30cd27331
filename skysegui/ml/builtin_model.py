"""The built-in sky model: a small network that ships inside the package, for a first mask
before any training.

It lives in skysegui/resources/builtin_model/ (card.json + model.weights.h5, package data,
found with importlib.resources, so an installed wheel finds it as a checkout does). It is
made by the recipe in training/ (`python -m training.build_builtin`), whose card says what
it was trained on, which real panoramas were held out, and its validation figures.

Prediction uses it whenever the project has no model of its own that learnt, or there is
no project (loose images): default_prediction_model(). A project's own working model
always wins. Where the folder or its weights are absent (a development checkout before
the recipe ran) everything says so and carries on as without a model: the prediction dock
shows "No model", `skysegui predict` asks for --model.

The weights are stored compactly: every large kernel (two or more dimensions, at least
32,768 values) as float16, gzip-compressed. Vectors (biases, BatchNorm statistics) stay
float32, since float16 cannot hold a variance below 6e-5 or above 65504, and so do the
small kernels of the first layers, where rounding weighs most (all in float16 moved a
barely trained tiny model's probabilities by up to 0.03; this way by 0.002) for 5 % of
the size. The file keeps the layout save_model writes, so load_model reads it unchanged
(tf-keras casts each array to its variable's float32). The cpu preset's 20 MB of float32
weights become about 10.5 MB.

SKYSEGUI_BUILTIN_MODEL overrides the location: a model folder, or "none" for no built-in
model (the test suite sets "none", so its results do not depend on whether the recipe ran).
No TensorFlow here until a model is loaded.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path

from skysegui.core.atomicio import atomic_write, write_text_atomic
from skysegui.core.errors import ModelError
from skysegui.ml.model import (
    CARD_NAME,
    WEIGHTS_NAME,
    ModelCard,
    file_sha256,
    list_models,
    read_card,
)

BUILTIN_NAME = "built-in sky model"
ENV_VAR = "SKYSEGUI_BUILTIN_MODEL"
OFF_VALUES = ("", "none", "off", "0")
RESOURCE = ("resources", "builtin_model")  # inside the skysegui package
REBUILD_COMMAND = ("python -m training.build_builtin --config training/configs/builtin.toml "
                   "--out skysegui/resources/builtin_model")
EXTRA_KEY = "builtin"  # card.json: what the recipe trained it on (see training/build_builtin.py)
FLOAT16_MIN_SIZE = 32_768  # kernels with at least this many values are stored as float16
WEIGHTS_DTYPE = f"float16 kernels of {FLOAT16_MIN_SIZE}+ values, float32 others"


def packaged_model_dir() -> Path:
    """skysegui/resources/builtin_model of the imported package (a checkout or a wheel)."""
    folder = resources.files("skysegui")
    for part in RESOURCE:
        folder = folder.joinpath(part)
    if isinstance(folder, Path):
        return folder
    return _extracted(str(folder))  # a zipped install: copy the two files out once


@functools.lru_cache(maxsize=4)
def _extracted(key: str) -> Path:
    folder = resources.files("skysegui")
    for part in RESOURCE:
        folder = folder.joinpath(part)
    target = Path(tempfile.mkdtemp(prefix="skysegui-builtin-model-"))
    for name in (CARD_NAME, WEIGHTS_NAME):
        item = folder.joinpath(name)
        if item.is_file():
            with item.open("rb") as src, open(target / name, "wb") as dst:
                shutil.copyfileobj(src, dst)
    return target


def builtin_model_dir() -> Path | None:
    """Where the built-in model is looked for; None when SKYSEGUI_BUILTIN_MODEL switches it off."""
    override = os.environ.get(ENV_VAR)
    if override is not None:
        if override.strip().lower() in OFF_VALUES:
            return None
        return Path(override).expanduser()
    return packaged_model_dir()


def builtin_model_problem() -> str:
    """'' when this installation has the built-in model, else why not (what to do included)."""
    folder = builtin_model_dir()
    if folder is None:
        return f"the built-in sky model is switched off ({ENV_VAR}={os.environ.get(ENV_VAR)!r})"
    missing = [name for name in (CARD_NAME, WEIGHTS_NAME) if not (folder / name).is_file()]
    if missing:
        return (f"the built-in sky model is not in this installation ({folder} has no "
                f"{' or '.join(missing)}): rebuild it from a checkout with `{REBUILD_COMMAND}`, "
                "or train a model")
    return ""


def builtin_model_available() -> bool:
    return not builtin_model_problem()


def is_builtin(folder: str | os.PathLike | None) -> bool:
    """Whether `folder` is the built-in model's folder."""
    if folder is None:
        return False
    builtin = builtin_model_dir()
    if builtin is None:
        return False
    try:
        return Path(folder).resolve() == builtin.resolve()
    except OSError:
        return False


def load_builtin_model():
    """The built-in model, loaded (skysegui.ml.model.LoadedModel); ModelError when absent."""
    from skysegui.ml.model import load_model

    problem = builtin_model_problem()
    if problem:
        raise ModelError(problem)
    return load_model(builtin_model_dir())


def project_model(models_dir: str | os.PathLike | None) -> Path | None:
    """The newest model in a project's models/ whose card says it learnt, or None."""
    from skysegui.ml.model_status import model_learnt

    if models_dir is None:
        return None
    return next((m for m in list_models(models_dir) if model_learnt(m)), None)


def default_prediction_model(models_dir: str | os.PathLike | None = None) -> Path | None:
    """The model prediction uses when the user names none: the project's newest model that
    learnt; else the built-in model (when installed and its card says it learnt); else None."""
    own = project_model(models_dir)
    if own is not None:
        return own
    if builtin_model_available():
        folder = builtin_model_dir()
        try:
            if read_card(folder).learnt:
                return folder
        except ModelError:
            return None
    return None


def validation_only(real_used: list[str], dataset: dict) -> list[str]:
    """The real panoramas a split kept wholly in validation: never learnt from.

    With split = "image" a whole panorama can land in validation; the recipe's first models
    listed forest, the only real canopy, as used while it only ever validated them.
    A card that does not list its training images says nothing either way: [].
    """
    trained = set(dataset.get("train_images") or [])
    return [n for n in real_used if n not in trained] if trained else []


def describe_training(card: ModelCard) -> str:
    """'trained and validated on 24 synthetic and 9 real panoramas (validation only: forest;
    held out: city, bridge)' from the card the recipe wrote; '' for other models."""
    info = card.extra.get(EXTRA_KEY)
    if not isinstance(info, dict):
        return ""
    synthetic = int((info.get("synthetic") or {}).get("count", 0) or 0)
    real = list(info.get("real_used") or [])
    held = list(info.get("real_held_out") or [])
    text = f"trained and validated on {synthetic} synthetic and {len(real)} real panoramas"
    notes = []
    if unlearnt := validation_only(real, card.dataset):
        notes.append(f"validation only: {', '.join(unlearnt)}")
    if held:
        notes.append(f"held out: {', '.join(held)}")
    if notes:
        text += f" ({'; '.join(notes)})"
    scores = info.get("held_out_scores") or {}
    ious = [s["iou"] for s in scores.values() if isinstance(s, dict) and s.get("has_sky")]
    if ious:
        text += f"; held-out real IoU {sum(ious) / len(ious):.3f}"
    return text


# --- compact weights (the recipe writes them; load_model reads them) ------------------------
def write_compact_weights(source: str | os.PathLike, target: str | os.PathLike) -> None:
    """Copy save_model's HDF5 weights with large kernels as float16 (gzip), the rest float32."""
    import h5py
    import numpy as np

    def copy_group(src, dst) -> None:
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        for name, item in src.items():
            if isinstance(item, h5py.Group):
                copy_group(item, dst.create_group(name))
                continue
            data = item[()]
            if (getattr(data, "ndim", 0) >= 2 and data.size >= FLOAT16_MIN_SIZE
                    and np.issubdtype(data.dtype, np.floating)):
                out = dst.create_dataset(name, data=data.astype(np.float16), compression="gzip",
                                         compression_opts=6, shuffle=True)
            else:
                out = dst.create_dataset(name, data=data)
            for key, value in item.attrs.items():
                out.attrs[key] = value

    with h5py.File(str(source), "r") as src, h5py.File(str(target), "w") as dst:
        copy_group(src, dst)


def save_compact_model(model, card: ModelCard, folder: str | os.PathLike) -> Path:
    """Write the compact weights, then card.json (both atomically) into `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    card.extra = {**card.extra, "weights_dtype": WEIGHTS_DTYPE}
    with tempfile.TemporaryDirectory(prefix="skysegui-compact-") as tmp:
        full = Path(tmp) / "full.h5"
        model.save_weights(str(full), save_format="h5")  # the legacy layout save_model writes
        with atomic_write(folder / WEIGHTS_NAME) as out:
            write_compact_weights(full, out)
            card.weights_sha256 = file_sha256(out)  # the pair is one unit (see save_model)
    write_text_atomic(folder / CARD_NAME, card.to_json())
    return folder
