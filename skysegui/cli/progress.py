"""A plain text progress bar for CLI commands (stderr, redrawn in place on a terminal)."""

from __future__ import annotations

import sys
import time

_unfinished: list = []  # the terminal stream a bar is drawn on, while its line is open


def end_progress_line() -> None:
    """End a bar half-drawn on a terminal, so that the next `error:` or `warning:` line
    starts a line of its own instead of being glued to the bar."""
    while _unfinished:
        stream = _unfinished.pop()
        try:
            stream.write("\n")
            stream.flush()
        except (OSError, ValueError):
            pass


class ProgressBar:
    """Callable as a core ProgressFn: bar(done, total, message)."""

    def __init__(self, label: str = "", stream=None, width: int = 30) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.start = time.monotonic()
        self._last_draw = 0.0
        self._tty = hasattr(self.stream, "isatty") and self.stream.isatty()

    def __call__(self, done: int, total: int, message: str = "") -> None:
        now = time.monotonic()
        final = total > 0 and done >= total
        if not final and now - self._last_draw < (0.1 if self._tty else 2.0):
            return
        self._last_draw = now
        frac = min(1.0, done / total) if total > 0 else 0.0
        filled = int(round(frac * self.width))
        elapsed = now - self.start
        eta = (elapsed / frac - elapsed) if frac > 0 else 0.0
        line = (
            f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
            f"{done}/{total} {frac * 100:5.1f}% eta {eta:5.0f}s {message}"
        ).rstrip()
        if self._tty:
            self.stream.write("\r" + line[:200].ljust(100))
            _unfinished.clear()
            if final:
                self.stream.write("\n")
            else:
                _unfinished.append(self.stream)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
