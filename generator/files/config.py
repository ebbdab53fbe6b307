"""What `generator files` does, checked when built: the CLI only fills in a `FilesConfig`."""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from generator.clock import Clock, EventTime
from generator.datasets import resolve
from generator.errors import UsageError
from generator.formats import EXTENSIONS, FORMATS, check_format
from generator.manifest import Entry, format_of, held_to, last_seed
from generator.naming import file_name
from generator.options import (
    DAY,
    below_one,
    file_rows,
    held,
    non_negative_int,
    one_of,
    pause,
    positive_float,
    positive_int,
    stream_count,
)
from generator.progress import human, rate
from generator.spec import Bundle, Dataset

DAY_ROWS = 1000  # how a data set named by day paces its clock (a day's rows are drawn)


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
        if self.seed is None:  # a folder that holds a stream goes on with its seed
            recorded = self.recorded_seed()
            seed = recorded if recorded is not None else secrets.randbelow(2**31)
            object.__setattr__(self, "seed", seed)
        for option, convert, value in (
            ("--seed", non_negative_int, self.seed),
            ("--rows-per-file", file_rows, self.rows_per_file),
            ("--files", positive_int, self.files),
            ("--streams", stream_count, self.streams),
            ("--interval", pause, self.interval),
            ("--rate", positive_float, self.rate),
            ("--duration", positive_float, self.duration),
            ("--workers", positive_int, self.workers),
        ):
            held(option, convert, value)
        if self.rate is not None and self.interval is not None:
            raise UsageError("--rate replaces --interval: give one of them")
        if self.rate is not None and self.rows / self.rate > DAY:
            raise UsageError(f"--rate {self.rate:g}: files of {self.rows} rows would land more "
                             "than a day apart")  # fmt: skip
        if self.files is not None and self.duration is not None:
            raise UsageError("--files and --duration both bound the run: give one of them")
        held("--format", one_of(*FORMATS), self.format)
        if self.format != "csv" and self.header:
            raise UsageError("--header is for CSV: JSON lines name every value")
        check_format(self.format, dataset)
        held("--duplicates", below_one, self.duplicates)
        if self.duplicates and (dataset.key is None or dataset.daily):
            raise UsageError(
                f"--duplicates re-sends events by their id: {dataset.name} declares no key "
                "column (activity, impressions, orders and customer_changes do)"
            )
        if self.rows_per_file is not None and dataset.daily:
            raise UsageError(
                f"{dataset.name} files are days, each with its own rows: --rows-per-file does "
                "not apply"
            )
        self.event_time.check_for(dataset, delivers=True)
        if dataset.changes is not None:
            object.__setattr__(self, "clock", self.event_time.commit_clock(self.pace))
        elif dataset.event_time_column is not None:
            object.__setattr__(self, "clock", self.event_time.clock(self.pace))

    @property
    def ds(self) -> Dataset:
        assert isinstance(self.dataset, Dataset)
        return self.dataset

    @property
    def rows(self) -> int:
        """Rows per file: given, or the data set's own. A data set named by day draws each
        day's count; its clock, if it has one, is paced as if a day held DAY_ROWS."""
        if self.rows_per_file is not None:
            return self.rows_per_file
        per = self.ds.rows_per_file
        return per if isinstance(per, int) else DAY_ROWS

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
    def extension(self) -> str:
        return EXTENSIONS[self.format]

    @property
    def recorded_format(self) -> str | None:
        """What the manifest records of the format: only what the files' names do not say."""
        return (
            None
            if format_of(file_name(self.ds.naming, 1, self.extension)) == self.format
            else (self.format)
        )

    @property
    def with_header(self) -> bool:
        return self.header_of(self.ds)

    def recorded_seed(self) -> int | None:
        """The seed the folders' manifests say their files were drawn with, if any."""
        for folder in self.folders:
            seed = last_seed(folder)
            if seed is not None:
                return seed
        return None

    def goes_on(self, folder: Path, member: Dataset, last: Entry | None) -> None:
        """Refuse to go on in a folder whose landed files another seed, data set, format or
        header made (`last`: its newest manifest line with a seed): the folder would hold two
        sequences (or a reader would misread one)."""
        held_to(folder, member, GOES_ON)  # a folder another data set made: one line
        if last is None:
            return
        given = {"--seed": (last.seed, self.seed),
                 "--dataset": (last.dataset, member.name),
                 "--format": (format_of(last.file, last.format), self.format),
                 "--header": (last.header, self.header_of(member))}  # fmt: skip
        for option, (was, now) in given.items():
            if was != now:
                raise UsageError(
                    f"{folder} holds files landed with {option} {_said(was)}, not "
                    f"{_said(now)}: {GOES_ON}"
                )

    def header_of(self, dataset: Dataset) -> bool:
        if self.format != "csv":
            return False
        return dataset.header if self.header is None else self.header


GOES_ON = "a run goes on with what made the folder (or lands into a new folder)"


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


def _said(value: object) -> str:
    return ("on" if value else "off") if isinstance(value, bool) else str(value)
