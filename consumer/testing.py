"""Check a streaming query of one's own: its result against what the same query computes without
streaming on the rows the stream was entitled to use (docs/testing.md, "Check your own query").

`check_query(spark, query, folder)` runs `query` (a function from the folder's streaming
DataFrame to a DataFrame) as a stream over the landed folder, `availableNow`, N files a
micro-batch, into a sink that keeps each batch's rows; then runs the same function over the
files as a static table: its twin. The rule, found by experiment on the pinned Spark (the
table in docs/testing.md):

- Where the stream drops nothing (stateless queries, an aggregation not grouped by the
  watermark's column, complete mode, no watermark), the twin is the query over all the rows:
  for append the rows the stream emitted, for update the last row per key, for complete the
  last table.
- A window over the watermark's column drops a row per window: a window holds the rows read
  while it was open, by every batch whose watermark (the one the batch before left, from the
  progress) had not reached its end. Its twin is the query over the rows of the batches up to
  the last such one (the input of each batch, from the checkpoint or the offsets).
- A deduplication, and an aggregation grouped by the event time itself (or a window made
  before the groupBy), drop a row whose event time the watermark of the batch before has
  reached: the twin is the query over the rows not late.
- In append mode an aggregation emits the groups the last watermark closed.

The stateful operators whose result the twin does not give (joins of two streams, session
windows, state of one's own, limits) are refused: answer keys check them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from consumer.inputs import SyntheticInput
from consumer.output import OutputMode, await_all, in_batch
from consumer.plan import Shape, shape_of
from consumer.report.log import Picture
from consumer.report.spark_state import files_per_batch, watermarks
from consumer.session import is_remote, read_csv_static, read_csv_stream
from generator.answers import Lateness
from generator.errors import UsageError
from generator.manifest import format_of, held_to, landed_format
from generator.options import held, non_negative_int, one_of, positive_int
from generator.spec import Dataset

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

Query = Callable[["DataFrame"], "DataFrame"]
MODES: tuple[OutputMode, ...] = ("append", "update", "complete")
MOST = 20  # rows of differences printed
# floats that cancel to about 0 (a sum of +x and -x in another order): 1e-17 against 0.0
ABSOLUTE = 1e-12
RETAINED, RETAIN = "spark.sql.streaming.numRecentProgressUpdates", 1_000_000


class CannotCheck(UsageError):
    """A query or a folder the check cannot judge: one line (exit 2 from the command)."""


@dataclass(frozen=True)
class CheckOptions:
    """How the stream runs: its output mode, files per micro-batch, where it is stopped and
    started again on its checkpoint (after batch K, for each K), and the relative tolerance
    of floating-point columns."""

    output_mode: OutputMode = "append"
    max_files_per_trigger: int = 1
    restart_at: tuple[int, ...] = ()
    tolerance: float = 1e-9

    def __post_init__(self) -> None:
        held("--output-mode", one_of(*MODES), self.output_mode)
        held("--max-files-per-trigger", positive_int, self.max_files_per_trigger)
        for k in self.restart_at:
            held("--restart-at", non_negative_int, k)
        if list(self.restart_at) != sorted(set(self.restart_at)):
            raise UsageError("--restart-at: batches in increasing order, each once")
        if not 0 <= self.tolerance < 1:
            raise UsageError(f"tolerance: a relative tolerance from 0 to 1, not {self.tolerance}")

    def runs(self, total: int, per_batch: int, what: str, unit: str) -> list[int]:
        """How much input each run of the stream finds (`total` files or rows, `per_batch` a
        batch): up to each restart's batch, then all of it."""
        batches = math.ceil(total / per_batch)
        for k in self.restart_at:
            if k >= batches - 1:
                each = f"{per_batch} {unit if per_batch > 1 else unit.removesuffix('s')}"
                raise UsageError(f"--restart-at {k}: {what} make batches 0 to {batches - 1} "
                                 f"({each} a batch), and a restart needs a batch after "
                                 "it")  # fmt: skip
        return [(k + 1) * per_batch for k in self.restart_at] + [total]


