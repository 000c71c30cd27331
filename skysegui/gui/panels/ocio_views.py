"""The OpenColorIO part of the tone panel: which configs and views there are, why there
are none, and baking a view off the GUI thread (on short-lived daemon threads).

Importing PyOpenColorIO and reading a config take 0.1-0.4 s and an ACES view takes
0.2-0.4 s to bake into its cube (core/tonemap/ocio.py), more than the GUI thread may
block, so the panel asks `list_later` and `prepare`, which work on a pool thread and
answer with signals on the GUI thread.
"""

from __future__ import annotations

import itertools
import threading

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Signal

from skysegui.core.errors import SkysegError

_serials = itertools.count(1)


class _Relay(QObject):
    """Carries pool-thread answers to the GUI thread. It lives as long as the application,
    so a worker never emits on an object that was deleted meanwhile (a closed panel):
    each OcioViews listens for its own serial number, and Qt drops a deleted listener."""

    listed = Signal(int, str, object, object, str)
    ready = Signal(int, object)
    failed = Signal(int, object, str)


_relay: _Relay | None = None


def relay() -> _Relay:
    """The application's relay (made on the GUI thread by the first OcioViews)."""
    global _relay
    if _relay is None or not shiboken6.isValid(_relay):
        _relay = _Relay(QCoreApplication.instance())
    return _relay


class OcioViews(QObject):
    """ready(ViewKey) once a view is baked; failed(ViewKey, message) when it cannot be;
    listed(source, sources, views, note) answers list_later."""

    ready = Signal(object)
    failed = Signal(object, str)
    listed = Signal(str, object, object, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.extra_sources: list[str] = []  # config files the user chose
        self.serial = next(_serials)
        r = self._relay = relay()
        r.listed.connect(self._relayed_listed)
        r.ready.connect(self._relayed_ready)
        r.failed.connect(self._relayed_failed)

    def _relayed_listed(self, serial: int, *answer) -> None:
        if serial == self.serial:
            self.listed.emit(*answer)

    def _relayed_ready(self, serial: int, key) -> None:
        if serial == self.serial:
            self.ready.emit(key)

    def _relayed_failed(self, serial: int, key, message: str) -> None:
        if serial == self.serial:
            self.failed.emit(key, message)

    def sources(self) -> list[str]:
        """Config sources to offer ([] when PyOpenColorIO is missing)."""
        return _sources(self.extra_sources)

    def views(self, source: str) -> tuple[list, str]:
        """(ViewKeys of `source`, '') or ([], why there are none) in words."""
        return _views(source)

    def list_later(self, source: str) -> None:
        """sources() and views(source) on a pool thread (importing PyOpenColorIO and
        reading a config take 0.1-0.4 s), answered by `listed`."""
        r, serial, extra = self._relay, self.serial, list(self.extra_sources)

        def work() -> None:
            sources = _sources(extra)
            views, note = _views(source)
            r.listed.emit(serial, source, sources, views, note)

        _start(work)

    def prepare(self, key) -> bool:
        """Bake `key` on a pool thread (ready/failed follow); True when it is baked already."""
        from skysegui.core.tonemap import ocio

        if ocio.is_prepared(key):
            return True

        r, serial = self._relay, self.serial

        def work() -> None:
            try:
                ocio.prepare(key)
            except SkysegError as exc:
                r.failed.emit(serial, key, str(exc))
                return
            r.ready.emit(serial, key)

        _start(work)
        return False

    @staticmethod
    def label(key) -> str:
        return f"OCIO: {key.view}"

    @staticmethod
    def tooltip(key) -> str:
        from skysegui.core.tonemap import ocio

        return f"OpenColorIO view '{key.view}' of display '{key.display}' ({ocio.config_label(key.source)})"


def _sources(extra: list[str]) -> list[str]:
    from skysegui.core.tonemap import ocio

    if ocio.unavailable_reason():
        return []
    return ocio.config_sources() + [s for s in extra if s not in ocio.config_sources()]


def _views(source: str) -> tuple[list, str]:
    from skysegui.core.tonemap import ocio

    reason = ocio.unavailable_reason()
    if reason:
        return [], f"No OpenColorIO views: {reason}"
    try:
        pairs = ocio.list_views(source)
        ocio.input_colorspace(ocio.load_config(source))
    except SkysegError as exc:
        return [], f"No OpenColorIO views: {exc}"
    if not pairs:
        return [], f"No OpenColorIO views: {ocio.config_label(source)} has no views for its default display"
    return [ocio.ViewKey(source, d, v) for d, v in pairs], ""


def _start(work) -> None:
    """Run `work` on a daemon thread (a plain Python thread: nothing of Qt lives in it but
    the relay's emit, and a closing window never waits for it)."""
    threading.Thread(target=work, name="skysegui-ocio", daemon=True).start()
