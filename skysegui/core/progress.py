"""Progress reporting and cancellation shared by long operations (CLI bars, GUI workers).

Long functions take `progress: ProgressFn | None` and `cancel: CancelToken | None`.
They call `progress(done, total, message)` now and then and `cancel.check()` between
units of work; check() raises CancelledError, which callers treat as a clean stop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from skysegui.core.errors import CancelledError

ProgressFn = Callable[[int, int, str], None]


class CancelToken:
    """A thread-safe flag the GUI sets and a worker polls.

    `event`: anything with set() and is_set(), e.g. a multiprocessing Event, so a run in a
    child process reads the flag its parent sets."""

    def __init__(self, event=None) -> None:
        self._event = event if event is not None else threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise CancelledError("cancelled by the user")


def report(progress: ProgressFn | None, done: int, total: int, message: str = "") -> None:
    """Call progress if one was given (saves an `if` at every call site)."""
    if progress is not None:
        progress(done, total, message)


def check(cancel: CancelToken | None) -> None:
    if cancel is not None:
        cancel.check()
