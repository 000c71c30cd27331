"""Capture what C/C++ libraries write straight to file descriptor 2 around a native call.

Why: libpng, libjpeg, OpenCV and TensorFlow print their own diagnostics on the
process's stderr, next to (or instead of) our one `error:` line, and Python's
sys.stderr cannot stop them: they write to the file descriptor. `capture_native_stderr()`
points fd 2 at a temporary file for the length of the call and gives the caller the
library's known lines (KNOWN_CHATTER) so that it can turn them into a typed error or a
warning. Every other line is written back to the real stderr: nothing is lost.

Thread-safe: captures in several threads (the GUI decodes in worker threads) and
nested captures share one redirection (a depth count under a lock); fd 2 is restored
when the last one ends, also on exceptions. Each capture sees all text written during
its own window, which can include another thread's lines: NativeOutput.alone tells
whether any other capture overlapped, so a caller that must know whose line it is (the
image decoders) can repeat its call alone.

SKYSEG_NATIVE_STDERR=1 in the environment turns capturing off (for debugging: every
library line then goes straight to stderr, as without this module). Use it too when a
native library crashes the process: what a capture holds when the process dies is lost.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

#: Set to "1" to see the libraries' own lines unfiltered.
DISABLE_ENV = "SKYSEG_NATIVE_STDERR"

#: The library lines we know, by kind. Only these are taken out of stderr; each is
#: turned into something useful by the caller (a typed error, a warning) or, for the
#: TensorFlow start-up lines, dropped. Anything else is passed through.
KNOWN_CHATTER: dict[str, tuple[re.Pattern[str], ...]] = {
    # TensorFlow/absl start-up, printed before absl's log is initialised (so
    # TF_CPP_MIN_LOG_LEVEL does not stop it), and the "no GPU" lines of a CPU machine.
    "tensorflow": (
        re.compile(r"^WARNING: All log messages before absl::InitializeLog\(\) is called"),
        re.compile(r"^[IW]\d{4} [\d:.]+\s+\d+ (port|cudart_stub|cpu_feature_guard|cpu_utils"
                   r"|cuda_executor|gpu_device|computation_placer)\.cc:\d+\]"),
        re.compile(r"^E\d{4} [\d:.]+\s+\d+ cuda_platform\.cc:\d+\] failed call to cuInit"),
        re.compile(r"^E\d{4} [\d:.]+\s+\d+ cuda_(fft|dnn|blas)\.cc:\d+\] Unable to register"),
        re.compile(r"^[IE]\d{4} [\d:.]+\s+\d+ cuda_diagnostics\.cc:\d+\]"),
    ),
    # OpenCV's log line when imdecode swallows a decoder exception.
    "opencv": (
        re.compile(r"^\[\s*(ERROR|WARN)\s*:\d+@[\d.]+\] global (loadsave|grfmt_\w+|rgbe|exif)\.cpp"),
    ),
    # libpng's default error and warning handlers.
    "libpng": (re.compile(r"^libpng (error|warning): "),),
    # libjpeg's warnings (jerror.h JWRN_*): the picture decodes, but parts may be wrong.
    "libjpeg": (
        re.compile(r"^Corrupt JPEG data: "),
        re.compile(r"^Premature end of JPEG file"),
        re.compile(r"^Invalid SOS parameters for sequential JPEG"),
        re.compile(r"^Inconsistent progression sequence"),
        re.compile(r"^Warning: unknown JFIF revision number"),
        re.compile(r"^Warning: thumbnail image size does not match"),
    ),
}


def chatter_kind(line: str) -> str | None:
    """The KNOWN_CHATTER kind of one line, or None for a line we do not know."""
    line = line.rstrip("\r\n")
    for kind, patterns in KNOWN_CHATTER.items():
        if any(p.match(line) for p in patterns):
            return kind
    return None


@dataclass
class NativeOutput:
    """What fd 2 received during one capture (filled in when the capture ends)."""

    text: str = ""
    chatter: list[tuple[str, str]] = field(default_factory=list)  # (kind, line)
    alone: bool = True  # no other capture ran during this one: every line is this call's

    def lines(self, kind: str) -> list[str]:
        """The known lines of `kind` ("libpng", "libjpeg", "opencv", "tensorflow")."""
        return [line for k, line in self.chatter if k == kind]


# --- the one shared redirection ------------------------------------------------------
_lock = threading.Lock()
_depth = 0
_real_fd: int | None = None  # a duplicate of the original fd 2 while redirected
_sink = None  # the temporary file fd 2 points at
_passed = 0  # offset in the sink up to which text was written back (or dropped)
_after_known = False  # the last line looked at was known chatter (a blank line follows OpenCV's)
_entries = 0  # captures begun so far: tells whether another one began during a capture


def capture_disabled() -> bool:
    return os.environ.get(DISABLE_ENV, "").strip() == "1"


def _flush_python_streams() -> None:
    for stream in (sys.stderr, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass


def _read(start: int, end: int) -> bytes:
    fd = _sink.fileno()
    if end <= start:
        return b""
    if hasattr(os, "pread"):
        return os.pread(fd, end - start, start)
    os.lseek(fd, start, os.SEEK_SET)  # Windows: no pread; writers append at the end
    try:
        return os.read(fd, end - start)
    finally:
        os.lseek(fd, 0, os.SEEK_END)


def _size() -> int:
    return os.fstat(_sink.fileno()).st_size


def _begin() -> tuple[int, bool, int] | None:
    """Start (or join) the redirection: (the sink offset this capture starts at, whether
    it is the only capture, the entry count), or None when there is no fd 2."""
    global _depth, _real_fd, _sink, _passed, _after_known, _entries
    with _lock:
        if _depth == 0:
            _flush_python_streams()
            try:
                real = os.dup(2)
            except OSError:  # no stderr at all (a windowed app): nothing to capture
                return None
            try:
                sink = tempfile.TemporaryFile(prefix="skysegui-stderr-")
                os.dup2(sink.fileno(), 2)
            except OSError:
                os.close(real)
                return None
            _real_fd, _sink, _passed, _after_known = real, sink, 0, False
        _depth += 1
        _entries += 1
        return _size(), _depth == 1, _entries


def _pass_through(data: bytes) -> None:
    """Write the unknown lines of `data` to the real stderr; drop known chatter."""
    global _after_known
    keep = []
    for raw in data.splitlines(keepends=True):
        line = raw.decode("utf-8", "replace")
        if not line.strip():
            if not _after_known:
                keep.append(raw)
            continue
        _after_known = chatter_kind(line) is not None
        if not _after_known:
            keep.append(raw)
    out = b"".join(keep)
    while out:
        try:
            written = os.write(_real_fd, out)
        except OSError:  # the real stderr is gone (closed pipe): nothing more to do
            return
        out = out[written:]


def _end(start: int, first: bool, entry: int) -> tuple[bytes, bool]:
    """Leave the redirection: (this capture's text, whether no other capture overlapped
    it). Restores fd 2 after the last one."""
    global _depth, _real_fd, _sink, _passed
    with _lock:
        alone = first and _entries == entry and _depth == 1
        try:
            _flush_python_streams()
            end = _size()
            mine = _read(start, end)
            last = _depth == 1
            # Others still capturing may be in the middle of a line: pass whole lines only.
            upto = end if last else _passed + _read(_passed, end).rfind(b"\n") + 1
            if upto > _passed:
                _pass_through(_read(_passed, upto))
                _passed = upto
            return mine, alone
        finally:
            _depth -= 1
            if _depth == 0:
                os.dup2(_real_fd, 2)
                os.close(_real_fd)
                _sink.close()
                _real_fd = _sink = None


@contextmanager
def capture_native_stderr() -> Iterator[NativeOutput]:
    """Redirect fd 2 around a native call; the NativeOutput is filled in on exit.

    Known chatter (KNOWN_CHATTER) stays in the NativeOutput only; every other line is
    written to the real stderr when the capture ends.
    """
    output = NativeOutput()
    began = None if capture_disabled() else _begin()
    if began is None:
        yield output
        return
    try:
        yield output
    finally:
        data, output.alone = _end(*began)
        text = data.decode("utf-8", "replace")
        output.text = text
        output.chatter = [
            (kind, line.rstrip("\r"))
            for line in text.split("\n")
            if (kind := chatter_kind(line)) is not None
        ]


def library_words(output: NativeOutput, *kinds: str) -> str:
    """The libraries' own reason, short, for a message in brackets ('' when none).

    'libpng error: bad adaptive filter value' -> 'libpng: bad adaptive filter value';
    OpenCV's long log line -> the decoder's reason ('RGBE bad file format: ...').
    """
    words: list[str] = []
    for kind, line in output.chatter:
        if kind not in kinds:
            continue
        if kind == "libpng":
            text = "libpng: " + line.split(": ", 1)[1]
        elif kind == "opencv":
            m = re.search(r"error: \(-?\d+:[^)]*\) (.*?)(?: in function '[^']*')?$", line)
            if not m:
                continue
            text = m.group(1).strip()
        else:
            text = line.strip()
        if text and text not in words:
            words.append(text)
    return "; ".join(words)
