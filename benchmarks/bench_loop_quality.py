"""Loop quality: what one round of training with the user's defaults gives on REAL panoramas.

The project is what a new user has: the demo project (synthetic, half labelled) plus the
labelled real panoramas of ../shared/data (the four of hdri/ with gt/, and the eight of
hdri-unlabelled/ with the masks in training/data/real-labels/; their ignore bands, 255,
come in as unsure regions, which training skips as a user's would be). Each fold holds out one
panorama of hdri/ and two of hdri-unlabelled/, trains with ml/defaults.py's settings (the
training dock's and `skysegui train`'s: the cpu preset for its time budget on this CPU)
and predicts the held-out panoramas, which it never saw, in the default (quality) mode.

Per held-out image: IoU, boundary IoU (core.metrics, ignored pixels skipped) and false
sky (the share of non-sky pixels called sky: what counts in an interior), beside the
all-sky mask's IoU; then the means, the images it trained on, the wall-clock time, and
fine-tuning (a base model trained on the demo project alone, fine-tuned for
the defaults' fine-tuning budget per fold) against from scratch. The fold that holds
out city.exr also predicts it upsampled to 8192x4096 in both modes: the model's scale
contract says the IoU stays within 0.02 of the 1K result.

First, one round of the loop as a new project now runs it (builtin_round): the built-in
model fine-tuned for the fine-tuning budget, scored on the real panoramas its recipe held
out, before and after.

Environment: SKYSEGUI_BENCH_FOLDS (default 4; 0: the built-in round only), SKYSEGUI_BENCH_BUDGET_MIN (default: the
defaults' budget), SKYSEGUI_BENCH_FINETUNE_MIN (default: the defaults' fine-tuning budget; 0 skips), SKYSEGUI_BENCH_OUT
(a JSON file for the per-image figures).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._table import Row

# The real panoramas, the project of demo + real images, the held-out labels and the
# per-image score are shared with the built-in model's recipe (training/datasets.py).
from training.datasets import (
    LABELLED,
    NEW,
    SHARED,
    make_project,
    read_gt,
    real_images,
    score,
    set_held_out,
)

BENCH = "loop_quality"


def folds(count: int) -> list[list[str]]:
    """Held-out sets: one panorama of hdri/ and two of hdri-unlabelled/ each."""
    return [[LABELLED[k % len(LABELLED)], NEW[(2 * k) % len(NEW)], NEW[(2 * k + 1) % len(NEW)]]
            for k in range(count)]


def train(project, name: str, budget_min: float | None, start: Path | None = None) -> tuple[Path, float, object]:
    from skysegui.ml.defaults import default_train_config, run_defaults
    from skysegui.ml.train import Trainer

    config = default_train_config()
    config.name = name
    if budget_min is not None:
        config.time_budget_min = budget_min
    if start is not None:
        config.init_from = str(start)
        config.learning_rate = run_defaults().fine_tune_learning_rate
    t0 = time.perf_counter()
    result = Trainer(config, project).run()
    return result.model_dir, time.perf_counter() - t0, result


def split_of(model_dir: Path) -> dict[str, list[str]]:
    """The images the model trained on and those that only validated it (from its card):
    a labelled image that the split put in validation was never trained on, so it is not
    scored as "trained on"."""
    from skysegui.ml.model import read_card

    dataset = read_card(model_dir).dataset
    trained = list(dataset.get("train_images", []))
    # a region split validates on a sector of images it also trains on: not "validation only"
    return {"trained_on": trained, "validated_on": [n for n in dataset.get("val_images", []) if n not in trained]}


def evaluate_fold(model_dir: Path, reals, held: list[str]) -> dict[str, dict]:
    from skysegui.ml.model import load_model
    from skysegui.ml.predict import Predictor

    predictor = Predictor(load_model(model_dir))
    return {n: score(predictor, reals[n][0], read_gt(reals[n][1])) for n in reals}


def city_8k(model_dir: Path, reals) -> dict[str, dict[str, float]]:
    """The model's scale contract on city: its IoU at 1K and upsampled to 8K, both modes."""
    from skysegui.ml.model import load_model
    from skysegui.ml.predict import Predictor

    predictor = Predictor(load_model(model_dir))
    gt = read_gt(reals["city"][1])
    return {m: {"1k": score(predictor, reals["city"][0], gt, m)["iou"],
                "8k": score(predictor, reals["city"][0], gt, m, upscale=8)["iou"]} for m in ("quality", "fast")}


