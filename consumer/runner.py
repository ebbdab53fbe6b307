"""Running a consumer: each stream is an input, a query and the output they share. Inputs open
(waiting for a folder, retrying a server), queries start into the sink, and the run lasts until
they end, the timeout passes, Ctrl-C, or an input's watch says the stream cannot go on. With
`--report` / `--progress-log`, the run's progress events are kept and the report written when it
ends, however it ends."""

from __future__ import annotations

import dataclasses
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from consumer import checks
from consumer.errors import ServerGone
from consumer.inputs import FolderInput, Input, SyntheticInput, Watch
from consumer.output import OutputConfig, OutputMode, await_all, batch_lines, start
from consumer.waiting import wait_for_folder
from generator.answers import Lateness
from generator.manifest import last_seed

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming.query import StreamingQuery

    from consumer.progress import BatchPrinter
    from consumer.report import Report


@dataclass(frozen=True)
class Stream:
    source: Input
    query: Callable[..., DataFrame]  # the consumer's transformation of the inputs' frames
    name: str
    checkpoint_suffix: str = ""  # several queries of one run need folders of their own
    others: tuple[Input, ...] = ()  # more inputs of one query (a join's other side)
    late: Lateness | None = None  # event-time queries: which rows the watermark drops
    about: tuple[tuple[str, str], ...] = ()  # the query's own settings, for the report
    # a sink of the consumer's own: each micro-batch and its id (foreachBatch)
    batch: Callable[[DataFrame, int], None] | None = None


@dataclass(frozen=True)
class RunOptions:
    """How a consumer runs, whatever its query: where it writes, how long it lasts, how much
    it says. Every consumer's config holds one (`run`); its console defaults are its own."""

    output: OutputConfig = OutputConfig()
    timeout: float | None = None  # seconds; None: until done or Ctrl-C
    quiet: bool = False  # no line per batch
    log_level: str = "WARN"

    def checked(self, needs: checks.Needs, source: Input) -> RunOptions:
        """These options held to a check's needs: the output it reads back, or one line."""
        output = checks.prepare(self.output, source, needs, self.timeout)
        return dataclasses.replace(self, output=output)


Check = Callable[["SparkSession"], checks.Verdict]


def run(
    spark: SparkSession,
    streams: Sequence[Stream],
    options: RunOptions,
    modes: Sequence[OutputMode],
    *,
    consumer: str,
    check: Check | None = None,
    err: TextIO | None = None,
) -> Report | None:
    """Run the streams; then, with `check`, compare what they wrote with the answer key. The
    run's report (when asked for) is written once, when all is known, however the run ends;
    then the verdict is printed, and a result that differs fails the run (exit 1)."""
    err = err if err is not None else sys.stderr
    output = options.output
    reporting = output.report is not None or output.progress_log is not None
    scratch = None
    if reporting and output.checkpoint is None:
        # a checkpoint of our own: its source log says which files each batch read
        scratch = tempfile.mkdtemp(prefix="consumer-checkpoint-")
        output = dataclasses.replace(output, checkpoint=scratch)
    report, recorder = _recording(spark, streams, output, options.timeout, consumer) if (
        reporting) else (None, None)  # fmt: skip
    verdict = None
    try:
        try:
            with batch_lines(spark, options.quiet, err) as lines:
                outcome = _run(spark, streams, output, modes, options.timeout,
                               options.log_level, err, lines)  # fmt: skip
        except ServerGone as exc:
            if check is None:
                raise
            # a server that sent its rows and closed: what arrived is what there is to check
            print(f"consumer: {exc}", file=err)
            outcome = "the server went away"
        if check is not None:
            verdict = check(spark)
            outcome += f"; the check: {verdict.conclusion()}"
        if report is not None:
            report.outcome = outcome
            report.windows = verdict.per_group if verdict is not None else []
            report.verdict = verdict.conclusion() if verdict is not None else None
    except BaseException as exc:
        if report is not None:
            what = "interrupted (Ctrl-C)" if isinstance(exc, KeyboardInterrupt) else str(exc)
            report.outcome = f"failed: {what}" if "interrupted" not in what else what
        raise
    finally:
        if report is not None and recorder is not None:
            _finish(spark, report, recorder, streams, output, err)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    if verdict is not None:
        checks.conclude(verdict, sys.stdout)
    return report


