"""Who has a project open: a lock file in the project folder, so that a second window or
a CLI command that writes into the project never does so without knowing.

The lock is `<project>/.skysegui.lock`, a small JSON object: owner (user name), host,
pid, program ("window" or the CLI command), a token that tells two windows of one
process apart, when it was taken and its heartbeat (refreshed every minute while held).
It is advisory: it stops nothing by itself, but every writer of this program looks at
it. A lock is stale, and is taken over, when its process is gone (same host, pid not
running) or its heartbeat is older than STALE_AFTER_S (a crash on another machine of a
shared drive). Creating the file is atomic (O_EXCL), so two programs starting at once
cannot both believe they hold it.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from skysegui.core.errors import ProjectError

LOCK_NAME = ".skysegui.lock"
HEARTBEAT_S = 60.0
STALE_AFTER_S = 30 * 60.0  # a holder that has not refreshed for half an hour is gone


class ProjectLockedError(ProjectError):
    """Another window or command holds the project's lock."""

    def __init__(self, message: str, holder: LockInfo | None = None) -> None:
        super().__init__(message)
        self.holder = holder


@dataclass
class LockInfo:
    owner: str
    host: str
    pid: int
    program: str
    token: str
    since: float
    heartbeat: float

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.since))
        return f"{self.program} of {self.owner} on {self.host} (process {self.pid}, since {when})"


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name (a container): the uid says enough
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, someone else's
    return True


def read_lock(root: str | Path) -> LockInfo | None:
    """The lock of the project at `root`, or None (no lock, or an unreadable one)."""
    path = Path(root) / LOCK_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return LockInfo(
            owner=str(data["owner"]), host=str(data["host"]), pid=int(data["pid"]),
            program=str(data.get("program", "SkySeg GUI")), token=str(data["token"]),
            since=float(data["since"]), heartbeat=float(data["heartbeat"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_stale(info: LockInfo, now: float | None = None) -> bool:
    now = time.time() if now is None else now
    if now - info.heartbeat > STALE_AFTER_S:
        return True
    return info.host == socket.gethostname() and not _pid_alive(info.pid)


class ProjectLock:
    """The lock of one project folder as one holder sees it (take, refresh, release)."""

    def __init__(self, root: str | Path, program: str = "SkySeg GUI window") -> None:
        self.root = Path(root)
        self.path = self.root / LOCK_NAME
        self.program = program
        self.token = uuid.uuid4().hex
        self.held = False
        # a holder dropped without release() (a window garbage-collected, the program
        # exiting) still removes its lock file
        self._finalizer = weakref.finalize(self, _release_file, self.path, self.token)

    def holder(self) -> LockInfo | None:
        """Who holds the lock now, when it is someone else and alive; else None."""
        info = read_lock(self.root)
        if info is None or info.token == self.token or is_stale(info):
            return None
        return info

    def acquire(self, force: bool = False) -> bool:
        """Take the lock. False when another live holder has it (unless force: then it is
        taken over, the user having chosen "open anyway"). A stale lock is taken over."""
        for _ in range(3):
            info = self._info(since=time.time())
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                other = read_lock(self.root)
                if other is not None and other.token == self.token:
                    self.held = True
                    return True
                if other is not None and not is_stale(other) and not force:
                    return False
                if other is None and not force and self._young():
                    return False  # being written this very moment by another program
                with contextlib.suppress(OSError):
                    self.path.unlink()
                continue
            except OSError:
                return True  # a read-only folder or file system: nobody can write there anyway
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(asdict(info)))
            self.held = True
            return True
        return False

    def _young(self) -> bool:
        try:
            return time.time() - self.path.stat().st_mtime < 5
        except OSError:
            return False

    def _info(self, since: float) -> LockInfo:
        now = time.time()
        return LockInfo(_user(), socket.gethostname(), os.getpid(), self.program, self.token, since, now)

    def refresh(self) -> None:
        """The heartbeat: rewrite the time, if the lock is still ours."""
        if not self.held:
            return
        info = read_lock(self.root)
        if info is None or info.token != self.token:
            self.held = False  # taken over by someone who chose "open anyway"
            return
        info.heartbeat = time.time()
        tmp = self.path.with_name(f"{LOCK_NAME}.{self.token}.tmp")
        with contextlib.suppress(OSError):
            tmp.write_text(json.dumps(asdict(info)), encoding="utf-8")
            os.replace(tmp, self.path)
        with contextlib.suppress(OSError):
            tmp.unlink()

    def release(self) -> None:
        """Remove the lock file if it is still ours."""
        if not self.held:
            return
        self.held = False
        _release_file(self.path, self.token)

    def still_held(self) -> bool:
        info = read_lock(self.root)
        self.held = self.held and info is not None and info.token == self.token
        return self.held


def _release_file(path: Path, token: str) -> None:
    info = read_lock(path.parent)
    if info is not None and info.token == token:
        with contextlib.suppress(OSError):
            path.unlink()


@contextlib.contextmanager
def command_lock(root: str | Path, command: str) -> Iterator[ProjectLock]:
    """Hold the project's lock while a CLI command writes into it; ProjectLockedError
    (naming the holder) when a window or another command has it. A heartbeat thread keeps
    the lock fresh through long commands (training)."""
    lock = ProjectLock(root, program=f"skysegui {command}")
    if not lock.acquire():
        holder = lock.holder()
        who = holder.describe() if holder is not None else "another program"
        raise ProjectLockedError(
            f"the project {root} is open in {who}; `skysegui {command}` writes into it, so "
            "close it there first (or wait until that command ends) and run this again",
            holder,
        )
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_S):
            lock.refresh()

    thread = threading.Thread(target=beat, name="skysegui-lock-heartbeat", daemon=True)
    thread.start()
    try:
        yield lock
    finally:
        stop.set()
        lock.release()


def enclosing_project(path: str | Path) -> Path | None:
    """The project folder that `path` (a file or folder, existing or not) lies in: the
    nearest folder at or above it with a lock or labels.json, or (the path itself and its
    own folder only, so that a home folder with an images/ folder is no project) images/."""
    path = Path(path).absolute()
    for depth, folder in enumerate((path, *path.parents)):
        if (folder / LOCK_NAME).exists() or (folder / "labels.json").is_file():
            return folder
        if depth < 2 and (folder / "images").is_dir():
            return folder
    return None


@contextlib.contextmanager
def writing_into(paths, command: str) -> Iterator[None]:
    """Hold the lock of every project that one of `paths` lies in while a CLI command
    writes there (command_lock); paths outside any project need no lock."""
    roots = list(dict.fromkeys(r for r in (enclosing_project(p) for p in paths if p) if r is not None))
    with contextlib.ExitStack() as stack:
        for root in roots:
            stack.enter_context(command_lock(root, command))
        yield
