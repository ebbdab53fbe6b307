"""`python -m generator files DIR`: land CSV files of a data set in a folder Spark watches.

Files are cuts of the seed's one sequence of rows: file N holds the rows after file N-1's (a day
each for data sets named by day). Worker threads draw and render the next files while the main
thread lands the current one.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TextIO

import numpy as np
import pyarrow as pa

from generator import answers
from generator.clock import Clock, EventTime
from generator.datasets import resolve
from generator.engine import Engine, seconds_of, static_rows
from generator.errors import LandingFailed, UsageError
from generator.formats import FORMATS, csv_header
from generator.formats import body as render
from generator.landing import land, prepare_folder, remove_stale_temps
from generator.linked import Follower
from generator.manifest import Entry, Manifest, crc32_of, read_landed
from generator.naming import file_name, index_of
from generator.progress import StatusLine, human, rate
from generator.resend import Resender
from generator.spec import Bundle, Dataset, Reference
from generator.truth import Truth

TRUTH_EVERY = 1.0  # seconds between saves of _truth.jsonl while landing (and once at the end)


@dataclass(frozen=True)
class FilesConfig:
    """Everything `generator files` does, checked when built: the CLI only fills it in."""

    directory: Path
    dataset: Dataset | Bundle | str = "person"  # a built-in name, a spec file, a declaration
    seed: int | None = None  # None: random (printed)
    rows_per_file: int | None = None  # None: the data set's own; data sets named by day: a day
    interval: float | None = None  # seconds between files (default 1)
    rate: float | None = None  # rows per second; replaces interval
    files: int | None = None  # stop after this many files
    duration: float | None = None  # stop after this many seconds
    header: bool | None = None  # None: the data set's default
    streams: int = 1  # >1: DIR/subdir1 .. DIR/subdirK, one file to each in turn
    quiet: bool = False
    format: str = "csv"  # or "json": JSON lines
    event_time: EventTime = field(default_factory=EventTime)
    workers: int | None = None  # threads drawing ahead (default: the machine's cores)
    duplicates: float = 0.0  # this fraction of rows is sent again a little later
    clock: Clock | None = field(init=False, default=None)  # derived: event-time data sets
    bundle: Bundle | None = field(init=False, default=None)  # derived: `dataset` named a bundle

    def __post_init__(self) -> None:
        found = resolve(self.dataset)
        if isinstance(found, Bundle):
            object.__setattr__(self, "bundle", found)
            dataset = found.lead  # the stream that sets the pace
            if self.streams != 1:
                raise UsageError(f"{found.name} lands one subfolder per data set: --streams "
                                 "does not apply")  # fmt: skip
            if self.duplicates:
                raise UsageError("--duplicates is for a single data set, not a bundle")
            if found.speed is not None and self.event_time.speed is None:
                event_time = dataclasses.replace(self.event_time, speed=found.speed)
                object.__setattr__(self, "event_time", event_time)
        else:
            dataset = found
            if dataset.references:
                raise UsageError(
                    f"{dataset.name} takes keys from {', '.join(dataset.references)}: land the "
                    "bundle that holds them (ads for clicks, shop for orders)"
                )
            if dataset.static:
                raise UsageError(f"{dataset.name} is a static table: land it with its bundle "
                                 "(shop for customers)")  # fmt: skip
        object.__setattr__(self, "dataset", dataset)
        object.__setattr__(self, "directory", Path(self.directory))
        if self.seed is None:
            object.__setattr__(self, "seed", secrets.randbelow(2**31))
        _at_least("--seed", self.seed, 0)
        _at_least("--rows-per-file", self.rows_per_file, 1)
        _at_least("--files", self.files, 1)
        _at_least("--streams", self.streams, 1)
        _at_least("--interval", self.interval, 0)
        _above("--rate", self.rate)
        _above("--duration", self.duration)
        if self.workers is not None:
            _at_least("--workers", self.workers, 1)
        if self.rate is not None and self.interval is not None:
            raise UsageError("--rate replaces --interval: give one of them")
        if self.files is not None and self.duration is not None:
            raise UsageError("--files and --duration both bound the run: give one of them")
        if self.format not in FORMATS:
            raise UsageError(f"--format is one of {', '.join(FORMATS)}, not {self.format!r}")
        if self.format == "json" and self.header:
            raise UsageError("--header is for CSV: JSON lines name every value")
        if not 0.0 <= self.duplicates < 1.0:
            raise UsageError(f"--duplicates must be a fraction below 1, not {self.duplicates:g}")
        if self.duplicates and (dataset.key is None or dataset.daily):
            raise UsageError(
                f"--duplicates re-sends events by their id: {dataset.name} declares no key "
                "column (activity, impressions and orders do)"
            )
        if self.rows_per_file is not None and dataset.daily:
            raise UsageError(
                f"{dataset.name} files are days, each with its own rows: --rows-per-file does "
                "not apply"
            )
        self.event_time.check_for(dataset)
        if dataset.event_time_column is not None:
            object.__setattr__(self, "clock", self.event_time.clock(self.pace))

    @property
    def ds(self) -> Dataset:
        assert isinstance(self.dataset, Dataset)
        return self.dataset

    @property
    def rows(self) -> int:
        """Rows per file (the mean day, for data sets named by day)."""
        if self.rows_per_file is not None:
            return self.rows_per_file
        per = self.ds.rows_per_file
        return per if isinstance(per, int) else 1000

    @property
    def pause(self) -> float:
        return 1.0 if self.interval is None else self.interval

    @property
    def pace(self) -> float:
        """Rows per real second the simulated clock ticks at (interval 0: a file a second)."""
        if self.rate is not None:
            return self.rate
        return self.rows / self.pause if self.pause > 0 else float(self.rows)

    @property
    def members(self) -> list[Dataset]:
        """The data set of each folder, in order."""
        if self.bundle is not None:
            return list(self.bundle.members)
        return [self.ds] * self.streams

    @property
    def folders(self) -> list[Path]:
        if self.bundle is not None:
            return [self.directory / m.name for m in self.bundle.members]
        if self.streams == 1:
            return [self.directory]
        return [self.directory / f"subdir{k}" for k in range(1, self.streams + 1)]

    @property
    def with_header(self) -> bool:
        return self.header_of(self.ds)

    def header_of(self, dataset: Dataset) -> bool:
        if self.format == "json":
            return False
        return dataset.header if self.header is None else self.header


def _at_least(option: str, value: float | None, least: float) -> None:
    if value is not None and value < least:
        raise UsageError(f"{option} must be {least:g} or more, not {value:g}")


def _above(option: str, value: float | None) -> None:
    if value is not None and not value > 0:
        raise UsageError(f"{option} must be more than 0, not {value:g}")


@dataclass(frozen=True)
class FilesSummary:
    files: int
    rows: int
    bytes: int
    seconds: float
    interrupted: bool
    names: tuple[str, ...]  # landed this run, in order

    def line(self, directory: Path) -> str:
        how = "stopped" if self.interrupted else "done"
        return (
            f"{how}: {self.files} files, {self.rows} rows, {human(self.bytes)}B in "
            f"{self.seconds:.1f}s ({human(rate(self.rows, self.seconds))} rows/s) into {directory}"
        )


@dataclass(frozen=True)
class Made:
    """One file, drawn and rendered, ready to land."""

    index: int
    start: int  # first row in the sequence (a follower's: set when it lands)
    rows: int
    chunks: list[bytes | memoryview]
    size: int
    event_seconds: np.ndarray | None
    table: pa.Table  # its rows, for the answer keys
    copies: int = 0  # rows sent again (--duplicates)


class Maker:
    """Draws and renders the files to come in worker threads, a few ahead of the landing. Each
    tick lands one file: into the next of the `--streams` folders in turn, or, for a bundle,
    one into each stream's folder, all cut from one clock."""

    def __init__(self, config: FilesConfig, engine: Engine, index: int, row: int) -> None:
        self.config = config
        self.engine = engine
        self._index, self._row = index, row
        workers = config.workers or os.cpu_count() or 1
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="draw")
        self._ahead: deque[Future[list[tuple[int, Made]]]] = deque()
        self._depth = workers + 1
        self._resend = Resender(engine, config.duplicates) if config.duplicates else None
        self._followers: dict[int, Follower] = {}
        if config.bundle is not None:
            for i, member in enumerate(config.members):
                if member.follows is not None:
                    self._followers[i] = Follower(member, engine, engine.clock)

    def _cut(self) -> tuple[int, int, int]:
        """The next file's number and its rows [start, stop)."""
        index = self._index
        if self.config.ds.daily:
            start, stop = self.engine.day(index)
        else:
            start, stop = self._row, self._row + self.config.rows
        self._index, self._row = index + 1, stop
        return index, start, stop

    def _render(self, index: int, start: int, table: pa.Table, ds: Dataset,
                copies: int = 0) -> Made:  # fmt: skip
        header = csv_header(ds.column_names) if self.config.header_of(ds) else b""
        chunks: list[bytes | memoryview] = [header] if header else []
        pieces = table.to_batches() if table.num_rows else []
        chunks += [memoryview(render(pa.Table.from_batches([p]), self.config.format))
                   for p in pieces]  # fmt: skip
        times = None
        column = ds.event_time_column
        if column is not None:
            times = seconds_of(table.column(column)) if table.num_rows else np.zeros(0, np.int64)
        return Made(index, start, table.num_rows, chunks, sum(len(c) for c in chunks), times,
                    table, copies)  # fmt: skip

    def _make(self, index: int, start: int, stop: int) -> list[tuple[int, Made]]:
        ds = self.config.ds
        if self._resend is not None:
            table, copies = self._resend.rows(start, stop)
        else:
            table, copies = self.engine.table(start, stop), 0
        made = self._render(index, start, table, ds, copies)
        if self.config.bundle is None:
            return [((index - 1) % self.config.streams, made)]
        out = []
        clock = self.engine.clock
        t0 = None if start == 0 else clock.start + start * clock.seconds_per_row
        t1 = clock.start + stop * clock.seconds_per_row
        for i, member in enumerate(self.config.members):
            if member is ds:
                out.append((i, made))
            elif i in self._followers:
                out.append((i, self._render(index, -1, self._followers[i].between(t0, t1),
                                            member)))  # fmt: skip
        return out

    def static(self, member: Dataset) -> Made:
        """A static table of the bundle, whole, as its one file."""
        peers = {m.name: m for m in self.config.members}
        table = Engine(member, self.engine.seed, peers=peers).table(0, static_rows(member))
        return self._render(1, 0, table, member)

    def next(self) -> list[tuple[int, Made]]:
        while len(self._ahead) < self._depth:
            self._ahead.append(self._pool.submit(self._make, *self._cut()))
        return self._ahead.popleft().result()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def run(config: FilesConfig, err: TextIO | None = None) -> FilesSummary:
    """Land files until the count or duration is reached, or until Ctrl-C / SIGTERM."""
    err = err if err is not None else sys.stderr
    ds = config.ds
    assert config.seed is not None
    members = config.members
    for folder in config.folders:
        prepare_folder(folder)
    # leftovers of a killed run, then continue after the newest landed file
    for folder in config.folders:
        remove_stale_temps(folder)
    manifests = [Manifest(folder) for folder in config.folders]
    for manifest, member in zip(manifests, members, strict=True):
        manifest.reconcile(member.naming, member.name, config.header_of(member))
    lead = members.index(ds) if config.bundle is not None else None
    paced = [manifests[lead]] if lead is not None else manifests
    next_index, next_row, last_mtime = _resume_point(config, paced)
    peers = {m.name: m for m in members} if config.bundle is not None else None
    engine = Engine(ds, config.seed, clock=config.clock, peers=peers)
    keys = Keys(config, manifests)
    if not config.quiet:
        where: object = config.directory
        if config.bundle is not None:
            subfolders = ",".join(m.name for m in members)
            where = f"{config.directory}/{{{subfolders}}}"
        elif config.streams > 1:
            where = f"{config.directory}/subdir1..{config.streams}"
        print(
            f"generator: {config.bundle.name if config.bundle else ds.name} files into {where} "
            f"(seed {config.seed}, first file {file_name(ds.naming, next_index, config.format)})",
            file=err,
        )
    status = StatusLine(err, enabled=not config.quiet)
    files = rows = size = 0
    names: list[str] = []
    interrupted = False
    start = time.monotonic()
    due = start
    saved = start
    maker = Maker(config, engine, next_index, next_row)
    row_of = [m.next_row or 0 for m in manifests]  # where each folder's sequence goes on

    def put(stream: int, made: Made, landed: int) -> int:
        folder, member = config.folders[stream], members[stream]
        name = file_name(member.naming, made.index, config.format)
        first = made.start if made.start >= 0 else row_of[stream]
        try:
            landed = land(folder, name, made.chunks, after_ns=landed)
            manifests[stream].add(
                Entry(name, made.rows, made.size, crc32_of(made.chunks), config.seed,
                      member.name, config.header_of(member), first, made.copies)
            )  # fmt: skip
        except OSError as exc:
            # disk full, a file-size limit, permissions changed: land() removed its temp
            # file; what landed before stays as it was
            raise LandingFailed(
                f"cannot write {folder / name}: {exc.strerror or exc}; "
                f"{files} files landed before it are complete"
            ) from None
        row_of[stream] = first + made.rows - made.copies
        return landed

    with sigterm_as_interrupt():
        try:
            for stream, member in enumerate(members):
                if member.static and not manifests[stream].entries:
                    last_mtime = put(stream, maker.static(member), last_mtime)
            while config.files is None or files < config.files:
                if config.duration is not None and time.monotonic() - start >= config.duration:
                    break
                tick = maker.next()
                for stream, made in tick:
                    last_mtime = put(stream, made, last_mtime)
                    names.append(file_name(members[stream].naming, made.index, config.format))
                keys.add(tick)
                if time.monotonic() - saved >= TRUTH_EVERY:
                    keys.save()
                    saved = time.monotonic()
                made = dict(tick)[lead] if lead is not None else tick[0][1]
                files, rows, size = files + 1, rows + made.rows, size + made.size
                elapsed = time.monotonic() - start
                status.show(
                    f"files {files} · rows {human(rows)} · {human(rate(rows, elapsed))} rows/s"
                    f" · {elapsed:.1f}s"
                )
                due += made.rows / config.rate if config.rate else config.pause
                if config.duration is not None:
                    due = min(due, start + config.duration)
                if config.files is not None and files >= config.files:
                    break
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
        except KeyboardInterrupt:
            interrupted = True  # land() has already removed the file it was writing
        finally:
            maker.close()
            keys.save()
    summary = FilesSummary(files, rows, size, time.monotonic() - start, interrupted, tuple(names))
    status.clear()
    if not config.quiet:
        print(f"generator: {summary.line(config.directory)}", file=err)
    return summary