def _run(
    spark: SparkSession,
    streams: Sequence[Stream],
    output: OutputConfig,
    modes: Sequence[OutputMode],
    timeout: float | None,
    log_level: str,
    err: TextIO,
    lines: BatchPrinter | None = None,
) -> str:
    queries: list[StreamingQuery] = []
    watches: list[Watch] = []
    try:
        for s in streams:

            def begin(s: Stream = s) -> StreamingQuery:
                for other in s.others:  # a join's other side: its folder too
                    if isinstance(other, FolderInput):
                        wait_for_folder(other.directory, err, timeout)
                df = s.query(s.source.frame(spark), *(o.frame(spark) for o in s.others))
                return start(df, output, modes, s.name, s.checkpoint_suffix,
                             labelled=len(streams) > 1, lines=lines, batch=s.batch)  # fmt: skip

            if isinstance(s.source, FolderInput):  # --timeout bounds the wait for it too
                wait_for_folder(s.source.directory, err, timeout)
            query, watch = s.source.open(spark, begin, err, log_level)
            queries.append(query)
            watches.append(watch)
    except BaseException:
        for q in queries:
            q.stop()
        raise

    def watch_all() -> None:
        for w in watches:
            if w is not None:
                w()

    return await_all(queries, timeout, err, watch=watch_all if any(watches) else None,
                     quiet_stop=(spark, log_level))  # fmt: skip


def _recording(spark: SparkSession, streams: Sequence[Stream], output: OutputConfig,
               timeout: float | None, consumer: str) -> tuple[Report, object]:  # fmt: skip
    from consumer.report import Recorder, Report

    trigger = ("availableNow" if output.available_now else
               f"every {output.trigger_seconds:g} s" if output.trigger_seconds else
               "as soon as the last batch ends")  # fmt: skip
    settings = {"consumer": consumer or "consumer", "Spark": spark.version}
    for s in streams:
        inputs = [s.source, *s.others]
        settings[f"query {s.name}"] = "; ".join(
            f"{i.describe()} ({i.dataset.name})" for i in inputs
        )
        for i in inputs:
            if isinstance(i, SyntheticInput):
                settings["seed"] = str(i.seed)
            if isinstance(i, FolderInput):
                settings["files per trigger"] = str(i.max_files_per_trigger)
                seed = last_seed(Path(i.directory))
                if seed is not None:
                    settings["seed"] = f"{seed}, from _manifest.jsonl"
        settings |= dict(s.about)
    settings |= {"trigger": trigger, "sink": output.target,
                 "timeout": "none" if timeout is None else f"{timeout:g} s"}  # fmt: skip
    report = Report(settings=settings)
    recorder = Recorder(report, Path(output.progress_log) if output.progress_log else None)
    spark.streams.addListener(recorder)
    return report, recorder


def _finish(spark: SparkSession, report: Report, recorder: object, streams: Sequence[Stream],
            output: OutputConfig, err: TextIO) -> None:  # fmt: skip
    from consumer import report as reports
    from consumer.output import deliver_pending_events

    assert isinstance(recorder, reports.Recorder)
    deliver_pending_events(spark, recorder)
    spark.streams.removeListener(recorder)
    assert output.checkpoint is not None
    for s in streams:
        if s.late is None:
            continue
        for index, source in enumerate([s.source, *s.others]):
            if not isinstance(source, FolderInput) or source.dataset.event_time_column is None:
                continue
            folder = Path(output.checkpoint + s.checkpoint_suffix)
            files = reports.files_per_batch(folder, index, report.progress, s.name)
            marks = reports.watermarks(report.progress, s.name)
            report.pictures.append(reports.picture(
                f"Event time of each row against the batch that read it: {source.dataset.name}",
                files, marks, _times_of(source), s.late))  # fmt: skip
    recorder.close()
    if output.report is not None:
        reports.write(report, Path(output.report))
        print(f"consumer: report written to {output.report}", file=err, flush=True)


def _times_of(source: FolderInput) -> Callable[[Path], list[int]]:
    from generator.manifest import read_landed

    column = source.dataset.event_time_column
    assert column is not None

    def times(path: Path) -> list[int]:
        import pyarrow as pa

        table = read_landed(path, source.dataset, source.dataset.header, source.format)
        values: list[int] = table.column(column).cast(pa.int64()).to_pylist()
        return [v for v in values if v is not None]

    return times
