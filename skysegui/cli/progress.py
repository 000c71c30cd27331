"""A small text progress bar for CLI commands, on stderr.

On a terminal: one line, redrawn in place with `\\r` at most ten times a second and never
wider than the terminal (its width is read at every redraw, so a resized window is
followed; the COLUMNS environment variable wins, as with shutil.get_terminal_size). When
stderr is not a terminal (a log file, a pipe, CI): no bar, only a plain line now and then
(at most every PLAIN_EVERY seconds) and the final one. `enabled=False` (the commands'
`--quiet`) draws nothing. Our own code rather than tqdm or rich: about fifty lines and no
dependency.
"""

from __future__ import annotations

import os
import shutil
import sys
import time

TTY_EVERY = 0.1  # seconds between redraws on a terminal
PLAIN_EVERY = 10.0  # seconds between plain lines when stderr is not a terminal
BAR_CELLS = 30  # the bar's width when the terminal has room for it
MIN_BAR_CELLS = 8  # below this the bar is left out and only the numbers are shown

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


def terminal_columns(stream=None) -> int:
    """Columns of the terminal `stream` is drawn on: COLUMNS if set, else the terminal's
    own size, else shutil's answer (80 when nothing is known)."""
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return os.get_terminal_size((stream or sys.stderr).fileno()).columns
    except (AttributeError, OSError, ValueError):
        return shutil.get_terminal_size((80, 24)).columns


def _clip(text: str, room: int) -> str:
    if room <= 0:
        return ""
    return text if len(text) <= room else text[: max(0, room - 1)] + "~"


def format_line(label: str, done: int, total: int, message: str, elapsed: float,
                columns: int | None, bar: bool) -> str:
    """One progress line; with `columns`, at most columns - 1 characters (the last column
    is left free: writing into it makes some terminals wrap)."""
    frac = min(1.0, max(0.0, done / total)) if total > 0 else 0.0
    eta = (elapsed / frac - elapsed) if frac > 0 else 0.0
    numbers = f"{done}/{total} {frac * 100:5.1f}% eta {eta:4.0f}s"
    if columns is None:
        return " ".join(t for t in (f"{label}:" if label else "", numbers, message) if t)
    room = max(1, columns - 1)
    label = _clip(label, max(0, room // 3))
    head = f"{label} " if label else ""
    widest = 2 * len(str(total)) + len("/ 100.0% eta 9999s")  # the bar keeps its width
    cells = min(BAR_CELLS, room - len(head) - max(widest, len(numbers)) - 3)  # "[", "]", " "
    if bar and cells >= MIN_BAR_CELLS:
        filled = int(round(frac * cells))
        head += f"[{'#' * filled}{'.' * (cells - filled)}] "
    line = head + numbers
    if message:
        line += " " + _clip(message, room - len(line) - 1)
    return line.rstrip()[:room]


class ProgressBar:
    """Callable as a core ProgressFn: bar(done, total, message).

    stream: where to draw (stderr). width: the terminal's columns (default: asked at every
    redraw). isatty: whether the stream is a terminal (default: asked once). enabled: False
    draws nothing (--quiet)."""

    def __init__(self, label: str = "", stream=None, width: int | None = None,
                 isatty: bool | None = None, enabled: bool = True) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.enabled = enabled
        self.start = time.monotonic()
        self._last_draw: float | None = None
        self._drawn = 0  # length of the line now on the terminal
        self._finished = False
        if isatty is None:
            isatty = bool(getattr(self.stream, "isatty", None) and self.stream.isatty())
        self.tty = isatty

    def __call__(self, done: int, total: int, message: str = "") -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        final = total > 0 and done >= total
        if self._finished and final:
            return  # the final line once, however often 'done' is reported
        self._finished = final
        if self._last_draw is None and not self.tty and not final:
            self._last_draw = now  # not a terminal: the first plain line after PLAIN_EVERY
            return
        every = TTY_EVERY if self.tty else PLAIN_EVERY
        if not final and self._last_draw is not None and now - self._last_draw < every:
            return
        self._last_draw = now
        elapsed = now - self.start
        if not self.tty:
            self.stream.write(format_line(self.label, done, total, message, elapsed, None, False) + "\n")
            self.stream.flush()
            return
        columns = self.width or terminal_columns(self.stream)
        line = format_line(self.label, done, total, message, elapsed, columns, True)
        pad = " " * max(0, min(self._drawn, columns - 1) - len(line))  # wipe a longer old line
        self.stream.write("\r" + line + pad)
        self._drawn = len(line)
        _unfinished.clear()
        if final:
            self.stream.write("\n")
            self._drawn = 0
        else:
            _unfinished.append(self.stream)
        self.stream.flush()