@dataclass(frozen=True)
class BatchRecord:
    """One micro-batch of the stream: the files it read, its rows, the rows a stateful operator
    dropped as late (None: not known), the rows it wrote, the watermark its rows were judged
    by (epoch seconds; 0 before the first)."""

    batch: int
    files: tuple[str, ...]
    rows_in: int
    dropped_late: int | None
    rows_out: int
    watermark: int


@dataclass
class CheckResult:
    """The stream's result against its twin's, row by row (floats to a relative tolerance)."""

    columns: list[str]
    streamed: list[tuple[Any, ...]]
    expected: list[tuple[Any, ...]]
    missing: list[tuple[Any, ...]]  # the twin has them, the stream did not write them
    unexpected: list[tuple[Any, ...]]  # the stream wrote them, the twin has not
    dropped_late: int | None  # input rows the stream's stateful operator dropped as late
    batches: list[BatchRecord]
    progress: list[dict[str, Any]]
    moving: tuple[str, ...] = ()  # expressions computed anew each time: nothing to check
    notes: list[str] = field(default_factory=list)
    picture: Picture | None = None  # each row read by batch, those dropped as late marked

    @property
    def agree(self) -> bool:
        return not self.missing and not self.unexpected and not self.moving

    def explain(self) -> str:
        """The differences, as a table (rows missing and rows unexpected, in key order), and
        why a result cannot be checked."""
        out = []
        if self.moving:
            out.append(f"the query computes {', '.join(self.moving)} anew in every micro-batch "
                       "and in its twin: its result moves, and cannot be checked (use a column "
                       "of the data)")  # fmt: skip
        marked = [("missing", r) for r in self.missing] + [
            ("unexpected", r) for r in self.unexpected
        ]
        if marked:
            marked.sort(key=lambda m: (_text(m[1]), m[0]))
            cells = [["", *self.columns]] + [
                [what, *map(_text, row)] for what, row in marked[:MOST]
            ]
            widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
            out += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
                    for r in cells]  # fmt: skip
            if len(marked) > MOST:
                out.append(f"... and {len(marked) - MOST} more")
        return "\n".join(out)

    def lines(self) -> list[str]:
        """What `consumer check` prints: the late rows, notes, differences, the verdict last."""
        late = "not known" if self.dropped_late is None else str(self.dropped_late)
        out = [f"dropped as late: {late}", *self.notes]
        if self.explain():
            out += self.explain().splitlines()
        if self.agree:
            out.append(f"agree: {len(self.streamed)} rows, as the same query computes them "
                       "without streaming")  # fmt: skip
        elif self.missing or self.unexpected:
            out.append(f"DIFFER: {len(self.missing)} rows missing, {len(self.unexpected)} "
                       f"unexpected, of {len(self.expected)} the query computes without "
                       "streaming")  # fmt: skip
        else:
            out.append(f"DIFFER: the result depends on when it is computed "
                       f"({', '.join(self.moving)})")  # fmt: skip
        return out


def _text(value: Any) -> str:
    if isinstance(value, tuple):
        return "{" + ", ".join(map(_text, value)) + "}"
    if isinstance(value, dt.datetime):
        return value.isoformat(" ")
    return "null" if value is None else str(value)


def folder_data(folder: Path) -> tuple[Dataset, str, list[Path]]:
    """The folder's own data set, its format, its files in landing order."""
    if not folder.is_dir():
        raise CannotCheck(f"not a folder: {folder}")
    dataset = held_to(folder, None, "")
    if dataset is None:
        raise CannotCheck(f"{folder} does not say what it holds: land it with `generator files`")
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and not p.name.startswith(("_", ".")))  # fmt: skip
    if not files:
        raise CannotCheck(f"{folder} holds no files yet")
    fmt = landed_format(folder) or format_of(files[0].name)  # as the manifest says
    return dataset, fmt, files


