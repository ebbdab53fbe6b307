"""`python -m generator files DIR`: land CSV files of a data set in a folder Spark watches."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TextIO

import numpy as np
import pyarrow as pa

from generator.engine import Clock, Engine
from generator.errors import LandingFailed
from generator.formats import body as render
from generator.formats import csv_header, format_of, read_landed
from generator.landing import land, prepare_folder, remove_stale_temps
from generator.manifest import Entry, Manifest, crc32_of
from generator.naming import day_of, file_name, index_of
from generator.progress import StatusLine, human, rate
from generator.spec import Dataset
from generator.truth import Truth


@dataclass(frozen=True)
class FilesConfig:
    directory: Path
    dataset: Dataset
    seed: int
    rows_per_file: int | None = None  # None: the data set's own (retail draws a day's rows)
    interval: float = 1.0  # seconds between files
    rate: float | None = None  # rows per second; replaces interval
    files: int | None = None  # stop after this many files
    duration: float | None = None  # stop after this many seconds
    header: bool | None = None  # None: the data set's default
    streams: int = 1  # >1: DIR/subdir1 .. DIR/subdirK, one file to each in turn
    quiet: bool = False
    clock: Clock | None = None  # the simulated clock of event-time data sets
    format: str = "csv"  # or "json": JSON lines
    truth_window: int = 60  # seconds: the windows of _truth.jsonl
    truth_watermark: int = 10  # seconds: the watermark delay _truth.jsonl judges lateness by

    @property
    def folders(self) -> list[Path]:
        if self.streams == 1:
            return [self.directory]
        return [self.directory / f"subdir{k}" for k in range(1, self.streams + 1)]

    @property
    def with_header(self) -> bool:
        if self.format == "json":
            return False
        return self.dataset.header if self.header is None else self.header


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


def run(config: FilesConfig, err: TextIO | None = None) -> FilesSummary:
    """Land files until the count or duration is reached, or until Ctrl-C / SIGTERM."""
    err = err if err is not None else sys.stderr
    naming = config.dataset.naming
    for folder in config.folders:
        prepare_folder(folder)
    # leftovers of a killed run, then continue after the newest landed file
    for folder in config.folders:
        remove_stale_temps(folder)
    manifests = [Manifest(folder) for folder in config.folders]
    for manifest in manifests:
        manifest.reconcile(naming, config.dataset.name, config.with_header)
    next_index, last_mtime = _resume_point(config)
    engine = Engine(
        config.dataset,
        config.seed,
        rows_per_file=config.rows_per_file,
        day_of=lambda i: day_of(naming, i),
        clock=config.clock,
    )
    truths = _truths(config, manifests)
    header = csv_header(config.dataset.column_names) if config.with_header else b""
    if not config.quiet:
        where = (
            config.directory
            if config.streams == 1
            else f"{config.directory}/subdir1..{config.streams}"
        )
        print(
            f"generator: {config.dataset.name} files into {where} "
            f"(seed {config.seed}, first file {file_name(naming, next_index, config.format)})",
            file=err,
        )
    status = StatusLine(err, enabled=not config.quiet)
    files = rows = size = 0
    names: list[str] = []
    interrupted = False
    start = time.monotonic()
    due = start
    index = next_index
    with sigterm_as_interrupt():
        try:
            while config.files is None or files < config.files:
                if config.duration is not None and time.monotonic() - start >= config.duration:
                    break
                table = engine.table(index)
                body = render(table, config.format)
                stream = (index - 1) % config.streams
                folder = config.folders[stream]
                name = file_name(naming, index, config.format)
                chunks: list[bytes | memoryview] = [header, memoryview(body)]
                try:
                    last_mtime = land(folder, name, chunks, after_ns=last_mtime)
                    manifests[stream].add(
                        Entry(name, table.num_rows, len(header) + body.size, crc32_of(chunks),
                              config.seed, config.dataset.name, config.with_header)
                    )  # fmt: skip
                    if truths:
                        truths[stream].add_batch(_event_seconds(table, config.dataset))
                        truths[stream].save(folder)
                except OSError as exc:
                    # disk full, a file-size limit, permissions changed: land() removed its temp
                    # file; what landed before stays as it was
                    raise LandingFailed(
                        f"cannot write {folder / name}: {exc.strerror or exc}; "
                        f"{files} files landed before it are complete"
                    ) from None
                files, rows, size = files + 1, rows + table.num_rows, size + len(header) + body.size
                names.append(name)
                index += 1
                elapsed = time.monotonic() - start
                status.show(
                    f"files {files} · rows {human(rows)} · {human(rate(rows, elapsed))} rows/s"
                    f" · {elapsed:.1f}s"
                )
                due += table.num_rows / config.rate if config.rate else config.interval
                if config.duration is not None:
                    due = min(due, start + config.duration)
                if config.files is not None and files >= config.files:
                    break
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
        except KeyboardInterrupt:
            interrupted = True  # land() has already removed the file it was writing
    summary = FilesSummary(files, rows, size, time.monotonic() - start, interrupted, tuple(names))
    status.clear()
    if not config.quiet:
        print(f"generator: {summary.line(config.directory)}", file=err)
    return summary


def _truths(config: FilesConfig, manifests: list[Manifest]) -> list[Truth]:
    """Ground truth per folder for event-time data sets, rebuilt from what landed before."""
    if config.dataset.event_time_column is None:
        return []
    truths = []
    for manifest in manifests:
        truth = Truth(config.truth_window, config.truth_watermark)
        for entry in manifest.entries:
            path = manifest.folder / entry.file
            table = read_landed(path, config.dataset, entry.header, format_of(entry.file))
            truth.add_batch(_event_seconds(table, config.dataset))
        truths.append(truth)
    return truths


def _event_seconds(table: pa.Table, dataset: Dataset) -> np.ndarray:
    column = table.column(dataset.event_time_column).combine_chunks()
    if isinstance(column, pa.DictionaryArray):
        column = column.dictionary_decode()
    seconds: np.ndarray = column.cast(pa.int64()).to_numpy(zero_copy_only=False)
    return seconds


def _resume_point(config: FilesConfig) -> tuple[int, int]:
    """The next file number after the newest landed file, and that file's mtime (ns)."""
    naming = config.dataset.naming
    newest, mtime = 0, 0
    for folder in config.folders:
        for entry in folder.iterdir():
            index = index_of(naming, entry.name)
            if index is None or entry.name.startswith("."):
                continue
            newest = max(newest, index)
            mtime = max(mtime, entry.stat().st_mtime_ns)
    return newest + 1, mtime


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
