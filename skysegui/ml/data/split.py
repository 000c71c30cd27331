"""Train/validation splits.

By region (the default): every image gives a longitude sector (a band of columns) to
validation and the rest to training, so a panorama the user just corrected is trained on
and still validated, on pixels never trained on. By image: every crop of an image is on
one side, so validation measures how the model does on panoramas it has never seen, but
an image in validation is never learnt from. By patch (the report's way, only on
request): overlapping patches of one image land on both sides, which leaks training
pixels into validation and inflates val IoU.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from skysegui.core.errors import TrainingError

SPLITS = ("region", "image", "patch")
SYNTHETIC_PREFIX = "synthetic_"  # how the demo writer names its procedural panoramas


def image_group(name: str) -> str:
    """'synthetic' for panoramas our generator made (named synthetic_*), else 'real'."""
    return "synthetic" if name.startswith(SYNTHETIC_PREFIX) else "real"


def split_by_image(
    names: Sequence[str], val_fraction: float = 0.25, seed: int = 0, stratify: bool = True
) -> tuple[list[str], list[str]]:
    """Seeded split of image names: about `val_fraction` of them (at least one) for validation.

    Stratified by image_group: when the project holds real panoramas as well as synthetic
    ones, validation holds real ones too (a score on synthetic skies alone says little
    about the user's panoramas). A group of one image stays in training, unless it is the
    only group. The result depends only on the set of names and the seed, not on their order.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise TrainingError(f"validation fraction {val_fraction} must be in [0, 1)")
    names = sorted(set(names))
    if val_fraction == 0.0:
        return names, []
    if len(names) < 2:
        raise TrainingError(
            f"only {len(names)} labelled image(s): a split by image needs at least two; "
            "label another image, or use the per-patch split (leaks) or no validation"
        )
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(image_group(name) if stratify else "all", []).append(name)
    rng = np.random.default_rng(seed)
    val: list[str] = []
    for key in sorted(groups):
        members = groups[key]
        if len(members) < 2 and len(groups) > 1:
            continue
        order = rng.permutation(len(members))
        n_val = min(len(members) - 1, max(1, int(round(len(members) * val_fraction))))
        val += [members[i] for i in order[:n_val]]
    train = sorted(set(names) - set(val))
    return train, sorted(val)


def split_indices(count: int, val_fraction: float = 0.25, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seeded per-item split of range(count) (used for the leaking per-patch split)."""
    if not 0.0 <= val_fraction < 1.0:
        raise TrainingError(f"validation fraction {val_fraction} must be in [0, 1)")
    order = np.random.default_rng(seed).permutation(count)
    n_val = int(round(count * val_fraction))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def region_bands(
    entries: Sequence, val_fraction: float = 0.25, seed: int = 0, crop: int = 0
) -> tuple[dict[str, tuple[int, int]], list[str]]:
    """({name: (left column, width)} of each image's validation band, notes).

    `entries` have .name and .width (cache entries: columns at the cache's resolution).
    The band is about `val_fraction` of the width; its position depends only on the seed
    and the name, so adding an image moves no other image's band. A band may wrap around
    the seam. An image whose band would leave less than `crop` columns for training crops
    gives no band (it is trained on whole) and a note says so.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise TrainingError(f"validation fraction {val_fraction} must be in [0, 1)")
    bands: dict[str, tuple[int, int]] = {}
    notes: list[str] = []
    if val_fraction == 0.0:
        return bands, notes
    for e in sorted(entries, key=lambda e: e.name):
        width = int(round(e.width * val_fraction))
        if width < 1 or e.width - width < crop:
            notes.append(f"{e.name} is too narrow ({e.width} px) for a validation sector beside "
                         f"{crop} px training crops: it is trained on whole, not validated")
            continue
        digest = hashlib.sha256(f"{seed}\0{e.name}".encode()).digest()
        bands[e.name] = (int.from_bytes(digest[:8], "big") % e.width, width)
    return bands, notes
