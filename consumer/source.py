"""The `synthetic` Spark data source: the generator's rows made inside Spark's executors.

    from consumer.source import register
    register(spark)
    spark.read.format("synthetic").option("dataset", "person").option("seed", 5)
        .option("rows", 3000).option("numPartitions", 3).load()
    spark.readStream.format("synthetic").option("dataset", "sensor").option("rowsPerSecond", 50)
        .load()

A read of rows [0, rows) is cut into `numPartitions` ranges, and each executor draws its range
from the seed's one sequence: the rows `python -m generator files --seed N` lands, whatever the
partitioning. A stream's offsets are row indexes, so a query restarted on its checkpoint goes on
where it stopped and a replayed batch yields the same rows. Options are checked on the driver,
before any task runs; a wrong one fails naming the option and the value.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql.datasource import (
    DataSource,
    DataSourceReader,
    DataSourceStreamReader,
    InputPartition,
)
from pyspark.sql.streaming.datasource import (
    ReadLimit,
    ReadMaxRows,
    SupportsTriggerAvailableNow,
)
from pyspark.sql.types import StructType

from generator import options as convert
from generator.clock import Clock, EventTime
from generator.datasets import check_draws, standalone
from generator.errors import UsageError
from generator.rows import batches, fixed_clock, segment_edges, what_decides
from generator.spec import Dataset
from generator.spec_file import loads

NAME = "synthetic"
BATCH_ROWS = 1000  # rows of a batch read that names none
PARTITIONS = 2  # partitions of a read that names none
DEFAULT_RATE = 1.0  # rows per second of a stream that names none, as Spark's rate source
ARROW_BATCH_CONF = "spark.sql.execution.arrow.maxRecordsPerBatch"
ARROW_BATCH_DEFAULT = 10_000  # Spark's default for it
SEGMENT_ROWS = 65_536  # the engine's segment: a stream's default read limit is one per partition

# option (as written) -> converter; Spark hands options over case-insensitively
OPTIONS: Mapping[str, Any] = {
    "dataset": str,
    "spec": str,  # the declaration itself, as spec-file text (how a client sends its own)
    "seed": convert.non_negative_int,
    "rows": convert.non_negative_int,
    "numPartitions": convert.positive_int,
    "rowsPerSecond": convert.positive_float,
    "maxRecordsPerBatch": convert.positive_int,
    "start": convert.clock_start,
    "speed": convert.clock_speed,
    "secondsPerRow": convert.clock_step,
    "disorder": convert.clock_gap,
    "lateFraction": convert.fraction,
    "maxLateness": convert.clock_gap,
}
_BY_LOWER = {name.lower(): name for name in OPTIONS}
_FIELDS = {"late_fraction": "lateFraction", "max_lateness": "maxLateness"}


def option_name(field: str) -> str:
    """An event-time field as this source's option: late_fraction -> option lateFraction."""
    return f"option {_FIELDS.get(field, field)}"


# rowsPerSecond also sets the pace of the event-time clock, so a batch read takes it too
_STREAM_ONLY = ("maxRecordsPerBatch",)


class SourceOptionError(ValueError):
    """A `synthetic` option that cannot work: names the option and the value."""


