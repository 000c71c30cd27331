"""The CLI progress bar (issue 14): never wider than the terminal, one line redrawn with \\r
on a terminal, plain occasional lines elsewhere, nothing with --quiet."""

from __future__ import annotations

import io
import os
import pty

import pytest

from skysegui.cli import progress as progress_module
from skysegui.cli.progress import ProgressBar, format_line, terminal_columns

LONG = "a-very-long-panorama-name-from-a-camera-rig-0001_hdr_bracketed_merged_final_v2.exr"


@pytest.fixture(autouse=True)
def _every_call_draws(monkeypatch):
    monkeypatch.setattr(progress_module, "TTY_EVERY", 0.0)
    monkeypatch.setattr(progress_module, "PLAIN_EVERY", 0.0)


def _segments(text: str) -> list[str]:
    """What each redraw left on the line: split on \\r and \\n."""
    return [s for s in text.replace("\n", "\r").split("\r") if s]


@pytest.mark.parametrize("columns", [20, 40, 80, 100, 200])
def test_on_a_terminal_the_bar_fits_the_width_and_stays_on_one_line(columns):
    stream = io.StringIO()
    bar = ProgressBar(LONG, stream=stream, width=columns, isatty=True)
    for done in range(0, 11):
        bar(done, 10, f"tile {done} of {LONG}")
    text = stream.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")  # one line, ended once when done
    assert text.count("\r") == 11
    for segment in _segments(text):
        assert len(segment) <= columns - 1, (columns, segment)
    assert "10/10" in _segments(text)[-1]
    if columns >= 100:
        assert "[" + "#" * progress_module.BAR_CELLS + "]" in text  # the full bar when there is room
    if columns >= 40:  # the bar keeps one width while the numbers and message change
        assert len({s.index("]") - s.index("[") for s in _segments(text) if "[" in s}) <= 1


def test_columns_comes_from_the_environment_like_shutil(monkeypatch):
    monkeypatch.setenv("COLUMNS", "50")
    assert terminal_columns() == 50
    stream = io.StringIO()
    bar = ProgressBar("predict", stream=stream, isatty=True)
    for done in range(5):
        bar(done, 4, LONG)
    assert all(len(s) <= 49 for s in _segments(stream.getvalue()))


def _read_all(fd: int) -> str:
    """Everything written to the pty so far: one read may return only the first chunk."""
    import select

    chunks = []
    while select.select([fd], [], [], 0.5)[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode()


def test_a_real_pseudo_terminal_of_60_columns(monkeypatch):
    import fcntl
    import struct
    import termios

    monkeypatch.delenv("COLUMNS", raising=False)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 60, 0, 0))
    try:
        with os.fdopen(slave, "w", closefd=False) as stream:
            assert terminal_columns(stream) == 60
            bar = ProgressBar(LONG, stream=stream)  # isatty asked of the stream itself
            assert bar.tty
            for done in range(6):
                bar(done, 5, LONG)
        data = _read_all(master)
    finally:
        os.close(slave)
        os.close(master)
    data = data.replace("\r\n", "\n")  # the terminal's own output processing
    assert data.count("\n") == 1
    assert all(len(s) <= 59 for s in _segments(data)), data


def test_not_a_terminal_plain_lines_without_a_bar(monkeypatch):
    stream = io.StringIO()
    bar = ProgressBar("masks", stream=stream, isatty=False)
    for done in range(4):
        bar(done, 3, "city.exr")
    bar(3, 3, "done")  # reported twice: still one final line
    text = stream.getvalue()
    assert "\r" not in text and "[" not in text and "#" not in text
    lines = text.splitlines()
    assert lines[-1].startswith("masks: 3/3 100.0%") and len(lines) == len(set(lines))


def test_not_a_terminal_by_default_only_the_final_line(monkeypatch):
    monkeypatch.setattr(progress_module, "PLAIN_EVERY", 3600.0)
    stream = io.StringIO()
    bar = ProgressBar("train", stream=stream, isatty=False)
    for done in range(101):
        bar(done, 100, "")
    assert stream.getvalue().splitlines() == [stream.getvalue().strip()]
    assert "100/100" in stream.getvalue()


def test_disabled_draws_nothing():
    stream = io.StringIO()
    bar = ProgressBar("x", stream=stream, isatty=True, enabled=False)
    for done in range(3):
        bar(done, 2)
    assert stream.getvalue() == ""


def test_a_narrow_terminal_drops_the_bar_before_the_numbers():
    line = format_line(LONG, 3, 10, LONG, 1.0, 30, True)
    assert len(line) <= 29 and "3/10" in line and "[" not in line


def test_a_shorter_redraw_wipes_the_longer_line_before_it():
    stream = io.StringIO()
    bar = ProgressBar("p", stream=stream, width=80, isatty=True)
    bar(1, 10, "a much longer message than the next one")
    bar(2, 10, "short")
    first, second = _segments(stream.getvalue())
    assert len(second) >= len(first.rstrip())


def test_cli_commands_draw_no_bar_when_stderr_is_captured(tmp_path, capsys):
    import json

    from skysegui.cli.main import main

    coco = {"images": [{"id": 1, "file_name": "a.exr", "width": 8, "height": 4}],
            "categories": [{"id": 1, "name": "sky"}], "annotations": []}
    (tmp_path / "l.json").write_text(json.dumps(coco))
    assert main(["masks", str(tmp_path / "l.json"), "--out", str(tmp_path / "m")]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err and "#" not in err
