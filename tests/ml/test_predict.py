"""Tiled, blended, fast and report-mode prediction with real (tiny) TensorFlow models.

Two session models: a random-init tiny U-Net (its zero padding makes every tile's output
depend on where the tile sits, which is exactly what exposes seams) and the same network
trained for a few seconds on crops of synthetic panoramas (for mask-level agreement).
"""

from __future__ import annotations

import numpy as np
import pytest

from skysegui.core.errors import CancelledError, PredictionError
from skysegui.core.metrics import iou
from skysegui.core.progress import CancelToken
from skysegui.core.synthetic import make_panorama
from skysegui.ml.toy import pyramid_crops, small_unet

TRAIN_SEED = 7


def _tiny_config():
    from skysegui.ml.model import preset

    return preset("tiny")


@pytest.fixture(scope="session")
def random_model(tmp_path_factory):
    """Random-init tiny model, saved and loaded back through the real model folder format."""
    import tf_keras as keras

    from skysegui.ml.model import ModelCard, build_model, load_model, save_model

    keras.utils.set_random_seed(0)
    cfg = _tiny_config()
    folder = tmp_path_factory.mktemp("models") / "tiny-random"
    save_model(build_model(cfg), ModelCard(config=cfg), folder)
    return load_model(folder)


@pytest.fixture(scope="session")
def panorama():
    return make_panorama(512, 256, seed=100, kind="day", skyline="mountains")


@pytest.fixture(scope="session")
def small_panorama():
    return make_panorama(256, 128, seed=5)


@pytest.fixture(scope="session")
def trained_model(panorama):
    """A small U-Net fitted (plain keras fit, 600 steps) on crops of synthetic day panoramas.

    The test panorama is among the training images: these tests measure the prediction
    machinery (seams, modes, accept), not how well a model generalises.
    """
    import tf_keras as keras

    from skysegui.ml.model import LoadedModel, ModelCard

    keras.utils.set_random_seed(TRAIN_SEED)
    pans = [make_panorama(512, 256, seed=s, kind="day", skyline="mountains") for s in range(5)]
    steps = 600
    x, y = pyramid_crops(pans + [panorama], 16 * steps, 64, np.random.default_rng(0))
    model = small_unet()
    model.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(1e-2, steps)), "binary_crossentropy")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    return LoadedModel(model=model, card=ModelCard(config=_tiny_config(), name="small-unet"), folder=None)


def _predictor(loaded, **kw):
    """The network's own masks: these tests are about tiling, seams and scale (snapping to
    the image's edges is tested in test_snap.py and below)."""
    from skysegui.ml.predict import Predictor

    kw.setdefault("tile", 64)
    kw.setdefault("snap", False)
    return Predictor(loaded, **kw)


# --- seams with the random-init model ------------------------------------------------
def _step_ratio(prob: np.ndarray, border_cols: set[int]) -> float:
    """Mean |horizontal difference| at border columns over the median elsewhere."""
    g = np.abs(np.diff(prob.astype(np.float64), axis=1)).mean(axis=0)  # g[x-1]: between x-1 and x
    cols = np.arange(1, prob.shape[1])
    at = np.isin(cols, sorted(border_cols))
    return float(g[at].mean() / np.median(g[~at]))


def test_report_mode_has_steps_at_patch_borders_quality_mode_has_none(random_model, small_panorama):
    from skysegui.core.tiling import plan_tiles

    h, w = small_panorama.sky.shape
    report = _predictor(random_model).predict(small_panorama.pixels, mode="report")
    patch = random_model.card.patch_size
    report_borders = set(range(patch, w, patch))
    assert _step_ratio(report.prob, report_borders) > 10.0  # measured: about 38

    predictor = _predictor(random_model, tile=64, overlap=0.25)
    quality = predictor.predict(small_panorama.pixels, mode="quality")
    plan = plan_tiles(h, w, 64, 0.25, wrap=True)
    tile_borders = set()
    for x0 in plan.xs:
        for edge in (x0, x0 + plan.tile_w):
            tile_borders.add(int((edge - plan.pad_left) % w))
    tile_borders.discard(0)
    # measured: about 1.1 (tile borders) and 1.5 (image content at the report's borders)
    assert _step_ratio(quality.prob, tile_borders) < 2.0
    assert _step_ratio(quality.prob, report_borders) < 2.0


