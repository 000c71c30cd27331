"""The native stderr capture: fd 2 always comes back, unknown lines are never lost, known
library lines reach the capture that asked, also with nested and concurrent captures; and
the image decoders turn their libraries' lines into typed errors and decoder warnings."""

from __future__ import annotations

import os
import threading
import warnings

import cv2
import numpy as np
import pytest

from skysegui.core.errors import CorruptImageError
from skysegui.core.imageio import read_image
from skysegui.core.imageio.model import DecoderWarning
from skysegui.core.native_stderr import (
    DISABLE_ENV,
    capture_native_output,
    capture_native_stderr,
    chatter_kind,
    library_words,
)
from tests.e2e import _faults as F


@pytest.fixture(autouse=True)
def _capture_on(monkeypatch):
    monkeypatch.delenv(DISABLE_ENV, raising=False)


def _fd2_identity() -> tuple[int, int]:
    st = os.fstat(2)
    return st.st_dev, st.st_ino


def test_fd2_is_restored_after_an_exception_and_unknown_lines_pass_through(capfd):
    before = _fd2_identity()
    with pytest.raises(RuntimeError, match="boom"):
        with capture_native_stderr() as said:
            os.write(2, b"libpng error: bad adaptive filter value\n")
            os.write(2, b"a line nobody knows\n")
            os.write(2, b"no newline at the end")
            raise RuntimeError("boom")
    assert _fd2_identity() == before
    assert capfd.readouterr().err == "a line nobody knows\nno newline at the end"
    assert said.lines("libpng") == ["libpng error: bad adaptive filter value"]
    assert library_words(said, "libpng") == "libpng: bad adaptive filter value"
    os.write(2, b"after\n")  # fd 2 writes reach the real stderr again
    assert capfd.readouterr().err == "after\n"


def test_a_real_libpng_failure_is_captured_not_printed(tmp_path, capfd):
    raw = np.fromfile(F.corrupt(tmp_path, "png", where="data"), dtype=np.uint8)
    with capture_native_stderr() as said:
        assert cv2.imdecode(raw, cv2.IMREAD_UNCHANGED) is None
    assert capfd.readouterr().err == ""
    assert said.lines("libpng"), said.text


def test_nested_captures_share_one_redirection(capfd):
    before = _fd2_identity()
    with capture_native_stderr() as outer:
        os.write(2, b"first\n")
        with capture_native_stderr() as inner:
            os.write(2, b"Corrupt JPEG data: premature end of data segment\n")
            os.write(2, b"second\n")
        assert _fd2_identity() != before  # still redirected for the outer capture
        os.write(2, b"third\n")
    assert _fd2_identity() == before
    assert capfd.readouterr().err == "first\nsecond\nthird\n"
    assert inner.lines("libjpeg") == ["Corrupt JPEG data: premature end of data segment"]
    assert outer.lines("libjpeg") == inner.lines("libjpeg")
    assert "first" in outer.text and "first" not in inner.text


def test_alone_says_whether_another_capture_overlapped():
    with capture_native_stderr() as single:
        pass
    assert single.alone
    with capture_native_stderr() as outer:
        with capture_native_stderr() as inner:
            pass
    assert not outer.alone and not inner.alone
    started, release = threading.Event(), threading.Event()

    def other():
        with capture_native_stderr():
            started.set()
            release.wait(10)

    with capture_native_stderr() as mine:
        th = threading.Thread(target=other)
        th.start()
        started.wait(10)
        release.set()
        th.join(10)
    assert not mine.alone


