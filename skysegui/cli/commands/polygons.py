"""`skysegui polygons MASK_DIR --images DIR --out COCO_JSON`: masks made elsewhere
(Photoshop, another tool, old predictions) to editable COCO polygons with holes.

Masks are matched to the panoramas by cleaned name ("city.png", "city_mask.png" and
"city.mask.png" all belong to city.exr); polygons are scaled to the real image size.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from skysegui.cli import options
from skysegui.core.errors import AnnotationError, ImageReadError, SkysegError

if TYPE_CHECKING:
    import numpy as np
# numpy and the label and image code are imported when the command runs (`--help` stays fast)

MASK_EXTENSIONS = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")
_MASK_SUFFIX = re.compile(r"([._-](mask|sky|matte|alpha))+$", re.IGNORECASE)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "polygons",
        help="turn a folder of mask images into COCO polygons (holes kept)",
        description="Trace every mask in MASK_DIR (white/1 = sky) into polygons with holes "
        "and write one COCO file that the editor, pycocotools and Label Studio read. An "
        "existing --out is replaced only with --force.",
    )
    p.add_argument("masks", metavar="MASK_DIR", help="folder of mask images")
    options.add_images_dir(p, " (recommended)")
    p.add_argument("--out", metavar="COCO_JSON", required=True, help="COCO file to write")
    p.add_argument("--simplify", type=float, default=1.0, metavar="PX",
                   help="largest simplification of an outline in pixels (default 1.0): an outline "
                   "is simplified less where it would lose more than 0.3 %% of its pixels; 0 keeps "
                   "every corner (formerly --tolerance)")
    options.deprecated_alias(p, "--tolerance", "--simplify PX", dest="simplify", type=float)
    p.add_argument("--min-area", type=float, default=4.0,
                   help="drop regions and holes smaller than this many pixels (default 4)")
    options.add_force(p)
    options.add_quiet(p)
    options.add_json(p)
    p.set_defaults(func=run)


def mask_key(path: Path) -> str:
    """Name key of the image a mask file belongs to."""
    from skysegui.core.annotations import name_key

    return name_key(_MASK_SUFFIX.sub("", path.stem))


def mask_image(on_disk: dict[str, Path], path: Path) -> Path | None:
    """The panorama (from index_images) a mask file belongs to."""
    from skysegui.core.annotations.names import find_image

    return find_image(on_disk, _MASK_SUFFIX.sub("", path.stem))


def read_mask(path: Path) -> np.ndarray:
    from skysegui.core.imageio.planes import read_stored

    return read_stored(path, ImageReadError, "export the mask again")


def run(args) -> int:
    from skysegui.core.project_lock import writing_into

    with writing_into([args.out], "polygons"):  # --out into a project open in a window: refused
        return _run(args)


def _run(args) -> int:
    from skysegui.core.annotations import labels_from_masks, save_coco
    from skysegui.core.annotations.names import index_images

    mask_dir = Path(args.masks)
    if not args.force:
        options.refuse_existing([args.out])
    if not mask_dir.is_dir():
        raise AnnotationError(f"{mask_dir} is not a folder of masks")
    files = sorted(p for p in mask_dir.iterdir() if p.suffix.lower() in MASK_EXTENSIONS and not p.name.startswith("."))
    if not files:
        raise AnnotationError(f"no mask images ({', '.join(MASK_EXTENSIONS)}) in {mask_dir}")
    on_disk = index_images(args.images) if args.images else {}
    if args.images and not on_disk:
        raise AnnotationError(f"no panoramas in {args.images}; check the --images folder")
    masks, sizes, paths, warnings = {}, {}, {}, []
    progress = options.progress_bar(args, "polygons")
    for n, path in enumerate(files):
        key = mask_key(path)
        image_path = mask_image(on_disk, path)
        if args.images and image_path is None:
            warnings.append(f"{path.name}: no panorama named {key!r} in {args.images}; skipped")
            continue
        # without --images the image is known by the mask's name minus "_mask" & co.
        name = image_path.name if image_path else _MASK_SUFFIX.sub("", path.stem) + path.suffix
        masks[name] = read_mask(path)
        paths[name] = image_path
        if image_path is not None:
            try:
                from skysegui.core.imageio import probe_image

                info = probe_image(image_path)
                sizes[name] = (int(info.width), int(info.height))
            except SkysegError as exc:
                warnings.append(f"{image_path.name}: size unknown ({exc}); using the mask's")
            mh, mw = masks[name].shape[:2]
            if name in sizes and sizes[name] != (mw, mh):
                warnings.append(f"{path.name} is {mw}x{mh} but {image_path.name} is "
                                f"{sizes[name][0]}x{sizes[name][1]}; polygons scaled to the image")
        progress(n + 1, len(files), path.name)
    labels = labels_from_masks(masks, sizes=sizes, paths=paths,
                               tolerance=args.simplify, min_area=args.min_area)
    save_coco(labels, args.out)
    for warning in warnings:
        options.warn(args, warning)
    options.emit(args, {"out": args.out, "images": len(labels.images),
                        "annotations": len(labels.annotations), "warnings": warnings},
                 f"wrote {len(labels.annotations)} annotation(s) for {len(labels.images)} image(s) to {args.out}")
    return 0
