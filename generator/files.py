"""`python -m generator files DIR`: land CSV files of a data set in a folder Spark watches.

Files are cuts of the seed's one sequence of rows: file N holds the rows after file N-1's (a day
each for data sets named by day). Worker threads draw and render the next files while the main
thread lands the current one.
"""

from __future__ import annotations

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

from generator.clock import Clock, EventTime
from generator.datasets import resolve
from generator.engine import Engine
from generator.errors import LandingFailed, UsageError
from generator.formats import FORMATS, csv_header
from generator.formats import body as render
from generator.landing import land, prepare_folder, remove_stale_temps
from generator.manifest import Entry, Manifest, crc32_of, read_landed
from generator.naming import file_name, index_of
from generator.progress import StatusLine, human, rate
from generator.spec import Dataset
from generator.truth import Truth

TRUTH_EVERY = 1.0  # seconds between saves of _truth.jsonl while landing (and once at the end)


@dataclass(frozen=True)
class FilesConfig:
    """Everything `generator files` does, checked when built: the CLI only fills it in."""

    directory: Path
    dataset: Dataset | str = "person"  # a built-in name, a spec file, or a declaration
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
    clock: Clock | None = field(init=False, default=None)  # derived: event-time data sets

    def __post_init__(self) -> None:
        dataset = resolve(self.dataset)
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
    def folders(self) -> list[Path]:
        if self.streams == 1:
            return [self.directory]
        return [self.directory / f"subdir{k}" for k in range(1, self.streams + 1)]

    @property
    def with_header(self) -> bool:
        if self.format == "json":
            return False
        return self.ds.header if self.header is None else self.header


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
    start: int  # first row in the sequence
    rows: int
    chunks: list[bytes | memoryview]
    size: int
    event_seconds: np.ndarray | None


class Maker:
    """Draws and renders the files to come in worker threads, a few ahead of the landing."""

    def __init__(self, config: FilesConfig, engine: Engine, index: int, row: int) -> None:
        self.config = config
        self.engine = engine
        self._index, self._row = index, row
        workers = config.workers or os.cpu_count() or 1
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="draw")
        self._ahead: deque[Future[Made]] = deque()
        self._depth = workers + 1
        self._header = csv_header(config.ds.column_names) if config.with_header else b""

    def _cut(self) -> tuple[int, int, int]:
        """The next file's number and its rows [start, stop)."""
        index = self._index
        if self.config.ds.daily:
            start, stop = self.engine.day(index)
        else:
            start, stop = self._row, self._row + self.config.rows
        self._index, self._row = index + 1, stop
        return index, start, stop

    def _make(self, index: int, start: int, stop: int) -> Made:
        pieces = self.engine.pieces(start, stop)
        chunks: list[bytes | memoryview] = [self._header] if self._header else []
        chunks += [memoryview(render(p, self.config.format)) for p in pieces]
        times = None
        column = self.config.ds.event_time_column
        if column is not None:
            times = np.concatenate([_seconds(p.column(column)) for p in pieces])
        return Made(index, start, stop - start, chunks, sum(len(c) for c in chunks), times)

    def next(self) -> Made:
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
    for folder in config.folders:
        prepare_folder(folder)
    # leftovers of a killed run, then continue after the newest landed file
    for folder in config.folders:
        remove_stale_temps(folder)
    manifests = [Manifest(folder) for folder in config.folders]
    for manifest in manifests:
        manifest.reconcile(ds.naming, ds.name, config.with_header)
    next_index, next_row, last_mtime = _resume_point(config, manifests)
    engine = Engine(ds, config.seed, clock=config.clock)
    truths = _truths(config, manifests)
    if not config.quiet:
        where = (
            config.directory
            if config.streams == 1
            else f"{config.directory}/subdir1..{config.streams}"
        )
        print(
            f"generator: {ds.name} files into {where} "
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
    with sigterm_as_interrupt():
        try:
            while config.files is None or files < config.files:
                if config.duration is not None and time.monotonic() - start >= config.duration:
                    break
                made = maker.next()
                stream = (made.index - 1) % config.streams
                folder = config.folders[stream]
                name = file_name(ds.naming, made.index, config.format)
                try:
                    last_mtime = land(folder, name, made.chunks, after_ns=last_mtime)
                    manifests[stream].add(
                        Entry(name, made.rows, made.size, crc32_of(made.chunks), config.seed,
                              ds.name, config.with_header, made.start)
                    )  # fmt: skip
                except OSError as exc:
                    # disk full, a file-size limit, permissions changed: land() removed its temp
                    # file; what landed before stays as it was
                    raise LandingFailed(
                        f"cannot write {folder / name}: {exc.strerror or exc}; "
                        f"{files} files landed before it are complete"
                    ) from None
                if truths and made.event_seconds is not None:
                    truths[stream].add_batch(made.event_seconds)
                    if time.monotonic() - saved >= TRUTH_EVERY:
                        _save(truths, config.folders)
                        saved = time.monotonic()
                files, rows, size = files + 1, rows + made.rows, size + made.size
                names.append(name)
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
            if truths:
                _save(truths, config.folders)
    summary = FilesSummary(files, rows, size, time.monotonic() - start, interrupted, tuple(names))
    status.clear()
    if not config.quiet:
        print(f"generator: {summary.line(config.directory)}", file=err)
    return summary


def _save(truths: list[Truth], folders: list[Path]) -> None:
    for truth, folder in zip(truths, folders, strict=True):
        truth.save(folder)


def _truths(config: FilesConfig, manifests: list[Manifest]) -> list[Truth]:
    """Ground truth per folder for event-time data sets, rebuilt from what landed before."""
    ds = config.ds
    if ds.event_time_column is None:
        return []
    truths = []
    for manifest in manifests:
        truth = Truth(config.event_time.truth_window, config.event_time.truth_watermark)
        for entry in manifest.entries:
            path = manifest.folder / entry.file
            if path.exists():  # Spark's cleanSource may have archived it
                table = read_landed(path, ds, entry.header)
                truth.add_batch(_seconds(table.column(ds.event_time_column)))
        truths.append(truth)
    return truths


def _seconds(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if isinstance(column, pa.DictionaryArray):
        column = column.dictionary_decode()
    seconds: np.ndarray = column.cast(pa.int64()).to_numpy(zero_copy_only=False)
    return seconds


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
            rows += e.rows
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