def check_query(
    spark: SparkSession,
    query: Query,
    folder: str | Path | SyntheticInput,
    *,
    output_mode: OutputMode = "append",
    max_files_per_trigger: int = 1,
    restart_at: Sequence[int] = (),
    tolerance: float = 1e-9,
) -> CheckResult:
    """Run `query` as a stream over the landed `folder` (or the `synthetic` source, a
    `SyntheticInput` with `rows`) and check its result against the same query without
    streaming (the module's rule). Bad options, a folder that does not say what it holds, or a
    query the twin cannot stand in for raise `CannotCheck`/`UsageError`; a query Spark refuses
    raises Spark's own error."""
    options = CheckOptions(output_mode, max_files_per_trigger, tuple(restart_at), tolerance)
    source = folder if isinstance(folder, SyntheticInput) else Path(folder)
    return Check(spark, query, source, options).run()


BATCH = "__batch__"  # the micro-batch that read a row, beside the row in the check's tables


class Landed:
    """A folder `generator files` landed, read N files a micro-batch; a batch's input is its
    files (from the checkpoint's source log)."""

    def __init__(self, folder: Path, options: CheckOptions) -> None:
        self.folder, self.per_trigger = folder, options.max_files_per_trigger
        self.dataset, self.format, self.files = folder_data(folder)
        self.runs = options.runs(len(self.files), self.per_trigger, "the folder's "
                                 f"{len(self.files)} files", "files")  # fmt: skip
        self.batches: dict[int, list[Path]] = {}

    def stream(self, spark: SparkSession, run: int, scratch: Path) -> DataFrame:
        source = self.folder
        if len(self.runs) > 1:  # a copy that grows run by run
            source = scratch / "landing"
            _land(self.files[: self.runs[run]], source)
        return read_csv_stream(spark, str(source), self.dataset, self.per_trigger, self.format)

    def read_back(self, checkpoint: Path, progress: list[dict[str, Any]]) -> None:
        read = files_per_batch(checkpoint, 0, progress)
        # the files as the stream read them, named in the folder itself
        self.batches = {b: [self.folder / p.name for p in paths]
                        for b, paths in sorted(read.items()) if paths}  # fmt: skip

    def indexed(self, spark: SparkSession) -> DataFrame:
        """Every row the stream read, as a static table, with the batch that read it."""
        from functools import reduce

        from pyspark.sql import functions as F

        parts = [read_csv_static(spark, [str(p) for p in paths], self.dataset, self.format)
                 .withColumn(BATCH, F.lit(b)) for b, paths in self.batches.items()]  # fmt: skip
        return reduce(lambda x, y: x.unionByName(y), parts)

    def names(self, batch: int) -> tuple[str, ...]:
        return tuple(p.name for p in self.batches.get(batch, []))


