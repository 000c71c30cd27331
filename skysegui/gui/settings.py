"""Remembered settings (QSettings): window geometry and dock layout, recent projects, tone.

Tests pass their own QSettings (an INI file in a temporary folder) so they never touch the
user's settings.
"""

from __future__ import annotations

import math
from dataclasses import asdict, fields, replace
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from skysegui.core.tonemap import ToneSettings

ORGANISATION = "SkySeg"
APPLICATION = "SkySeg GUI"
MAX_RECENT = 10


def ini_settings(path: str | Path) -> QSettings:
    """Settings kept in one INI file (tests, portable installs)."""
    return QSettings(str(path), QSettings.Format.IniFormat)


class AppSettings:
    """Typed access to the few things we remember between runs."""

    def __init__(self, qsettings: QSettings | None = None):
        self.q = qsettings or QSettings(ORGANISATION, APPLICATION)

    # --- window ----------------------------------------------------------------
    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self.q.setValue("window/geometry", geometry)
        self.q.setValue("window/state", state)

    def window_geometry(self) -> QByteArray | None:
        value = self.q.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def window_state(self) -> QByteArray | None:
        value = self.q.value("window/state")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    # --- recent projects ---------------------------------------------------------
    def recent(self) -> list[str]:
        """Recently opened paths, newest first; those that no longer exist are left out
        (File > Open Recent would only answer them with an error)."""
        value = self.q.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or []) if v and Path(str(v)).exists()]

    def add_recent(self, path: str | Path) -> list[str]:
        path = str(Path(path).resolve())
        items = [path] + [p for p in self.recent() if p != path]
        items = items[:MAX_RECENT]
        self.q.setValue("recent", items)
        return items

    def remove_recent(self, path: str) -> None:
        self.q.setValue("recent", [p for p in self.recent() if p != path])

    # --- tone ------------------------------------------------------------------
    def tone(self) -> ToneSettings:
        """The remembered tone settings; a damaged value falls back to its default alone
        (a NaN or infinite exposure would otherwise show a black picture at every start)."""
        defaults = ToneSettings()
        values = {}
        for f in fields(ToneSettings):
            raw = self.q.value(f"tone/{f.name}")
            if raw is None:
                continue
            try:
                value = type(getattr(defaults, f.name))(raw)
            except (TypeError, ValueError):
                continue
            if isinstance(value, float) and not math.isfinite(value):
                continue
            values[f.name] = value
        try:
            return ToneSettings(**values)
        except (TypeError, ValueError):
            pass
        settings = defaults
        for name, value in values.items():
            try:
                settings = replace(settings, **{name: value})
            except (TypeError, ValueError):
                continue
        return settings

    def save_tone(self, settings: ToneSettings) -> None:
        for key, value in asdict(settings).items():
            self.q.setValue(f"tone/{key}", value)

    def sync(self) -> None:
        self.q.sync()