class Keys:
    """The answer keys of a run, fed one tick at a time (a tick is one micro-batch of the
    query that reads one file per trigger), rebuilt from what landed before when a run goes on:
    `_truth.jsonl` (windows) per event-time folder; `_truth_sessions.jsonl` where the data set
    has sessions; `_truth_dedup.jsonl` with --duplicates; and for a bundle `_truth_join.jsonl`
    (a stream and its follower) or `_truth_enrich.jsonl` (a stream and a static table)."""

    def __init__(self, config: FilesConfig, manifests: list[Manifest]) -> None:
        self.config = config
        self.members = config.members
        self.folders = config.folders
        et = config.event_time
        self.windows = {i: Truth(et.truth_window, et.truth_watermark)
                        for i, m in enumerate(self.members)
                        if m.event_time_column is not None}  # fmt: skip
        self.sessions = {i: answers.SessionsKey() for i, m in enumerate(self.members)
                         if m.session_by is not None}  # fmt: skip
        self.dedup = {i: answers.DedupKey() for i, m in enumerate(self.members)
                      if config.duplicates and m.key is not None}  # fmt: skip
        self.join: tuple[int, int, str, str] | None = None  # followed, follower, key columns
        self.join_key: answers.JoinKey | None = None
        self.enrich: tuple[int, str] | None = None  # the stream and its reference column
        self.enrich_key: answers.EnrichKey | None = None
        for i, m in enumerate(self.members):
            for column in m.columns:
                src = column.source
                if not isinstance(src, Reference) or config.bundle is None:
                    continue
                target = config.bundle.member(src.dataset)
                if m.follows is not None and self.join is None:
                    self.join = (self.members.index(target), i, src.column, column.name)
                    self.join_key = answers.JoinKey()
                elif target.static and self.enrich is None:
                    self.enrich = (i, column.name)
                    static = manifests[self.members.index(target)]
                    known = self._static_keys(target, src.column, static)
                    self.enrich_key = answers.EnrichKey(known)
        self._replay(manifests)

    def _static_keys(self, target: Dataset, column: str, manifest: Manifest) -> set[object]:
        if manifest.entries:
            entry = manifest.entries[0]
            table = read_landed(manifest.folder / entry.file, target, entry.header)
        else:
            peers = {m.name: m for m in self.members}
            table = Engine(target, self.config.seed or 0, peers=peers).table(0, static_rows(target))
        return set(table.column(column).to_pylist())

    def _replay(self, manifests: list[Manifest]) -> None:
        """Feed the keys what landed in earlier runs, tick by tick."""
        streams = [i for i, m in enumerate(self.members) if not m.static]
        if not any(manifests[i].entries for i in streams):
            return
        if self.config.bundle is None:  # --streams folders take files in turn
            entries = sorted(
                ((e, i) for i in streams for e in manifests[i].entries),
                key=lambda pair: index_of(self.members[0].naming, pair[0].file) or 0,
            )
            ticks = [[(i, e)] for e, i in entries]
        else:
            count = min(len(manifests[i].entries) for i in streams)
            ticks = [[(i, manifests[i].entries[k]) for i in streams] for k in range(count)]
        for tick in ticks:
            made = []
            for i, entry in tick:
                path = manifests[i].folder / entry.file
                if not path.exists():  # Spark's cleanSource may have archived it
                    return
                table = read_landed(path, self.members[i], entry.header)
                column = self.members[i].event_time_column
                times = seconds_of(table.column(column)) if column else None
                made.append((i, Made(0, 0, table.num_rows, [], 0, times, table)))
            self.add(made)

    def add(self, tick: list[tuple[int, Made]]) -> None:
        by_stream = dict(tick)
        for i, made in tick:
            m = self.members[i]
            times = made.event_seconds
            if i in self.windows and times is not None:
                self.windows[i].add_batch(times)
            if i in self.sessions and times is not None:
                assert m.session_by is not None
                self.sessions[i].add_batch(_strings(made.table, m.session_by), times)
            if i in self.dedup and times is not None:
                assert m.key is not None
                self.dedup[i].add_batch(_strings(made.table, m.key), times)
        if self.join is not None and self.join_key is not None:
            left, right, left_col, right_col = self.join
            lm, rm = by_stream[left], by_stream[right]
            assert lm.event_seconds is not None and rm.event_seconds is not None
            self.join_key.add_batch(_strings(lm.table, left_col), lm.event_seconds,
                                    _strings(rm.table, right_col), rm.event_seconds)  # fmt: skip
        if self.enrich is not None and self.enrich_key is not None:
            stream, column = self.enrich
            self.enrich_key.add_batch(_plain_list(by_stream[stream].table, column))

    def save(self) -> None:
        for i, truth in self.windows.items():
            truth.save(self.folders[i])
        for i, key in self.sessions.items():
            key.save(self.folders[i])
        for i, dedup in self.dedup.items():
            dedup.save(self.folders[i])
        if self.join_key is not None:
            self.join_key.save(self.config.directory)
        if self.enrich_key is not None:
            self.enrich_key.save(self.config.directory)


