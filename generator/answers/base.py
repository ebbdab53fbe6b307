"""What every answer key is: fed one micro-batch at a time, whole as `lines()`, saved as it
grows (`store.py`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import ClassVar

import numpy as np

from generator.answers.store import OPEN, KeyFile, Line


def iso(seconds: int) -> str:
    """Epoch seconds as the keys and Spark's `date_format(..., "yyyy-MM-dd HH:mm:ss")` write
    them (UTC)."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def isos(seconds: np.ndarray) -> list[str]:
    """`iso` of a column of epoch seconds, at once."""
    if not len(seconds):
        return []
    text = np.datetime_as_string(np.asarray(seconds, dtype="datetime64[s]"), unit="s")
    out: list[str] = np.char.replace(text, "T", " ").tolist()
    return out


class AnswerKey:
    """A key's records that are final go to `self.final` as they become so (they never change
    again); `open_records()` are those that may, and `summary()` ends the key."""

    file_name: ClassVar[str]

    def __init__(self) -> None:
        self.final: list[Line] = []
        self._saved = 0
        self._file: KeyFile | None = None

    def open_records(self) -> list[Line]:
        return []

    def state(self) -> Line:
        """What the key holds after its last batch, as JSON: with `restore`, a run that goes on
        starts from it instead of reading every file again."""
        raise NotImplementedError

    def restore(self, state: Line) -> None:
        """Take up `state` (a fresh key's settings must be the state's: ValueError else)."""
        raise NotImplementedError

    def mark(self) -> Line | None:
        """Where the key's file ended at the last save (None before the first)."""
        return self._file.mark() if self._file is not None else None

    def resume(self, folder: Path, mark: Line) -> bool:
        """Append to the file from `mark` on (False, and nothing changed, if it cannot)."""
        file = KeyFile(folder, self.file_name)
        if not file.resume(mark):
            return False
        self._file, self._saved, self.final = file, 0, []
        return True

    def summary(self) -> Line:
        raise NotImplementedError

    def lines(self) -> list[Line]:
        """The whole key, as a reader of its file gets it (`store.read`)."""
        return [*self.final, *self.open_records(), self.summary()]

    def save(self, folder: Path) -> None:
        """Append what became final since the last save, and the summary with what is open."""
        if self._file is None or self._file.path.parent != folder:
            self._file, self._saved = KeyFile(folder, self.file_name), 0
        summary = self.summary()
        opened = self.open_records()
        if opened:
            summary[OPEN] = opened
        self._file.write(self.final[self._saved :], summary)
        self._saved = len(self.final)