@pytest.mark.parametrize("mode", ["quality", "fast"])
def test_prediction_is_continuous_across_the_360_degree_seam(random_model, small_panorama, mode):
    predictor = _predictor(random_model, fast_long_side=128)
    prob = predictor.predict(small_panorama.pixels, mode=mode).prob.astype(np.float64)
    seam = np.abs(prob[:, 0] - prob[:, -1]).mean()
    inner = np.abs(np.diff(prob, axis=1)).mean(axis=0)
    assert seam <= np.percentile(inner, 90)


def test_progress_counts_batches_and_cancel_stops_between_them(random_model, small_panorama):
    calls = []
    predictor = _predictor(random_model, batch_size=2)
    predictor.predict(small_panorama.pixels, mode="report", progress=lambda d, t, m: calls.append((d, t)))
    total = (128 // 64) * (256 // 64)
    assert calls[0] == (0, total) and calls[-1] == (total, total)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)

    token = CancelToken()

    def cancel_after_first(done, total, message):
        if done > 0:
            token.cancel()

    with pytest.raises(CancelledError):
        predictor.predict(small_panorama.pixels, mode="report", progress=cancel_after_first, cancel=token)


def test_half_float_input_gives_the_float32_result(random_model, small_panorama):
    predictor = _predictor(random_model)
    a = predictor.predict(small_panorama.pixels).prob
    b = predictor.predict(small_panorama.pixels.astype(np.float16)).prob
    assert np.abs(a - b).max() < 0.02


def test_outputs_have_the_image_size_for_odd_sizes(random_model):
    pixels = make_panorama(200, 100, seed=3).pixels[:77, :150]
    for mode in ("quality", "fast", "report"):
        pred = _predictor(random_model, fast_long_side=64).predict(pixels, mode=mode)
        assert pred.prob.shape == pred.mask.shape == pred.uncertainty.shape == (77, 150)
        assert pred.prob.dtype == np.float32 and pred.mask.dtype == np.uint8
        assert np.isfinite(pred.prob).all() and 0 <= pred.prob.min() and pred.prob.max() <= 1


def test_user_errors_are_typed(random_model, small_panorama):
    from skysegui.ml.predict import Predictor

    with pytest.raises(PredictionError, match="mode"):
        _predictor(random_model).predict(small_panorama.pixels, mode="best")
    with pytest.raises(PredictionError, match="shape"):
        _predictor(random_model).predict(np.zeros((4, 4, 4, 4), np.float32))
    with pytest.raises(PredictionError, match="multiple of 32"):
        Predictor(random_model, tile=100)
    with pytest.raises(PredictionError, match="overlap"):
        Predictor(random_model, overlap=0.9)
    with pytest.raises(PredictionError, match="window"):
        Predictor(random_model, window="box")
    with pytest.raises(PredictionError, match="upsampling"):
        Predictor(random_model, upsampler="nearest")


def test_real_hdr_panorama_predicts_in_fast_mode(random_model, hdri_dir):
    from skysegui.ml.predict import read_for_prediction

    image = read_for_prediction(hdri_dir / "city.exr")
    pred = _predictor(random_model, fast_long_side=256).predict(image, mode="fast")
    assert pred.prob.shape == (image.info.height, image.info.width)
    assert np.isfinite(pred.prob).all()


# --- prediction objects and files ------------------------------------------------------
def test_uncertainty_is_highest_where_the_model_hesitates():
    from skysegui.ml.predict import Prediction

    pred = Prediction.from_prob(np.array([[0.0, 0.25, 0.5, 0.75, 1.0]], np.float32))
    np.testing.assert_allclose(pred.uncertainty, [[0.0, 0.5, 1.0, 0.5, 0.0]])
    assert pred.mask.tolist() == [[0, 0, 1, 1, 1]]
    assert pred.uncertainty_score == pytest.approx(0.4)


