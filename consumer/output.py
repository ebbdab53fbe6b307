"""Where a consumer's query writes, and how it runs until it is done, timed out or interrupted."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TextIO

from consumer import interrupt
from consumer.errors import StreamFailed
from generator.errors import UsageError

if TYPE_CHECKING:
    from py4j.protocol import Py4JJavaError
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming.query import StreamingQuery

    from consumer.progress import BatchPrinter, Listener

Sink = Literal["console", "memory", "parquet", "csv", "json"]
SINKS: tuple[Sink, ...] = ("console", "memory", "parquet", "csv", "json")
FILE_SINKS = ("parquet", "csv", "json")
OutputMode = Literal["append", "update", "complete"]


@dataclass(frozen=True)
class OutputConfig:
    sink: Sink | None = None  # None: the consumer's own (console; the memory table for a check)
    output_mode: OutputMode | None = None  # None: what the consumer's query needs
    num_rows: int = 20
    truncate: bool = True
    checkpoint: str | None = None
    path: str | None = None  # where a file sink writes
    trigger_seconds: float | None = None  # processing-time trigger
    available_now: bool = False  # work through the backlog, then stop
    query_name: str | None = None
    report: str | None = None  # an HTML report of the run, written when it ends
    progress_log: str | None = None  # the progress events as JSON lines, while it runs

    def check(self, modes: Sequence[OutputMode]) -> None:
        """Reject combinations Spark would reject later, before Spark starts."""
        if self.sink in FILE_SINKS:
            if self.checkpoint is None:
                raise UsageError(f"the {self.sink} sink needs --checkpoint DIR")
            if self.path is None:
                raise UsageError(f"the {self.sink} sink needs --output DIR")
            if "append" not in modes:
                raise UsageError(
                    f"the {self.sink} sink takes append mode only, and this query's output "
                    f"mode is {'/'.join(modes)}: use --sink console or memory"
                )
        for option, value in (("--report", self.report), ("--progress-log", self.progress_log)):
            if value is not None and Path(value).is_dir():
                raise UsageError(f"{option} names a file, and {value} is a folder")
        if self.output_mode is not None and self.output_mode not in modes:
            raise UsageError(
                f"--output-mode {self.output_mode} does not fit this query "
                f"(it allows {', '.join(modes)})"
            )

    @property
    def target(self) -> Sink:
        """The sink the query writes to."""
        return self.sink or "console"

    def mode(self, modes: Sequence[OutputMode]) -> OutputMode:
        if self.output_mode is not None:
            return self.output_mode
        return "append" if self.sink in FILE_SINKS else modes[0]


def start(
    df: DataFrame,
    output: OutputConfig,
    modes: Sequence[OutputMode],
    name: str,
    checkpoint_suffix: str = "",
    labelled: bool = False,
    lines: BatchPrinter | None = None,
    batch: Callable[[DataFrame, int], None] | None = None,
) -> StreamingQuery:
    """Start `df` as query `name` into the configured sink; `modes`: the output modes its query
    allows, the first being its default. `labelled`: one of several queries of a run, whose
    console tables say which query they are. `lines`: the run's line per batch, which each
    console table follows. `batch`: the consumer's own sink, each micro-batch handed to it."""
    from consumer.session import is_remote

    writer = df.writeStream.outputMode(output.mode(modes)).queryName(name)
    if batch is not None:
        writer = writer.foreachBatch(batch)
    elif output.target == "console" and not is_remote(df.sparkSession):
        # Spark's console sink prints from the JVM, while the line per batch comes from a
        # listener a little later: after the next batch's table. Two queries' tables would
        # interleave, each "Batch: 0", unlabelled. The same table printed here is in order,
        # one at a time, labelled when there are several
        writer = writer.foreachBatch(_console_table(name, output.num_rows, output.truncate,
                                                    labelled, lines))  # fmt: skip
    else:
        writer = writer.format(output.target)
    if output.target == "console" and batch is None:
        writer = writer.option("numRows", output.num_rows).option("truncate", output.truncate)
    if output.sink in FILE_SINKS:
        assert output.path is not None
        writer = writer.option("path", output.path + checkpoint_suffix)
    if output.checkpoint is not None:
        writer = writer.option("checkpointLocation", output.checkpoint + checkpoint_suffix)
    if output.available_now:
        writer = writer.trigger(availableNow=True)
    elif output.trigger_seconds is not None:
        writer = writer.trigger(processingTime=f"{output.trigger_seconds:g} seconds")
    return writer.start()


