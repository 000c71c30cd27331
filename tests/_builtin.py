"""A stand-in for the built-in sky model: a tiny network saved the way the recipe saves
the real one (compact weights, a card with the recipe's `builtin` entry), for tests that
point SKYSEGUI_BUILTIN_MODEL at it."""

from __future__ import annotations

from pathlib import Path

TRAINED_ON = {
    "synthetic": {"count": 24},
    "real_used": ["forest", "sunset", "interior"],
    "real_held_out": ["city", "bridge"],
    "held_out_scores": {"city": {"iou": 0.9, "false_sky": 0.01, "has_sky": True},
                        "bridge": {"iou": 0.8, "false_sky": 0.02, "has_sky": True}},
}
# As an image split leaves it: forest, listed as used, only ever validated.
DATASET = {"train_images": ["sunset", "interior", "synthetic_00_day_city"],
           "val_images": ["forest", "synthetic_01_dusk_forest"], "split": "image"}
METRICS = {"val_miou": 0.9, "val_all_sky_miou": 0.25, "val_no_sky_miou": 0.3}


def make_builtin_model(folder: Path, verdict: dict | None = None) -> Path:
    """A tiny, random-init model in `folder` whose card says it learnt (or `verdict`)."""
    import tf_keras as keras

    from skysegui.ml.builtin_model import BUILTIN_NAME, EXTRA_KEY, save_compact_model
    from skysegui.ml.model import ModelCard, build_model, preset

    keras.utils.set_random_seed(0)
    config = preset("tiny")
    card = ModelCard(config=config, name=BUILTIN_NAME, metrics=dict(METRICS), dataset=dict(DATASET),
                     verdict=dict(verdict or {"status": "ok", "message": ""}),
                     extra={EXTRA_KEY: dict(TRAINED_ON)})
    return save_compact_model(build_model(config), card, folder)
