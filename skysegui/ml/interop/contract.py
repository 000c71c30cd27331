"""What an exported model needs and gives, written beside it: contract.json and README.md.

Another tool that runs model.onnx or saved_model/ must feed it exactly what training fed
the network: NHWC float32 RGB after the card's input transform, at the card's scale, in
sizes the network takes. This module turns a ModelCard into that contract (plain data,
no TensorFlow). The formula's constants are the ones core/tonemap/transforms.py uses.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

from skysegui import __version__
from skysegui.core.tonemap.transforms import LOG_EPS, LOG_SCALE, LOG_SHIFT
from skysegui.ml.model import ModelCard, panorama_width, size_multiple

CONTRACT_NAME = "contract.json"
README_NAME = "README.md"
ONNX_NAME = "model.onnx"
SAVEDMODEL_NAME = "saved_model"
INPUT_NAME = "input"
OUTPUT_NAME = "sky_probability"  # the name of the network's last layer (ml/model.py)
SIGNATURE = "serving_default"
CONTRACT_VERSION = 1
THRESHOLD = 0.5
# skysegui's own tiling of a panorama (ml/predict.py, quality mode), as advice
TILE_ADVICE = {"tile": 1024, "overlap": 0.125, "window": "hann",
               "wrap": "pad the panorama left and right with its own opposite edge (360-degree seam)"}


def transform_description(transform: str) -> dict[str, Any]:
    """The input transform in words, as a formula and as numpy code (exact constants)."""
    if transform == "hdr_log":
        return {
            "name": "hdr_log",
            "source": "linear scene-referred RGB, e.g. the R, G, B channels of an OpenEXR or "
                      "Radiance .hdr file, as float",
            "formula": f"y = (ln(max(x, 0) + {LOG_EPS:g}) + {LOG_SHIFT:g}) * {LOG_SCALE!r}  "
                       "(= (ln(x + 1e-3) + 2.5) / 4.4, per channel)",
            "numpy": f"y = (np.log(np.maximum(np.nan_to_num(x, nan=0.0, neginf=0.0), 0) + {LOG_EPS!r})"
                     f" + {LOG_SHIFT!r}) * {LOG_SCALE!r}",
            "constants": {"eps": LOG_EPS, "shift": LOG_SHIFT, "scale": LOG_SCALE},
            "range": [(math.log(LOG_EPS) + LOG_SHIFT) * LOG_SCALE, None],
            "notes": "NaN becomes 0 and +Inf the largest float32 before the transform; "
                     "negative values (real EXRs hold small ones) are clamped to 0 before the "
                     "log, so the input is never NaN. Reference implementation: "
                     "skysegui.core.tonemap.transforms.hdr_log_transform.",
        }
    if transform == "ldr":
        return {
            "name": "ldr",
            "source": "display-referred sRGB values (a JPEG or PNG file's values)",
            "formula": "y = file value / 255 (8-bit; 16-bit files / 65535), i.e. the "
                       "sRGB-encoded value in 0..1",
            "numpy": "y = rgb_uint8.astype(np.float32) / 255",
            "constants": {"scale": 1 / 255},
            "range": [0.0, 1.0],
            "notes": "From linear RGB: clip to 0..1 and apply the exact sRGB curve "
                     "(IEC 61966-2-1; skysegui.core.tonemap.srgb_encode).",
        }
    raise ValueError(f"unknown input transform {transform!r}")


def make_contract(card: ModelCard, files: dict[str, str], fixed_size: tuple[int, int] | None,
                  checks: dict[str, dict] | None = None, onnx_opset: int | None = None) -> dict[str, Any]:
    """contract.json's content for a model card and the exported files."""
    config = card.config
    ppd = config.pixels_per_degree
    scale: dict[str, Any] = {"pixels_per_degree": ppd}
    if ppd is None:
        scale["note"] = ("native resolution: the model was trained on panoramas at their own "
                         "size; feed the image as it is")
    else:
        scale["panorama_width"] = panorama_width(ppd)
        scale["note"] = (f"resample the equirectangular panorama to {panorama_width(ppd)} x "
                         f"{panorama_width(ppd) // 2} px (width = 360 x pixels_per_degree; "
                         "area filter) before the transform, predict, and bring the "
                         "probability back to full size (skysegui does this edge-aware)")
    metrics = {k: v for k, v in card.metrics.items()
               if k in ("val_miou", "val_iou", "val_all_sky_miou", "val_no_sky_miou", "loss", "val_loss")}
    return {
        "contract_version": CONTRACT_VERSION,
        "model": card.name,
        "architecture": config.arch,
        "backbone": config.backbone,
        "files": files,
        "input": {
            "name": INPUT_NAME,
            "layout": "NHWC",
            "dtype": "float32",
            "shape": ["batch", "height", "width", 3] if fixed_size is None else ["batch", *fixed_size, 3],
            "channels": ["R", "G", "B"],
            "size_multiple": size_multiple(config),
            "fixed_size": list(fixed_size) if fixed_size else None,
            "transform": transform_description(config.input_transform),
        },
        "output": {
            "name": OUTPUT_NAME,
            "layout": "NHWC",
            "dtype": "float32",
            "shape": ["batch", "height", "width", 1],
            "activation": "sigmoid",
            "meaning": "probability (0..1) that the pixel is sky (class 1); non-sky objects "
                       "inside the sky (class 2) and everything else count as not sky",
            "threshold": THRESHOLD,
        },
        "scale": scale,
        "training_crop": config.patch_size,
        "tiling": {**TILE_ADVICE, "tile": fixed_size[0]} if fixed_size else dict(TILE_ADVICE),
        "savedmodel_signature": SIGNATURE if "savedmodel" in files else None,
        "onnx_opset": onnx_opset if "onnx" in files else None,
        "metrics": metrics,
        "verdict": card.verdict,
        "checks": checks or {},
        "exported_by": f"skysegui {__version__}",
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def make_readme(contract: dict[str, Any]) -> str:
    """README.md beside the export: the contract in words, with a runnable example."""
    inp, out, scale = contract["input"], contract["output"], contract["scale"]
    t = inp["transform"]
    files = contract["files"]
    size = (f"exactly {inp['fixed_size'][0]} x {inp['fixed_size'][1]} px" if inp["fixed_size"]
            else f"any height and width that are multiples of {inp['size_multiple']}")
    lines = [
        f"# Sky model {contract['model']} ({contract['architecture']} + {contract['backbone']})",
        "",
        f"Exported by {contract['exported_by']} on {contract['date']}. The same facts as data: "
        f"`{CONTRACT_NAME}`.",
        "",
        "## Files",
        "",
    ]
    if "onnx" in files:
        lines.append(f"- `{files['onnx']}`: ONNX (opset {contract.get('onnx_opset', '?')}), e.g. for "
                     "onnxruntime, OpenCV DNN, TensorRT.")
    if "savedmodel" in files:
        lines.append(f"- `{files['savedmodel']}/`: TensorFlow SavedModel, signature `{SIGNATURE}` "
                     f"(`{inp['name']}` -> `{out['name']}`), e.g. for TF Serving or "
                     "`tf.saved_model.load`.")
    lines += [
        "",
        "## Input",
        "",
        f"- Tensor `{inp['name']}`: {inp['layout']} {inp['dtype']}, batch x height x width x 3 (R, G, B);",
        f"  {size}.",
        f"- Source: {t['source']}.",
        f"- Transform (`{t['name']}`): {t['formula']}",
        f"  - numpy: `{t['numpy']}`",
        f"  - {t['notes']}",
        f"- Scale: {scale['note']}"
        + (f" ({scale['pixels_per_degree']:.4g} px per degree)." if scale.get("pixels_per_degree") else "."),
        "",
        "## Output",
        "",
        f"- Tensor `{out['name']}`: {out['layout']} {out['dtype']}, batch x height x width x 1, "
        f"after a {out['activation']}: {out['meaning']}. Sky mask: probability >= {out['threshold']}.",
        "",
        "## Whole panoramas",
        "",
        f"Predict tiles of about {contract['tiling']['tile']} px overlapping by "
        f"{contract['tiling']['overlap']:.1%}, blended with a {contract['tiling']['window']} window; "
        f"{contract['tiling']['wrap']}. The network was trained on {contract['training_crop']} px crops.",
        "",
    ]
    checks = contract.get("checks") or {}
    if checks:
        lines += ["## Checked at export", ""]
        for fmt, c in checks.items():
            if c.get("max_abs_diff") is not None:
                lines.append(f"- {fmt}: predicts a {c['input_shape']} input within "
                             f"{c['max_abs_diff']:.2g} of the Keras model (tolerance {c['tolerance']:g}).")
            else:
                lines.append(f"- {fmt}: not run ({c.get('note', '')}).")
        lines.append("")
    lines += [
        "## Example (onnxruntime)" if "onnx" in files else "## Example (TensorFlow)",
        "",
        "```python",
        "import numpy as np",
    ]
    if "onnx" in files:
        lines += [
            "import onnxruntime as ort",
            f"session = ort.InferenceSession('{files['onnx']}')",
            "x = ...  # float32 H x W x 3, " + t["source"].split(",")[0],
            t["numpy"],
            f"prob = session.run(['{out['name']}'], {{'{inp['name']}': y[None].astype(np.float32)}})[0][0, ..., 0]",
        ]
    else:
        lines += [
            "import tensorflow as tf",
            f"serve = tf.saved_model.load('{files['savedmodel']}').signatures['{SIGNATURE}']",
            "x = ...  # float32 H x W x 3, " + t["source"].split(",")[0],
            t["numpy"],
            f"prob = serve({inp['name']}=tf.constant(y[None], tf.float32))['{out['name']}'].numpy()[0, ..., 0]",
        ]
    lines += ["sky = prob >= 0.5", "```", ""]
    return "\n".join(lines)