class Drawn:
    """The `synthetic` source, N rows a micro-batch (maxRecordsPerBatch); a batch's input is its
    range of the seed's sequence (its offsets), and the twin draws rows [0, end) in a batch read
    on the clock the stream recorded in its offsets."""

    def __init__(self, given: SyntheticInput, options: CheckOptions) -> None:
        if given.rows is None:
            raise CannotCheck("--synthetic needs --rows N: where the stream ends")
        if options.restart_at and given.max_records is None:
            raise CannotCheck("--restart-at with --synthetic needs --max-records-per-batch N "
                              "(the rows of a batch)")  # fmt: skip
        self.given, self.dataset = given, given.dataset
        self.runs = options.runs(given.rows, given.max_records or given.rows, f"{given.rows} "
                                 "rows", "--max-records-per-batch rows")  # fmt: skip
        self.batches: dict[int, tuple[int, int]] = {}
        self.clock: dict[str, Any] | None = None

    def stream(self, spark: SparkSession, run: int, scratch: Path) -> DataFrame:
        return dataclasses.replace(self.given, rows=self.runs[run]).frame(spark)

    def read_back(self, checkpoint: Path, progress: list[dict[str, Any]]) -> None:
        for p in progress:
            source = (p.get("sources") or [{}])[0]
            start, end = (_json(source.get(k)) for k in ("startOffset", "endOffset"))
            first = int(start["row"]) if start else 0
            if end and int(end["row"]) > first:
                self.batches[int(p["batchId"])] = (first, int(end["row"]))
                self.clock = end["of"].get("clock")

    def indexed(self, spark: SparkSession) -> DataFrame:
        """Rows [0, end) drawn in a batch read on the stream's own clock (its start and pace,
        from its offsets), each with the batch that read it (by its place in the sequence)."""
        from pyspark.sql.types import LongType, StructField, StructType

        options = {k: v for k, v in self.given.options().items()
                   if k not in ("maxRecordsPerBatch", "speed", "start")}  # fmt: skip
        options["rows"] = str(max(end for _, end in self.batches.values()))
        if self.clock is not None:
            options["start"] = dt.datetime.fromtimestamp(self.clock["start"], dt.UTC).isoformat()
            options["secondsPerRow"] = repr(self.clock["secondsPerRow"])
        reader = spark.read.format("synthetic")
        for key, value in options.items():
            reader = reader.option(key, value)
        drawn = reader.load()
        ranges = sorted((first, end, b) for b, (first, end) in self.batches.items())

        def batch_of(k: int) -> int:
            return next(b for first, end, b in ranges if first <= k < end)

        schema = StructType([*drawn.schema.fields, StructField(BATCH, LongType())])
        rows = drawn.rdd.zipWithIndex().map(lambda rk: (*rk[0], batch_of(rk[1])))
        return spark.createDataFrame(rows, schema)

    def names(self, batch: int) -> tuple[str, ...]:
        first, end = self.batches.get(batch, (0, 0))
        return (f"rows {first} to {end - 1}",) if end > first else ()


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


