"""How an answer key is kept on disk while files land: records that are final are appended once,
and every save ends with the key's summary line, which also carries what is still open. A save
costs what changed since the last one, however long the run has been going.

Readers fold the file back (`read`): the records, then the open ones of the last summary, then
that summary. A torn last line (a killed run) and records after the last summary are left out:
the file says what its last summary says.
"""

from __future__ import annotations

import base64
import json
import os
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from generator.landing import land, write_all

Line = dict[str, Any]
OPEN = "open_records"  # the summary's list of records that may still change
_TAIL = 4096  # bytes before a mark whose checksum a resumed file must still have


def _text(lines: Iterable[Line]) -> str:
    return "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)


class KeyFile:
    """One answer key's file: written anew by a run's first save, appended to by the next; or,
    when a run goes on from a saved state of its key (`mark`, `resume`), appended to from there."""

    def __init__(self, folder: Path, name: str) -> None:
        self.path = folder / name
        self._started = False
        self._size = 0  # bytes written so far, for `mark`

    def mark(self) -> Line:
        """Where the file ends now, and a checksum of the bytes just before: what `resume`
        checks that the file still holds."""
        return {"bytes": self._size, "crc": _tail_crc(self.path, self._size)}

    def resume(self, mark: Line) -> bool:
        """Go on from `mark`: what was appended after it is cut off (a later save of a run that
        was killed before it saved its state again). False when the file no longer holds the
        bytes of the mark (removed, shortened or written anew since): nothing is changed then."""
        size = int(mark["bytes"])
        try:
            if self.path.is_symlink() or self.path.stat().st_size < size:
                return False
            if _tail_crc(self.path, size) != mark["crc"]:
                return False
            fd = os.open(self.path, os.O_WRONLY | os.O_NOFOLLOW)
        except OSError:
            return False
        try:
            os.ftruncate(fd, size)
        finally:
            os.close(fd)
        self._started, self._size = True, size
        return True

    def write(self, records: Iterable[Line], summary: Line) -> None:
        data = _text([*records, summary]).encode()
        if not self._started:
            land(self.path.parent, self.path.name, [data], replace=True)
            self._started, self._size = True, len(data)
            return
        # O_NOFOLLOW: a link planted in place of the key is refused, not written through
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW)
        try:
            before = os.fstat(fd).st_size
            try:
                write_all(fd, [data])
            except BaseException:  # a disk filling up, an interrupt: no torn lines mid-file
                os.ftruncate(fd, before)
                raise
            self._size = before + len(data)
        finally:
            os.close(fd)


def packed(values: Iterable[int]) -> str:
    """Integers as the base64 of their int64 bytes, compressed: a saved state of 100,000
    windows is read and written in milliseconds, where a JSON list of them takes tens."""
    import numpy as np

    data = np.fromiter(values, dtype="<i8").tobytes()
    return base64.b64encode(zlib.compress(data, 1)).decode()


def unpacked(text: str) -> list[int]:
    import numpy as np

    try:
        data = zlib.decompress(base64.b64decode(text, validate=True))
    except zlib.error as exc:
        raise ValueError(f"not packed integers: {exc}") from None
    values: list[int] = np.frombuffer(data, dtype="<i8").tolist()
    return values


def _tail_crc(path: Path, size: int) -> int:
    """CRC-32 of the up to 4 KiB that end at byte `size` of the file."""
    with path.open("rb") as f:
        f.seek(max(0, size - _TAIL))
        return zlib.crc32(f.read(min(size, _TAIL)))


def read(path: Path, fold: tuple[str, ...] = ()) -> list[Line]:
    """The lines of an answer key as a whole: records (the last of each `fold` identity, where
    records are written again as they change), the open records, and the summary last."""
    raws = path.read_text().splitlines()
    lines: list[Line] = []
    for number, raw in enumerate(raws, 1):
        if not raw.strip():
            continue
        try:
            lines.append(json.loads(raw))
        except ValueError:
            if number == len(raws):  # torn by a killed run
                break
            raise
    last = max((i for i, line in enumerate(lines) if "summary" in line), default=None)
    if last is None:
        return lines  # a key written whole, without a summary (an older run's)
    summary = dict(lines[last])
    records = [line for line in lines[:last] if "summary" not in line]
    if fold:
        folded: dict[tuple[Any, ...], Line] = {}
        for record in records:
            folded[tuple(record.get(k) for k in fold)] = record
        records = list(folded.values())
    opened = summary.pop(OPEN, [])
    return [*records, *opened, summary]
