"""Issue 19: a run the user starts gives a model that works in inference mode, and says so
when it does not. Real TensorFlow models, real crops; small so that each takes seconds."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

import skysegui.ml  # noqa: F401
from skysegui.core.imageio import read_image
from skysegui.core.synthetic import make_panorama
from skysegui.ml.augment import AugmentConfig
from skysegui.ml.data import array_sources, build_cache, validation_crops
from skysegui.ml.data.scale import scaled_sources
from skysegui.ml.model import build_model, load_model, preset
from skysegui.ml.predict import Predictor
from skysegui.ml.quality import pooled_scores
from skysegui.ml.train import TrainConfig, Trainer
from tests.ml.test_train import _config as _tiny  # the small, fast run the training tests share

pytestmark = pytest.mark.slow


def _real(hdri_dir, gt_dir, names):
    out = {}
    for n in names:
        gt = cv2.imread(str(gt_dir / f"{n}.png"), cv2.IMREAD_UNCHANGED)
        out[n] = (read_image(hdri_dir / f"{n}.exr").pixels, (gt == 1).astype(np.uint8), gt)
    return out


def _iou(mask, gt) -> float:
    valid = gt != 255
    p, t = (mask > 0) & valid, (gt == 1) & valid
    return float((p & t).sum() / max(1, (p | t).sum()))


def test_the_cpu_preset_learns_real_panoramas_and_predicts_them_in_inference_mode(tmp_path, hdri_dir, gt_dir):
    """The preset the dock and the CLI give (MobileNetV2 with its BatchNorm momentum of
    0.999), not the tiny one: without re-estimated statistics its inference-mode output was
    the same at every pixel (issue 19). 60 small steps on three real panoramas."""
    real = _real(hdri_dir, gt_dir, ("city", "sunset", "forest"))
    model_config = preset("cpu", patch_size=128)
    assert model_config.bn_momentum is None  # the backbone's own 0.999: the case that failed
    sources = scaled_sources(array_sources({n: (p, m) for n, (p, m, _) in real.items()}),
                             model_config.pixels_per_degree, "hdr_log")
    cache = build_cache(sources, tmp_path / "cache", "hdr_log")
    config = TrainConfig(model=model_config, epochs=2, steps_per_epoch=30, batch_size=4,
                         learning_rate=2e-3, early_stopping=0, val_fraction=0.0, seed=1)
    result = Trainer(config, cache, tmp_path / "cpu").run()
    assert result.learnt, result.summary
    predictor = Predictor(load_model(tmp_path / "cpu"))
    for name, (pixels, _, gt) in real.items():
        pred = predictor.predict(pixels, mode="fast")
        assert 0.02 < pred.mask.mean() < 0.98, f"{name}: a constant mask"
        all_sky = _iou(np.ones_like(gt), gt)
        assert _iou(pred.mask, gt) > all_sky + 0.2, (name, _iou(pred.mask, gt), all_sky)


def test_recalibrated_statistics_make_inference_match_training(tmp_path):
    """After a few steps from scratch the moving averages of MobileNetV2 (momentum 0.999)
    are still near their start; the evaluator re-estimates them, so both modes agree."""
    from skysegui.ml.losses import make_loss
    from skysegui.ml.train.batchnorm import frozen_statistics, recalibrate_batchnorm

    rng = np.random.default_rng(0)
    model = build_model(preset("cpu", patch_size=64))
    model.compile("adam", loss=make_loss())
    x = (rng.random((8, 64, 64, 3), np.float32) * 0.5 + 0.5).astype(np.float32)  # not zero-mean
    y = (rng.random((8, 64, 64, 1)) > 0.5).astype(np.float32)
    for _ in range(3):
        model.train_on_batch(x, y)
    with frozen_statistics(model):
        train_mode = np.asarray(model(x, training=True))
    before = np.abs(np.asarray(model(x, training=False)) - train_mode).mean()
    used = recalibrate_batchnorm(model, iter([(x, y)] * 8))
    after = np.abs(np.asarray(model(x, training=False)) - train_mode).mean()
    assert used == 8
    assert after < before / 4 and after < 0.05, (before, after)  # ~0.13 -> ~0.02 seen


@pytest.fixture(scope="module")
def day_cache(tmp_path_factory):
    panos = {f"day{i}": make_panorama(256, 128, seed=i, kind="day") for i in range(8)}
    return build_cache(array_sources({k: (p.pixels, p.sky) for k, p in panos.items()}),
                       tmp_path_factory.mktemp("cache"), "hdr_log")


@pytest.fixture(scope="module")
def learnt(day_cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "learnt"
    return out, Trainer(_tiny(), day_cache, out).run()


def test_the_card_keeps_the_scores_beside_the_trivial_masks(learnt):
    out, result = learnt
    card = json.loads((out / "card.json").read_text())
    assert card["verdict"] == {"status": "ok", "message": ""}
    m = card["metrics"]
    assert m["val_miou"] > max(m["val_all_sky_miou"], m["val_no_sky_miou"]) + 0.3
    assert m["val_all_sky_iou"] == pytest.approx(m["val_true_sky"])
    assert card["dataset"]["val_images"] and "training_seconds" in card
    assert "all sky" in result.summary and "no sky" in result.summary


def test_a_model_that_has_not_learnt_is_named_and_not_counted_as_learnt(day_cache, tmp_path):
    """A learning rate that lets nothing move: the network stays a random constant-ish map."""
    result = Trainer(_tiny(epochs=1, steps_per_epoch=3, learning_rate=1e-12), day_cache,
                     tmp_path / "stuck").run()
    assert not result.learnt
    assert "has not learned yet" in result.verdict["message"]
    card = load_model(tmp_path / "stuck").card
    assert not card.learnt and card.verdict["status"] == "trivial"
    from skysegui.ml.train.start import find_start_model

    assert find_start_model(tmp_path) is None  # never a starting point either


def test_fine_tuning_starts_from_the_saved_weights(learnt, day_cache, tmp_path):
    out, first = learnt
    saved = first.metrics["val_miou"]
    dataset = load_model(out).card.dataset  # the region split's bands, as the trainer scored them
    bands = {n: tuple(b) for n, b in dataset["val_regions"].items()}
    vx, vy = validation_crops(day_cache, dataset["val_images"], 64, 8, bands=bands)
    tuned = Trainer(_tiny(epochs=1, steps_per_epoch=2, learning_rate=1e-5, init_from=str(out)),
                    day_cache, tmp_path / "tuned").run()
    scratch = Trainer(_tiny(epochs=1, steps_per_epoch=2, learning_rate=1e-5), day_cache,
                      tmp_path / "scratch").run()
    assert tuned.metrics["val_miou"] == pytest.approx(saved, abs=0.05)
    assert scratch.metrics["val_miou"] < saved - 0.2
    assert any("fine-tuned from" in n for n in tuned.notes)
    loaded = load_model(tmp_path / "tuned")
    assert pooled_scores(loaded.model.predict(vx, verbose=0), vy).miou == pytest.approx(
        loaded.card.metrics["val_miou"], abs=1e-6)


@pytest.mark.parametrize("whole", [False, True], ids=["decoder-only", "fine-tune-encoder"])
def test_fine_tuning_trains_the_decoder_only_unless_asked(learnt, day_cache, tmp_path, whole):
    """The default keeps the start model's encoder (what it knew of other panoramas)."""
    out, _ = learnt
    start = load_model(out).model
    result = Trainer(_tiny(epochs=1, steps_per_epoch=3, learning_rate=1e-3, init_from=str(out),
                           fine_tune_encoder=whole), day_cache, tmp_path / "tuned").run()
    tuned = load_model(result.model_dir).model
    first_decoder = next(i for i, layer in enumerate(tuned.layers) if layer.name.startswith("decoder_"))

    def changed(layers_a, layers_b) -> bool:
        return any(not np.array_equal(a, b) for la, lb in zip(layers_a, layers_b, strict=True)
                   for a, b in zip(la.get_weights(), lb.get_weights(), strict=True))

    assert changed(start.layers[first_decoder:], tuned.layers[first_decoder:])
    assert changed(start.layers[:first_decoder], tuned.layers[:first_decoder]) == whole
    assert any("decoder only" in n for n in result.notes) != whole


