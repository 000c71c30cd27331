"""The project lock (issue 16): one holder at a time, stale locks taken over, a CLI
command that writes into a locked project refused with the holder's name."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest

from skysegui.core.project_lock import (
    LOCK_NAME,
    STALE_AFTER_S,
    ProjectLock,
    ProjectLockedError,
    command_lock,
    read_lock,
    writing_into,
)


def test_one_holder_then_the_next_after_release(tmp_path):
    first, second = ProjectLock(tmp_path), ProjectLock(tmp_path)
    assert first.acquire() and not second.acquire()
    assert second.holder().token == first.token
    first.refresh()
    first.release()
    assert not (tmp_path / LOCK_NAME).exists()
    assert second.acquire()


def _write_lock(root, **fields):
    info = {"owner": "x", "host": socket.gethostname(), "pid": 1, "program": "w",
            "token": "t" * 32, "since": time.time(), "heartbeat": time.time()}
    info.update(fields)
    (root / LOCK_NAME).write_text(json.dumps(info))


def test_stale_locks_are_taken_over(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    _write_lock(tmp_path, pid=int(dead))  # its process is gone
    lock = ProjectLock(tmp_path)
    assert lock.acquire() and read_lock(tmp_path).token == lock.token
    lock.release()
    _write_lock(tmp_path, host="elsewhere", heartbeat=time.time() - STALE_AFTER_S - 5)
    assert ProjectLock(tmp_path).acquire()


def test_a_live_lock_on_another_host_is_respected(tmp_path):
    _write_lock(tmp_path, host="elsewhere")
    assert not ProjectLock(tmp_path).acquire()
    with pytest.raises(ProjectLockedError, match="on elsewhere"):
        with command_lock(tmp_path, "train"):
            pass


def test_writing_into_finds_the_project_and_releases(tmp_path):
    (tmp_path / "p" / "images").mkdir(parents=True)
    with writing_into([tmp_path / "p" / "masks"], "masks"):
        assert read_lock(tmp_path / "p").program == "skysegui masks"
    assert not (tmp_path / "p" / LOCK_NAME).exists()
