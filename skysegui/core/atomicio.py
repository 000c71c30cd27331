"""Atomic file writes that keep the previous version.

Every file the program writes goes through `atomic_write`: the data goes to a temporary
file in the same folder, is flushed and fsynced, and replaces the target with os.replace,
so a crash or a full disk never leaves a half-written file. The old file is kept as
`<name>.bak` (one previous version) when `keep_backup` is set.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from skysegui.core.errors import SaveError


def _read_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


_UMASK = _read_umask()  # read once at import: os.umask is process-wide, not thread-safe


def backup_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path.with_name(path.name + ".bak")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, keep_backup: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write to; on success it replaces `path` atomically.

    The temporary file keeps the target's suffix so writers that choose the format by
    extension (OpenCV, tifffile, OpenEXR) still work. On any error the temporary file is
    removed, the target is untouched and SaveError says so.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=folder)
        os.close(fd)
        os.chmod(tmp_name, _target_mode(path))
    except OSError as exc:
        raise SaveError(f"cannot write {path}: {exc.strerror or exc}") from exc
    tmp = Path(tmp_name)
    try:
        yield tmp
        _fsync_file(tmp)
        if keep_backup and path.exists():
            _copy_backup(path)
        os.replace(tmp, path)
        _fsync_dir(folder)
    except SaveError:
        _remove_quietly(tmp)
        raise
    except OSError as exc:
        _remove_quietly(tmp)
        raise SaveError(
            f"could not save {path}: {exc.strerror or exc}; the previous version is intact"
        ) from exc
    except BaseException:
        _remove_quietly(tmp)
        raise


def write_bytes_atomic(path: str | os.PathLike, data: bytes, keep_backup: bool = False) -> None:
    with atomic_write(path, keep_backup=keep_backup) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)


def write_text_atomic(path: str | os.PathLike, text: str, keep_backup: bool = False) -> None:
    write_bytes_atomic(path, text.encode("utf-8"), keep_backup=keep_backup)


def _copy_backup(path: Path) -> None:
    """Copy `path` to its .bak atomically too: a crash mid-copy must not leave a partial .bak."""
    backup = backup_path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{backup.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        shutil.copy2(path, tmp_name)
        os.replace(tmp_name, backup)
    except BaseException:
        _remove_quietly(Path(tmp_name))
        raise


def _target_mode(path: Path) -> int:
    """The existing file's mode, or what a plain open() would give (mkstemp makes 0600)."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~_UMASK


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


#: the temporary files atomic_write (and _copy_backup) make: ".<stem>.<8 random>.tmp<suffix>"
#: and ".<name>.bak.<8 random>.tmp"; the project lock's heartbeat: ".skysegui.lock.<token>.tmp"
_OUR_TEMP = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp(\.[A-Za-z0-9]{1,8})?$|^\.skysegui\.lock\.[0-9a-f]{32}\.tmp$")
STALE_TEMP_S = 3600.0  # no write of ours takes an hour: an older temporary file is a kill's


def clean_stale_temp_files(folder: str | os.PathLike, depth: int = 1,
                           older_than_s: float = STALE_TEMP_S) -> list[Path]:
    """Remove the temporary files of our own naming that a killed write left in `folder`
    (and its sub-folders, `depth` levels down) when older than `older_than_s`. Files of
    other names, and young ones (a write in progress in another program), are left alone.
    Returns what was removed."""
    removed: list[Path] = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                if depth > 0 and not entry.name.startswith("."):
                    removed += clean_stale_temp_files(entry.path, depth - 1, older_than_s)
                continue
            if not entry.is_file(follow_symlinks=False) or not _OUR_TEMP.match(entry.name):
                continue
            if now - entry.stat(follow_symlinks=False).st_mtime < older_than_s:
                continue
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            continue
    return removed
