"""The tone keys tev users expect, wired to the tone panel, and their View > Tone menu.

tev's E / Shift+E (exposure +-0.5 EV), O / Shift+O (offset +-0.1), R (reset) and N
(normalise). Here E and O are the eraser and object tools, so Shift+E and Shift+O keep
tev's meaning (down) and the key to their right goes up: Shift+R brighter, Shift+P more
offset. R and N are tev's. The shortcuts live in gui/actions.py (so F1 lists them).
"""

from __future__ import annotations

from dataclasses import replace

from skysegui.core.tonemap import ToneSettings

EXPOSURE_STEP = 0.5  # tev's steps
OFFSET_STEP = 0.1
TONE_ACTIONS = ("exposure_up", "exposure_down", "offset_up", "offset_down", "reset_tone", "normalise_exposure")


def connect_tone_keys(window, view_menu) -> None:
    """Connect the tone actions of `window` (a MainWindow) to its tone panel and list them
    in a Tone submenu of `view_menu`."""
    a, panel = window.actions, window.tone_panel
    a.exposure_up.triggered.connect(lambda: _step(panel, exposure=EXPOSURE_STEP))
    a.exposure_down.triggered.connect(lambda: _step(panel, exposure=-EXPOSURE_STEP))
    a.offset_up.triggered.connect(lambda: _step(panel, offset=OFFSET_STEP))
    a.offset_down.triggered.connect(lambda: _step(panel, offset=-OFFSET_STEP))
    a.reset_tone.triggered.connect(lambda: panel.set_settings(reset(panel.settings)))
    a.normalise_exposure.triggered.connect(lambda: normalise(window))
    menu = view_menu.addMenu("&Tone")
    menu.addActions([a.auto_exposure] + [getattr(a, name) for name in TONE_ACTIONS])


def _step(panel, exposure: float = 0.0, offset: float = 0.0) -> None:
    s = panel.settings
    panel.set_settings(replace(s, exposure=round(s.exposure + exposure, 4), offset=round(s.offset + offset, 4)))


def reset(settings: ToneSettings) -> ToneSettings:
    """tev's reset: exposure, offset and gamma back to their defaults; the operator stays."""
    default = ToneSettings()
    return replace(settings, exposure=default.exposure, offset=default.offset, gamma=default.gamma)


def normalise(window) -> None:
    """tev's normalise: the shown image's smallest value black, its largest white.

    Reads every full-resolution pixel (a sample would miss the sun): about 0.1 s for an
    8K panorama, once per key press, so it runs on the GUI thread.
    """
    from skysegui.core.tonemap.exposure import normalising_exposure

    if window.current is None:
        return
    exposure, offset = normalising_exposure(window.current.image.pixels)
    window.tone_panel.set_settings(replace(window.tone_panel.settings, exposure=exposure, offset=offset))
