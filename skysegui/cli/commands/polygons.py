"""`skysegui polygons MASK_DIR --images DIR --out COCO_JSON`: masks made elsewhere
(Photoshop, another tool, old predictions) to editable COCO polygons with holes.

Masks are matched to the panoramas by cleaned name ("city.png", "city_mask.png" and
"city.mask.png" all belong to city.exr); polygons are scaled to the real image size.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from skysegui.cli.progress import ProgressBar
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
        "and write one COCO file that the editor, pycocotools and Label Studio read.",
    )
    p.add_argument("masks", metavar="MASK_DIR", help="folder of mask images")
    p.add_argument("--images", metavar="DIR",
                   help="folder of the panoramas: names and real sizes (recommended)")
    p.add_argument("--out", metavar="COCO_JSON", required=True, help="COCO file to write")
    p.add_argument("--tolerance", type=float, default=1.0,
                   help="largest simplification in pixels (default 1.0): an outline is simplified "
                   "less where it would lose more than 0.3 %% of its pixels; 0 keeps every corner")
    p.add_argument("--min-area", type=float, default=4.0,
                   help="drop regions and holes smaller than this many pixels (default 4)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no warnings")
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
    from skysegui.core.annotations import labels_from_masks, save_coco
    from skysegui.core.annotations.names import index_images

    mask_dir = Path(args.masks)
    if not mask_dir.is_dir():
        raise AnnotationError(f"{mask_dir} is not a folder of masks")
    files = sorted(p for p in mask_dir.iterdir() if p.suffix.lower() in MASK_EXTENSIONS and not p.name.startswith("."))
    if not files:
        raise AnnotationError(f"no mask images ({', '.join(MASK_EXTENSIONS)}) in {mask_dir}")
    on_disk = index_images(args.images) if args.images else {}
    if args.images and not on_disk:
        raise AnnotationError(f"no panoramas in {args.images}; check the --images folder")
    masks, sizes, paths, warnings = {}, {}, {}, []
    progress = None if args.quiet else ProgressBar("polygons")
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
        if progress:
            progress(n + 1, len(files), path.name)
    labels = labels_from_masks(masks, sizes=sizes, paths=paths,
                               tolerance=args.tolerance, min_area=args.min_area)
    save_coco(labels, args.out)
    if not args.quiet:
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
    print(f"wrote {len(labels.annotations)} annotation(s) for {len(labels.images)} image(s) to {args.out}")
    return 0
