"""Model factory, model card, save and load for the sky segmentation network.

A saved model is a folder with `card.json` (everything needed to rebuild the network and
feed it: architecture, backbone, decoder, input transform, patch size, plus dataset and
metrics) and `model.weights.h5`. Loading rebuilds the network from the card and loads the
weights, so no custom objects, losses or training config are ever needed to predict.

ImageNet encoder weights are used only when the file is already in the Keras cache
(~/.keras/models) or given as a path; otherwise the network starts from scratch and says
so once (a log warning and a note in the card). Nothing is downloaded.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import logging
import math
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import skysegui.ml  # noqa: F401  (selects tf-keras before TensorFlow is imported)
from skysegui.core.atomicio import atomic_write, write_text_atomic
from skysegui.core.errors import ModelError

log = logging.getLogger(__name__)

# Training and prediction may build networks in two threads at once (the window lets both
# run); building one at a time keeps each under its own precision policy.
_BUILD_LOCK = threading.RLock()

ARCHITECTURES = ("Unet", "FPN", "Linknet", "PSPNet")
DECODERS = ("upsampling", "transpose")
INPUT_TRANSFORMS = ("hdr_log", "ldr")
CARD_NAME = "card.json"
WEIGHTS_NAME = "model.weights.h5"
CARD_VERSION = 1
# The report's crop sizes: 256 px for HDR (log transform) input, 512 px for LDR (/255) input.
DEFAULT_PATCH = {"hdr_log": 256, "ldr": 512}
FROM_SCRATCH_NOTE = (
    "ImageNet encoder weights for {backbone} are not in the Keras cache ({where}) and no "
    "weights file was given: training starts from scratch (random encoder). To use "
    "pretrained weights offline, copy the file into that folder or set encoder_weights "
    "to its path."
)


@dataclass
class ModelConfig:
    """What defines a network: enough to rebuild it (and its input) from a card."""

    arch: str = "Unet"
    backbone: str = "resnet34"
    decoder: str = "upsampling"  # Unet/Linknet: "upsampling" or "transpose" convolutions
    encoder_weights: str | None = None  # None, "imagenet" (if cached) or a .h5 file path
    input_transform: str = "hdr_log"  # "hdr_log" (the report's log transform) or "ldr" (/255)
    patch_size: int = 256
    loss: str = "bce_jaccard"
    mixed_precision: bool = False
    decoder_filters: tuple[int, ...] | None = None  # None: segmentation_models' default
    # BatchNorm momentum; None keeps the backbone's (MobileNetV2: 0.999). A short run from
    # scratch needs ~0.9, or the inference-time statistics lag far behind the weights.
    bn_momentum: float | None = None
    # The scale the network works at, in pixels per degree of the panorama (an
    # equirectangular image W px wide has W / 360). Training resamples every labelled
    # image to it and prediction resamples every panorama to it, then brings the mask back
    # to full resolution edge-aware: an 8K panorama gets the mask of its 2K copy, sharper.
    # None: native resolution (the report's way; tiles of an 8K image lose their context).
    pixels_per_degree: float | None = None

    def validate(self) -> None:
        if self.arch not in ARCHITECTURES:
            raise ModelError(f"unknown architecture {self.arch!r}: choose one of {', '.join(ARCHITECTURES)}")
        if self.decoder not in DECODERS:
            raise ModelError(f"unknown decoder {self.decoder!r}: choose one of {', '.join(DECODERS)}")
        if self.input_transform not in INPUT_TRANSFORMS:
            raise ModelError(
                f"unknown input transform {self.input_transform!r}: choose one of {', '.join(INPUT_TRANSFORMS)}"
            )
        if self.pixels_per_degree is not None and not 0.05 <= self.pixels_per_degree <= 100:
            raise ModelError(
                f"scale {self.pixels_per_degree} px/degree is out of range: use e.g. 1.42 "
                "(a 512 px wide panorama) to 22.8 (8K), or none for native resolution"
            )
        multiple = size_multiple(self)
        if self.patch_size <= 0 or self.patch_size % multiple:
            raise ModelError(
                f"patch size {self.patch_size} does not fit {self.arch}: use a multiple of {multiple}"
            )
        from skysegui.ml.tf_import import import_segmentation_models

        Backbones = import_segmentation_models().Backbones

        if self.backbone not in Backbones.models_names() or self.backbone not in Backbones._default_feature_layers:
            raise ModelError(
                f"unknown backbone {self.backbone!r}: choose e.g. resnet18, resnet34, mobilenetv2, efficientnetb0"
            )

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if d["decoder_filters"] is not None:
            d["decoder_filters"] = list(d["decoder_filters"])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        """A config from a card's "config" object; a value of the wrong type or outside
        sane bounds is a ModelError, found before any network is built."""
        if not isinstance(d, dict):
            raise ModelError('"config" must be an object')
        known = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        for key in ("arch", "backbone", "decoder", "input_transform", "loss"):
            if key in kw and not isinstance(kw[key], str):
                raise ModelError(f'"{key}" must be text, not {_short(kw[key])}')
        if kw.get("encoder_weights") is not None and not isinstance(kw["encoder_weights"], str):
            raise ModelError(f'"encoder_weights" must be text or null, not {_short(kw["encoder_weights"])}')
        if "mixed_precision" in kw and not isinstance(kw["mixed_precision"], bool):
            raise ModelError(f'"mixed_precision" must be true or false, not {_short(kw["mixed_precision"])}')
        if "patch_size" in kw:
            kw["patch_size"] = _bounded_int("patch_size", kw["patch_size"], MAX_PATCH_SIZE)
        if kw.get("decoder_filters") is not None:
            filters = kw["decoder_filters"]
            if not isinstance(filters, list | tuple) or not 1 <= len(filters) <= 8:
                raise ModelError('"decoder_filters" must be a list of 1 to 8 numbers of filters')
            kw["decoder_filters"] = tuple(_bounded_int("decoder_filters", v, MAX_FILTERS) for v in filters)
            f = kw["decoder_filters"]  # two 3x3 convolutions a stage, fed by the one before
            weights = sum(9 * f[i] * (f[max(i - 1, 0)] + f[i]) for i in range(len(f)))
            if weights > MAX_DECODER_WEIGHTS:
                raise ModelError(
                    f'"decoder_filters" {list(kw["decoder_filters"])} would need about '
                    f"{weights * 4 / 1e9:.1f} GB of weights; the program builds at most "
                    f"{MAX_DECODER_WEIGHTS * 4 / 1e9:.1f} GB (e.g. [256, 128, 64, 32, 16])")
        for key in ("bn_momentum", "pixels_per_degree"):
            value = kw.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                      or not math.isfinite(value)):
                raise ModelError(f'"{key}" must be a number or null, not {_short(value)}')
        if kw.get("bn_momentum") is not None and not 0 <= kw["bn_momentum"] <= 1:
            raise ModelError(f'"bn_momentum" {kw["bn_momentum"]} must be between 0 and 1')
        return cls(**kw)


def panorama_width(pixels_per_degree: float) -> int:
    """Width of a 360-degree panorama at this scale (512 px at 1.42 px/degree)."""
    return max(1, int(round(360.0 * pixels_per_degree)))


PRESETS: dict[str, ModelConfig] = {
    # The pipeline report's network, at 1024 px panorama width (2.8 px/degree).
    "default": ModelConfig(arch="Unet", backbone="resnet34", decoder="upsampling",
                           pixels_per_degree=1024 / 360),
    # Small enough to train on a laptop CPU: a 256 px crop at 512 px panorama width spans
    # the whole height (zenith to nadir) and a quarter of the horizon, so every crop has
    # the context that tells sky from a white wall; the edge comes from the full-resolution
    # edge-aware upsampling at prediction.
    "cpu": ModelConfig(arch="Unet", backbone="mobilenetv2", decoder="upsampling",
                       decoder_filters=(128, 64, 32, 16, 16), pixels_per_degree=512 / 360),
    # For tests and demos: a few seconds per hundred steps on small crops.
    "tiny": ModelConfig(arch="Unet", backbone="mobilenetv2", decoder="upsampling",
                        patch_size=64, decoder_filters=(32, 16, 16, 8, 8), bn_momentum=0.9),
}


def preset(name: str, **overrides) -> ModelConfig:
    """A copy of PRESETS[name] with some fields replaced."""
    if name not in PRESETS:
        raise ModelError(f"unknown model preset {name!r}: choose one of {', '.join(PRESETS)}")
    return dataclasses.replace(PRESETS[name], **overrides)


def size_multiple(config: ModelConfig) -> int:
    """Input height and width must be multiples of this (PSPNet: 6 x its downsampling of 8)."""
    return 48 if config.arch == "PSPNet" else 32


def keras_cache_dirs() -> list[Path]:
    """Where tf-keras' get_file looks for cached files (the same rule it applies)."""
    base = Path(os.path.expanduser("~")) / ".keras"
    return [base / "models", Path("/tmp/.keras/models")]


