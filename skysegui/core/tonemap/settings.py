"""Tone-mapping settings: one frozen, hashable value, so a look-up table can be cached per value."""

from __future__ import annotations

from dataclasses import dataclass

from skysegui.core.choices import OPERATORS

#: The operator of an OpenColorIO display/view (ocio_config, ocio_display, ocio_view say
#: which; see core/tonemap/ocio.py). Not in OPERATORS: it needs a view to mean anything.
OCIO = "ocio"


@dataclass(frozen=True)
class ToneSettings:
    """How linear HDR values become display pixels (tev's model: exposure, offset, curve).

    exposure: EV, multiplies linear values by 2**exposure; offset: added after exposure.
    gamma: used by the "gamma" operator ("srgb" is the exact sRGB curve).
    white_point: the linear value Reinhard maps to white.
    stops_min / stops_max: the log2 range the "log" and "falsecolor" operators spread
    over black..white (or the colour map).
    ocio_config / ocio_display / ocio_view: the OpenColorIO view of the "ocio" operator
    (config "builtin", "$OCIO" or a config file path); exposure and offset apply before it.
    """

    exposure: float = 0.0
    offset: float = 0.0
    gamma: float = 2.2
    operator: str = "srgb"
    white_point: float = 4.0
    stops_min: float = -10.0
    stops_max: float = 10.0
    ocio_config: str = ""
    ocio_display: str = ""
    ocio_view: str = ""

    def __post_init__(self) -> None:
        if self.operator == OCIO:
            if not (self.ocio_config and self.ocio_display and self.ocio_view):
                raise ValueError("the ocio operator needs ocio_config, ocio_display and ocio_view")
        elif self.operator not in OPERATORS:
            raise ValueError(f"unknown tone operator {self.operator!r}; use one of {OPERATORS}")
        if not self.gamma > 0:
            raise ValueError("gamma must be > 0")
        if not self.white_point > 0:
            raise ValueError("white_point must be > 0")
        if not self.stops_max > self.stops_min:
            raise ValueError("stops_max must be above stops_min")

    @property
    def ocio_key(self):
        """The OCIO view (core.tonemap.ocio.ViewKey) of the "ocio" operator, else None."""
        if self.operator != OCIO:
            return None
        from skysegui.core.tonemap.ocio import ViewKey

        return ViewKey(self.ocio_config, self.ocio_display, self.ocio_view)

    @property
    def per_channel(self) -> bool:
        """True when each channel maps on its own (so a float16 look-up table applies)."""
        return self.operator != "falsecolor"
