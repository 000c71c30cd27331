"""Issue 19: a fine-tuning round spends its crops on the images the start model gets wrong
(ml/train/focus.py), and a resumed fine-tuning run stays one. Real models, real caches."""

from __future__ import annotations

import numpy as np
import pytest

import skysegui.ml  # noqa: F401
from skysegui.core.metrics import IGNORE
from skysegui.core.synthetic import make_panorama
from skysegui.ml.data import array_sources, build_cache
from skysegui.ml.data.sampler import CropSampler, SamplerConfig
from skysegui.ml.model import load_model
from skysegui.ml.train import Trainer
from skysegui.ml.train.focus import FLOOR, smoothed_miou
from tests.ml.test_train import _config as _tiny

pytestmark = pytest.mark.slow


def test_smoothed_miou_charges_a_few_false_sky_pixels_a_little():
    truth = np.zeros((1, 64, 64, 1), np.float32)  # an interior: no sky
    prob = np.zeros_like(truth)
    assert smoothed_miou(prob, truth) == pytest.approx(1.0)
    prob[0, 0, :4] = 1.0  # 4 false-sky pixels of 4096: the pooled sky IoU would be 0
    assert 0.9 < smoothed_miou(prob, truth) < 1.0
    prob[0, :32] = 1.0  # half the room called sky
    assert smoothed_miou(prob, truth) < 0.6
    truth[0, :8] = 1.0
    truth[0, 8:10] = IGNORE  # ignored pixels count on neither side
    exact = np.where(truth == IGNORE, 1.0, truth)
    assert smoothed_miou(exact, truth) == pytest.approx(1.0)


def test_the_sampler_draws_each_image_by_area_times_its_weight(tmp_path):
    panos = {n: make_panorama(256 if n != "wide" else 512, 128, seed=i, kind="day")
             for i, n in enumerate(("a", "b", "wide"))}
    cache = build_cache(array_sources({k: (p.pixels, p.sky) for k, p in panos.items()}), tmp_path, "hdr_log")
    plain = CropSampler(cache, ["a", "b", "wide"], SamplerConfig(crop=64))
    assert plain.weights == pytest.approx([0.25, 0.25, 0.5])
    weighted = CropSampler(cache, ["a", "b", "wide"], SamplerConfig(crop=64, image_weights={"a": 6.0}))
    assert weighted.weights == pytest.approx([6 / 9, 1 / 9, 2 / 9])


@pytest.fixture(scope="module")
def day_model(tmp_path_factory):
    """A tiny model that knows day skies (its card says it learnt)."""
    panos = {f"day{i}": make_panorama(256, 128, seed=i, kind="day") for i in range(6)}
    cache = build_cache(array_sources({k: (p.pixels, p.sky) for k, p in panos.items()}),
                        tmp_path_factory.mktemp("cache"), "hdr_log")
    out = tmp_path_factory.mktemp("models") / "day"
    result = Trainer(_tiny(), cache, out).run()
    assert result.learnt, result.summary
    return out


@pytest.fixture(scope="module")
def corrected_cache(tmp_path_factory):
    """Four day panoramas the model knows and one whose labels say the opposite of what it
    predicts (the image a user corrected because the model got it wrong)."""
    panos = {f"day{i}": make_panorama(256, 128, seed=10 + i, kind="day") for i in range(5)}
    sources = {k: (p.pixels, p.sky) for k, p in panos.items()}
    sources["corrected"] = (sources["day4"][0], 1 - sources.pop("day4")[1])
    return build_cache(array_sources(sources), tmp_path_factory.mktemp("cache2"), "hdr_log")


def test_a_round_spends_most_crops_on_the_image_the_start_model_gets_wrong(day_model, corrected_cache, tmp_path):
    result = Trainer(_tiny(epochs=1, steps_per_epoch=2, init_from=str(day_model)), corrected_cache,
                     tmp_path / "round").run()
    focus = load_model(result.model_dir).card.dataset["focus"]
    shares = {n: f["share"] for n, f in focus.items()}
    assert set(shares) == set(corrected_cache.names)  # the region split trains on every image
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-3)
    others = [s for n, s in shares.items() if n != "corrected"]
    assert shares["corrected"] > 0.4 and shares["corrected"] > 3 * max(others), shares
    assert focus["corrected"]["start_miou"] < 0.4 < min(f["start_miou"] for n, f in focus.items() if n != "corrected")
    assert min(others) >= FLOOR / (FLOOR + 1.0) / len(shares)  # the known images are still seen
    assert any("crops weighted by the start model's error" in n and "corrected" in n for n in result.notes)


def test_focus_is_for_fine_tuning_and_can_be_turned_off(day_model, corrected_cache, tmp_path):
    scratch = Trainer(_tiny(epochs=1, steps_per_epoch=2), corrected_cache, tmp_path / "scratch").run()
    assert "focus" not in load_model(scratch.model_dir).card.dataset  # a random model's errors mean nothing
    off = Trainer(_tiny(epochs=1, steps_per_epoch=2, init_from=str(day_model), focus_on_errors=False),
                  corrected_cache, tmp_path / "off").run()
    assert "focus" not in load_model(off.model_dir).card.dataset
    assert not any("crops weighted" in n for n in off.notes)


def test_a_resumed_fine_tuning_run_still_trains_the_decoder_only(day_model, corrected_cache, tmp_path):
    """`--resume` names no start model; the run is still the fine-tuning it was (decoder
    only, focused crops), not a whole-network run from the saved weights."""
    out = tmp_path / "round"
    Trainer(_tiny(epochs=1, steps_per_epoch=2, init_from=str(day_model)), corrected_cache, out).run()
    first = load_model(out / "last").model
    resumed = Trainer(_tiny(epochs=2, steps_per_epoch=3, learning_rate=1e-2), corrected_cache, out,
                      resume=True).run()
    assert resumed.epochs_done == 2
    after = load_model(out / "last").model
    first_decoder = next(i for i, layer in enumerate(after.layers) if layer.name.startswith("decoder_"))

    def changed(layers_a, layers_b) -> bool:
        return any(not np.array_equal(a, b) for la, lb in zip(layers_a, layers_b, strict=True)
                   for a, b in zip(la.get_weights(), lb.get_weights(), strict=True))

    assert changed(first.layers[first_decoder:], after.layers[first_decoder:])
    assert not changed(first.layers[:first_decoder], after.layers[:first_decoder])
    assert any("decoder only" in n for n in resumed.notes)
    assert "focus" in load_model(out / "last").card.dataset