LINE_WAIT = 2.0  # seconds a table waits for the line of the batch before it, at the most


class JavaErrorInBatch(Exception):
    """A Spark call in the console table's `foreachBatch` function failed with a Java error
    PySpark does not convert (a `java.lang.InterruptedException` when the query is stopped
    during the batch): py4j's error with its Java stack trace cut off.

    Spark tells such a stop from a failure by matching the function's Python traceback
    against `py4j.protocol.Py4JJavaError: An error occurred while calling((.|\\r\\n|\\r|\\n)*)`
    followed by an interruption's class name (`StreamExecution.isInterruptionException`). The
    pattern recurses once per character after its first words: on py4j's whole stack trace
    (7,900 characters for a count cut short) the query's thread dies of a StackOverflowError,
    printed on the terminal at a Ctrl-C. The same words without the trace are matched as
    Spark means them to be: a stop stays a stop, a failure a failure."""

    def __init__(self, error: Py4JJavaError) -> None:
        chain: list[str] = []
        cause = error.java_exception
        while cause is not None and len(chain) < 8:
            chain.append(str(cause.toString()))
            cause = cause.getCause()
        call = error.errmsg.strip()
        super().__init__(f"py4j.protocol.Py4JJavaError: {call}\n: " + "\nCaused by: ".join(chain))


def in_batch(function: Callable[[DataFrame, int], None]) -> Callable[[DataFrame, int], None]:
    """A `foreachBatch` function whose Java errors Spark can tell a stop from
    (`JavaErrorInBatch`)."""

    def batch(df: DataFrame, batch_id: int) -> None:
        from py4j.protocol import Py4JJavaError

        try:
            function(df, batch_id)
        except Py4JJavaError as exc:
            raise JavaErrorInBatch(exc) from None

    return batch


def _console_table(name: str, num_rows: int, truncate: bool, labelled: bool,
                   lines: BatchPrinter | None) -> Callable[[DataFrame, int], None]:  # fmt: skip
    """A console sink's table, as Spark prints it (with the query's name beside the batch when
    `labelled`), after the line of the batch before it."""
    from consumer.progress import CONSOLE

    shown = [-1]  # the batch last shown by this process

    @in_batch
    def show(batch: DataFrame, batch_id: int) -> None:
        # the whole batch read once, as Spark's console sink reads it (a show alone would read
        # only the rows it shows, and the batch's input count would say so), kept for the show
        batch.persist()
        try:
            batch.count()
            rule = "-" * 43
            label = f" ({name})" if labelled else ""
            if lines is not None and shown[0] == batch_id - 1:
                lines.printed(name, batch_id - 1, LINE_WAIT)
            with CONSOLE:
                try:
                    print(f"{rule}\nBatch: {batch_id}{label}\n{rule}")
                    batch.show(num_rows, truncate)
                    sys.stdout.flush()
                except BrokenPipeError:
                    # `consumer ... | head`: the reader left; the query goes on, as Spark's
                    # console sink does, printing to nowhere
                    sys.stdout = open(os.devnull, "w")  # noqa: SIM115
            shown[0] = batch_id
        finally:
            batch.unpersist()

    return show


@contextmanager
def batch_lines(spark: SparkSession, quiet: bool,
                err: TextIO | None = None) -> Iterator[BatchPrinter | None]:  # fmt: skip
    """A line per batch on stderr while the block runs (unless quiet): the printer, for
    `start`."""
    if quiet:
        yield None
        return
    from consumer.progress import BatchPrinter

    listener = BatchPrinter(err)
    spark.streams.addListener(listener)
    try:
        yield listener
    finally:
        deliver_pending_events(spark, listener)
        spark.streams.removeListener(listener)


@contextmanager
def quieter_log(spark: SparkSession, level: str, restore: bool = True) -> Iterator[None]:
    """Spark's log at FATAL for the block (expected failures), then back at `level`."""
    from consumer.session import is_remote

    if is_remote(spark):  # the server's log is the server's
        yield
        return
    spark.sparkContext.setLogLevel("FATAL")
    try:
        yield
    finally:
        if restore:
            spark.sparkContext.setLogLevel(level)


