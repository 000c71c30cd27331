"""What a model folder's card says about its worth, for lists and labels (no TensorFlow).

A model that training judged no better than a constant mask (card.json "verdict") is named
as such wherever the user sees it and is never picked as the prediction model by itself.
"""

from __future__ import annotations

from pathlib import Path

from skysegui.ml.model import read_card


def model_learnt(folder: str | Path) -> bool:
    """True unless the card says the model has not learnt (older cards count as learnt)."""
    try:
        return read_card(folder).learnt
    except Exception:  # no card or a damaged one: loading will say what is wrong
        return True


def model_problem(folder: str | Path) -> str:
    """The card's verdict message ('' for a working model)."""
    try:
        card = read_card(folder)
    except Exception:
        return ""
    return "" if card.learnt else card.verdict.get("message", "it has not learnt")


def model_title(folder: str | Path) -> str:
    """The name the user sees: "built-in sky model" for the one that ships, else the folder's."""
    from skysegui.ml.builtin_model import BUILTIN_NAME, is_builtin

    return BUILTIN_NAME if is_builtin(folder) else Path(folder).name


def model_summary(folder: str | Path) -> str:
    """The card's figures in one line: the validation score beside the trivial masks' and,
    for the built-in model, what it was trained on ('' when the card has neither)."""
    from skysegui.ml.builtin_model import describe_training
    from skysegui.ml.quality import describe

    try:
        card = read_card(folder)
    except Exception:
        return ""
    prefix = "val_" if "val_miou" in card.metrics else "check_"
    parts = [describe(card.metrics, prefix), describe_training(card)]
    return "; ".join(p for p in parts if p)
