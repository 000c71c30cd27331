"""Draw docs/img/augmentations.png: one panorama crop under each training augmentation.

    python docs/make_augmentation_figure.py [--seed 3] [--out docs/img/augmentations.png]

Each tile is the augmented network input decoded to linear light and shown with the sRGB
curve at 0 EV; the augmented sky mask is outlined in red, so one can check that image and
mask move together.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from skysegui.core.atomicio import atomic_write
from skysegui.core.synthetic import make_panorama
from skysegui.core.tonemap import ToneSettings, tonemap
from skysegui.ml.augment import AugmentConfig, augment, decode, hroll, shift_exposure
from skysegui.ml.data.cache import to_network_input

TILE = 256


def _tile(x: np.ndarray, y: np.ndarray, title: str) -> np.ndarray:
    rgb = tonemap(decode(x, "hdr_log"), ToneSettings())
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    contours, _ = cv2.findContours((y == 1).astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(bgr, contours, -1, (40, 40, 255), 1)
    cv2.rectangle(bgr, (0, 0), (TILE, 18), (0, 0, 0), -1)
    cv2.putText(bgr, title, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
    return bgr


def figure(seed: int = 3) -> np.ndarray:
    pano = make_panorama(4 * TILE, 2 * TILE, seed=seed, kind="day")
    x_full = to_network_input(pano.pixels, True, "hdr_log")
    y_full = pano.sky
    top, left = TILE // 2, TILE
    x, y = x_full[top:top + TILE, left:left + TILE], y_full[top:top + TILE, left:left + TILE]
    rng = lambda k: np.random.default_rng(seed * 100 + k)  # noqa: E731
    only = AugmentConfig.none
    tiles = [
        _tile(x, y, "original"),
        _tile(shift_exposure(x, 2.0, "hdr_log"), y, "exposure +2 EV"),
        _tile(shift_exposure(x, -2.0, "hdr_log"), y, "exposure -2 EV"),
        _tile(*augment(x, y, rng(1), AugmentConfig(**{**only().to_dict(), "gamma": 0.4}), "hdr_log"), "gamma"),
        _tile(*augment(x, y, rng(2), AugmentConfig(**{**only().to_dict(), "white_balance": 0.3}), "hdr_log"),
              "white balance"),
        _tile(*augment(x, y, rng(3), AugmentConfig(**{**only().to_dict(), "noise": 0.3}), "hdr_log"), "noise"),
        _tile(x[:, ::-1], y[:, ::-1], "horizontal flip"),
    ]
    xr, yr = hroll(x_full, y_full, TILE // 2 + 40)
    tiles.append(_tile(xr[top:top + TILE, left:left + TILE], yr[top:top + TILE, left:left + TILE],
                       "roll (wraps at 360 deg)"))
    ldr = AugmentConfig.ldr()
    ldr.hflip = False
    for k in range(3):
        tiles.append(_tile(*augment(x, y, rng(10 + k), ldr, "hdr_log"), f"rotate/shift/shear/zoom {k + 1}"))
    tiles.append(_tile(*augment(x, y, rng(20), AugmentConfig.hdr(), "hdr_log"), "HDR default set"))
    rows = [np.hstack(tiles[i:i + 4]) for i in range(0, len(tiles), 4)]
    return np.vstack(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", default=str(Path(__file__).parent / "img" / "augmentations.png"))
    args = parser.parse_args()
    with atomic_write(args.out) as tmp:
        cv2.imwrite(str(tmp), figure(args.seed))
    print(args.out)


if __name__ == "__main__":
    main()
