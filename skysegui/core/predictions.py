"""Where predictions live on disk and how they are read back.

One prediction of image `<stem>` is up to three files in an output folder:
  <stem>.mask.png         8-bit, sky 255, else 0 (the binary mask at the threshold)
  <stem>.prob.png         16-bit, sky probability * 65535   (or <stem>.prob.tif, float32)
  <stem>.uncertainty.png  8-bit, 0 = certain .. 255 = the model hesitates
  <stem>.source.json      only when no model made it: {"source": "auto sky", "note": ...}
A project keeps them in <project>/predictions/. The CLI, the GUI and export all use
these names through this module, never by spelling them out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from skysegui.core.atomicio import write_text_atomic

MASK_SUFFIX = ".mask.png"


@dataclass(frozen=True)
class PredictionPaths:
    mask: Path
    prob_png: Path
    prob_tif: Path
    uncertainty: Path

    @property
    def prob(self) -> Path | None:
        """The probability file that exists (16-bit PNG preferred), or None."""
        for p in (self.prob_png, self.prob_tif):
            if p.exists():
                return p
        return None

    @property
    def source(self) -> Path:
        """<stem>.source.json: who made the prediction when it was not a model."""
        return self.mask.with_name(self.mask.name[: -len(MASK_SUFFIX)] + ".source.json")

    def exists(self) -> bool:
        return self.mask.exists()

    def complete(self) -> bool:
        """All three files are there: the mask, a probability file and the uncertainty
        (a run killed between files left a prediction that is not done)."""
        return self.mask.exists() and self.prob is not None and self.uncertainty.exists()


def prediction_stem(image: str | Path) -> str:
    """The one naming rule of prediction files: the stem of the last path component, with
    a backslash counted as a folder separator (a Windows path from a label file). Two
    images with the same prediction_stem would write the same files."""
    return Path(str(image).replace("\\", "/")).stem


def prediction_paths(out_dir: str | Path, image: str | Path) -> PredictionPaths:
    """The prediction files of `image` (a path or a file name) inside `out_dir`."""
    out_dir = Path(out_dir)
    stem = prediction_stem(image)
    return PredictionPaths(
        mask=out_dir / f"{stem}{MASK_SUFFIX}",
        prob_png=out_dir / f"{stem}.prob.png",
        prob_tif=out_dir / f"{stem}.prob.tif",
        uncertainty=out_dir / f"{stem}.uncertainty.png",
    )


def write_source(paths: PredictionPaths, source: str, note: str = "") -> None:
    """Name what made a prediction (e.g. "auto sky") beside its files; "" removes the name
    (a model's prediction, which its folder names)."""
    if source:
        write_text_atomic(paths.source, json.dumps({"source": source, "note": note}) + "\n")
    elif paths.source.exists():
        paths.source.unlink()


def read_source(paths: PredictionPaths) -> tuple[str, str]:
    """(source, note) of a saved prediction; ("", "") for a model's or an unreadable file."""
    try:
        data = json.loads(paths.source.read_text(encoding="utf-8"))
        return str(data.get("source", "")), str(data.get("note", ""))
    except (OSError, ValueError, AttributeError):
        return "", ""