def _plain_list(table: pa.Table, column: str) -> list[object]:
    return list(table.column(column).to_pylist())


def _strings(table: pa.Table, column: str) -> list[str]:
    return [str(v) for v in table.column(column).to_pylist()]


def _resume_point(config: FilesConfig, manifests: list[Manifest]) -> tuple[int, int, int]:
    """The next file number, the next row of the sequence, and the newest landed file's mtime
    (ns). The manifests remember files Spark's cleanSource has moved away since."""
    naming = config.ds.naming
    newest, mtime = 0, 0
    for folder in config.folders:
        with os.scandir(folder) as listing:
            found = [(index_of(naming, e.name), e) for e in listing
                     if not e.name.startswith((".", "_"))]  # fmt: skip
        numbered = [(i, e) for i, e in found if i is not None]
        if numbered:
            # files land in number order with increasing mtimes: the newest is the last one
            index, entry = max(numbered, key=lambda pair: pair[0])
            newest = max(newest, index)
            mtime = max(mtime, entry.stat().st_mtime_ns)
    rows = 0
    for manifest in manifests:
        for e in manifest.entries:
            newest = max(newest, index_of(naming, e.file) or 0)
            rows += e.rows - e.copies
    if mtime == 0 and rows:
        mtime = time.time_ns()  # the landed files are gone: later than any of them
    return newest + 1, rows, mtime


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM behaves as Ctrl-C while files are landing; the old handler comes back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