def deliver_pending_events(spark: SparkSession, listener: Listener,
                           timeout_ms: int = 10_000) -> None:  # fmt: skip
    """Progress events reach listeners asynchronously: let the last batch's line out first."""
    from py4j.protocol import Py4JError

    from consumer.session import is_remote

    if is_remote(spark):  # events come over the wire: until every query's end has arrived
        listener.wait_ended(timeout_ms / 1000)
        return
    # an internal API: without it, the last line may come late or not at all
    with contextlib.suppress(Py4JError):
        bus = spark.sparkContext._jsc.sc().listenerBus()
        bus.waitUntilEmpty(timeout_ms)


def _between_batches(queries: Sequence[StreamingQuery], patience: float = 3.0) -> None:
    """Wait (a while) for a moment when no query is running a batch: a stop that cuts a batch
    short has its tasks log errors that are no one's fault."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        if not any(q.isActive and q.status["isTriggerActive"] for q in queries):
            return
        time.sleep(0.002)


# the last line of a Python traceback inside Spark's message: `ValueError: ...`
ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception)\b.*:")


def failure_line(message: str) -> str:
    """A failed query's message in one line: a Python error's own last line (a UDF's
    `ZeroDivisionError: division by zero`), else Spark's first."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    errors = [line for line in lines if ERROR_LINE.match(line)]
    return (errors or lines or ["failed"])[-1 if errors else 0]


def await_all(
    queries: Sequence[StreamingQuery],
    timeout: float | None,
    err: TextIO | None = None,
    check: float = 0.5,
    watch: object = None,
    quiet_stop: tuple[SparkSession, str] | None = None,
) -> str:
    """Wait until every query ends, `timeout` seconds pass, or Ctrl-C; then stop them all.

    A loop over `isActive` that sleeps between checks (the notes' loop spun without sleeping,
    and its `timedelta(TIMEOUT)` meant days). `timeout` is in seconds, as PySpark's
    `awaitTermination(timeout)` takes it (Java and Scala take milliseconds). `watch`, if given,
    is called every check and may raise to end the wait (the socket consumer's server check).
    With `quiet_stop` (the session and its log level), Spark's log is quiet while the queries
    stop: a batch cut short by the stop logs errors that are no one's fault.
    """
    from pyspark.errors import StreamingQueryException

    err = err if err is not None else sys.stderr
    deadline = None if timeout is None else time.monotonic() + timeout
    outcome = "finished"
    try:
        while any(q.isActive for q in queries):
            if interrupt.take():  # Ctrl-C while a py4j call waited (consumer/interrupt.py)
                raise KeyboardInterrupt
            if deadline is not None and time.monotonic() >= deadline:
                print(f"consumer: {timeout:g}s timeout: stopping", file=err, flush=True)
                outcome = f"timed out after {timeout:g} s (--timeout)"
                _between_batches(queries)
                break
            if callable(watch):
                try:
                    watch()
                except StreamFailed:
                    for q in queries:  # what did arrive is still processed
                        q.processAllAvailable()
                    raise
            left = check if deadline is None else min(check, deadline - time.monotonic())
            if len(queries) == 1:
                # sleeps inside the JVM and returns as soon as the query ends (a failure is
                # said below, from the query's exception)
                with contextlib.suppress(StreamingQueryException):
                    queries[0].awaitTermination(max(0.01, left))  # type: ignore[arg-type]
            else:
                time.sleep(max(0.0, left))
    except KeyboardInterrupt:
        print("consumer: interrupted: stopping", file=err, flush=True)
        outcome = "interrupted (Ctrl-C)"
    finally:
        # a batch cut short by Ctrl-C logs its tasks' aborts after the stop returns: the log
        # stays quiet then (the next consumer run sets its level again)
        keep = outcome.startswith("interrupted")
        quiet = (quieter_log(*quiet_stop, restore=not keep) if quiet_stop is not None
                 else contextlib.nullcontext())  # fmt: skip
        with quiet:
            for q in queries:
                q.stop()
    for q in queries:
        failure = q.exception()
        if failure is not None:
            refused = re.search(r"SourceOptionError: (.+)", str(failure))
            if refused:  # the synthetic source refused an option (a restart that changed it)
                raise UsageError(refused.group(1).strip())
            raise StreamFailed(f"query {q.name} failed: {failure_line(str(failure))}")
    return outcome
