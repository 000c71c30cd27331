"""`skysegui masks COCO_JSON --images DIR --out DIR`: one PNG mask per labelled image.

Sky is 255, everything else 0, non-sky objects cut out of the sky (the pipeline's
convention); --classes writes the class map instead (0, 1 sky, 2 non-sky object).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from skysegui.cli.progress import ProgressBar
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
        "per image into --out: sky 255, else 0 (non-sky objects cut out).",
    )
    p.add_argument("labels", metavar="LABELS",
                   help="COCO or Label Studio JSON, a labelme JSON or folder, or CVAT for images XML")
    p.add_argument("--images", metavar="DIR",
                   help="folder of the panoramas (real sizes; labels drawn on proxies are rescaled)")
    p.add_argument("--out", metavar="DIR", required=True, help="folder for the PNG masks")
    p.add_argument("--classes", action="store_true",
                   help="write class maps (0 background, 1 sky, 2 non-sky object) instead of 0/255")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no warnings")
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
    used.add(stem.casefold())
    return stem


def run(args) -> int:
    import numpy as np

    from skysegui.core.annotations import class_map, load_labels, sky_mask

    result = load_labels(args.labels, images_dir=args.images)
    if not args.quiet:
        for warning in result.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    labels = result.labels
    out = Path(args.out)
    images = list(labels.images.values())
    progress = None if args.quiet else ProgressBar("masks")
    written = 0
    used: set[str] = set()
    for n, image in enumerate(images):
        if args.classes:
            mask = class_map(labels, image.id)
        else:
            mask = sky_mask(labels, image.id) * np.uint8(255)
        write_bytes_atomic(out / f"{_mask_stem(image, used)}.png", encode_png(mask))
        written += 1
        if progress:
            progress(n + 1, len(images), image.file_name)
    print(f"wrote {written} mask(s) to {out}")
    return 0