def test_two_threads_capturing_at_once_lose_nothing(capfd):
    rounds = 40
    barrier = threading.Barrier(2)
    seen: dict[int, list[list[str]]] = {0: [], 1: []}
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for k in range(rounds):
                barrier.wait()
                with capture_native_stderr() as said:
                    os.write(2, f"thread {t} line {k}\n".encode())
                    os.write(2, f"Corrupt JPEG data: thread {t} round {k}\n".encode())
                seen[t].append(said.lines("libjpeg"))
        except BaseException as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    before = _fd2_identity()
    threads = [threading.Thread(target=work, args=(t,)) for t in (0, 1)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert not errors, errors
    assert _fd2_identity() == before
    lines = capfd.readouterr().err.splitlines()
    expected = {f"thread {t} line {k}" for t in (0, 1) for k in range(rounds)}
    assert sorted(lines) == sorted(expected)  # each unknown line exactly once, none lost
    for t in (0, 1):  # each capture saw its own library line (and maybe the other thread's)
        for k, got in enumerate(seen[t]):
            assert f"Corrupt JPEG data: thread {t} round {k}" in got


def test_what_another_thread_prints_while_a_capture_ends_is_not_lost(capfd):
    """The GUI reads EXRs in worker threads with fd 1 captured (OpenEXR prints on stdout):
    a line the main thread printed as the last capture was ending used to land in the
    temporary file after it had been read, and went with it (a flaky kill test lost the
    line "start 2" that way)."""
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        n = 0
        while not stop.is_set() or n < 50:
            os.write(1, f"line {n}\n".encode())
            written.append(n)
            n += 1

    th = threading.Thread(target=writer)
    th.start()
    try:
        for k in range(400):
            with capture_native_output():
                os.write(1, f"inside {k}\n".encode())  # passed through as the capture ends
    finally:
        stop.set()
        th.join(30)
    got = [line for line in capfd.readouterr().out.splitlines() if line]
    assert sorted(line for line in got if line.startswith("inside")) == sorted(f"inside {k}" for k in range(400))
    lines = sorted((line for line in got if line.startswith("line")), key=lambda s: int(s.split()[1]))
    assert lines == [f"line {n}" for n in written]


def test_the_switch_turns_capturing_off(monkeypatch, capfd):
    monkeypatch.setenv(DISABLE_ENV, "1")
    with capture_native_stderr() as said:
        os.write(2, b"libpng error: shown as is\n")
    assert capfd.readouterr().err == "libpng error: shown as is\n"
    assert said.chatter == []


@pytest.mark.parametrize(
    "line, kind",
    [
        ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
         "tensorflow"),
        ("I0000 00:00:1795458013.790637   20301 port.cc:153] oneDNN custom operations are on.",
         "tensorflow"),
        ("I0000 00:00:1795458013.791069   20301 cudart_stub.cc:31] Could not find cuda drivers",
         "tensorflow"),
        ("E0000 00:00:1795458015.929960   20301 cuda_platform.cc:52] failed call to cuInit: "
         "INTERNAL: CUDA error", "tensorflow"),
        ("[ERROR:0@0.095] global loadsave.cpp:1390 imdecode_ imdecode_('/tmp/x'): can't read data",
         "opencv"),
        ("libpng error: bad adaptive filter value", "libpng"),
        ("Corrupt JPEG data: 17 extraneous bytes before marker 0xdc", "libjpeg"),
        ("E0000 00:00:1795458015.929960   20301 some_kernel.cc:52] out of memory", None),
        ("Traceback (most recent call last):", None),
    ],
)
def test_known_chatter(line, kind):
    assert chatter_kind(line) == kind


# --- the decoders ---------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["png", "hdr"])
def test_failed_decode_names_the_library_reason_and_prints_nothing(tmp_path, capfd, fmt):
    path = F.corrupt(tmp_path, fmt, where="data")
    with pytest.raises(CorruptImageError) as err:
        read_image(path)
    assert capfd.readouterr().err == ""
    message = str(err.value)
    assert path.name in message and "(" in message  # the library's words, in brackets
    assert ("libpng:" in message) if fmt == "png" else ("RGBE" in message)


def test_damaged_tiff_header_prints_nothing(tmp_path, capfd):
    path = F.corrupt(tmp_path, "tif", where="header")
    with pytest.raises(CorruptImageError, match="damaged TIFF") as err:
        read_image(path)
    assert path.name in str(err.value)
    assert capfd.readouterr().err == ""


def test_damaged_jpeg_opens_with_decoder_warnings(tmp_path, capfd):
    path = F.decodable_damaged_jpeg(tmp_path)
    capfd.readouterr()
    with pytest.warns(DecoderWarning, match=path.name):
        image = read_image(path)
    assert capfd.readouterr().err == ""
    assert image.pixels.shape == (32, 64, 3) and np.isfinite(image.pixels).all()
    assert all(w.startswith("Corrupt JPEG data") for w in image.info.decoder_warnings)
    note = image.info.decoder_note
    assert note.startswith(f"{path.name}: the JPEG decoder reported damage (Corrupt JPEG data")
    good = read_image(F.good_image(tmp_path, "jpg", "good"))
    assert good.info.decoder_warnings == () and good.info.decoder_note == ""


def test_concurrent_decodes_keep_each_files_warnings(tmp_path, capfd):
    damaged = F.decodable_damaged_jpeg(tmp_path)
    good = F.good_image(tmp_path, "jpg", "good")
    results: dict[str, list[tuple[str, ...]]] = {"damaged": [], "good": []}

    def work(name, path):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DecoderWarning)
            for _ in range(25):
                results[name].append(read_image(path).info.decoder_warnings)

    threads = [threading.Thread(target=work, args=a) for a in (("damaged", damaged), ("good", good))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert len(results["damaged"]) == len(results["good"]) == 25
    assert all(results["damaged"]) and not any(results["good"])
    assert capfd.readouterr().err == ""