def test_a_scaled_model_gives_an_8k_panorama_the_mask_of_its_1k_copy(day_cache, tmp_path, hdri_dir, gt_dir):
    """The card's scale is honoured in every mode: the 8K upsample of a real panorama is
    predicted at the model's scale, so its IoU stays within 0.02 of the 1K result."""
    config = _tiny(model=preset("tiny", pixels_per_degree=256 / 360), epochs=1, steps_per_epoch=10)
    Trainer(config, day_cache, tmp_path / "scaled").run()
    loaded = load_model(tmp_path / "scaled")
    assert loaded.card.pixels_per_degree == pytest.approx(256 / 360)
    predictor = Predictor(loaded)
    pixels, _, gt = _real(hdri_dir, gt_dir, ("city",))["city"]
    h, w = gt.shape
    big = cv2.resize(pixels, (8 * w, 8 * h), interpolation=cv2.INTER_LINEAR)
    big_gt = cv2.resize(gt, (8 * w, 8 * h), interpolation=cv2.INTER_NEAREST)
    for mode in ("quality", "fast"):
        small_iou = _iou(predictor.predict(pixels, mode=mode).mask, gt)
        big_iou = _iou(predictor.predict(big, mode=mode).mask, big_gt)
        assert abs(big_iou - small_iou) <= 0.02, (mode, small_iou, big_iou)


@pytest.mark.parametrize("preset_name, transform", [("default", "hdr_log"), ("cpu", "ldr")])
def test_every_preset_and_input_gives_a_model_that_works_in_inference_mode(tmp_path, preset_name, transform):
    """The report's ResNet34 and LDR input too: short runs from scratch, judged by the
    same inference-mode verdict the user sees (no constant mask, no mode disagreement)."""
    panos = {f"day{i}": make_panorama(256, 128, seed=20 + i, kind="day") for i in range(6)}
    sources = array_sources({k: (p.pixels, p.sky) for k, p in panos.items()}, transform)
    cache = build_cache(sources, tmp_path / "cache", transform)
    model_config = preset(preset_name, patch_size=64, input_transform=transform, pixels_per_degree=None)
    config = _tiny(model=model_config, epochs=2, steps_per_epoch=15, batch_size=8,
                   augment=AugmentConfig.for_transform(transform) if transform == "hdr_log" else AugmentConfig())
    result = Trainer(config, cache, tmp_path / "m").run()
    assert result.learnt, result.summary
    assert result.metrics["val_miou"] > 0.7
