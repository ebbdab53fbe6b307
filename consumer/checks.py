"""Checks: a consumer's result held against an answer key, one way for every consumer.

A check declares what it needs (`Needs`): a run whose micro-batches are the answer key's
(availableNow, and for most keys one file per trigger) and a sink it can read back (the memory
table). `prepare` holds a consumer's output to those needs when its config is built: what it
cannot honour is refused with one line, never replaced without a word. After the run, the
consumer's comparison (the `check` it hands `runner.run`) returns a `Verdict`; the report
records it, and `conclude` prints it — one table format, the notes,
a last line that ends in `agree` or `DIFFER` — and fails one way (`StreamFailed`, exit 1).
A new check is a `Needs`, a key to read and a function from the result's rows to a `Verdict`.
The rules of the keys themselves are in docs/answer-keys.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from consumer.errors import StreamFailed
from consumer.inputs import FolderInput, Input, SocketInput
from consumer.output import OutputConfig, Sink
from generator.errors import UsageError

READABLE: Sink = "memory"  # the sink a check reads the result back from


@dataclass(frozen=True)
class Needs:
    """What a check needs of the run to compare it with its key."""

    key: Path | None  # the answer key file (None: drawn, or written by a server as it sends)
    how_to_make: str = "land the files with `generator files`"  # said when the key is missing
    one_file_per_trigger: bool = True  # the key's micro-batches are one file each
    folder: bool = True  # the key lands beside the files: a socket stream cannot be checked


def prepare(
    output: OutputConfig, source: Input, needs: Needs, timeout: float | None
) -> OutputConfig:
    """The output a checked run writes to (the memory table), or one line saying what stops it."""
    socket = isinstance(source, SocketInput)
    if socket and needs.folder:
        raise UsageError("--check reads the answer key landed beside the files: give a folder")
    if output.sink not in (None, READABLE):
        raise UsageError(f"--check reads the result back from a memory table, and --sink is "
                         f"{output.sink}: leave --sink out (or give --sink memory)")  # fmt: skip
    files = source.max_files_per_trigger if isinstance(source, FolderInput) else 1
    if needs.one_file_per_trigger and files != 1:
        raise UsageError("--check needs one file per trigger (the answer key's batches)")
    if needs.key is not None and not needs.key.exists():
        raise UsageError(f"no answer key at {needs.key}: {needs.how_to_make}")
    if socket:
        if timeout is None:
            raise UsageError("--check with --socket needs --timeout SECONDS (when to compare)")
    elif not output.available_now:
        raise UsageError("--check needs --available-now (a deterministic run)")
    return dataclasses.replace(output, sink=READABLE)


@dataclass
class Verdict:
    """A comparison's outcome: a table (first row the header), notes under it, and whether the
    result agrees with the key. `summary` opens the last line; `what` names the result in the
    failure."""

    table: Sequence[Sequence[object]]
    good: bool
    what: str
    summary: str = ""
    notes: list[str] = field(default_factory=list)
    # what the report draws: per group (a window ...), the key's count and the result's
    per_group: list[tuple[str, int, int | None]] = field(default_factory=list)

    def conclusion(self) -> str:
        return "agree" if self.good else "DIFFER"

    def settings(self, key: dict[str, object], used: Sequence[tuple[str, object, str]]) -> None:
        """An answer key answers one query: (option, value the query used, the key's field)."""
        for option, mine, name in used:
            theirs = key.get(name)
            if theirs is not None and mine is not None and theirs != mine:
                self.good = False
                self.notes.append(f"the answer key is for {option} {theirs} and the query used "
                                  f"{mine}")  # fmt: skip

    def missing(self, label: str, items: Sequence[str], most: int = 5) -> None:
        self.notes.extend(f"{label}: {item}" for item in items[:most])
        if len(items) > most:
            self.notes.append(f"{label}: ... and {len(items) - most} more")

    def lines(self) -> list[str]:
        """The table (the first column to the left, the others to the right), notes, verdict."""
        cells = [["" if v is None else str(v) for v in row] for row in self.table]
        widths = [max(len(row[i]) for row in cells if i < len(row)) for i in range(len(cells[0]))]
        out = []
        for row in cells:
            first, *rest = row
            text = first.ljust(widths[0])
            for i, v in enumerate(rest, 1):
                text += "  " + v.rjust(widths[i]) if i < len(widths) else "  " + v
            out.append(text.rstrip())
        verdict = self.conclusion()
        return [*out, *self.notes, f"{self.summary}: {verdict}" if self.summary else verdict]


def conclude(verdict: Verdict, out: TextIO) -> None:
    """Print the verdict; a result that differs from its key ends the run with exit code 1."""
    for line in verdict.lines():
        print(line, file=out)
    if not verdict.good:
        raise StreamFailed(f"{verdict.what} differ from the answer key (see the table)")
