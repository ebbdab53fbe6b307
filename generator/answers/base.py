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
