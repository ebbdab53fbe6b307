"""`consumer sessions DIR` and `consumer dedup DIR`: per-key state on one event-time stream.

sessions: `session_window(event_time, --gap)` per user with a watermark, append mode — each
session printed once, when the watermark has passed its end. `--check` compares the sessions
with the generator's `_truth_sessions.jsonl` (user, start, end, events).

dedup: `dropDuplicatesWithinWatermark([id])` on a stream the generator landed with
`--duplicates F` (rows sent again, same id, a little later). `--check` compares the rows kept
with `_truth_dedup.jsonl`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from consumer import checks, runner
from consumer.inputs import FolderInput, Input, SocketInput
from consumer.output import OutputConfig, OutputMode
from generator.answers import (
    DEDUP_TRUTH,
    DEDUP_WATERMARK,
    SESSION_GAP,
    SESSION_WATERMARK,
    SESSIONS_TRUTH,
    Lateness,
    load_key,
)
from generator.errors import UsageError
from generator.options import held, non_negative_int, positive_int

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, Row, SparkSession

MODES: tuple[OutputMode, ...] = ("append",)
TIME_FORMAT = "yyyy-MM-dd HH:mm:ss"


def _prepare_check(config: SessionsConsumerConfig | DedupConsumerConfig, truth: Path | None,
                   how: str) -> OutputConfig:  # fmt: skip
    source, output = config.source, config.output
    if isinstance(source, SocketInput) and output.available_now:
        raise UsageError("--available-now does not work with the socket source: use --timeout")
    if not config.check:
        return output
    return checks.prepare(output, source, checks.Needs(truth, how), config.timeout)


def _keyed(config: SessionsConsumerConfig | DedupConsumerConfig, option: str,
           default: str | None, what: str, key_file: str, how: str) -> None:  # fmt: skip
    """The rules both configs share: an event-time data set, a watermark, a column the state is
    per (`option`, default: the data set's), and where the answer key is."""
    _event_time(config.source)
    held("--watermark", non_negative_int, config.watermark)
    dataset = config.source.dataset
    column = getattr(config, option) or default
    if column is None or column not in dataset.column_names:
        missing = column or ("session_by" if option == "by" else "key")
        raise UsageError(f"--{option} names {what}; {dataset.name} has no {missing} column (try "
                         "activity)")  # fmt: skip
    object.__setattr__(config, option, column)
    truth = None
    if isinstance(config.source, FolderInput):
        truth = Path(config.source.directory) / key_file
    object.__setattr__(config, "truth", truth)
    output = _prepare_check(config, truth, how)
    object.__setattr__(config, "output", output)
    config.output.check(MODES)


def _event_time(source: Input) -> str:
    column = source.dataset.event_time_column
    if column is None:
        raise UsageError(f"data set {source.dataset.name!r} has no event-time column (try "
                         "activity)")  # fmt: skip
    return column


@dataclass(frozen=True)
class SessionsConsumerConfig:
    source: Input
    gap: int = SESSION_GAP  # seconds
    watermark: int = SESSION_WATERMARK
    by: str | None = None  # default: the data set's session_by
    check: bool = False
    output: OutputConfig = OutputConfig(truncate=False)
    timeout: float | None = None
    quiet: bool = False
    log_level: str = "WARN"
    truth: Path | None = field(init=False, default=None)  # derived: the answer key beside DIR

    def __post_init__(self) -> None:
        held("--gap", positive_int, self.gap)
        _keyed(self, "by", self.source.dataset.session_by, "the column sessions are per",
               SESSIONS_TRUTH, "land activity with `generator files`")  # fmt: skip

    @property
    def table(self) -> str:
        return self.output.query_name or "sessions"


def sessions(df: DataFrame, config: SessionsConsumerConfig) -> DataFrame:
    from pyspark.sql import functions as F

    t = _event_time(config.source)
    assert config.by is not None
    return (
        df.withWatermark(t, f"{config.watermark} seconds")
        .groupBy(F.session_window(t, f"{config.gap} seconds"), F.col(config.by))
        .agg(F.count("*").alias("events"))
        .select(
            F.col(config.by).alias("user"),
            F.date_format("session_window.start", TIME_FORMAT).alias("session_start"),
            F.date_format("session_window.end", TIME_FORMAT).alias("session_end"),
            "events",
        )
    )


def run_sessions(spark: SparkSession, config: SessionsConsumerConfig,
                 err: TextIO | None = None) -> None:  # fmt: skip
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    gap = config.gap
    stream = runner.Stream(config.source, lambda df: sessions(df, config), config.table,
                           late=Lateness("session", gap))  # fmt: skip
    runner.run(spark, [stream], config.output, MODES, config.timeout, config.quiet,
               config.log_level, err, consumer="consumer sessions")  # fmt: skip
    if config.check:
        assert config.truth is not None
        key = load_key(config.truth)
        found = {(r.user, r.session_start, r.session_end, r.events)
                 for r in spark.table(config.table).collect()}  # fmt: skip
        checks.conclude(compare_sessions(found, key, config), sys.stdout)


def compare_sessions(found: set[tuple[str, str, str, int]], key: list[dict[str, object]],
                     config: SessionsConsumerConfig) -> checks.Verdict:  # fmt: skip
    summary = key[-1]
    expected = {(str(k["user"]), str(k["start"]), str(k["end"]), int(str(k["events"])))
                for k in key[:-1] if k.get("emitted")}  # fmt: skip
    still_open = sum(1 for k in key[:-1] if not k.get("emitted"))
    missing, unexpected = expected - found, found - expected
    table: list[list[object]] = [
        ["", "answer key", "counted"],
        ["sessions emitted", len(expected), len(found)],
        ["of them the same", len(expected), len(expected & found)],
        ["events dropped as late", summary.get("late"), ""],
        ["sessions still open", still_open, ""],
    ]
    verdict = checks.Verdict(table, not missing and not unexpected, "the sessions")
    verdict.missing("missing", [f"{u} {s} .. {e}, {n} events" for u, s, e, n in sorted(missing)])
    verdict.missing("not expected", [f"{u} {s} .. {e}, {n} events"
                                     for u, s, e, n in sorted(unexpected)])  # fmt: skip
    verdict.settings(summary, [("--gap", config.gap, "gap_seconds"),
                               ("--watermark", config.watermark, "watermark_seconds")])  # fmt: skip
    return verdict


@dataclass(frozen=True)
class DedupConsumerConfig:
    source: Input
    watermark: int = DEDUP_WATERMARK
    id: str | None = None  # default: the data set's key
    check: bool = False
    output: OutputConfig = OutputConfig(truncate=False)
    timeout: float | None = None
    quiet: bool = False
    log_level: str = "WARN"
    truth: Path | None = field(init=False, default=None)  # derived: the answer key beside DIR

    def __post_init__(self) -> None:
        _keyed(self, "id", self.source.dataset.key, "the event id column", DEDUP_TRUTH,
               "land the files with --duplicates F")  # fmt: skip

    @property
    def table(self) -> str:
        return self.output.query_name or "deduplicated"


def dedup(df: DataFrame, config: DedupConsumerConfig) -> DataFrame:
    assert config.id is not None
    t = _event_time(config.source)
    return df.withWatermark(t, f"{config.watermark} seconds").dropDuplicatesWithinWatermark(
        [config.id]
    )


def run_dedup(spark: SparkSession, config: DedupConsumerConfig,
              err: TextIO | None = None) -> None:  # fmt: skip
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    stream = runner.Stream(config.source, lambda df: dedup(df, config), config.table,
                           late=Lateness("event"))  # fmt: skip
    runner.run(spark, [stream], config.output, MODES, config.timeout, config.quiet,
               config.log_level, err, consumer="consumer dedup")  # fmt: skip
    if config.check:
        assert config.truth is not None and config.id is not None
        from pyspark.sql import functions as F

        when = F.date_format(_event_time(config.source), TIME_FORMAT)  # UTC, as the key has it
        rows = spark.table(config.table).select(config.id, when).collect()
        checks.conclude(compare_dedup(rows, load_key(config.truth), config), sys.stdout)


def compare_dedup(rows: list[Row], key: list[dict[str, object]],
                  config: DedupConsumerConfig) -> checks.Verdict:  # fmt: skip
    """The rows kept against the key's list of them: the same ids with the same event times,
    each once."""
    summary = key[-1]
    expected = sorted((str(k["id"]), str(k["time"])) for k in key[:-1] if "id" in k)
    found = sorted((str(r[0]), str(r[1])) for r in rows)
    ids = [i for i, _ in found]
    table: list[list[object]] = [
        ["", "answer key", "counted"],
        ["rows read", summary["rows"], ""],
        ["rows kept", len(expected), len(found)],
        ["ids kept twice", 0, len(ids) - len(set(ids))],
        ["dropped as duplicates", summary["duplicates"], ""],
        ["dropped as late", summary["late"], ""],
    ]
    verdict = checks.Verdict(table, found == expected, "the rows kept")
    want, got = set(expected), set(found)
    verdict.missing("missing", [f"{i} at {t}" for i, t in sorted(want - got)])
    verdict.missing("not expected", [f"{i} at {t}" for i, t in sorted(got - want)])
    verdict.settings(summary, [("--watermark", config.watermark, "watermark_seconds")])
    return verdict
