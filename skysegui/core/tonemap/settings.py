"""Tone-mapping settings: one frozen, hashable value, so a look-up table can be cached per value."""

from __future__ import annotations

from dataclasses import dataclass

OPERATORS = ("srgb", "gamma", "reinhard", "filmic", "log", "falsecolor")


@dataclass(frozen=True)
class ToneSettings:
    """How linear HDR values become display pixels (tev's model: exposure, offset, curve).

    exposure: EV, multiplies linear values by 2**exposure; offset: added after exposure.
    gamma: used by the "gamma" operator ("srgb" is the exact sRGB curve).
    white_point: the linear value Reinhard maps to white.
    stops_min / stops_max: the log2 range the "log" and "falsecolor" operators spread
    over black..white (or the colour map).
    """

    exposure: float = 0.0
    offset: float = 0.0
    gamma: float = 2.2
    operator: str = "srgb"
    white_point: float = 4.0
    stops_min: float = -10.0
    stops_max: float = 10.0

    def __post_init__(self) -> None:
        if self.operator not in OPERATORS:
            raise ValueError(f"unknown tone operator {self.operator!r}; use one of {OPERATORS}")
        if not self.gamma > 0:
            raise ValueError("gamma must be > 0")
        if not self.white_point > 0:
            raise ValueError("white_point must be > 0")
        if not self.stops_max > self.stops_min:
            raise ValueError("stops_max must be above stops_min")

    @property
    def per_channel(self) -> bool:
        """True when each channel maps on its own (so a float16 look-up table applies)."""
        return self.operator != "falsecolor"
