"""`skysegui masks COCO_JSON --images DIR --out DIR`: one PNG mask per labelled image.

Sky is 255, everything else 0, non-sky objects cut out of the sky (the pipeline's
convention); --classes writes the class map instead (0, 1 sky, 2 non-sky object).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from skysegui.cli import options
from skysegui.core.atomicio import write_bytes_atomic
from skysegui.core.errors import ExportError

if TYPE_CHECKING:
    import numpy as np
# numpy, OpenCV and the label code are imported when the command runs (`--help` stays fast)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "masks",
        help="write one PNG mask per image of a COCO, Label Studio, labelme or CVAT file",
        description="Rasterise the labels exactly as pycocotools does and write <image>.png "
        "per image into --out: sky 255, else 0 (non-sky objects cut out). If any of those "
        "files exists, nothing is written unless --force.",
    )
    p.add_argument("labels", metavar="LABELS",
                   help="COCO or Label Studio JSON, a labelme JSON or folder, or CVAT for images XML")
    options.add_images_dir(p)
    p.add_argument("--out", metavar="DIR", required=True, help="folder for the PNG masks")
    p.add_argument("--classes", action="store_true",
                   help="write class maps (0 background, 1 sky, 2 non-sky object) instead of 0/255")
    options.add_force(p)
    options.add_quiet(p)
    options.add_json(p)
    p.set_defaults(func=run)


def encode_png(mask: np.ndarray) -> bytes:
    import cv2

    ok, data = cv2.imencode(".png", mask)
    if not ok:
        raise ExportError("OpenCV could not encode the mask as PNG")
    return data.tobytes()


def _mask_stem(image, used: set[str]) -> str:
    """The panorama's own stem when it was found on disk, else the label's (label_stem);
    a name already written in this run keeps its full stem so no mask overwrites another."""
    from skysegui.core.annotations import clean_name
    from skysegui.core.annotations.names import label_stem

    stem = image.path.stem if image.path is not None else label_stem(image.file_name)
    if stem.casefold() in used:
        stem = clean_name(image.file_name, upload_prefix=False)
    base, n = stem, 1
    while stem.casefold() in used:  # still taken: a numbered name, never an overwrite
        n += 1
        stem = f"{base}-{n}"
    used.add(stem.casefold())
    return stem


def run(args) -> int:
    from skysegui.core.project_lock import writing_into

    with writing_into([args.out], "masks"):  # a window on that project is asked first
        return _run(args)


def _run(args) -> int:
    import numpy as np

    from skysegui.core.annotations import class_map, load_labels, sky_mask
    from skysegui.core.annotations.names import check_output_stem
    from skysegui.core.errors import UnsafeNameError

    result = load_labels(args.labels, images_dir=args.images)
    warnings = list(result.warnings)
    for warning in warnings:
        options.warn(args, warning)
    labels = result.labels
    out = Path(args.out)
    images = list(labels.images.values())
    planned = []
    used: set[str] = set()
    for image in images:
        try:
            stem = check_output_stem(_mask_stem(image, used))
        except UnsafeNameError as exc:  # a hostile or broken name: skip it, write the others
            warnings.append(f"image {image.id!r}: {exc}; no mask written for it")
            options.warn(args, warnings[-1])
            continue
        planned.append((image, stem))
    if not args.force:
        options.refuse_existing(out / f"{stem}.png" for _, stem in planned)
    progress = options.progress_bar(args, "masks")
    written = []
    for n, (image, stem) in enumerate(planned):
        if args.classes:
            mask = class_map(labels, image.id)
        else:
            mask = sky_mask(labels, image.id) * np.uint8(255)
        write_bytes_atomic(out / f"{stem}.png", encode_png(mask))
        written.append(out / f"{stem}.png")
        progress(n + 1, len(planned), image.file_name)
    options.emit(args, {"out": out, "written": written, "warnings": warnings},
                 f"wrote {len(written)} mask(s) to {out}")
    return 0