def cached_imagenet_weights(backbone: str) -> Path | None:
    """The already-downloaded ImageNet no-top weights of `backbone`, or None. Never downloads."""
    names = _imagenet_file_names(backbone)
    for folder in keras_cache_dirs():
        for name in names:
            if (folder / name).is_file():
                return folder / name
    return None


def _imagenet_file_names(backbone: str) -> list[str]:
    from classification_models.weights import WEIGHTS_COLLECTION

    names = [
        w["name"]
        for w in WEIGHTS_COLLECTION
        if w["model"] == backbone and w["dataset"] == "imagenet" and not w["include_top"]
    ]
    if backbone == "mobilenetv2":
        names.append("mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5")
    elif backbone.startswith("efficientnet"):
        names.append(f"efficientnet-{backbone[-2:]}_weights_tf_dim_ordering_tf_kernels_autoaugment_notop.h5")
    elif backbone in ("vgg16", "vgg19"):
        names.append(f"{backbone}_weights_tf_dim_ordering_tf_kernels_notop.h5")
    return names


def resolve_encoder_weights(config: ModelConfig) -> tuple[str | None, str]:
    """(what to pass to segmentation_models, a note for the card). Never triggers a download."""
    w = config.encoder_weights
    if w is None:
        return None, "encoder initialised at random (no pretrained weights requested)"
    if w == "imagenet":
        cached = cached_imagenet_weights(config.backbone)
        if cached is not None:
            # The path, not "imagenet": segmentation_models then loads it without get_file.
            return str(cached), f"ImageNet encoder weights from the Keras cache ({cached})"
        where = ", ".join(str(p) for p in keras_cache_dirs())
        return None, FROM_SCRATCH_NOTE.format(backbone=config.backbone, where=where)
    path = Path(w).expanduser()
    if not path.is_file():
        raise ModelError(
            f"encoder weights file {path} does not exist: give the path of a .h5 file, "
            "'imagenet' (used only if cached) or nothing to start from scratch"
        )
    return str(path), f"encoder weights from {path}"


