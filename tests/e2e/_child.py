"""A real child process to kill: the kill tests watch what it prints and SIGKILL it.

Its stdout lines are collected by a thread so the test can poll them without blocking,
and a child that dies or hangs fails the test with its last words instead of hanging it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class LineChild:
    """`python -c code args` run from the repository; `code` may use `{repo}`."""

    def __init__(self, code: str, args: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code.format(repo=str(REPO)), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            if line.strip():  # a library may print a blank line; the protocol has none
                self.lines.append(line.strip())

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str = "the child",
                   poll: float = 0.005) -> None:
        """Poll `ready` until it holds; AssertionError if the child dies or time runs out."""
        deadline = time.monotonic() + timeout
        while not ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"{what} died: {self.lines[-5:]} {self.proc.stderr.read()[-2000:]}")
            if time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"{what} hung: {self.lines[-5:]}")
            time.sleep(poll)

    def kill(self) -> None:
        """SIGKILL, then wait for the process and for the last of its output."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._reader.join(timeout=30)
        self.proc.stderr.close()
        assert self.proc.returncode == -signal.SIGKILL
