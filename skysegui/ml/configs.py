"""Training configs that ship with the program: `skysegui train --config cpu-laptop`.

The presets are TOML files in skysegui/resources/configs/ (package data, found with
importlib.resources, so an installed wheel has them as a checkout does). `--config` takes
a preset's name or the path of a TOML file of the same form (copy a preset to change it).
No TensorFlow here: the names are listed in `skysegui train --help`.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

CONFIG_SUFFIX = ".toml"


def _folder():
    return resources.files("skysegui") / "resources" / "configs"


def preset_names() -> list[str]:
    """The built-in training configs' names (cpu-laptop, gpu-server, ...), sorted."""
    try:
        entries = list(_folder().iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(e.name[: -len(CONFIG_SUFFIX)] for e in entries
                  if e.name.endswith(CONFIG_SUFFIX) and e.is_file())


def preset_text(name: str) -> str:
    """The TOML text of the built-in config `name`."""
    return (_folder() / f"{name}{CONFIG_SUFFIX}").read_text(encoding="utf-8")


def load_train_config(value: str | os.PathLike):
    """The TrainConfig of `value`: an existing TOML file, else a built-in preset's name
    (with or without .toml). Anything else is a TrainingError that lists the presets."""
    from skysegui.core.errors import TrainingError
    from skysegui.ml.train import TrainConfig

    path = Path(value)
    if path.is_file():
        return TrainConfig.from_toml(path)
    name = path.name[: -len(CONFIG_SUFFIX)] if path.name.endswith(CONFIG_SUFFIX) else path.name
    if str(value) in (name, f"{name}{CONFIG_SUFFIX}") and name in preset_names():
        with resources.as_file(_folder() / f"{name}{CONFIG_SUFFIX}") as packaged:
            return TrainConfig.from_toml(packaged)
    raise TrainingError(f"no training config {value}: give a TOML file or a built-in preset "
                        f"({', '.join(preset_names()) or 'none installed'})")