def build_model(config: ModelConfig, notes: list[str] | None = None,
                input_size: tuple[int, int] | None = None):
    """A segmentation_models network for `config` with a float32 sigmoid output.

    `notes`, when given, receives one line on where the encoder weights came from
    (the from-scratch fallback is also logged once as a warning). With mixed precision
    the layers compute in float16 but the output stays float32 (sm's metrics need it).
    PSPNet has a fixed input size: `input_size` (height, width), default the patch size.
    """
    config.validate()
    from skysegui.ml.tf_import import import_segmentation_models

    sm = import_segmentation_models()
    import tf_keras as keras

    weights, note = resolve_encoder_weights(config)
    if config.encoder_weights is not None and weights is None:
        log.warning(note)
    if notes is not None:
        notes.append(note)

    with _BUILD_LOCK:  # the precision policy and Keras' layer-name counters are global
        return _build_network(config, weights, input_size, sm, keras)


def _build_network(config: ModelConfig, weights, input_size, sm, keras):
    previous = keras.mixed_precision.global_policy()
    if config.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        kwargs: dict[str, Any] = dict(encoder_weights=weights, classes=1, activation="linear")
        if config.arch == "PSPNet":
            kwargs["input_shape"] = (*(input_size or (config.patch_size, config.patch_size)), 3)
        else:
            kwargs["input_shape"] = (None, None, 3)
        if config.arch in ("Unet", "Linknet"):
            kwargs["decoder_block_type"] = config.decoder
            if config.decoder_filters is not None:
                kwargs["decoder_filters"] = tuple(config.decoder_filters)
        try:
            net = getattr(sm, config.arch)(config.backbone, **kwargs)
        except (ValueError, OSError) as exc:
            raise ModelError(f"cannot build {config.arch} with {config.backbone}: {exc}") from exc
        if config.bn_momentum is not None:
            for layer in net.layers:
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.momentum = float(config.bn_momentum)
        out = keras.layers.Activation("sigmoid", dtype="float32", name="sky_probability")(net.output)
        model = keras.Model(net.input, out, name=f"{config.arch}_{config.backbone}")
    finally:
        keras.mixed_precision.set_global_policy(previous)
    return model


