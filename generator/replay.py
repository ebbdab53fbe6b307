"""`python -m generator replay SOURCE DIR`: land a real data set into a watched folder, in time
order, one file at a time, atomically, with strictly increasing modification times.

A plain `cp` of a by-day folder gives every file one modification time, so Spark reads the days
in any order, and old times can fall behind `maxFileAge`. SOURCE is a folder (its files keep
their names and bytes, landed in name order) or one CSV with a time column (its lines ordered by
that column and split into files of `--rows-per-file` rows or one per `--every` period).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from generator.errors import LandingFailed, UsageError
from generator.landing import land, prepare_folder, remove_stale_temps
from generator.options import held, non_negative_float, positive_float, positive_int
from generator.progress import StatusLine, human, rate
from generator.signals import sigterm_as_interrupt


@dataclass(frozen=True)
class ReplayConfig:
    """Everything `generator replay` does, checked when built: the CLI only fills it in."""

    source: Path
    directory: Path
    time_column: str | None = None
    rows_per_file: int | None = None  # one CSV: lines per file (default 1000)
    every: float | None = None  # seconds per file, by the time column
    interval: float | None = None  # seconds between files (default 1)
    speed: float | None = None  # follow the data's own times, this many times faster
    loop: bool = False
    files: int | None = None
    duration: float | None = None
    quiet: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", Path(self.source))
        object.__setattr__(self, "directory", Path(self.directory))
        for one, other in (("rows_per_file", "every"), ("interval", "speed"),
                           ("files", "duration")):  # fmt: skip
            if getattr(self, one) is not None and getattr(self, other) is not None:
                raise UsageError(f"{_option(one)} and {_option(other)} do not go together: "
                                 "give one of them")  # fmt: skip
        for name, convert in (("rows_per_file", positive_int), ("files", positive_int),
                              ("every", positive_float), ("speed", positive_float),
                              ("duration", positive_float),
                              ("interval", non_negative_float)):  # fmt: skip
            held(_option(name), convert, getattr(self, name))

    @property
    def pause(self) -> float:
        return 1.0 if self.interval is None else self.interval


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


@dataclass(frozen=True)
class Piece:
    name: str
    data: bytes
    time: float | None  # epoch seconds of its first record, when known
    rows: int


def plan(config: ReplayConfig) -> list[Piece]:
    """What one pass lands, in order; checks SOURCE before anything is written."""
    source = config.source
    if not source.exists():
        raise UsageError(f"no such file or folder: {source}")
    if source.is_dir():
        for option, value in (("--time-column", config.time_column),
                              ("--rows-per-file", config.rows_per_file),
                              ("--every", config.every)):  # fmt: skip
            if value is not None:
                raise UsageError(f"{option} is for one CSV file; {source} is a folder")
        return _plan_folder(source)
    if config.time_column is None:
        raise UsageError(f"{source} is one file: name its time column with --time-column")
    return _plan_csv(source, config.time_column, config.rows_per_file, config.every)


def _plan_folder(source: Path) -> list[Piece]:
    names = sorted(
        p.name for p in source.iterdir() if p.is_file() and not p.name.startswith((".", "_"))
    )
    if not names:
        raise UsageError(f"nothing to replay in {source}")
    pieces = []
    for name in names:
        data = (source / name).read_bytes()
        pieces.append(Piece(name, data, _time_of_name(name), data.count(b"\n")))
    return pieces


def _time_of_name(name: str) -> float | None:
    import datetime as dt

    try:
        day = dt.date.fromisoformat(name[:10])
    except ValueError:
        return None
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()


def _plan_csv(
    source: Path, column: str, rows_per_file: int | None, every: float | None
) -> list[Piece]:
    try:
        table = pacsv.read_csv(source)
    except pa.ArrowInvalid as exc:
        raise UsageError(f"cannot read {source} as CSV: {exc}") from None
    if column not in table.column_names:
        raise UsageError(
            f"{source} has no column {column!r} (it has: {', '.join(table.column_names)})"
        )
    values = table.column(column)
    if not pa.types.is_timestamp(values.type) and not pa.types.is_date(values.type):
        raise UsageError(f"column {column!r} of {source} is not a time (it reads as {values.type})")
    seconds = values.cast(pa.timestamp("s")).cast(pa.int64()).to_numpy(zero_copy_only=False)
    raw = source.read_bytes()
    header, _, body = raw.partition(b"\n")
    lines = body.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if len(lines) != table.num_rows:
        raise UsageError(
            f"{source}: {table.num_rows} records on {len(lines)} lines; replay needs one record "
            "a line"
        )
    order = np.argsort(seconds, kind="stable")
    if every is not None:
        buckets = seconds[order] // every  # periods aligned to the epoch: 1d is a UTC day
        cuts = np.flatnonzero(np.diff(buckets)) + 1
    else:
        size = rows_per_file or 1000
        cuts = np.arange(size, len(order), size)
    pieces = []
    for k, chunk in enumerate(np.split(order, cuts), 1):
        data = header + b"\n" + b"".join(lines[i] + b"\n" for i in chunk.tolist())
        pieces.append(Piece(f"part-{k:06d}.csv", data, float(seconds[chunk[0]]), len(chunk)))
    return pieces


def _passes(pieces: list[Piece], loop: bool) -> Iterator[tuple[int, Piece]]:
    k = 1
    while True:
        for piece in pieces:
            yield k, piece
        if not loop:
            return
        k += 1


def _name(piece: Piece, k: int) -> str:
    if k == 1:
        return piece.name
    stem, dot, suffix = piece.name.rpartition(".")
    return f"{stem}.loop{k}.{suffix}" if dot else f"{piece.name}.loop{k}"


def run(config: ReplayConfig, err: TextIO | None = None) -> int:
    err = err if err is not None else sys.stderr
    if config.directory.resolve() == config.source.resolve():
        raise UsageError("SOURCE and DIR are the same: replay into another folder")
    pieces = plan(config)
    taken = [p.name for p in pieces if (config.directory / p.name).exists()]
    if taken:
        raise UsageError(f"{config.directory} has {taken[0]} already: replay into an empty folder")
    prepare_folder(config.directory)
    remove_stale_temps(config.directory)
    if not config.quiet:
        print(f"generator: replaying {len(pieces)} files of {config.source} into "
              f"{config.directory}{' (looping)' if config.loop else ''}", file=err)  # fmt: skip
    status = StatusLine(err, enabled=not config.quiet)
    start = time.monotonic()
    landed = rows = 0
    last_mtime = 0
    previous: Piece | None = None
    interrupted = False
    with sigterm_as_interrupt():
        try:
            for k, piece in _passes(pieces, config.loop):
                if config.files is not None and landed >= config.files:
                    break
                pause = 0.0 if previous is None else _pause(config, previous, piece)
                # the next file is due at elapsed + pause: past --duration, it is not landed
                if config.duration is not None and (
                    time.monotonic() - start + pause >= config.duration
                ):
                    break
                time.sleep(pause)
                name = _name(piece, k)
                try:
                    last_mtime = land(config.directory, name, [piece.data], after_ns=last_mtime)
                except OSError as exc:
                    raise LandingFailed(f"cannot write {config.directory / name}: "
                                        f"{exc.strerror or exc}") from None  # fmt: skip
                landed, rows, previous = landed + 1, rows + piece.rows, piece
                elapsed = time.monotonic() - start
                status.show(f"files {landed} · rows {human(rows)} · {elapsed:.1f}s · {name}")
        except KeyboardInterrupt:
            interrupted = True
    status.clear()
    if not config.quiet:
        seconds = time.monotonic() - start
        print(f"generator: {'stopped' if interrupted else 'done'}: {landed} files, {rows} lines "
              f"in {seconds:.1f}s ({human(rate(rows, seconds))} lines/s)", file=err)  # fmt: skip
    return 0


def _pause(config: ReplayConfig, previous: Piece, piece: Piece) -> float:
    if config.speed is not None and previous.time is not None and piece.time is not None:
        return max(0.0, (piece.time - previous.time) / config.speed)
    return config.pause
