"""Rebuild the built-in sky model (skysegui/resources/builtin_model) from the project's own data.

    .venv/bin/python -m training.build_builtin --config training/configs/builtin.toml \\
        --out skysegui/resources/builtin_model

Run from the repository root. The recipe:
1. writes a project of synthetic panoramas: the demo project's scenes ([synthetic] count,
   width, height, seed, and optionally `scenes`, the [kind, skyline] pairs to take in
   turn; all labelled) and any further generators ([[synthetic.extra]]);
2. adds the labelled real panoramas ([real] sources: image folder + mask folder, 0 not
   sky, 1 sky, 255 ignore) except the `hold_out` ones (--hold-out a,b,c overrides the
   config, so a benchmark can train fold models with the same recipe);
3. trains with the Trainer ([train], as in the other configs: the cpu preset at its
   scale, for the time budget);
4. scores the held-out real panoramas (IoU, false sky), writes the weights compactly
   (float16 kernels, about half the float32 size) and a card.json whose `builtin` entry
   says what it was trained on, the held-out images and their scores, and the recipe
   (config and command). The card also has the validation figures and the verdict.

A model whose verdict says it has not learnt is not written unless the config says
`require_learnt = false` (tests). Relative paths in the config are from the repository root.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.datasets import (
    DEFAULT_GENERATOR,
    REPO,
    add_real_images,
    add_synthetic,
    read_gt,
    real_images,
    score,
)

RECIPE_KEYS = {"name", "require_learnt", "score_held_out"}
SYNTHETIC_KEYS = {"count", "width", "height", "seed", "scenes", "extra"}
EXTRA_KEYS = {"name", "generator", "count", "args"}
REAL_KEYS = {"sources", "hold_out"}
COMPACT_TOLERANCE = 0.02  # largest probability difference allowed between float16 and float32


class RecipeError(Exception):
    """A config or data problem; main() prints it as one `error:` line."""


@dataclass
class SyntheticSource:
    name: str
    count: int
    generator: str = DEFAULT_GENERATOR
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class Recipe:
    train: Any  # skysegui.ml.train.TrainConfig
    demo_count: int = 24
    width: int = 1024
    height: int = 512
    seed: int = 0
    scenes: list[tuple[str, str | None]] | None = None  # None: the demo project's own list
    extra: list[SyntheticSource] = field(default_factory=list)
    real_sources: list[tuple[Path, Path]] = field(default_factory=list)
    hold_out: list[str] = field(default_factory=list)
    require_learnt: bool = True
    score_held_out: bool = True
    raw: dict = field(default_factory=dict)  # the config as read (hold_out as used)
    path: Path | None = None


def _check_keys(section: dict, known: set[str], where: str) -> None:
    unknown = set(section) - known
    if unknown:
        raise RecipeError(f"unknown keys {sorted(unknown)} in [{where}] of the recipe: use {sorted(known)}")


def _repo_path(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else REPO / path


def parse_hold_out(text: str) -> list[str]:
    """'city, bridge' -> ['city', 'bridge']; '' -> [] (hold nothing out)."""
    return [s.strip() for s in text.split(",") if s.strip()]


def load_recipe(path: str | Path, hold_out: list[str] | None = None, budget_min: float | None = None) -> Recipe:
    """The recipe in a TOML file; `hold_out` and `budget_min` override the config's."""
    import tomllib

    from skysegui.ml.train import TrainConfig

    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except OSError as exc:
        raise RecipeError(f"cannot read the recipe {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"{path} is not valid TOML: {exc}") from exc
    _check_keys(raw, {"recipe", "synthetic", "real", "train"}, "top level")
    rec, syn, real = raw.get("recipe", {}), raw.get("synthetic", {}), raw.get("real", {})
    _check_keys(rec, RECIPE_KEYS, "recipe")
    _check_keys(syn, SYNTHETIC_KEYS, "synthetic")
    _check_keys(real, REAL_KEYS, "real")
    extra = []
    for k, source in enumerate(syn.get("extra", [])):
        _check_keys(source, EXTRA_KEYS, "synthetic.extra")
        extra.append(SyntheticSource(name=str(source.get("name", f"extra{k}")), count=int(source.get("count", 1)),
                                     generator=str(source.get("generator", DEFAULT_GENERATOR)),
                                     args=dict(source.get("args", {}))))
    sources = []
    for source in real.get("sources", []):
        if not {"images", "masks"} <= set(source):
            raise RecipeError(f"each [real] source needs `images` and `masks` folders, not {source}")
        sources.append((_repo_path(source["images"]), _repo_path(source["masks"])))
    held = list(real.get("hold_out", [])) if hold_out is None else list(hold_out)
    scenes = syn.get("scenes")
    if scenes is not None:
        if not all(isinstance(x, list) and len(x) == 2 for x in scenes) or not scenes:
            raise RecipeError('[synthetic] scenes is a list of [kind, skyline] pairs, e.g. [["day", "city"]]')
        scenes = [(str(kind), None if skyline in ("", None) else str(skyline)) for kind, skyline in scenes]
    train = TrainConfig.from_dict(raw.get("train", {}))
    if budget_min is not None:
        train.time_budget_min = budget_min
    raw = {**raw, "real": {**real, "hold_out": held}, "train": train.to_dict()}
    recipe = Recipe(train=train, demo_count=int(syn.get("count", 24)), width=int(syn.get("width", 1024)),
                    height=int(syn.get("height", 512)), seed=int(syn.get("seed", 0)), scenes=scenes,
                    extra=extra,
                    real_sources=sources, hold_out=held,
                    require_learnt=bool(rec.get("require_learnt", True)),
                    score_held_out=bool(rec.get("score_held_out", True)), raw=raw, path=path)
    if recipe.demo_count < 0 or any(s.count < 0 for s in extra):
        raise RecipeError("synthetic counts must be 0 or more")
    return recipe


def write_project(recipe: Recipe, root: Path, log=print):
    """The training project: synthetic panoramas, then the real ones not held out.
    Returns (project, what went in: a dict for the card)."""
    from skysegui.core.project import Project
    from skysegui.core.synthetic import write_demo_project

    reals = real_images(recipe.real_sources)
    unknown = [n for n in recipe.hold_out if n not in reals]
    if unknown:
        raise RecipeError(f"hold_out names {unknown} are not among the real panoramas found "
                          f"({', '.join(reals) or 'none'})")
    used = {n: p for n, p in reals.items() if n not in recipe.hold_out}
    log(f"synthetic: {recipe.demo_count} demo panoramas of {recipe.width}x{recipe.height}")
    if recipe.demo_count:
        scenes = {} if recipe.scenes is None else {"scenes": recipe.scenes}
        try:
            project = write_demo_project(root, count=recipe.demo_count, width=recipe.width,
                                         height=recipe.height, labelled=recipe.demo_count,
                                         seed=recipe.seed, **scenes)
        except TypeError as exc:  # a write_demo_project without a scene list
            raise RecipeError(f"[synthetic] scenes: this version of write_demo_project takes no "
                              f"scene list ({exc}); use [[synthetic.extra]] sources instead") from exc
        except ValueError as exc:  # an unknown kind or skyline
            raise RecipeError(f"[synthetic] scenes: {exc}") from exc
    else:
        project = Project.create(root)
    extra_done = []
    for k, source in enumerate(recipe.extra):
        log(f"synthetic: {source.count} x {source.name} ({source.generator})")
        names = add_synthetic(project, source.name, source.count, recipe.width, recipe.height,
                              seed=recipe.seed * 1000 + 10_000 * (k + 1), generator=source.generator,
                              args=source.args)
        extra_done.append({**dataclasses.asdict(source), "images": names})
    log(f"real: {len(used)} panoramas ({', '.join(used) or 'none'}); held out: "
        f"{', '.join(recipe.hold_out) or 'none'}")
    add_real_images(project, used)
    info = {
        "synthetic": {"count": recipe.demo_count + sum(s.count for s in recipe.extra),
                      "demo": {"count": recipe.demo_count, "width": recipe.width, "height": recipe.height,
                               "seed": recipe.seed, "scenes": recipe.scenes},  # None: the demo list
                      "extra": extra_done},
        "real_used": list(used),
        "real_held_out": list(recipe.hold_out),
    }
    return project, info, {n: reals[n] for n in recipe.hold_out}


def compact_difference(full, compact, pixels) -> float:
    """Largest probability difference between the float32 and the compact model on an image."""
    import numpy as np

    from skysegui.ml.predict import Predictor

    a = Predictor(full, snap=False).predict(pixels, mode="fast").prob  # the networks, compared
    b = Predictor(compact, snap=False).predict(pixels, mode="fast").prob
    return float(np.abs(a - b).max())


def build(recipe: Recipe, out: str | Path, work: str | Path | None = None, command: str = "",
          log=print) -> Path:
    """Run the recipe; the model folder (card.json + compact weights) lands in `out`."""
    from skysegui.cli.progress import ProgressBar
    from skysegui.core.atomicio import atomic_write, write_text_atomic
    from skysegui.core.imageio import read_image
    from skysegui.ml.builtin_model import (
        BUILTIN_NAME,
        EXTRA_KEY,
        save_compact_model,
        validation_only,
    )
    from skysegui.ml.model import CARD_NAME, WEIGHTS_NAME, load_model, read_card
    from skysegui.ml.predict import Predictor
    from skysegui.ml.train import Trainer

    out = Path(out)
    if work and Path(work).exists() and any(Path(work).iterdir()):
        raise RecipeError(f"--work {work} is not empty: give a new or empty folder")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="skysegui-builtin-") as tmp:
        root = Path(work) if work else Path(tmp) / "project"
        project, info, held = write_project(recipe, root, log)
        config = dataclasses.replace(recipe.train, name=recipe.train.name or "builtin")
        log(f"training {config.model.arch} + {config.model.backbone} for at most "
            f"{config.time_budget_min:g} min ({config.epochs} epochs x {config.steps_per_epoch} steps)")
        result = Trainer(config, project, progress=ProgressBar("train")).run()
        log(f"trained: {result.epochs_done} epochs in {result.seconds / 60:.1f} min; {result.summary}")
        if unlearnt := validation_only(info["real_used"], read_card(result.model_dir).dataset):
            log(f"validation only (split = {config.split!r}), never learnt from: {', '.join(unlearnt)}")
        if not result.learnt and recipe.require_learnt:
            raise RecipeError(f"the model has not learnt ({result.verdict.get('message', '')}): "
                              f"{out} is left as it was; train longer or check the data")
        full = load_model(result.model_dir)
        scores = {}
        if recipe.score_held_out and held:
            predictor = Predictor(full)
            for name, (image, gt) in held.items():
                scores[name] = score(predictor, image, read_gt(gt))
                log(f"held out {name}: IoU {scores[name]['iou']:.3f}, "
                    f"false sky {100 * scores[name]['false_sky']:.1f} %")
        card = full.card
        card.name = BUILTIN_NAME
        card.extra[EXTRA_KEY] = {
            **info,
            "held_out_scores": scores,
            "recipe": {"config_file": _shown(recipe.path), "command": command, "config": recipe.raw},
            "training_seconds": round(result.seconds, 1),
            "epochs": result.epochs_done,
        }
        stage = Path(tmp) / "builtin_model"  # checked before anything in `out` changes
        save_compact_model(full.model, card, stage)
        sample = next(iter(sorted(project.images_dir.iterdir())))
        diff = compact_difference(full, load_model(stage), read_image(sample).pixels)
        log(f"compact weights: {(stage / WEIGHTS_NAME).stat().st_size / 1e6:.1f} MB, predictions "
            f"within {diff:.4f} of the float32 model's on {sample.name}")
        if diff > COMPACT_TOLERANCE:
            raise RecipeError(f"the compact weights predict up to {diff:.3f} away from the float32 "
                              f"ones on {sample.name}: {out} is left as it was")
        card.extra[EXTRA_KEY]["compact_max_difference"] = round(diff, 5)
        card.extra[EXTRA_KEY]["build_seconds"] = round(time.perf_counter() - t0, 1)
        write_text_atomic(stage / CARD_NAME, card.to_json())
        for name in (WEIGHTS_NAME, CARD_NAME):  # the card last: a folder with a card is complete
            with atomic_write(out / name) as target:
                shutil.copyfile(stage / name, target)
    return out


def _shown(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="python -m training.build_builtin",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, metavar="FILE.toml",
                        help="the recipe (training/configs/builtin.toml)")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="model folder to write (skysegui/resources/builtin_model)")
    parser.add_argument("--hold-out", metavar="A,B,C",
                        help="real panoramas (file stems) to keep out of training, instead of the "
                        "config's hold_out ('' holds none out)")
    parser.add_argument("--budget", type=float, metavar="MIN", help="training time budget (overrides the config)")
    parser.add_argument("--work", metavar="DIR",
                        help="write the training project here and keep it (default: a temporary folder)")
    args = parser.parse_args(argv)
    from skysegui.core.errors import SkysegError

    command = "python -m training.build_builtin " + " ".join(shlex.quote(a) for a in argv)
    try:
        hold_out = None if args.hold_out is None else parse_hold_out(args.hold_out)
        recipe = load_recipe(args.config, hold_out, args.budget)
        folder = build(recipe, args.out, args.work, command,
                       log=lambda text: print(text, file=sys.stderr, flush=True))
    except (RecipeError, SkysegError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"built-in model written to {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