def fixed_input_size(model) -> tuple[int, int] | None:
    """(height, width) a network only accepts (PSPNet), or None when any size fits."""
    try:
        h, w = model.input_shape[1], model.input_shape[2]
    except (AttributeError, IndexError, TypeError):
        return None
    return (int(h), int(w)) if h is not None and w is not None else None


def rebuild_for_input(model, config: ModelConfig, height: int, width: int):
    """The same network and weights for another input size (PSPNet's pooling follows the
    input size, its weights do not), so tiles of any size can be predicted."""
    clone = build_model(dataclasses.replace(config, encoder_weights=None, mixed_precision=False),
                        input_size=(height, width))
    clone.set_weights(model.get_weights())
    return clone


@dataclass
class ModelCard:
    """The JSON card saved beside the weights: how to rebuild, feed and judge the model."""

    config: ModelConfig = field(default_factory=ModelConfig)
    name: str = ""
    dataset: dict[str, Any] = field(default_factory=dict)  # images, split, crops, cache id
    metrics: dict[str, float] = field(default_factory=dict)  # e.g. val_iou, val_f1, loss
    date: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    epoch: int = 0  # epochs completed when these weights were saved
    notes: list[str] = field(default_factory=list)  # e.g. the from-scratch message
    # {"status": "ok" | "trivial" | "unstable", "message": ...} (skysegui.ml.quality)
    verdict: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # unknown keys survive a round trip
    #: sha256 of the weights file saved with this card: a reader checks that the two belong
    #: together (another process may be saving the model as it reads); "" on older cards
    weights_sha256: str = ""

    @property
    def learnt(self) -> bool:
        """False when training judged this model no better than a constant mask (or
        unstable). Cards without a verdict (older ones) count as learnt."""
        return self.verdict.get("status", "ok") == "ok"

    @property
    def pixels_per_degree(self) -> float | None:
        return self.config.pixels_per_degree

    @property
    def input_transform(self) -> str:
        return self.config.input_transform

    @property
    def patch_size(self) -> int:
        return self.config.patch_size

    def to_json(self) -> str:
        d = {
            "card_version": CARD_VERSION,
            "name": self.name,
            "architecture": self.config.arch,
            "backbone": self.config.backbone,
            "decoder": self.config.decoder,
            "input_transform": self.config.input_transform,
            "patch_size": self.config.patch_size,
            "config": self.config.to_dict(),
            "dataset": self.dataset,
            "metrics": self.metrics,
            "date": self.date,
            "epoch": self.epoch,
            "notes": self.notes,
            "verdict": self.verdict,
            "pixels_per_degree": self.config.pixels_per_degree,
            "weights": WEIGHTS_NAME,
            "weights_sha256": self.weights_sha256,
        }
        d.update({k: v for k, v in self.extra.items() if k not in d})
        return json.dumps(d, indent=2, default=_json_default)

    @classmethod
    def from_json(cls, text: str, source: str = "card.json") -> ModelCard:
        try:
            d = json.loads(text)
            if not isinstance(d, dict):
                raise TypeError("the card must be a JSON object")
            config = ModelConfig.from_dict(d["config"])
            own = {"card_version", "name", "architecture", "backbone", "decoder", "input_transform",
                   "patch_size", "config", "dataset", "metrics", "date", "epoch", "notes", "weights",
                   "verdict", "pixels_per_degree", "weights_sha256"}
            epoch = d.get("epoch", 0)
            if isinstance(epoch, bool) or not isinstance(epoch, int | float) or not 0 <= epoch < 1e9:
                raise TypeError(f'"epoch" must be a whole number, not {_short(epoch)}')
            return cls(
                config=config,
                name=str(d.get("name", "")),
                dataset=_object(d, "dataset"),
                # scores only: a text or object where a score belongs would break every display
                metrics={str(k): v for k, v in _object(d, "metrics").items()
                         if isinstance(v, int | float) and not isinstance(v, bool)},
                date=str(d.get("date", "")),
                epoch=int(epoch),
                notes=[str(n) for n in _list(d, "notes")],
                verdict=({str(k): str(v) for k, v in d["verdict"].items()}
                         if isinstance(d.get("verdict"), dict) else {}),
                extra={k: v for k, v in d.items() if k not in own},
                weights_sha256=str(d.get("weights_sha256", "")),
            )
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError, ModelError) as exc:
            raise ModelError(
                f"{source} is not a valid model card ({exc}): train the model again or "
                "restore the card from a backup"
            ) from exc


