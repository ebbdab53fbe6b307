"""Landing files in a watched folder so that a reader can never see one half-written.

Every file goes through `land()`: written as `.NAME.tmp` in the same folder (Spark's listing skips
names starting with a dot), flushed and fsynced, given a modification time later than any file
landed before it, then renamed into place with `os.replace`, which is atomic on one filesystem.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable
from pathlib import Path

from generator.errors import UsageError

TEMP_SUFFIX = ".tmp"
_MS = 1_000_000  # Spark compares modification times in milliseconds


def write_all(fd: int, chunks: Iterable[bytes | memoryview]) -> None:
    """Every byte of `chunks` to `fd` (os.write may write less than asked), then fsync."""
    for chunk in chunks:
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view) :]
    os.fsync(fd)


def temp_name(name: str) -> str:
    return f".{name}{TEMP_SUFFIX}"


def land(
    folder: Path,
    name: str,
    chunks: Iterable[bytes | memoryview],
    after_ns: int = 0,
    replace: bool = False,
) -> int:
    """Write `chunks` to `folder/name` atomically; return the file's modification time (ns).

    The modification time is at least 1 ms after `after_ns`, so files sort in landing order
    by time as Spark's file source orders them. If anything fails or an interrupt arrives
    before the rename, the temp file is removed and the folder is as it was. A file that
    exists already is never overwritten, unless `replace` (the manifest is rewritten whole).
    """
    final = folder / name
    if not replace and final.exists():
        # names are chosen after the newest landed file: this is another writer's file
        raise FileExistsError(f"refusing to overwrite {final}")
    temp = folder / temp_name(name)
    try:
        # opened inside the try: an interrupt that comes as the temp file is made removes it.
        # Made new (O_EXCL, O_NOFOLLOW): a link planted at the temp name is removed, never
        # written through, so nothing lands outside the folder
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        try:
            fd = os.open(temp, flags, 0o644)
        except FileExistsError:
            os.unlink(temp)
            fd = os.open(temp, flags, 0o644)
        try:
            write_all(fd, chunks)
        finally:
            os.close(fd)
        mtime = max(time.time_ns(), after_ns + _MS)
        os.utime(temp, ns=(mtime, mtime))
        os.replace(temp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    return mtime


def remove_stale_temps(folder: Path, names: list[str] | None = None) -> list[str]:
    """Remove temp files a killed run left behind (among `names`, the folder's listing, when
    the caller has it); return their names."""
    removed = []
    names = os.listdir(folder) if names is None else names
    for name in [n for n in names if n[:1] == "." and n.endswith(TEMP_SUFFIX)]:
        path = folder / name
        if path.is_file() and not path.is_symlink():
            path.unlink()
            removed.append(name)
    return sorted(removed)


def prepare_folder(folder: Path) -> None:
    """Create `folder` if missing and make sure files can be landed in it, or raise UsageError."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"not a folder: {folder}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create folder {folder}: {exc.strerror}") from None
    probe = folder / temp_name(f"write-check-{os.getpid()}")
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(f"cannot write into folder {folder}: {exc.strerror}") from None