@dataclass(frozen=True)
class SourceOptions:
    """The options of one read, checked; what travels to the executors with the reader."""

    dataset: Dataset
    seed: int = 0
    rows: int | None = None
    partitions: int = PARTITIONS
    rows_per_second: float = DEFAULT_RATE
    max_records: int | None = None
    event_time: EventTime = field(default_factory=EventTime)
    seconds_per_row: float | None = None  # the event-time pace, if given
    project: tuple[tuple[str, str], ...] | None = None  # a given schema's columns (projection)

    @property
    def pace(self) -> float | None:
        """Event-time seconds from one row to the next, as the options give it: secondsPerRow,
        or speed (event seconds per real second) over rowsPerSecond; None if neither is given."""
        if self.seconds_per_row is not None:
            return self.seconds_per_row
        if self.event_time.speed is not None:
            return self.event_time.speed / self.rows_per_second
        return None

    @property
    def clock(self) -> Clock | None:
        """The event-time clock of a batch read, fixed on the driver: from `start` (default:
        the data set's start date at midnight UTC, see `generator.rows.fixed_clock`), a row
        every `pace` seconds (default: 1 / rowsPerSecond)."""
        clock = fixed_clock(self.dataset, self.event_time, self.rows_per_second)
        if clock is None or self.pace is None:
            return clock
        return dataclasses.replace(clock, seconds_per_row=self.pace)

    def stream_clock(self, recorded: Mapping[str, Any] | None) -> Clock | None:
        """The event-time clock of a stream: what its first start recorded in the offsets
        (`recorded`), else the options, else a start at the moment the stream first starts
        (to the second) and a pace of 1 / rowsPerSecond: event time keeps pace with arrival at
        the first start, and a restart at another rowsPerSecond does not rewrite it."""
        if self.dataset.event_time_column is None:
            return None
        given = self.event_time.start
        start = int(given.timestamp()) if given is not None else (
            int(recorded["start"]) if recorded else int(time.time()))  # fmt: skip
        pace = (
            self.pace
            if self.pace is not None
            else (float(recorded["secondsPerRow"]) if recorded else 1.0 / self.rows_per_second)
        )
        et = self.event_time
        return Clock(start, pace, et.disorder, et.late_fraction, et.max_lateness)

    def decides(self, recorded: Mapping[str, Any] | None) -> dict[str, Any]:
        """What decides a stream's rows (`generator.rows.what_decides`), to travel with its
        offsets: the checkpoint's `recorded` clock fills what the options leave open."""
        clock = self.stream_clock(recorded.get("clock") if recorded else None)
        return what_decides(self.dataset, self.seed, clock)

    def read_limit(self) -> int:
        """Rows a micro-batch takes at most: maxRecordsPerBatch, else a segment a partition."""
        return self.max_records or SEGMENT_ROWS * self.partitions

    @classmethod
    def parse(cls, given: Mapping[str, str], stream: bool) -> SourceOptions:
        values: dict[str, Any] = {}
        for key, text in given.items():
            name = _BY_LOWER.get(key.lower())
            if name is None:
                if key.lower() == "path":
                    continue  # .load(path): nothing to read there
                known = ", ".join(OPTIONS)
                raise SourceOptionError(f"{NAME}: unknown option {key!r} (known: {known})")
            if not stream and name in _STREAM_ONLY:
                raise SourceOptionError(f"{NAME}: option {name} is for readStream, not read")
            try:
                values[name] = OPTIONS[name](text)
            except ValueError as exc:
                raise SourceOptionError(f"{NAME}: option {name}={text!r}: {exc}") from None
        which = "spec" if "spec" in values else "dataset"
        try:
            if "spec" in values and "dataset" in values:
                raise UsageError("give dataset (a name or spec file) or spec (its text), not both")
            dataset = standalone(
                check_draws(loads(values["spec"]))
                if "spec" in values
                else values.get("dataset", "person"),
                "the synthetic source",
            )
        except UsageError as exc:
            raise SourceOptionError(f"{NAME}: option {which}: {exc}") from None
        try:  # the event-time rules name the options as this source spells them
            event_time = EventTime(
                start=values.get("start"),
                speed=values.get("speed"),
                disorder=values.get("disorder", 0.0),
                late_fraction=values.get("lateFraction", 0.0),
                max_lateness=values.get("maxLateness", 0.0),
                spell=option_name,
            )
            event_time.check_for(dataset)
        except UsageError as exc:
            raise SourceOptionError(f"{NAME}: {exc}") from None
        if "secondsPerRow" in values and "speed" in values:
            raise SourceOptionError(f"{NAME}: give option speed or option secondsPerRow (the "
                                    "event-time pace), not both")  # fmt: skip
        rows = values.get("rows", None if stream else BATCH_ROWS)
        return cls(
            dataset=dataset,
            seed=values.get("seed", 0),
            rows=rows,
            partitions=values.get("numPartitions", PARTITIONS),
            rows_per_second=values.get("rowsPerSecond", DEFAULT_RATE),
            max_records=values.get("maxRecordsPerBatch"),
            event_time=event_time,
            seconds_per_row=values.get("secondsPerRow"),
        )


@dataclass(frozen=True)
class RowRange(InputPartition):
    """Rows [start, stop) of the sequence on `clock`: one Spark task's share."""

    start: int
    stop: int
    clock: Clock | None = None