def builtin_round(project, full, reals, ft_min: float) -> dict | None:
    """One round of the loop as a new project now runs it: fine-tune the built-in model
    (the default start) for the defaults' fine-tuning budget on the demo project plus the
    real panoramas the built-in model's recipe did not hold out; score the held-out ones
    before the round (the built-in model itself) and after. Honest: neither model ever
    saw the held-out panoramas."""
    from skysegui.ml.builtin_model import EXTRA_KEY, builtin_model_available, load_builtin_model
    from skysegui.ml.predict import Predictor
    from skysegui.ml.train.start import builtin_start_model

    if not builtin_model_available() or ft_min <= 0:
        return None
    loaded = load_builtin_model()
    held = [n for n in loaded.card.extra.get(EXTRA_KEY, {}).get("real_held_out", []) if n in reals]
    if not held:
        return None
    print(f"built-in round: holding out {held}", file=sys.stderr, flush=True)
    before = {n: score(Predictor(loaded), reals[n][0], read_gt(reals[n][1])) for n in held}
    set_held_out(project, full, held)
    model_dir, seconds, result = train(project, "builtin-round", ft_min, start=builtin_start_model())
    after = evaluate_fold(model_dir, reals, held)
    return {"held": held, "before": before, "after": after, "seconds": seconds, "epochs": result.epochs_done,
            "summary": result.summary, **split_of(model_dir),
            **({"city_8k": city_8k(model_dir, reals)} if "city" in held else {})}


def run() -> list[Row]:
    reals = real_images()
    if len(reals) < len(LABELLED):
        return [Row(BENCH, f"skipped: the real panoramas are not at {SHARED}", float("nan"), "")]
    n_folds = int(os.environ.get("SKYSEGUI_BENCH_FOLDS", "4"))
    budget = os.environ.get("SKYSEGUI_BENCH_BUDGET_MIN")
    budget_min = float(budget) if budget else None
    from skysegui.ml.defaults import default_train_config, run_defaults

    ft_min = float(os.environ.get("SKYSEGUI_BENCH_FINETUNE_MIN", run_defaults().fine_tune_budget_min))

    used_budget = budget_min if budget_min is not None else default_train_config().time_budget_min
    results: dict = {"budget_min": used_budget, "finetune_min": ft_min, "folds": []}
    with tempfile.TemporaryDirectory(prefix="skysegui-loop-") as tmp:
        project = make_project(Path(tmp) / "project", reals)
        full = project.load_labels().labels
        results["builtin_round"] = builtin_round(project, full, reals, ft_min)
        base = None
        if ft_min > 0 and n_folds > 0:  # what every user had before the built-in model: the demo project alone
            set_held_out(project, full, list(reals))
            base, base_s, _ = train(project, "base-demo-only", budget_min)
            results["base_seconds"] = base_s
        for k, held in enumerate(folds(n_folds)):
            print(f"fold {k + 1}/{n_folds}: holding out {held}", file=sys.stderr, flush=True)
            set_held_out(project, full, held)
            model_dir, seconds, result = train(project, f"fold{k}", budget_min)
            scores = evaluate_fold(model_dir, reals, held)
            fold = {"held": held, "seconds": seconds, "summary": result.summary,
                    "verdict": result.verdict, "epochs": result.epochs_done, "scores": scores,
                    **split_of(model_dir)}
            if base is not None:
                ft_dir, ft_s, _ = train(project, f"fold{k}-finetuned", ft_min, start=base)
                fold["finetune_seconds"] = ft_s
                fold["finetune_scores"] = {n: s for n, s in evaluate_fold(ft_dir, reals, held).items() if n in held}
            if "city" in held:
                fold["city_8k"] = city_8k(model_dir, reals)
            results["folds"].append(fold)
            print(json.dumps(fold, default=float), file=sys.stderr, flush=True)
    out = os.environ.get("SKYSEGUI_BENCH_OUT")
    if out:
        Path(out).write_text(json.dumps(results, indent=1, default=float))
    return rows(results)


def builtin_rows(r: dict | None) -> list[Row]:
    if not r:
        return [Row(BENCH, "one round from the built-in model: not run (no built-in model)", float("nan"), "")]
    out = []
    held, before, after = r["held"], r["before"], r["after"]
    sky = [n for n in held if after[n]["has_sky"]]
    indoor = [n for n in held if not after[n]["has_sky"]]
    minutes = r["seconds"] / 60
    for n in sky:
        out.append(Row(BENCH, f"one round from the built-in model: held out {n} IoU", after[n]["iou"], "",
                       baseline=f"built-in model {before[n]['iou']:.3f}"))
        out.append(Row(BENCH, f"one round from the built-in model: held out {n} boundary F (2 px)",
                       after[n]["boundary_f"], "", baseline=f"built-in model {before[n]['boundary_f']:.3f}"))
    if sky:
        m_after = float(np.mean([after[n]["iou"] for n in sky]))
        m_before = float(np.mean([before[n]["iou"] for n in sky]))
        out.append(Row(BENCH, f"one round from the built-in model ({minutes:.1f} min): held-out sky mean IoU",
                       m_after, "", baseline=f"before {m_before:.3f}, all sky "
                       f"{np.mean([after[n]['all_sky_iou'] for n in sky]):.3f}",
                       target=">= 0.80", ok=m_after >= 0.80))
    if indoor:
        f_after = 100 * float(np.mean([after[n]["false_sky"] for n in indoor]))
        f_before = 100 * float(np.mean([before[n]["false_sky"] for n in indoor]))
        out.append(Row(BENCH, f"one round from the built-in model: held-out interiors false sky ({len(indoor)})",
                       f_after, "%", baseline=f"before {f_before:.2f} %", target="<= 5 %", ok=f_after <= 5.0))
    for n in (n for n in r["validated_on"] if n in after):
        s = after[n]
        out.append(Row(BENCH, f"one round from the built-in model: {n}, validation only (never trained on)",
                       s["iou"] if s["has_sky"] else 100 * s["false_sky"], "" if s["has_sky"] else "% false sky",
                       baseline=f"all sky {s['all_sky_iou']:.3f}" if s["has_sky"] else ""))
    trained = [after[n] for n in r["trained_on"] if n in after]
    out += trained_rows("one round from the built-in model: trained on", trained)
    out += scale_rows("one round from the built-in model: ", r.get("city_8k", {}))
    return out


