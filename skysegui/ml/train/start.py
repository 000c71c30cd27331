"""Start a run from the best model at hand (fine-tuning) instead of from scratch.

A round of the loop (correct a few images, retrain) should take minutes, not hours: the
project's current model already knows most skies, and a new project starts from the
built-in sky model (same network as the CPU defaults) rather than from random weights. The run then takes that model's
network and scale from its card and its weights from its file; the BatchNorm statistics
are re-estimated on the new crops at every epoch end (batchnorm.py). No TensorFlow here.

Only the decoder is trained by default (freeze_encoder): a 3-minute round from the
built-in model on a dozen images with every layer training learnt its new images but lost
the held-out city panorama (IoU 0.998 -> 0.91, boundary F 0.74 -> 0.14); with the encoder
frozen it kept it (0.998, 0.74) and ran 7 epochs instead of 4 in the same time. The
encoder holds what the start model learnt from many panoramas; TrainConfig
.fine_tune_encoder (`skysegui train --fine-tune-encoder`) trains it too.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from skysegui.core.errors import TrainingError
from skysegui.ml.model import WEIGHTS_NAME, ModelConfig, list_models, read_card

# What must match for one network's weights to load into another.
NETWORK_FIELDS = ("arch", "backbone", "decoder", "decoder_filters", "input_transform")


def network_differences(saved: ModelConfig, config: ModelConfig) -> str:
    """'' when `saved`'s weights fit `config`'s network, else the differences in words."""
    fields = NETWORK_FIELDS + (("patch_size",) if config.arch == "PSPNet" else ())
    changed = [k for k in fields if getattr(saved, k) != getattr(config, k)]
    return ", ".join(f"{k} {getattr(saved, k)!r} -> {getattr(config, k)!r}" for k in changed)


def adopt_start_model(config, folder: Path) -> str:
    """Make `config` (a TrainConfig) fine-tune the model in `folder`; returns a note.

    The network, its input and its scale come from the model's card, so its weights fit
    and the new model sees panoramas as the old one did; mixed precision stays the run's.
    """
    try:
        card = read_card(folder)
    except Exception as exc:  # ModelError with the folder in it
        raise TrainingError(f"cannot start from {folder}: {exc}") from exc
    config.model = dataclasses.replace(card.config, encoder_weights=None,
                                       mixed_precision=config.model.mixed_precision)
    return (f"fine-tuned from {folder.name} ({card.config.arch} + {card.config.backbone}, "
            f"epoch {card.epoch})")


def find_start_model(models_dir: str | Path | None, preset: ModelConfig | None = None,
                     builtin: bool = True) -> Path | None:
    """The newest model in `models_dir` that learnt (its card says so) and, when `preset`
    is given, has the same network and scale; else (with `builtin`) the built-in sky model
    when it fits the same way. None: train from scratch."""
    candidates = list(list_models(models_dir)) if models_dir is not None else []
    if builtin:
        start = builtin_start_model()
        if start is not None:
            candidates.append(start)
    for folder in candidates:
        try:
            card = read_card(folder)
        except Exception:  # a damaged card: not a starting point
            continue
        if not card.learnt or not (Path(folder) / WEIGHTS_NAME).is_file():
            continue
        if preset is not None and (network_differences(card.config, preset)
                                   or card.config.pixels_per_degree != preset.pixels_per_degree):
            continue
        return Path(folder)
    return None


DECODER_PREFIX = "decoder_"  # segmentation_models' U-Net and Linknet decoder layers


def freeze_encoder(model) -> str:
    """Make every layer before the decoder untrainable (its BatchNorm layers then keep the
    start model's statistics); returns a note for the card. Networks without a
    recognisable decoder (FPN, PSPNet) train whole, and the note says so."""
    names = [layer.name for layer in model.layers]
    first = next((i for i, n in enumerate(names) if n.startswith(DECODER_PREFIX)), None)
    if first is None:
        return "fine-tuned every layer (this network's decoder is not recognisable)"
    for layer in model.layers[:first]:
        layer.trainable = False
    return f"fine-tuned the decoder only: the encoder's {first} layers kept the start model's weights"


BUILTIN_WORD = "builtin"  # `skysegui train --from builtin`


def builtin_start_model() -> Path | None:
    """The built-in sky model's folder when it can be fine-tuned (present, learnt), else None."""
    from skysegui.ml.builtin_model import default_prediction_model

    return default_prediction_model(None)


def resolve_start(value: str) -> Path:
    """A --from value: a model folder, or "builtin" for the built-in sky model."""
    if value.strip().lower() in (BUILTIN_WORD, "built-in"):
        folder = builtin_start_model()
        if folder is None:
            from skysegui.ml.builtin_model import builtin_model_problem

            raise TrainingError(f"cannot start from the built-in sky model: {builtin_model_problem() or 'it has not learnt'}")
        return folder
    return Path(value)