@pytest.mark.parametrize("prob_format", ["png16", "tiff"])
def test_save_and_load_prediction_round_trip(tmp_path, prob_format):
    import cv2

    from skysegui.core.predictions import prediction_paths
    from skysegui.ml.predict import Prediction, load_prediction, save_prediction

    rng = np.random.default_rng(0)
    pred = Prediction.from_prob(rng.random((30, 40), dtype=np.float32))
    paths = save_prediction(pred, tmp_path, "some/dir/pano.exr", prob_format=prob_format)
    assert paths == prediction_paths(tmp_path, "pano.exr")
    mask_file = cv2.imread(str(paths.mask), cv2.IMREAD_UNCHANGED)
    assert mask_file.dtype == np.uint8 and set(np.unique(mask_file)) <= {0, 255}
    assert np.array_equal(mask_file > 0, pred.mask > 0)
    back = load_prediction(tmp_path, "pano.exr")
    tol = 1e-6 if prob_format == "tiff" else 1 / 65535
    assert np.abs(back.prob - pred.prob).max() <= tol
    assert np.array_equal(back.mask, pred.mask)
    unc = cv2.imread(str(paths.uncertainty), cv2.IMREAD_UNCHANGED)
    assert unc.dtype == np.uint8 and np.abs(unc / 255.0 - pred.uncertainty).max() <= 0.5 / 255 + 1e-6
    # Writing the other format removes the stale probability file.
    other = "tiff" if prob_format == "png16" else "png16"
    save_prediction(pred, tmp_path, "pano.exr", prob_format=other)
    assert [p.exists() for p in (paths.prob_png, paths.prob_tif)].count(True) == 1


def test_loading_a_missing_prediction_says_what_to_do(tmp_path):
    from skysegui.ml.predict import load_prediction

    with pytest.raises(PredictionError, match="skysegui predict"):
        load_prediction(tmp_path, "nothing.exr")


def test_batch_size_follows_the_memory_budget():
    from skysegui.ml.predict import BYTES_PER_PIXEL, MAX_BATCH, choose_batch_size

    assert choose_batch_size(1024, 1024, budget_bytes=1) == 1
    assert choose_batch_size(256, 256, budget_bytes=3 * 256 * 256 * BYTES_PER_PIXEL) == 3
    assert choose_batch_size(64, 64, budget_bytes=1 << 40) == MAX_BATCH


