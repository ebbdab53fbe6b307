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
    ReadAllAvailable,
    ReadLimit,
    ReadMaxRows,
    SupportsTriggerAvailableNow,
)
from pyspark.sql.types import StructType

from generator import options as convert
from generator.clock import Clock, EventTime
from generator.datasets import standalone
from generator.errors import UsageError
from generator.rows import batches, fixed_clock
from generator.spec import Dataset
from generator.spec_file import loads

NAME = "synthetic"
BATCH_ROWS = 1000  # rows of a batch read that names none
PARTITIONS = 2  # partitions of a read that names none
DEFAULT_RATE = 1.0  # rows per second of a stream that names none, as Spark's rate source

# option (as written) -> converter; Spark hands options over case-insensitively
OPTIONS: Mapping[str, Any] = {
    "dataset": str,
    "spec": str,  # the declaration itself, as spec-file text (how a client sends its own)
    "seed": convert.non_negative_int,
    "rows": convert.non_negative_int,
    "numPartitions": convert.positive_int,
    "rowsPerSecond": convert.positive_float,
    "maxRecordsPerBatch": convert.positive_int,
    "start": convert.iso_time,
    "speed": convert.positive_float,
    "disorder": convert.non_negative_float,
    "lateFraction": convert.fraction,
    "maxLateness": convert.non_negative_float,
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

    @property
    def clock(self) -> Clock | None:
        """The event-time clock, fixed on the driver (see `generator.rows.fixed_clock`)."""
        return fixed_clock(self.dataset, self.event_time, self.rows_per_second)

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
                loads(values["spec"]) if "spec" in values else values.get("dataset", "person"),
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
        rows = values.get("rows", None if stream else BATCH_ROWS)
        return cls(
            dataset=dataset,
            seed=values.get("seed", 0),
            rows=rows,
            partitions=values.get("numPartitions", PARTITIONS),
            rows_per_second=values.get("rowsPerSecond", DEFAULT_RATE),
            max_records=values.get("maxRecordsPerBatch"),
            event_time=event_time,
        )


@dataclass(frozen=True)
class RowRange(InputPartition):
    """Rows [start, stop) of the sequence: one Spark task's share."""

    start: int
    stop: int


def split(start: int, stop: int, parts: int) -> list[RowRange]:
    """[start, stop) in `parts` ranges as even as can be (none empty)."""
    size = stop - start
    if size <= 0:
        return []
    parts = min(parts, size)
    edges = [start + size * k // parts for k in range(parts + 1)]
    return [RowRange(a, b) for a, b in itertools.pairwise(edges)]


def _read(opts: SourceOptions, clock: Clock | None, part: RowRange) -> Iterator[Any]:
    yield from batches(opts.dataset, opts.seed, part.start, part.stop, clock)


class BatchReader(DataSourceReader):
    def __init__(self, opts: SourceOptions) -> None:
        self.opts = opts
        self.clock = opts.clock

    def partitions(self) -> list[RowRange]:
        assert self.opts.rows is not None
        return split(0, self.opts.rows, self.opts.partitions)

    def read(self, partition: InputPartition) -> Iterator[Any]:
        assert isinstance(partition, RowRange)
        return _read(self.opts, self.clock, partition)


class StreamReader(DataSourceStreamReader, SupportsTriggerAvailableNow):
    """Offsets are `{"row": k}`: the next row of the sequence. Rows become available at
    `rowsPerSecond` from the query's start (or restart), up to `rows` if given."""

    def __init__(self, opts: SourceOptions) -> None:
        self.opts = opts
        self.clock = opts.clock
        self._began: tuple[float, int] | None = None  # (monotonic time, first row) of this run
        self._target: int | None = None  # availableNow: where to stop

    def initialOffset(self) -> dict[str, int]:
        return {"row": 0}

    def _available(self, row: int) -> int:
        if self._began is None:
            self._began = (time.monotonic(), row)
        began, first = self._began
        made = first + math.floor((time.monotonic() - began) * self.opts.rows_per_second)
        if self.opts.rows is not None:
            made = min(made, self.opts.rows)
        return max(made, row)

    def getDefaultReadLimit(self) -> ReadLimit:
        if self.opts.max_records is None:
            return ReadAllAvailable()
        return ReadMaxRows(self.opts.max_records)

    def latestOffset(self, start: dict[str, int], limit: ReadLimit) -> dict[str, int]:
        row = int(start["row"])
        end = self._available(row) if self._target is None else max(self._target, row)
        if isinstance(limit, ReadMaxRows):
            end = min(end, row + limit.max_rows)
        return {"row": end}

    def prepareForTriggerAvailableNow(self) -> None:
        if self.opts.rows is None:
            raise SourceOptionError(
                f"{NAME}: trigger availableNow needs option rows (where the stream ends)"
            )
        self._target = self.opts.rows

    def partitions(self, start: dict[str, int], end: dict[str, int]) -> list[RowRange]:
        return split(int(start["row"]), int(end["row"]), self.opts.partitions)

    def read(self, partition: InputPartition) -> Iterator[Any]:
        assert isinstance(partition, RowRange)
        return _read(self.opts, self.clock, partition)

    def commit(self, end: dict[str, int]) -> None:
        pass  # nothing is kept: any range can be drawn again


class SyntheticDataSource(DataSource):
    """`format("synthetic")`: a data set's rows, drawn by the generator's engine in Spark."""

    @classmethod
    def name(cls) -> str:
        return NAME

    def schema(self) -> StructType | str:
        # read or readStream is not known yet: the options of either are accepted here
        return self._options(stream=True).dataset.ddl()

    def reader(self, schema: StructType) -> BatchReader:
        return BatchReader(self._options(stream=False))

    def streamReader(self, schema: StructType) -> StreamReader:
        return StreamReader(self._options(stream=True))

    def _options(self, stream: bool) -> SourceOptions:
        return SourceOptions.parse(dict(self.options), stream)


def register(spark: Any) -> None:
    """Register the `synthetic` data source with a session (local, cluster or Spark Connect)."""
    spark.dataSource.register(SyntheticDataSource)