def scale_rows(what: str, city: dict) -> list[Row]:
    """City upsampled to 8K against its 1K score, per mode (the scale contract: within 0.02)."""
    return [Row(BENCH, f"{what}city 8K vs 1K, {mode} mode: IoU", v["8k"], "", baseline=f"1K {v['1k']:.3f}",
                target="within 0.02", ok=abs(v["8k"] - v["1k"]) <= 0.02) for mode, v in city.items()]


def trained_rows(what: str, trained: list[dict]) -> list[Row]:
    """The real panoramas a model trained on: sky IoU (target 0.90) and false sky indoors."""
    sky = [s for s in trained if s["has_sky"]]
    indoor = [s for s in trained if not s["has_sky"]]
    out = []
    if sky:
        t = float(np.mean([s["iou"] for s in sky]))
        out.append(Row(BENCH, f"{what}, real sky panoramas: mean IoU ({len(sky)})", t, "",
                       baseline=f"all sky {np.mean([s['all_sky_iou'] for s in sky]):.2f}", target=">= 0.90",
                       ok=t >= 0.90))
    if indoor:
        f = 100 * float(np.mean([s["false_sky"] for s in indoor]))
        out.append(Row(BENCH, f"{what}, real interiors: mean false sky ({len(indoor)})", f, "%",
                       target="<= 5 %", ok=f <= 5.0))
    return out


def rows(results: dict) -> list[Row]:
    """The table: per held-out image, then the means a user cares about."""
    out: list[Row] = builtin_rows(results.get("builtin_round"))
    if not results["folds"]:  # SKYSEGUI_BENCH_FOLDS=0: the built-in round only
        return out
    held_sky, held_indoor, trained, ft_sky, ft_indoor = [], [], [], [], []
    for fold in results["folds"]:
        for name in fold["held"]:
            s = fold["scores"][name]
            if s["has_sky"]:
                held_sky.append(s)
                out.append(Row(BENCH, f"held out {name}: IoU (BIoU {s['boundary_iou']:.2f})", s["iou"], "",
                               baseline=f"all sky {s['all_sky_iou']:.2f}",
                               ratio=None, target="> all sky", ok=s["iou"] > s["all_sky_iou"] + 0.1))
            else:
                held_indoor.append(s)
                out.append(Row(BENCH, f"held out {name}: false sky", 100 * s["false_sky"], "%",
                               baseline="all sky 100 %", target="<= 5 %", ok=s["false_sky"] <= 0.05))
            f = fold.get("finetune_scores", {}).get(name)
            if f is not None:
                (ft_sky if f["has_sky"] else ft_indoor).append(f)
        trained += [fold["scores"][n] for n in fold["trained_on"] if n in fold["scores"]]
    budget = results["budget_min"]
    secs = [f["seconds"] for f in results["folds"]]

    def mean(items, key):
        return float(np.mean([s[key] for s in items])) if items else float("nan")

    out.append(Row(BENCH, f"held out, sky: mean IoU ({len(held_sky)} images)", mean(held_sky, "iou"), "",
                   baseline=f"all sky {mean(held_sky, 'all_sky_iou'):.2f}", target=">= 0.80",
                   ok=mean(held_sky, "iou") >= 0.80))
    out.append(Row(BENCH, "held out, sky: mean boundary IoU", mean(held_sky, "boundary_iou"), ""))
    out.append(Row(BENCH, f"held out, no sky: mean false sky ({len(held_indoor)} images)",
                   100 * mean(held_indoor, "false_sky"), "%", target="<= 5 %",
                   ok=mean(held_indoor, "false_sky") <= 0.05))
    out += trained_rows("from scratch, trained on", trained)
    out.append(Row(BENCH, f"training time per fold (budget {budget:g} min)", float(np.mean(secs)) / 60, "min",
                   target="<= 30 min", ok=max(secs) <= 1800))
    if ft_sky or ft_indoor:
        out.append(Row(BENCH, f"fine-tuned {results['finetune_min']:g} min from a demo-only model: held-out sky IoU",
                       mean(ft_sky, "iou"), "", baseline=f"from scratch {mean(held_sky, 'iou'):.2f}"))
        out.append(Row(BENCH, "fine-tuned: held-out false sky", 100 * mean(ft_indoor, "false_sky"), "%",
                       baseline=f"from scratch {100 * mean(held_indoor, 'false_sky'):.1f} %"))
    for fold in results["folds"]:
        out += scale_rows("from scratch: ", fold.get("city_8k", {}))
    return out
