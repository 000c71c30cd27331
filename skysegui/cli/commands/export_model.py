"""`skysegui export-model MODEL --format onnx|savedmodel --out DIR`: a model for other tools."""

from __future__ import annotations

import argparse

from skysegui.cli import options


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export-model",
        help="export a trained model to ONNX and/or a TensorFlow SavedModel, with its input contract",
        description="Write MODEL (a model folder: card.json + weights, e.g. <project>/models/<name>; "
        "or 'builtin') into the folder --out as model.onnx (tf2onnx; install with "
        "pip install 'skysegui[onnx]') and/or saved_model/ (TensorFlow only), beside "
        "contract.json and README.md: input NHWC float32 RGB after the model's transform "
        "(written out as a formula), its scale in pixels per degree, the size multiple, and "
        "the output (a sigmoid sky probability). Each export is run once and compared with the "
        "Keras model before it is kept. An existing --out is replaced only with --force "
        "(the previous one is kept as <out>.bak).",
    )
    p.add_argument("model", metavar="MODEL", help="model folder (with card.json), or 'builtin'")
    p.add_argument("--format", default="onnx", metavar="FORMAT",
                   help="onnx, savedmodel, or both comma-separated (onnx,savedmodel); default onnx")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--opset", type=int, default=None, metavar="N",
                   help="ONNX opset (default 17)")
    options.add_force(p)
    options.add_quiet(p)
    options.add_json(p)
    p.set_defaults(func=run)


def model_folder(value: str):
    """A MODEL argument: a folder, or 'builtin' for the built-in sky model."""
    from pathlib import Path

    if value.strip().lower() in ("builtin", "built-in"):
        from skysegui.core.errors import ExportError
        from skysegui.ml.builtin_model import builtin_model_dir, builtin_model_problem

        problem = builtin_model_problem()
        if problem:
            raise ExportError(f"cannot export the built-in sky model: {problem}")
        return builtin_model_dir()
    return Path(value)


def run(args: argparse.Namespace) -> int:
    from skysegui.ml.interop.export import DEFAULT_OPSET, export_model, parse_formats

    formats = parse_formats(args.format)
    result = export_model(model_folder(args.model), args.out, formats, force=args.force,
                          opset=args.opset or DEFAULT_OPSET, progress=options.progress_bar(args, "export-model"))
    contract = result.contract
    if options.wants_json(args):
        options.emit(args, {"out": result.folder, "files": result.files, "contract": contract}, "")
        return 0
    inp = contract["input"]
    print(f"exported {contract['model']} to {result.folder}")
    for fmt, path in result.files.items():
        check = contract["checks"].get(fmt, {})
        diff = check.get("max_abs_diff")
        said = (f"max |p - p_keras| {diff:.2g} on a {check['input_shape']} input" if diff is not None
                else f"not checked: {check.get('note', '')}")
        print(f"  {fmt:<10} {path}  ({said})")
    ppd = contract["scale"]["pixels_per_degree"]
    print(f"  contract   {result.folder / 'contract.json'}, README.md: {inp['layout']} {inp['dtype']}, "
          f"{inp['transform']['name']}: {inp['transform']['formula'].split('  ')[0]}; "
          + (f"{ppd:.4g} px/degree; " if ppd else "native resolution; ")
          + f"height and width multiples of {inp['size_multiple']}")
    return 0