@dataclass
class Check:
    spark: SparkSession
    query: Query
    given: Path | SyntheticInput
    options: CheckOptions
    out: dict[int, list[tuple[Any, ...]]] = field(default_factory=dict)

    def run(self) -> CheckResult:
        if is_remote(self.spark):
            raise CannotCheck("a check reads the query's plans: give it a classic Spark session, "
                              "not Spark Connect")  # fmt: skip
        self.source = source_of(self.given, self.options)
        conf = self.spark.conf
        kept = conf.get(RETAINED, None)
        conf.set(RETAINED, str(RETAIN))  # every batch's progress, not the last 100
        try:
            with tempfile.TemporaryDirectory(prefix="check-") as scratch:
                root = Path(scratch)
                progress: list[dict[str, Any]] = []
                for run in range(len(self.source.runs)):
                    progress += self._stream(self.source.stream(self.spark, run, root),
                                             root / "checkpoint")  # fmt: skip
                self.source.read_back(root / "checkpoint", progress)
        finally:
            conf.unset(RETAINED) if kept is None else conf.set(RETAINED, kept)
        self.marks = watermarks(progress)
        return self._judge(progress)

    # --- the stream ---------------------------------------------------------------------------

    def _stream(self, df: DataFrame, checkpoint: Path) -> list[dict[str, Any]]:
        result = self.query(df)
        if not hasattr(result, "isStreaming"):
            raise CannotCheck(f"the query returned {type(result).__name__}, not a DataFrame")
        self.shape: Shape = shape_of(self.spark, result)
        if self.shape.not_exact:
            raise CannotCheck(f"the same query without streaming does not give the result of "
                              f"{self.shape.not_exact}: check it with an answer key "
                              "(docs/answer-keys.md)")  # fmt: skip
        self.columns, self.schema = result.columns, result.schema

        @in_batch  # cut short by a stop: said so Spark reads it right
        def keep(batch: DataFrame, batch_id: int) -> None:  # a replayed batch replaces itself
            self.out[batch_id] = [_plain(r) for r in batch.collect()]

        writer = (result.writeStream.queryName("checked").foreachBatch(keep)
                  .outputMode(self.options.output_mode))  # fmt: skip
        q = (writer.option("checkpointLocation", str(checkpoint))
             .trigger(availableNow=True).start())  # fmt: skip
        # as every consumer waits: a Ctrl-C stops the query cleanly, a failure is one line
        level = self.spark.sparkContext._jvm.org.apache.logging.log4j.LogManager  # type: ignore[union-attr]
        quiet = (self.spark, str(level.getRootLogger().getLevel().toString()))
        if await_all([q], None, quiet_stop=quiet).startswith("interrupted"):
            raise KeyboardInterrupt
        return [json.loads(p.json) for p in q.recentProgress]

    # --- the twin and the verdict -------------------------------------------------------------

    def _twin(self, upto: int | None = None, kept: Any = None) -> list[tuple[Any, ...]]:
        """The query without streaming over the input of the batches up to `upto` (all: None),
        or over the rows `kept` says (a column of the indexed table)."""
        from pyspark.sql import functions as F

        rows = self.indexed
        if upto is not None:
            rows = rows.filter(F.col(BATCH) <= upto)
        if kept is not None:
            rows = rows.filter(kept)
        return [_plain(r) for r in self.query(rows.drop(BATCH)).collect()]

    def _judge(self, progress: list[dict[str, Any]]) -> CheckResult:
        self.indexed = self.source.indexed(self.spark).cache()
        try:
            return self._held(progress)
        finally:
            self.indexed.unpersist()

    def _held(self, progress: list[dict[str, Any]]) -> CheckResult:
        from pyspark.sql import functions as F

        shape, mode = self.shape, self.options.output_mode
        judge = {b: self.marks.get(b - 1, 0) for b in self.source.batches}
        order = sorted(self.source.batches)
        whole = self._twin()
        # what a stateful operator drops, measured (tests/test_check.py): a deduplication, the
        # rows its input's watermark says are late; an aggregation, only when a column it
        # groups by carries the watermark (a window over it, the column itself), and never in
        # complete mode
        judging = (shape.judged_by is not None and mode != "complete"
                   and (shape.stateful == "dedup" or shape.keyed))  # fmt: skip
        column = shape.watermark if shape.watermark_read else None  # the input's own
        rule = self._rule(whole) if judging else None
        when = F.unix_seconds(F.col(column)) if column else F.lit(None)
        read: dict[int, list[int | None]] = {b: [] for b in order}
        for row in self.indexed.select(BATCH, when.alias("t")).collect():
            read[row[0]].append(row[1])
        times = {b: [t for t in read[b] if t is not None] for b in order}
        dropped: dict[int, int | None] = dict.fromkeys(order, 0 if rule is None else None)
        picture = None
        if rule is not None and column is not None:
            import numpy as np

            picture = Picture(f"Event time ({column}) of each row against the batch that read "
                              "it", watermarks=self.marks)  # fmt: skip
            for b in order:
                late = rule.late(np.asarray(times[b], dtype=np.int64), judge[b])
                dropped[b] = int(late.sum())
                picture.batches += [b] * len(times[b])
                picture.times += times[b]
                picture.dropped += late.tolist()
        if not judging:
            expected = whole
        elif shape.judged_by == "window":  # per (row, window): a group holds what it read open
            expected = self._per_group(whole, judge, order)
        elif column is not None:  # per row, by its event time: the rows the stream kept
            marks = F.lit(0)
            for b in order:
                marks = F.when(F.col(BATCH) == b, F.lit(judge[b])).otherwise(marks)
            expected = self._twin(kept=~F.coalesce(F.unix_seconds(column) <= marks, F.lit(False)))
            if shape.keyed and shape.stateful == "aggregate" and mode == "append":
                end, final = self._end_of(), max(self.marks.values(), default=0)
                expected = [r for r in expected if end(r) <= final]  # the groups it closed
        elif shape.moving:  # a watermark on current_timestamp(): DIFFER, as moving
            expected = whole
        else:
            raise CannotCheck(f"the watermark's column {shape.watermark} is not a column of the "
                              "input: the check cannot tell which rows were late")  # fmt: skip
        streamed = self._streamed()
        missing, unexpected = _differences(expected, streamed, self.options.tolerance)
        ran = sorted({int(p["batchId"]) for p in progress} | set(self.out))
        batches = [BatchRecord(b, self.source.names(b), len(read.get(b, [])), dropped.get(b, 0),
                               len(self.out.get(b, [])), self.marks.get(b - 1, 0))
                   for b in ran]  # fmt: skip
        known = list(dropped.values())
        total = None if None in known else sum(d or 0 for d in known)
        notes = []
        if shape.watermark and not judging and shape.stateful != "none":
            why = ("complete mode keeps every group" if mode == "complete" else
                   "the aggregation does not group by its column"
                   if shape.stateful == "aggregate" and shape.judged_by else
                   f"the {shape.stateful}'s input has not its column")  # fmt: skip
            notes.append(f"the watermark on {shape.watermark} drops no rows here: {why}")
        return CheckResult(list(self.columns), streamed, expected, missing, unexpected, total,
                           batches, progress, shape.moving, notes, picture)  # fmt: skip

    def _rule(self, whole: list[tuple[Any, ...]]) -> Lateness:
        """How the stream's operator judges a row late: by its event time, or by the end of the
        last window holding it (the window's intervals from the plan as written, else from the
        windows the query wrote)."""
        if self.shape.judged_by == "event":
            return Lateness("event")
        if self.shape.window is not None:
            return self.shape.window.lateness()
        if self.shape.window_column is None:
            raise CannotCheck("the result has no window column: keep it to check the query")
        i = self.columns.index(self.shape.window_column)
        spans = {(_seconds(r[i][0]), _seconds(r[i][1])) for r in whole if r[i] is not None}
        if not spans:
            return Lateness("window", 1)  # no window written: nothing to judge
        length = next(iter(spans))[1] - next(iter(spans))[0]
        starts = sorted({start for start, _ in spans})
        # exact when the slide divides the length, as Spark's own examples have it
        slide = math.gcd(length, *[b - a for a, b in itertools.pairwise(starts)])
        return Lateness("window", length, slide, starts[0] % slide)

    def _per_group(self, whole: list[tuple[Any, ...]], judge: dict[int, int],
                   order: list[int]) -> list[tuple[Any, ...]]:  # fmt: skip
        """Per group (a window, an event time), the query over the input of the batches that
        read it while it was open: their watermark (the one the batch before left) had not
        reached its end. In append mode an aggregation writes the groups the last watermark
        closed."""
        end = self._end_of()

        def open_until(e: int) -> int | None:  # the last batch that read rows into the group
            return max((b for b in order if judge[b] < e), default=None)

        final = max(self.marks.values(), default=0)
        closing = self.shape.stateful == "aggregate" and self.options.output_mode == "append"
        # a group's rows are those of the batches up to the last that read it open; watermarks
        # only rise, so that batch is one after which the watermark rose, or the last
        steps = [b for b, after in itertools.pairwise(order) if judge[after] > judge[b]]
        out: list[tuple[Any, ...]] = []
        for b in [*steps, order[-1]]:
            rows = whole if b == order[-1] else self._twin(b)
            out += [r for r in rows if open_until(end(r)) == b
                    and not (closing and end(r) > final)]  # fmt: skip
        return out

    def _end_of(self) -> Callable[[tuple[Any, ...]], int]:
        """Where a result row's group ends: its window's end, or its event time."""
        shape = self.shape
        if shape.window_column is not None:
            i = self.columns.index(shape.window_column)
            return lambda row: _seconds(row[i][1])
        if shape.judged_by == "window":
            raise CannotCheck("the result has no window column (a struct of start and end): "
                              "keep it to check the query")  # fmt: skip
        assert shape.watermark is not None
        if shape.watermark not in self.columns:
            raise CannotCheck(f"the result has no {shape.watermark} column, which keys its "
                              "state: keep it to check the query")  # fmt: skip
        i = self.columns.index(shape.watermark)
        return lambda row: _seconds(row[i])

    def _streamed(self) -> list[tuple[Any, ...]]:
        """The stream's result as its output mode defines it."""
        order = sorted(self.out)
        mode = self.options.output_mode
        if mode == "complete":
            return list(self.out[order[-1]]) if order else []
        if mode == "append" or self.shape.stateful == "none":  # update without state: append
            return [r for b in order for r in self.out[b]]
        keys = [
            k if k in self.columns or k != "window" else self.shape.window_column
            for k in self.shape.keys
        ]  # a window renamed in the result
        missing = [k for k in keys if k not in self.columns]
        if missing:
            raise CannotCheck(f"update mode: the result has not the column(s) its rows are "
                              f"updated by: {', '.join(map(str, missing))}: keep them to check "
                              "it")  # fmt: skip
        at = [self.columns.index(str(k)) for k in keys]
        last: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        for b in order:
            for r in self.out[b]:
                last[tuple(r[i] for i in at)] = r
        return list(last.values())