def split(
    start: int, stop: int, parts: int, edges: list[int], clock: Clock | None
) -> list[RowRange]:
    """[start, stop) in `parts` ranges (none empty), cut where the engine's segments begin
    (`edges`, inside the range) so that no two tasks draw one segment; only when the range
    crosses fewer segments than `parts` is a segment shared, cut as evenly as can be."""
    if stop <= start:
        return []
    bounds = [start, *edges, stop]
    pieces = list(itertools.pairwise(bounds))
    parts = min(parts, stop - start)
    if len(pieces) >= parts:  # whole segments, as many to each task as can be
        cuts = [bounds[len(pieces) * k // parts] for k in range(parts + 1)]
        return [RowRange(a, b, clock) for a, b in itertools.pairwise(cuts)]
    # fewer segments than tasks: each segment gets tasks by its size (at least one)
    sizes = [b - a for a, b in pieces]
    share = [1] * len(pieces)
    for _ in range(parts - len(pieces)):
        i = max(range(len(pieces)), key=lambda j: sizes[j] / share[j])
        share[i] += 1
    out = []
    for (a, b), n in zip(pieces, share, strict=True):
        n = min(n, b - a)
        cuts = [a + (b - a) * k // n for k in range(n + 1)]
        out += [RowRange(x, y, clock) for x, y in itertools.pairwise(cuts)]
    return out


def arrow_batch_rows() -> int | None:
    """Rows an Arrow batch handed to Spark holds at most: the session's
    `spark.sql.execution.arrow.maxRecordsPerBatch` (Spark passes a conf the session set to its
    tasks as a local property; unset, Spark's default, 10,000), None for no limit (0 or less,
    as Spark reads it)."""
    from pyspark import TaskContext

    context = TaskContext.get()
    value = context.getLocalProperty(ARROW_BATCH_CONF) if context is not None else None
    rows = int(value) if value is not None else ARROW_BATCH_DEFAULT
    return rows if rows > 0 else None


def _read(opts: SourceOptions, part: RowRange) -> Iterator[Any]:
    limit = arrow_batch_rows()
    for batch in batches(opts.dataset, opts.seed, part.start, part.stop, part.clock, limit):
        if opts.project is None:
            yield batch
        else:
            ours, theirs = zip(*opts.project, strict=True)
            yield batch.select(list(ours)).rename_columns(list(theirs))


def projection(dataset: Dataset, given: StructType) -> tuple[tuple[str, str], ...] | None:
    """A schema given with `.schema(...)`, as the columns to keep: (ours, as named there), or
    None if it is the data set's own. Each of its columns must be one of the data set's (by
    name, as Spark resolves them, without case) with the same type; else the read is refused
    on the driver, naming what does not fit."""
    from consumer.session import struct_type

    own = struct_type(dataset)
    if [(f.name, f.dataType) for f in given.fields] == [(f.name, f.dataType) for f in own]:
        return None
    by_name = {f.name.lower(): f for f in own.fields}
    kept = []
    for f in given.fields:
        mine = by_name.get(f.name.lower())
        if mine is None:
            raise SourceOptionError(
                f"{NAME}: the schema given (.schema) has column {f.name!r}, which data set "
                f"{dataset.name} lacks (it has: {', '.join(dataset.column_names)})")  # fmt: skip
        if mine.dataType != f.dataType:
            raise SourceOptionError(
                f"{NAME}: the schema given (.schema) has column {f.name!r} as "
                f"{f.dataType.simpleString()}, but data set {dataset.name} draws it as "
                f"{mine.dataType.simpleString()}")  # fmt: skip
        kept.append((mine.name, f.name))
    if len({ours for ours, _ in kept}) < len(kept):
        raise SourceOptionError(f"{NAME}: the schema given (.schema) names a column twice")
    return tuple(kept)


class BatchReader(DataSourceReader):
    def __init__(self, opts: SourceOptions) -> None:
        self.opts = opts
        self.clock = opts.clock

    def partitions(self) -> list[RowRange]:
        opts, rows = self.opts, self.opts.rows
        assert rows is not None
        edges = segment_edges(opts.dataset, opts.seed, 0, rows)
        return split(0, rows, opts.partitions, edges, self.clock)

    def read(self, partition: InputPartition) -> Iterator[Any]:
        assert isinstance(partition, RowRange)
        return _read(self.opts, partition)


class StreamReader(DataSourceStreamReader, SupportsTriggerAvailableNow):
    """Offsets are `{"row": k, "of": {...}}`: the next row of the sequence, and what decides
    the rows (`SourceOptions.decides`), so that a restart on the checkpoint draws the same
    sequence or is refused, naming the option that changed. Rows become available at
    `rowsPerSecond` from the query's start (or restart), up to `rows` if given."""

    def __init__(self, opts: SourceOptions) -> None:
        self.opts = opts
        self._of: dict[str, Any] | None = None  # what decides the rows, once known
        self._began: tuple[float, int] | None = None  # (monotonic time, first row) of this run
        self._target: int | None = None  # availableNow: where to stop
        self._last = 0  # the newest row made available

    def initialOffset(self) -> dict[str, Any]:
        return {"row": 0, "of": self.opts.decides(None)}

    def _adopt(self, offset: Mapping[str, Any]) -> dict[str, Any]:
        """The checkpoint's offset, checked against the options: the same sequence, or a
        refusal naming what changed."""
        recorded = offset.get("of")
        if not isinstance(recorded, dict):
            raise SourceOptionError(
                f"{NAME}: this checkpoint's offsets record row numbers only (written before "
                "the source recorded what decides its rows): give the query a new checkpoint"
            )
        if self._of is None or self._of != recorded:
            now = self.opts.decides(recorded)
            changed = _changed(recorded, now)
            if changed:
                raise SourceOptionError(f"{NAME}: {changed}: a restart on a checkpoint draws "
                                        "the rows it recorded or none (a new checkpoint "
                                        "starts another stream)")  # fmt: skip
            self._of = now
        return self._of

    def _available(self, row: int) -> int:
        if self._began is None:
            self._began = (time.monotonic(), row)
        began, first = self._began
        made = first + math.floor((time.monotonic() - began) * self.opts.rows_per_second)
        if self.opts.rows is not None:
            made = min(made, self.opts.rows)
        self._last = max(made, row)
        return self._last

    def getDefaultReadLimit(self) -> ReadLimit:
        return ReadMaxRows(self.opts.read_limit())

    def latestOffset(self, start: dict[str, Any], limit: ReadLimit) -> dict[str, Any]:
        of = self._adopt(start)
        row = int(start["row"])
        end = self._available(row) if self._target is None else max(self._target, row)
        self._last = max(self._last, end)  # availableNow: all of it is there from the start
        if isinstance(limit, ReadMaxRows):
            end = min(end, row + limit.max_rows)
        return {"row": end, "of": of}

    def reportLatestOffset(self) -> dict[str, Any] | None:
        """The newest row available, whether or not a batch has taken it: Spark's progress
        shows the backlog."""
        if self._of is None:
            return None
        return {"row": self._last, "of": self._of}

    def prepareForTriggerAvailableNow(self) -> None:
        if self.opts.rows is None:
            raise SourceOptionError(
                f"{NAME}: trigger availableNow needs option rows (where the stream ends)"
            )
        self._target = self.opts.rows

    def partitions(self, start: dict[str, Any], end: dict[str, Any]) -> list[RowRange]:
        of = self._adopt(end)
        first, stop = int(start["row"]), int(end["row"])
        opts = self.opts
        clock = opts.stream_clock(of["clock"])
        edges = segment_edges(opts.dataset, opts.seed, first, stop)
        return split(first, stop, opts.partitions, edges, clock)

    def read(self, partition: InputPartition) -> Iterator[Any]:
        assert isinstance(partition, RowRange)
        return _read(self.opts, partition)

    def commit(self, end: dict[str, Any]) -> None:
        pass  # nothing is kept: any range can be drawn again


_SAID = {"dataset": "option dataset (or spec)", "declaration": "the declaration (option spec)",
         "seed": "option seed", "start": "option start",
         "secondsPerRow": "the event-time pace (option secondsPerRow, or speed / rowsPerSecond)",
         "disorder": "option disorder", "lateFraction": "option lateFraction",
         "maxLateness": "option maxLateness"}  # fmt: skip


def _changed(recorded: Mapping[str, Any], now: Mapping[str, Any], where: str = "") -> str:
    """The first thing that decides the rows and differs, said as the option that sets it."""
    for key in [*now, *(k for k in recorded if k not in now)]:
        old, new = recorded.get(key), now.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            return _changed(old, new, key)
        if where == "versions":
            return (f"{key} {old} drew this checkpoint's rows, this is {key} {new}: the same "
                    "seed draws other rows")  # fmt: skip
        said = _SAID.get(key, f"option {key}")
        return f"{said} is {new!r}, but this checkpoint's stream was drawn with {old!r}"
    return ""


class SyntheticDataSource(DataSource):
    """`format("synthetic")`: a data set's rows, drawn by the generator's engine in Spark."""

    @classmethod
    def name(cls) -> str:
        return NAME

    def schema(self) -> StructType | str:
        # read or readStream is not known yet: the options of either are accepted here
        return self._options(stream=True).dataset.ddl()

    def reader(self, schema: StructType) -> BatchReader:
        return BatchReader(self._options(stream=False, schema=schema))

    def streamReader(self, schema: StructType) -> StreamReader:
        return StreamReader(self._options(stream=True, schema=schema))

    def _options(self, stream: bool, schema: StructType | None = None) -> SourceOptions:
        opts = SourceOptions.parse(dict(self.options), stream)
        if schema is None:
            return opts
        return dataclasses.replace(opts, project=projection(opts.dataset, schema))


def register(spark: Any) -> None:
    """Register the `synthetic` data source with a session (local, cluster or Spark Connect)."""
    spark.dataSource.register(SyntheticDataSource)