MAX_PATCH_SIZE = 4096  # px: no network input side beyond this is built from a card
MAX_FILTERS = 4096  # per decoder stage
MAX_DECODER_WEIGHTS = 250_000_000  # about 1 GB of float32 decoder weights at most


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, dict | list) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _bounded_int(key: str, value: Any, top: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
        raise ModelError(f'"{key}" must hold whole numbers from 1 to {top}, not {_short(value)}')
    return value


def _object(d: dict, key: str) -> dict:
    value = d.get(key) or {}
    if not isinstance(value, dict):
        raise TypeError(f'"{key}" must be an object, not {_short(value)}')
    return dict(value)


def _list(d: dict, key: str) -> list:
    value = d.get(key) or []
    if not isinstance(value, list):
        raise TypeError(f'"{key}" must be a list, not {_short(value)}')
    return value


def _json_default(o):
    try:
        return o.item()  # numpy scalars
    except AttributeError:
        return str(o)


@dataclass
class LoadedModel:
    model: Any  # tf_keras.Model
    card: ModelCard
    folder: Path


def save_model(model, card: ModelCard, folder: str | os.PathLike) -> Path:
    """Write weights then card.json into `folder`, each atomically; returns the folder.

    The card names the sha256 of its weights, so the pair is one unit for a reader in
    another process: between the two renames it sees new weights beside the old card, and
    load_model waits for the card that matches instead of loading a mixed model."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not card.name:
        card.name = folder.name
    with atomic_write(folder / WEIGHTS_NAME) as tmp:
        # The temporary name does not end in ".weights.h5", so tf-keras writes its legacy
        # HDF5 layout, matched by layer order rather than auto-generated layer names.
        model.save_weights(str(tmp), save_format="h5")
        card.weights_sha256 = file_sha256(tmp)
    write_text_atomic(folder / CARD_NAME, card.to_json())
    return folder


def file_sha256(path: str | os.PathLike) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


CONSISTENT_READ_TRIES = 20  # reads of a model folder that keeps changing under the reader
SETTLE_S = 1.0  # a save writes its card within ms of its weights: still this long = not saving


def read_card(folder: str | os.PathLike) -> ModelCard:
    card_path = Path(folder) / CARD_NAME
    if not card_path.is_file():
        raise ModelError(
            f"{folder} is not a model folder (no {CARD_NAME}): choose a folder made by "
            "training, e.g. <project>/models/<name>"
        )
    try:
        text = card_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{card_path} cannot be read ({exc}): train the model again or restore it") from exc
    return ModelCard.from_json(text, source=str(card_path))


def load_model(folder: str | os.PathLike) -> LoadedModel:
    """Rebuild the network from the card and load its weights (no custom objects)."""
    folder = Path(folder)
    card = read_card(folder)
    weights = folder / WEIGHTS_NAME
    if not weights.is_file():
        raise ModelError(
            f"{weights} is missing: the model folder is incomplete; train again or copy "
            "the weights file back"
        )
    with tempfile.TemporaryDirectory(prefix="skysegui-weights-") as tmp:
        card, private = _weights_matching_card(folder, card, Path(tmp))
        config = dataclasses.replace(card.config, encoder_weights=None, mixed_precision=False)
        try:
            model = build_model(config)
        except ModelError as exc:  # a card's bad value (e.g. an unknown input transform)
            if str(folder) in str(exc):
                raise
            raise ModelError(f"{folder / CARD_NAME}: {exc}") from exc
        _load_weights(model, card, weights, private)
    return LoadedModel(model=model, card=card, folder=folder)


def _weights_matching_card(folder: Path, card: ModelCard, tmp: Path) -> tuple[ModelCard, Path]:
    """A private copy of the folder's weights and the card they were saved with.

    Another process may be saving this model as it is read (weights first, then the card
    with their hash): a copy whose hash is not the card's is read again once the card has
    caught up. When nothing in the folder moves for SETTLE_S, the weights are not the ones
    the card was saved with: damaged, or copied in by hand. Cards without a hash (older
    models) take the weights as they are."""
    weights = folder / WEIGHTS_NAME
    private = tmp / "weights.h5"  # a plain ".h5" name: see load_weights_h5
    still_since, last_state = time.monotonic(), None
    for _ in range(CONSISTENT_READ_TRIES):
        shutil.copyfile(weights, private)
        if not card.weights_sha256 or file_sha256(private) == card.weights_sha256:
            return card, private
        state = (_stamp(weights), _stamp(folder / CARD_NAME))
        if state != last_state:
            still_since, last_state = time.monotonic(), state
        while time.monotonic() - still_since < SETTLE_S:
            time.sleep(SETTLE_S / 5)
            if (_stamp(weights), _stamp(folder / CARD_NAME)) != last_state:
                break
        else:
            raise ModelError(
                f"cannot load {weights}: it is corrupt, or it is not the weights file saved with "
                f"{folder / CARD_NAME} (their sha256 differ); train the model again or restore the folder"
            )
        card = read_card(folder)
    raise ModelError(
        f"{folder} keeps changing as it is read: another program is writing this model right "
        "now; try again when it has finished"
    )


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _load_weights(model, card: ModelCard, weights: Path, private: Path) -> None:
    try:
        model.load_weights(str(private))
    except (ValueError, OSError, KeyError, IndexError) as exc:
        raise ModelError(
            f"cannot load {weights}: it is corrupt or does not match the card "
            f"({card.config.arch} + {card.config.backbone}) ({exc}); train the model again"
        ) from exc


def load_weights_h5(model, path: str | os.PathLike) -> None:
    """Load weights written by save_model (legacy HDF5 layout, by layer order).

    tf-keras's public Model.load_weights reads that layout from a name ending in ".h5" but
    takes a name ending in ".weights.h5" (WEIGHTS_NAME) for the Keras 3 layout, so it is
    given a link to the file under a plain ".h5" name (a copy where links are refused)."""
    source = Path(path).resolve()
    with tempfile.TemporaryDirectory(prefix="skysegui-weights-") as tmp:
        alias = Path(tmp) / "weights.h5"
        try:
            alias.symlink_to(source)
        except OSError:  # e.g. Windows without the right to make links
            shutil.copyfile(source, alias)
        model.load_weights(str(alias))


def list_models(models_dir: str | os.PathLike) -> list[Path]:
    """Model folders (with a card) under a project's models/ folder, newest first."""
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        return []
    found = [p for p in models_dir.iterdir() if (p / CARD_NAME).is_file()]
    return sorted(found, key=lambda p: (p / CARD_NAME).stat().st_mtime, reverse=True)
