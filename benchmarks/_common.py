"""Helpers several benchmarks share (the row type and timers live in _table.py)."""

from __future__ import annotations

import multiprocessing as mp
import os

from benchmarks._table import Row, peak_rss_mb


def current_rss_mb() -> float:
    """Resident memory now (MB), from /proc; falls back to the peak elsewhere.

    Growth over a long session shows in the current figure, not in the peak.
    """
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            pages = int(fh.read().split()[1])
    except OSError:
        return peak_rss_mb()
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def growth_row(bench: str, what: str, now_mb: float, before_mb: float, before: str,
               limit: float, decimals: int = 0) -> Row:
    """A memory figure against the same figure earlier in the run: ok while below limit x.

    `before` names that earlier moment ("after 10:", "before:") in the baseline column.
    """
    return Row(bench, what, now_mb, "MB", baseline=f"{before} {before_mb:.{decimals}f} MB",
               ratio=now_mb / before_mb, target=f"< {limit:g}x", ok=now_mb < limit * before_mb)


def in_child(target, *args, timeout: float = 900.0):
    """target(*args, queue) in a fresh spawned process; returns what it put on the queue.

    Peak-memory figures then belong to that one measured path, and the temporaries of
    making the test data stay out of the parent.
    """
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    result = queue.get(timeout=timeout)
    proc.join()
    return result
