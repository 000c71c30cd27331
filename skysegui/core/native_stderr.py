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
    # OpenEXR (its Python binding prints the first to stdout, the core library the second
    # to stderr) when a file's pixel data cannot be decoded; the reader raises
    # CorruptImageError instead.
    "openexr": (
        re.compile(r"^Warning: Exception raised reading pixel data"),
        re.compile(r"^.*: \(EXR_ERR_[A-Z_]+\) "),
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


# --- the shared redirections (one per file descriptor) ----------------------------------
def capture_disabled() -> bool:
    return os.environ.get(DISABLE_ENV, "").strip() == "1"


def _flush_c_stdio() -> None:
    """fflush(NULL): text a library wrote with printf/std::cout that is still in C's
    buffers reaches the file descriptor now, inside the capture that caused it."""
    global _libc
    if _libc is None:
        try:
            import ctypes
            import ctypes.util

            _libc = ctypes.CDLL(ctypes.util.find_library("c") if os.name != "nt" else "msvcrt")
        except OSError:
            _libc = False
    if _libc:
        try:
            _libc.fflush(None)
        except (AttributeError, OSError):
            pass


_libc = None


class _Redirect:
    """One file descriptor (2, or 1 for libraries that print to stdout) pointed at a
    temporary file while any capture of it runs; captures share it (a depth count)."""

    def __init__(self, fd: int, streams) -> None:
        self.fd = fd
        self.streams = streams  # the Python streams to flush first (names in sys)
        self.lock = threading.Lock()
        self.depth = 0
        self.real_fd: int | None = None  # a duplicate of the original fd while redirected
        self.sink = None  # the temporary file the fd points at
        self.passed = 0  # offset in the sink up to which text was written back (or dropped)
        self.after_known = False  # the last line looked at was known chatter
        self.entries = 0  # captures begun so far: tells whether another one began meanwhile

    def flush(self) -> None:
        _flush_c_stdio()  # C/C++ libraries (OpenEXR's std::cout) buffer in C's stdio
        for name in self.streams:
            for stream in (getattr(sys, name, None), getattr(sys, f"__{name}__", None)):
                try:
                    if stream is not None:
                        stream.flush()
                except (OSError, ValueError):
                    pass

    def read(self, start: int, end: int) -> bytes:
        fd = self.sink.fileno()
        if end <= start:
            return b""
        if hasattr(os, "pread"):
            return os.pread(fd, end - start, start)
        os.lseek(fd, start, os.SEEK_SET)  # Windows: no pread; writers append at the end
        try:
            return os.read(fd, end - start)
        finally:
            os.lseek(fd, 0, os.SEEK_END)

    def size(self) -> int:
        return os.fstat(self.sink.fileno()).st_size

    def begin(self) -> tuple[int, bool, int] | None:
        """Start (or join) the redirection: (the sink offset this capture starts at, whether
        it is the only capture, the entry count), or None when there is no such fd."""
        with self.lock:
            if self.depth == 0:
                self.flush()
                try:
                    real = os.dup(self.fd)
                except OSError:  # no stderr/stdout at all (a windowed app): nothing to capture
                    return None
                try:
                    sink = tempfile.TemporaryFile(prefix="skysegui-native-")
                    os.dup2(sink.fileno(), self.fd)
                except OSError:
                    os.close(real)
                    return None
                self.real_fd, self.sink, self.passed, self.after_known = real, sink, 0, False
            self.depth += 1
            self.entries += 1
            return self.size(), self.depth == 1, self.entries

    def pass_through(self, data: bytes) -> None:
        """Write the unknown lines of `data` to the real fd; drop known chatter."""
        keep = []
        for raw in data.splitlines(keepends=True):
            line = raw.decode("utf-8", "replace")
            if not line.strip():
                if not self.after_known:
                    keep.append(raw)
                continue
            self.after_known = chatter_kind(line) is not None
            if not self.after_known:
                keep.append(raw)
        out = b"".join(keep)
        while out:
            try:
                written = os.write(self.real_fd, out)
            except OSError:  # the real fd is gone (closed pipe): nothing more to do
                return
            out = out[written:]

    def end(self, start: int, first: bool, entry: int) -> tuple[bytes, bool]:
        """Leave the redirection: (this capture's text, whether no other capture overlapped
        it). Restores the fd after the last one."""
        with self.lock:
            alone = first and self.entries == entry and self.depth == 1
            try:
                self.flush()
                end = self.size()
                mine = self.read(start, end)
                last = self.depth == 1
                # Others still capturing may be in the middle of a line: pass whole lines only.
                upto = end if last else self.passed + self.read(self.passed, end).rfind(b"\n") + 1
                if upto > self.passed:
                    self.pass_through(self.read(self.passed, upto))
                    self.passed = upto
                return mine, alone
            finally:
                self.depth -= 1
                if self.depth == 0:
                    os.dup2(self.real_fd, self.fd)
                    # Other threads write to the fd too (the GUI's main thread prints while a
                    # worker reads an EXR): what reached the sink after the read above would
                    # be lost with it. The fd is back, so nothing more arrives there.
                    late = self.size()
                    if late > self.passed:
                        self.pass_through(self.read(self.passed, late))
                    os.close(self.real_fd)
                    self.sink.close()
                    self.real_fd = self.sink = None


_STDERR = _Redirect(2, ("stderr",))
_STDOUT = _Redirect(1, ("stdout",))


def _fill(output: NativeOutput, data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    output.text += text
    output.chatter += [
        (kind, line.rstrip("\r"))
        for line in text.split("\n")
        if (kind := chatter_kind(line)) is not None
    ]


@contextmanager
def capture_native_stderr() -> Iterator[NativeOutput]:
    """Redirect fd 2 around a native call; the NativeOutput is filled in on exit.

    Known chatter (KNOWN_CHATTER) stays in the NativeOutput only; every other line is
    written to the real stderr when the capture ends.
    """
    output = NativeOutput()
    began = None if capture_disabled() else _STDERR.begin()
    if began is None:
        yield output
        return
    try:
        yield output
    finally:
        data, output.alone = _STDERR.end(*began)
        _fill(output, data)


@contextmanager
def capture_native_output() -> Iterator[NativeOutput]:
    """capture_native_stderr for libraries that also print to stdout (OpenEXR's Python
    binding writes "Warning: Exception raised reading pixel data" there): fd 1 and fd 2
    are both captured, the NativeOutput holds both (stderr first); unknown lines of each
    go back to where they were written."""
    with capture_native_stderr() as output:
        began = None if capture_disabled() else _STDOUT.begin()
        if began is None:
            yield output
            return
        try:
            yield output
        finally:
            data, alone = _STDOUT.end(*began)
            output.alone = output.alone and alone
            _fill(output, data)


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