def source_of(given: Path | SyntheticInput, options: CheckOptions) -> Landed | Drawn:
    """The input of a check, its options held to it (bad ones: one line, before Spark runs)."""
    return Drawn(given, options) if isinstance(given, SyntheticInput) else Landed(given, options)


def _seconds(value: Any) -> int:
    # collect() gives naive datetimes in the machine's own time: timestamp() reads them so
    return int(value.timestamp()) if isinstance(value, dt.datetime) else int(value)


def _plain(row: Any) -> tuple[Any, ...]:
    """A Row as nested tuples (a struct's fields in order)."""
    return tuple(_plain(v) if isinstance(v, tuple) else v for v in row)


def _land(files: list[Path], into: Path) -> None:
    """Copy what is not there yet, modification times in landing order (Spark's file source
    reads new files oldest first)."""
    into.mkdir(exist_ok=True)
    for i, path in enumerate(files):
        target = into / path.name
        if not target.exists():
            shutil.copyfile(path, target)
            os.utime(target, (1_700_000_000 + i, 1_700_000_000 + i))


def _differences(
    expected: list[tuple[Any, ...]], streamed: list[tuple[Any, ...]], tolerance: float
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Rows of `expected` the stream lacks, rows of the stream `expected` lacks: a multiset
    difference, floats equal to `tolerance` (relative)."""

    def split(row: Any) -> tuple[Any, tuple[float, ...]]:
        if isinstance(row, tuple):
            parts = [split(v) for v in row]
            return tuple(p[0] for p in parts), tuple(f for p in parts for f in p[1])
        if isinstance(row, float):
            return float, (row,)
        return row, ()

    def close(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
        return all((math.isnan(x) and math.isnan(y))
                   or math.isclose(x, y, rel_tol=tolerance, abs_tol=ABSOLUTE)
                   for x, y in zip(a, b, strict=True))  # fmt: skip

    groups: dict[Any, tuple[list[Any], list[Any]]] = {}
    for side, rows in enumerate((expected, streamed)):
        for r in rows:
            exact, floats = split(r)
            groups.setdefault(repr(exact), ([], []))[side].append((floats, r))
    missing, unexpected = [], []
    for want, got in groups.values():
        want.sort(key=lambda x: x[0])
        got.sort(key=lambda x: x[0])
        left = list(got)
        for floats, row in want:
            match = next((i for i, (g, _) in enumerate(left) if close(floats, g)), None)
            if match is None:
                missing.append(row)
            else:
                left.pop(match)
        unexpected += [row for _, row in left]
    return missing, unexpected


__all__ = ["BatchRecord", "CannotCheck", "CheckOptions", "CheckResult", "check_query"]
