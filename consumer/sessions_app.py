"""`consumer sessions DIR` and `consumer dedup DIR`: per-key state on one event-time stream.

sessions: `session_window(event_time, --gap)` per user with a watermark, append mode — each
session printed once, when the watermark has passed its end. `--check` compares the sessions
with the generator's `_truth_sessions.jsonl` (user, start, end, events).

dedup: `dropDuplicatesWithinWatermark([id])` on a stream the generator landed with
`--duplicates F` (rows sent again, same id, a little later). `--check` compares the rows kept
with `_truth_dedup.jsonl`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, TextIO

from consumer import arguments, checks, runner
from consumer.commands import Command
from consumer.inputs import FolderInput, Input, SocketInput
from consumer.output import OutputConfig, OutputMode
from consumer.runner import RunOptions
from consumer.socket_app import NO_AVAILABLE_NOW
from generator import answers
from generator.errors import UsageError
from generator.options import held, non_negative_int, positive_int

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, Row, SparkSession

MODES: tuple[OutputMode, ...] = ("append",)
TIME_FORMAT = "yyyy-MM-dd HH:mm:ss"
CONSOLE = OutputConfig(truncate=False)


@dataclass(frozen=True)
class KeyedConfig:
    """What sessions and dedup share: an event-time stream, a watermark, state per a column
    (`COLUMN`: `by` or `id`, default: the data set's), the answer key beside a folder, and the
    run. A subclass names its column, its key file and its default table."""

    COLUMN: ClassVar[str]  # the config's field, and the option --COLUMN
    DEFAULT: ClassVar[str]  # the data set's attribute that names the column by default
    WHAT: ClassVar[str]  # what the column is, for the one line that refuses it
    KEY: ClassVar[str]  # the answer key's file name
    HOW: ClassVar[str]  # how to make the key, said when it is missing
    TABLE: ClassVar[str]

    source: Input
    watermark: int = 0  # seconds
    check: bool = False
    run: RunOptions = RunOptions(CONSOLE)
    truth: Path | None = field(init=False, default=None)  # derived: the answer key beside DIR

    def __post_init__(self) -> None:
        _event_time(self.source)
        held("--watermark", non_negative_int, self.watermark)
        dataset = self.source.dataset
        column = getattr(self, self.COLUMN) or getattr(dataset, self.DEFAULT)
        if column is None or column not in dataset.column_names:
            missing = column or self.DEFAULT
            raise UsageError(f"--{self.COLUMN} names {self.WHAT}; {dataset.name} has no "
                             f"{missing} column (try activity)")  # fmt: skip
        object.__setattr__(self, self.COLUMN, column)
        if isinstance(self.source, FolderInput):
            object.__setattr__(self, "truth", Path(self.source.directory) / self.KEY)
        if isinstance(self.source, SocketInput) and self.run.output.available_now:
            raise UsageError(NO_AVAILABLE_NOW)
        if self.check:
            needs = checks.Needs(self.truth, self.HOW)
            object.__setattr__(self, "run", self.run.checked(needs, self.source))
        self.run.output.check(MODES)

    @property
    def table(self) -> str:
        return self.run.output.query_name or self.TABLE


def _event_time(source: Input) -> str:
    column = source.dataset.event_time_column
    if column is None:
        raise UsageError(f"data set {source.dataset.name!r} has no event-time column (try "
                         "activity)")  # fmt: skip
    return column


@dataclass(frozen=True)
class SessionsConsumerConfig(KeyedConfig):
    COLUMN, DEFAULT, WHAT = "by", "session_by", "the column sessions are per"
    KEY, HOW, TABLE = answers.SESSIONS_TRUTH, "land activity with `generator files`", "sessions"

    watermark: int = answers.SESSION_WATERMARK
    gap: int = answers.SESSION_GAP  # seconds
    by: str | None = None  # default: the data set's session_by

    def __post_init__(self) -> None:
        held("--gap", positive_int, self.gap)
        super().__post_init__()


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
    stream = runner.Stream(config.source, lambda df: sessions(df, config), config.table,
                           late=answers.Lateness("session", config.gap),
                           about=(("session gap", f"{config.gap} s"),
                                  ("watermark delay", f"{config.watermark} s")))  # fmt: skip
    check = None if not config.check else lambda spark: _check_sessions(spark, config)
    runner.run(spark, [stream], config.run, MODES, consumer="consumer sessions", check=check,
               err=err)  # fmt: skip


def _check_sessions(spark: SparkSession, config: SessionsConsumerConfig) -> checks.Verdict:
    assert config.truth is not None
    found = {(r.user, r.session_start, r.session_end, r.events)
             for r in spark.table(config.table).collect()}  # fmt: skip
    return compare_sessions(found, answers.load_key(config.truth), config)


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
class DedupConsumerConfig(KeyedConfig):
    COLUMN, DEFAULT, WHAT = "id", "key", "the event id column"
    KEY, HOW, TABLE = answers.DEDUP_TRUTH, "land the files with --duplicates F", "deduplicated"

    watermark: int = answers.DEDUP_WATERMARK
    id: str | None = None  # default: the data set's key


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
                           late=answers.Lateness("event"),
                           about=(("watermark delay", f"{config.watermark} s"),))  # fmt: skip
    check = None if not config.check else lambda spark: _check_dedup(spark, config)
    runner.run(spark, [stream], config.run, MODES, consumer="consumer dedup", check=check,
               err=err)  # fmt: skip


def _check_dedup(spark: SparkSession, config: DedupConsumerConfig) -> checks.Verdict:
    from pyspark.sql import functions as F

    assert config.truth is not None and config.id is not None
    when = F.date_format(_event_time(config.source), TIME_FORMAT)  # UTC, as the key has it
    rows = spark.table(config.table).select(config.id, when).collect()
    return compare_dedup(rows, answers.load_key(config.truth), config)


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


def _keyed_arguments(p: argparse.ArgumentParser) -> None:
    """A folder, a server (--socket) or the synthetic source, and --check."""
    p.add_argument("directory", nargs="?", metavar="DIR", help="folder of event-time files")
    p.add_argument(
        "--check",
        action="store_true",
        help="compare with the answer key beside the files (needs --available-now)",
    )
    arguments.add_input(p, dataset="activity", kinds=("folder", "socket", "synthetic"))
    arguments.add_running(p, CONSOLE)


def _sessions_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gap", type=positive_int, default=answers.SESSION_GAP, metavar="SECONDS",
                   help=f"a session ends after this long without events (default: "
                   f"{answers.SESSION_GAP})")  # fmt: skip
    p.add_argument("--watermark", type=non_negative_int, default=answers.SESSION_WATERMARK,
                   metavar="SECONDS", help=f"(default: {answers.SESSION_WATERMARK})")  # fmt: skip
    p.add_argument(
        "--by",
        metavar="COLUMN",
        help="sessions per this column (default: the data set's user column)",
    )
    _keyed_arguments(p)


def _sessions_config(args: argparse.Namespace) -> SessionsConsumerConfig:
    return SessionsConsumerConfig(arguments.one_input(args), gap=args.gap,
                                  watermark=args.watermark, by=args.by, check=args.check,
                                  run=arguments.run_options(args))  # fmt: skip


def _dedup_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--watermark", type=non_negative_int, default=answers.DEDUP_WATERMARK,
                   metavar="SECONDS", help=f"(default: {answers.DEDUP_WATERMARK})")  # fmt: skip
    p.add_argument("--id", metavar="COLUMN", help="the event id (default: the data set's key)")
    _keyed_arguments(p)


def _dedup_config(args: argparse.Namespace) -> DedupConsumerConfig:
    return DedupConsumerConfig(arguments.one_input(args), watermark=args.watermark, id=args.id,
                               check=args.check, run=arguments.run_options(args))  # fmt: skip


SESSIONS = Command(
    name="sessions",
    app_name="Sessions per user",
    arguments=_sessions_arguments,
    config=_sessions_config,
    run=run_sessions,
    help="session_window per user with a watermark; check against the answer key",
    description="session_window(event_time, --gap) per user, withWatermark, append mode: each "
    "session printed once, when the watermark passes its end. --check compares with the "
    "generator's _truth_sessions.jsonl (run with --available-now).",
)

DEDUP = Command(
    name="dedup",
    app_name="Duplicates dropped",
    arguments=_dedup_arguments,
    config=_dedup_config,
    run=run_dedup,
    help="dropDuplicatesWithinWatermark on the event id; check against the answer key",
    description="Rows re-sent by an at-least-once source (`generator files --duplicates F`) "
    "dropped with withWatermark + dropDuplicatesWithinWatermark([id]). --check compares the "
    "rows kept with the generator's _truth_dedup.jsonl (run with --available-now).",
)
