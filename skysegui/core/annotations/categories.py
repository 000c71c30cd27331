"""Category roles by name: which label means sky, which a non-sky object cut out of it.

Label Studio numbers categories alphabetically from 0 unless its config says otherwise,
so an id alone means nothing; the name decides. Synonyms are configurable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

SKY, NON_SKY = 1, 2  # class values of the pipeline report; everything else is 0
# Regions the labeller cannot call (sky seen through dense leaves, a fence against the
# sky, a blurred stitch): not trained on and not scored, value IGNORE in training masks.
UNSURE = 3
ROLE_NAMES = {SKY: "sky", NON_SKY: "non-sky", UNSURE: "unsure"}  # names of new categories

DEFAULT_SYNONYMS: dict[int, tuple[str, ...]] = {
    SKY: ("sky", "skies", "sky region", "heaven", "himmel", "ciel", "cielo"),
    NON_SKY: (
        "non sky", "nonsky", "not sky", "no sky", "object", "objects", "sky object",
        "obstacle", "occluder", "cutout", "cut out", "hole", "foreground",
    ),
    UNSURE: (
        "unsure", "ignore", "ignored", "void", "don't care", "dont care", "dontcare",
        "ambiguous", "uncertain", "unknown", "mixed",
    ),
}


def normalise_label(name: str) -> str:
    """Lower case, '-', '_' and repeated blanks folded to one space."""
    return re.sub(r"[\s_\-]+", " ", str(name).casefold()).strip()


def build_synonyms(synonyms: Mapping[int, Iterable[str]] | None = None) -> dict[str, int]:
    """Normalised name -> role. `synonyms` adds to (or overrides) the defaults per role."""
    table: dict[str, int] = {}
    for role, names in DEFAULT_SYNONYMS.items():
        for name in names:
            table[normalise_label(name)] = role
    for role, names in (synonyms or {}).items():
        if isinstance(names, str):
            names = [names]
        for name in names:
            table[normalise_label(name)] = int(role)
    return table


def role_of_name(name: str, table: Mapping[str, int]) -> int:
    return table.get(normalise_label(name), 0)
