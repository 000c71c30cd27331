"""Contact sheets of synthetic panoramas for the README (and for looking at them).

    python tools/contact_sheet.py [--width 1024] [--seed 20] [--tile 640]

writes docs/img/synthetic-contact-sheet.png (tone-mapped with core.tonemap at automatic
exposure) and docs/img/synthetic-masks.png (sky blue, objects in the sky red, rest black).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from skysegui.core.imageio import write_png
from skysegui.core.synthetic import make_panorama
from skysegui.core.tonemap import ToneSettings, auto_exposure, tonemap

SHEET = (
    ("day", "mountains"), ("day", "city"), ("day", "forest"), ("day", "sea"),
    ("dusk", "lake"), ("dusk", "city"), ("night", "city"), ("night", "forest"),
)
OUT = Path(__file__).resolve().parent.parent / "docs" / "img"
CLASS_COLOURS = np.array([(0, 0, 0), (110, 170, 235), (230, 40, 40)], np.uint8)


def _caption(tile: np.ndarray, text: str) -> np.ndarray:
    tile = np.ascontiguousarray(tile)
    scale = tile.shape[1] / 1000
    org = (int(12 * scale * 2), int(40 * scale * 2))
    cv2.putText(tile, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale * 1.6, (0, 0, 0), 5, cv2.LINE_AA)
    cv2.putText(tile, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale * 1.6, (255, 255, 255), 2, cv2.LINE_AA)
    return tile


def _grid(tiles: list[np.ndarray], columns: int = 2, gap: int = 6) -> np.ndarray:
    h, w = tiles[0].shape[:2]
    rows = -(-len(tiles) // columns)
    sheet = np.full((rows * h + (rows - 1) * gap, columns * w + (columns - 1) * gap, 3), 255, np.uint8)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, columns)
        sheet[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = tile
    return sheet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--tile", type=int, default=640, help="width of each picture on the sheet")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    pictures, masks = [], []
    for k, (kind, skyline) in enumerate(SHEET):
        pano = make_panorama(args.width, args.width // 2, seed=args.seed + k, kind=kind, skyline=skyline)
        settings = ToneSettings(exposure=auto_exposure(pano.pixels, "percentile", 99.0), operator="filmic")
        caption = f"{kind}, {skyline} (seed {args.seed + k})"
        size = (args.tile, args.tile // 2)
        picture = cv2.resize(tonemap(pano.pixels, settings), size, interpolation=cv2.INTER_AREA)
        mask = cv2.resize(CLASS_COLOURS[pano.classes], size, interpolation=cv2.INTER_NEAREST)
        pictures.append(_caption(picture, caption))
        masks.append(_caption(mask, caption))
        print(f"{caption}: sun {pano.info['sun_elevation_deg']:.0f} deg, "
              f"max {pano.pixels.max():.0f}, objects {pano.info['sky_objects']}", file=sys.stderr)
    write_png(args.out / "synthetic-contact-sheet.png", _grid(pictures))
    write_png(args.out / "synthetic-masks.png", _grid(masks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
