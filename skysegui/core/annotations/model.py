"""The annotation data model: pure data (numpy, no Qt), shared by GUI, CLI, training.

Coordinates are COCO's continuous pixel convention: x in 0..width, y in 0..height;
pixel (row i, col j) covers [j, j+1) x [i, i+1). A Polygon is an outer ring with
holes, which COCO itself cannot express (see coco.py for how holes are stored).
Equality is deep (numpy arrays compared by value) so an edit's revert can be checked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from skysegui.core.annotations.categories import (
    NON_SKY,
    ROLE_NAMES,
    SKY,
    UNSURE,
    build_synonyms,
    role_of_name,
)
from skysegui.core.annotations.names import file_key, name_key

Id = int | str
LABELLED_KEY = "skysegui_labelled"  # in an image record: a person (or a mask) labelled it, sky or not


def as_ring(points: Any) -> np.ndarray:
    """(N, 2) float64 array from a flat [x0, y0, x1, ...] list or an (N, 2) array."""
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 2)
    return np.ascontiguousarray(arr.reshape(-1, 2))


@dataclass(eq=False)
class Polygon:
    outer: np.ndarray
    holes: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.outer = as_ring(self.outer)
        self.holes = [as_ring(h) for h in self.holes]

    def rings(self) -> list[np.ndarray]:
        """Outer ring first, then the holes (ring index 0 = outer, k = hole k-1)."""
        return [self.outer, *self.holes]

    def copy(self) -> Polygon:
        return Polygon(self.outer.copy(), [h.copy() for h in self.holes])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Polygon):
            return NotImplemented
        return (
            _same_array(self.outer, other.outer)
            and len(self.holes) == len(other.holes)
            and all(_same_array(a, b) for a, b in zip(self.holes, other.holes, strict=True))
        )

    def __repr__(self) -> str:
        return f"Polygon({len(self.outer)} vertices, {len(self.holes)} holes)"


def _same_array(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b))


@dataclass
class Category:
    id: Id
    name: str
    extra: dict = field(default_factory=dict)


@dataclass
class Annotation:
    id: Id
    image_id: Id
    category_id: Id
    polygons: list[Polygon] = field(default_factory=list)
    iscrowd: int = 0
    extra: dict = field(default_factory=dict)

    def copy(self) -> Annotation:
        import copy

        return Annotation(
            self.id, self.image_id, self.category_id, [p.copy() for p in self.polygons],
            self.iscrowd, copy.deepcopy(self.extra),
        )


@dataclass
class ImageRecord:
    id: Id
    file_name: str
    width: int
    height: int
    path: Path | None = None
    extra: dict = field(default_factory=dict)


@dataclass(eq=False)
class AnnotationSet:
    """All labels of a project: images, annotations and categories, each a dict by id.

    `extra` holds the unknown top-level keys of the file so they survive a save.
    """

    images: dict[Id, ImageRecord] = field(default_factory=dict)
    annotations: dict[Id, Annotation] = field(default_factory=dict)
    categories: dict[Id, Category] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    synonyms: Mapping[int, Iterable[str]] | None = None

    def __post_init__(self) -> None:
        self._table = build_synonyms(self.synonyms)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AnnotationSet):
            return NotImplemented
        return (
            list(self.images.items()) == list(other.images.items())
            and list(self.annotations.items()) == list(other.annotations.items())
            and list(self.categories.items()) == list(other.categories.items())
            and self.extra == other.extra
        )

    # --- queries ----------------------------------------------------------------
    def annotations_for(self, image_id: Id) -> list[Annotation]:
        return [a for a in self.annotations.values() if a.image_id == image_id]

    def is_labelled(self, image_id: Id) -> bool:
        """Whether the image's labels are an answer: it has at least one annotation that is
        not an unsure region, or its record carries `"skysegui_labelled": true` (e.g. "no
        sky here": an interior). Being listed in `images` is not enough: a project lists
        every image of its folder. Unsure regions alone say where no answer counts, not
        that the rest has no sky: such an image would otherwise train as a negative."""
        record = self.images.get(image_id)
        if record is not None and record.extra.get(LABELLED_KEY) is True:
            return True
        return bool(self.answer_ids(image_id))

    def answer_ids(self, image_id: Id) -> list[Id]:
        """The image's annotations that a new answer for its sky replaces (accepting a
        prediction, "no sky here"): all but its unsure regions, which stay."""
        return [a.id for a in self.annotations_for(image_id) if self.role_of(a.category_id) != UNSURE]

    def image_by_name(self, name: str) -> ImageRecord | None:
        """The image whose base name (stem, case-insensitive) matches `name`: whole stems
        first ("20230516-sky" is not "20230515-sky"), then without upload prefixes."""
        for key_of in (file_key, name_key):
            key = key_of(name)
            for image in self.images.values():
                if key_of(image.file_name) == key:
                    return image
                if image.path is not None and key_of(image.path.name) == key:
                    return image
        return None

    def role_of(self, category_id: Id) -> int:
        """SKY, NON_SKY, UNSURE or 0 for a category id, decided by the category's name."""
        category = self.categories.get(category_id)
        if category is None:
            return 0
        return role_of_name(category.name, self._table)

    def category_for_role(self, role: int) -> Id | None:
        """Id of the first category with this role, or None when the set has none."""
        for cid, category in self.categories.items():
            if role_of_name(category.name, self._table) == role:
                return cid
        return None

    def ensure_category(self, role: int) -> Id:
        """Id of the category for a role, added (named as in ROLE_NAMES) if missing."""
        cid = self.category_for_role(role)
        if cid is not None:
            return cid
        cid = self.new_id(self.categories)
        self.categories[cid] = Category(cid, ROLE_NAMES[role])
        return cid

    @staticmethod
    def new_id(table: Mapping[Id, Any]) -> int:
        """A fresh 1-based integer id for `table` (images, annotations or categories)."""
        ints = [k for k in table if isinstance(k, int) and not isinstance(k, bool)]
        return max(max(ints, default=0) + 1, 1)

    def new_annotation_id(self) -> int:
        return self.new_id(self.annotations)

    def copy(self) -> AnnotationSet:
        import copy

        return copy.deepcopy(self)


__all__ = [
    "SKY", "NON_SKY", "Id", "LABELLED_KEY", "Polygon", "Category", "Annotation", "ImageRecord",
    "AnnotationSet", "as_ring",
]