# --- edge-aware upsampling -------------------------------------------------------------
def test_guided_upsampling_snaps_the_mask_to_the_image_edge():
    import cv2

    from skysegui.core import refine

    h, w = 64, 256
    guide = np.full((h, w), 0.2, np.float32)
    guide[:, :101] = 0.8  # a sharp sky edge between columns 100 and 101
    truth = (guide > 0.5).astype(np.float32)
    low = cv2.resize(truth, (w // 8, h // 8), interpolation=cv2.INTER_AREA)
    errors = {}
    for method in refine.UPSAMPLERS:
        up = refine.upsample(low, guide, method)
        assert up.shape == (h, w) and up.dtype == np.float32
        errors[method] = np.abs((up >= 0.5) - truth).mean()
    assert errors["fast_guided"] < errors["bilinear"]
    assert errors["guided"] < errors["bilinear"]
    assert errors["fast_guided"] == 0.0
    with pytest.raises(ValueError):
        refine.upsample(low, guide, "nearest")


def test_guide_is_the_network_log_transform_of_luminance_for_any_dtype():
    from skysegui.core.refine import guide_image
    from skysegui.core.tonemap import hdr_log_transform, luminance

    pixels = np.random.default_rng(4).random((300, 70, 3), dtype=np.float32) * 40 - 0.5
    pixels[0, 0] = np.nan
    expected = np.clip(hdr_log_transform(luminance(np.nan_to_num(pixels))), 0, 1)
    np.testing.assert_allclose(guide_image(pixels, rows=64), expected, atol=1e-5)
    np.testing.assert_allclose(guide_image(pixels.astype(np.float16)), expected, atol=2e-3)


def test_wrap_aware_upscale_matches_resize_inside_and_wraps_at_the_seam():
    import cv2

    from skysegui.core.refine import upscale, wrap_pad

    low = np.tile(np.random.default_rng(2).random(32, dtype=np.float32), (16, 1))  # rows alike
    plain = cv2.resize(low, (256, 128), interpolation=cv2.INTER_LINEAR)
    wrapped = upscale(wrap_pad(low, 2), 256, 128, 2)
    np.testing.assert_allclose(wrapped[:, 8:-8], plain[:, 8:-8], atol=1e-6)
    # output column 0 sits 7/16 of a low-res pixel left of low column 0: it mixes in column 31
    expected = low[0, -1] * 7 / 16 + low[0, 0] * 9 / 16
    np.testing.assert_allclose(wrapped[:, 0], expected, atol=1e-5)


def test_dense_crf_is_optional():
    from skysegui.core import refine

    prob = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    out = refine.dense_crf(prob, np.zeros((8, 8, 3), np.uint8))
    assert out.shape == prob.shape
    if not refine.crf_available():
        assert np.array_equal(out, prob)


# --- with the trained model --------------------------------------------------------------
@pytest.mark.slow
def test_trained_model_finds_the_sky(trained_model, panorama):
    pred = _predictor(trained_model, tile=128, overlap=0.25).predict(panorama.pixels)
    assert iou(pred.mask, panorama.sky) > 0.95


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["quality", "fast"])
def test_the_users_predictions_are_snapped_to_the_edges_the_reports_are_not(trained_model, panorama, mode):
    from skysegui.ml.predict import Predictor
    from skysegui.ml.snap import snap_to_edges

    network = _predictor(trained_model, tile=128).predict(panorama.pixels, mode=mode).prob
    users = Predictor(trained_model, tile=128)  # the defaults of the window and the CLI
    snapped = users.predict(panorama.pixels, mode=mode)
    np.testing.assert_allclose(snapped.prob, snap_to_edges(panorama.pixels, network), atol=1e-6)
    assert iou(snapped.mask, panorama.sky) >= iou((network >= 0.5).astype(np.uint8), panorama.sky) - 0.01
    report = _predictor(trained_model, tile=128).predict(panorama.pixels, mode="report").prob
    np.testing.assert_array_equal(users.predict(panorama.pixels, mode="report").prob, report)


@pytest.mark.slow
def test_rolling_the_panorama_rolls_the_prediction(trained_model, panorama):
    predictor = _predictor(trained_model, tile=128, overlap=0.25)
    shift = panorama.sky.shape[1] // 2
    a = predictor.predict(panorama.pixels)
    b = predictor.predict(np.roll(panorama.pixels, shift, axis=1))
    back = np.roll(b.mask, -shift, axis=1)
    assert (back == a.mask).mean() >= 0.999
    assert np.abs(np.roll(b.prob, -shift, axis=1) - a.prob).mean() < 0.01


@pytest.mark.slow
def test_fast_mode_agrees_with_quality_mode(trained_model, panorama):
    predictor = _predictor(trained_model, tile=128, overlap=0.25, fast_long_side=384)
    quality = predictor.predict(panorama.pixels, mode="quality")
    fast = predictor.predict(panorama.pixels, mode="fast")
    assert iou(fast.mask, quality.mask) >= 0.98


@pytest.mark.slow
def test_accepted_prediction_saves_as_polygons_that_give_the_mask_back(trained_model, panorama, tmp_path):
    from skysegui.core.annotations import load_labels, mask_to_polygons, save_coco, sky_mask
    from skysegui.core.annotations.from_masks import labels_from_masks

    pred = _predictor(trained_model, tile=128, overlap=0.25).predict(panorama.pixels)
    assert mask_to_polygons(pred.mask)  # there is sky to accept
    labels = labels_from_masks({"pano.exr": pred.mask})
    save_coco(labels, tmp_path / "labels.json")
    reloaded = load_labels(tmp_path / "labels.json").labels
    record = reloaded.image_by_name("pano")
    raster = sky_mask(reloaded, record.id)
    assert iou(raster, pred.mask) >= 0.99
