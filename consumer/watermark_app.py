"""`consumer watermark DIR`: events counted per event-time window with a watermark.

`withWatermark("event_time", W)` and `window(event_time, WINDOW)`, append mode: a window is
printed once, when the watermark passes its end, and rows that arrive after that are dropped.
`--check TRUTH` compares the windows with the generator's `_truth.jsonl`: expected, counted,
dropped as late, difference; exit 0 only when they agree.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from consumer import arguments, checks, runner
from consumer.commands import Command
from consumer.errors import StreamFailed
from consumer.inputs import Input, SocketInput, SyntheticInput
from consumer.output import OutputConfig, OutputMode
from consumer.runner import RunOptions
from consumer.socket_app import NO_AVAILABLE_NOW
from generator.answers import TRUTH, Lateness, WindowsKey, load_truth
from generator.clock import TRUTH_WATERMARK, TRUTH_WINDOW
from generator.errors import UsageError
from generator.options import held, non_negative_int, positive_int
from generator.rows import event_seconds

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

TIME_FORMAT = "yyyy-MM-dd HH:mm:ss"
SELF_TRUTH = Path("<drawn from the seed>")  # --check with --synthetic: no file to read
MODES: tuple[OutputMode, ...] = ("append",)
CONSOLE = OutputConfig(truncate=False)


@dataclass(frozen=True)
class WatermarkConsumerConfig:
    source: Input
    run: RunOptions = RunOptions(CONSOLE)
    window: int = TRUTH_WINDOW  # seconds
    watermark: int = TRUTH_WATERMARK  # seconds
    check: Path | None = None  # the truth file (or its folder)
    truth_watermark: int | None = None  # --synthetic: the drawn truth's (default: `watermark`)

    def __post_init__(self) -> None:
        if self.source.dataset.event_time_column is None:
            raise UsageError(
                f"data set {self.source.dataset.name!r} has no event-time column (try sensor)"
            )
        held("--window", positive_int, self.window)
        held("--watermark", non_negative_int, self.watermark)
        socket = isinstance(self.source, SocketInput)
        synthetic = isinstance(self.source, SyntheticInput)
        if self.check is not None and synthetic:
            src = self.source
            assert isinstance(src, SyntheticInput)
            if not self.run.output.available_now or src.rows is None or src.max_records is None:
                raise UsageError(
                    "--check on --synthetic needs --available-now, --rows N and "
                    "--max-records-per-batch N: then Spark's batches are known"
                )
            used = self.run.output.checkpoint
            if used is not None and any(Path(used, "offsets").glob("[0-9]*")):
                raise UsageError(
                    f"--check on --synthetic follows the stream from its first batch: {used} "
                    "holds batches of an earlier run (give a new --checkpoint)"
                )
            if src.event_time.start is None:
                # the stream would start its clock when it starts: fix that moment here, so
                # the drawn truth and the stream share it
                now = dt.datetime.now(dt.UTC).replace(microsecond=0)
                src = dataclasses.replace(src, event_time=dataclasses.replace(
                    src.event_time, start=now))  # fmt: skip
                object.__setattr__(self, "source", src)
            object.__setattr__(self, "check", SELF_TRUTH)
        elif self.check == SELF_TRUTH:
            raise UsageError("--check needs a TRUTH file (or its folder), except with --synthetic")
        elif self.truth_watermark is not None:
            raise UsageError("--truth-watermark is for --synthetic --check (a drawn truth)")
        if socket and self.run.output.available_now:
            raise UsageError(NO_AVAILABLE_NOW)
        if self.check is not None:
            # a socket server writes its truth as it sends; a synthetic one is drawn
            key = None if socket or synthetic else truth_path(Path(self.check))
            needs = checks.Needs(key, "land an event-time data set with `generator files`",
                                 folder=False)  # fmt: skip
            object.__setattr__(self, "run", self.run.checked(needs, self.source))
        self.run.output.check(MODES)

    @property
    def event_time(self) -> str:
        column = self.source.dataset.event_time_column
        assert column is not None
        return column

    @property
    def table(self) -> str:
        return self.run.output.query_name or "watermark_windows"


def windows(df: DataFrame, config: WatermarkConsumerConfig) -> DataFrame:
    from pyspark.sql import functions as F

    return (
        df.withWatermark(config.event_time, f"{config.watermark} seconds")
        .groupBy(F.window(F.col(config.event_time), f"{config.window} seconds"))
        .count()
        .select(
            F.date_format("window.start", TIME_FORMAT).alias("window_start"),
            F.date_format("window.end", TIME_FORMAT).alias("window_end"),
            F.col("count"),
        )
    )


def stream(spark: SparkSession, config: WatermarkConsumerConfig) -> DataFrame:
    return windows(config.source.frame(spark), config)


def run(spark: SparkSession, config: WatermarkConsumerConfig, err: TextIO | None = None) -> None:
    # the generator writes event times in UTC: parse and print them so
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    streams = [runner.Stream(config.source, lambda df: windows(df, config), config.table,
                             late=Lateness("window", config.window),
                             about=(("window", f"{config.window} s"),
                                    ("watermark delay", f"{config.watermark} s")))]  # fmt: skip
    check = None if config.check is None else lambda spark: _check(spark, config)
    runner.run(spark, streams, config.run, MODES, consumer="consumer watermark", check=check,
               err=err)  # fmt: skip


def _check(spark: SparkSession, config: WatermarkConsumerConfig) -> checks.Verdict:
    assert config.check is not None
    if isinstance(config.source, SyntheticInput):
        delay = config.watermark if config.truth_watermark is None else config.truth_watermark
        truth = drawn_truth(config.source, config.window, delay)
    elif truth_path(config.check).exists():
        truth = load_truth(truth_path(config.check))
    else:
        raise StreamFailed(f"no ground truth at {config.check}: did the server get --truth?")
    emitted = {r["window_start"]: r["count"] for r in spark.table(config.table).collect()}
    return compare(emitted, truth, config.window, config.watermark)


def drawn_truth(source: SyntheticInput, window: int, watermark: int) -> list[dict[str, object]]:
    """The truth of a synthetic stream read with availableNow: its micro-batches are known —
    `max_records` rows each, in order — so the truth follows them batch by batch, exactly."""
    from consumer.source import SourceOptions

    opts = SourceOptions.parse(source.options(), stream=True)
    assert opts.rows is not None and opts.max_records is not None
    truth = WindowsKey(window, watermark)
    for start in range(0, opts.rows, opts.max_records):
        stop = min(opts.rows, start + opts.max_records)
        truth.add_batch(event_seconds(opts.dataset, opts.seed, start, stop, opts.clock))
    return truth.lines()


def truth_path(check: Path) -> Path:
    return check / TRUTH if check.is_dir() else check


def compare(
    emitted: dict[str, int],
    lines: list[dict[str, object]],
    window: int | None = None,
    watermark: int | None = None,
) -> checks.Verdict:
    """The windows beside the truth: they agree when every final window does. A truth made for
    another window or watermark than the query's is said so: it cannot agree."""
    truth = {str(t["window_start"]): t for t in lines}
    table: list[list[object]] = [["window start", "window end", "events", "late", "expected",
                                  "counted", "diff"]]  # fmt: skip
    good = True
    for start_at in sorted(set(truth) | set(emitted)):
        t = truth.get(start_at)
        counted = emitted.get(start_at)
        if t is None:
            table.append([start_at, "", "", "", "", counted, "", "not in the truth"])
            good = False
            continue
        bound = "late_at_most" in t  # rows sent over a socket: Spark may drop fewer
        late = t["late_at_most"] if bound else t["late"]
        events = int(str(t["events"]))
        expected = int(str(t["expected_at_least"] if bound else t["expected"]))
        row: list[object] = [start_at, t["window_end"], events, late, expected]
        if counted is None:
            good = good and not t["final"]
            table.append([*row, "-", "", "not final yet" if not t["final"] else "MISSING"])
            continue
        if bound:  # between the events less the most that can be late, and all the events
            diff = 0 if expected <= counted <= events else counted - expected
        else:
            diff = counted - expected
        good = good and diff == 0
        table.append([*row, counted, f"{diff:+d}"])
    final = sum(1 for t in truth.values() if t["final"])
    summary = f"{len(emitted)} windows emitted, {final} final in the truth"
    verdict = checks.Verdict(table, good, "the windows", summary)
    verdict.per_group = [(start_at, int(str(t.get("expected", t.get("expected_at_least")))),
                          emitted.get(start_at)) for start_at, t in sorted(truth.items())
                         if t["final"]]  # fmt: skip
    if any("late_at_most" in t for t in truth.values()):
        verdict.notes.append("(over a socket `late` is the most Spark can drop: a count between "
                             "expected and events agrees)")  # fmt: skip
    made_for = next(iter(truth.values()), None)
    if not good and made_for is not None:
        for what, query_value, key, option in (
            ("window", window, "window_seconds", "--truth-window"),
            ("watermark", watermark, "watermark_seconds", "--truth-watermark"),
        ):
            truth_value = made_for.get(key)
            if query_value is not None and truth_value is not None and truth_value != query_value:
                verdict.notes.append(
                    f"the truth was made for a {what} of {truth_value} s and the query uses "
                    f"{query_value} s: make it again with {option} {query_value}, or run the "
                    f"query with --{what} {truth_value}"
                )
    return verdict


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("directory", nargs="?", metavar="DIR", help="folder of event-time files")
    p.add_argument("--window", type=positive_int, default=TRUTH_WINDOW, metavar="SECONDS",
                   help=f"window length (default: {TRUTH_WINDOW})")  # fmt: skip
    p.add_argument(
        "--watermark",
        type=non_negative_int,
        default=TRUTH_WATERMARK,
        metavar="SECONDS",
        help=f"watermark delay (default: {TRUTH_WATERMARK})",
    )
    p.add_argument("--check", type=Path, nargs="?", const=SELF_TRUTH, metavar="TRUTH",
                   help="_truth.jsonl (or its folder) to compare the final windows with; with "
                   "--synthetic, no TRUTH: the truth is drawn from the same seed")  # fmt: skip
    arguments.add_input(p, dataset="sensor", kinds=("folder", "socket", "synthetic"),
                        event_time=True)  # fmt: skip
    p.add_argument("--truth-watermark", type=non_negative_int, metavar="SECONDS",
                   help="with --synthetic --check: the watermark the drawn truth judges "
                   "lateness by (default: the query's --watermark; another one shows a check "
                   "that fails)")  # fmt: skip
    arguments.add_running(p, CONSOLE)


def _config(args: argparse.Namespace) -> WatermarkConsumerConfig:
    return WatermarkConsumerConfig(
        arguments.one_input(args),
        arguments.run_options(args),
        window=args.window,
        watermark=args.watermark,
        check=args.check,
        truth_watermark=args.truth_watermark,
    )


COMMAND = Command(
    name="watermark",
    app_name="Event-time windows with a watermark",
    arguments=_arguments,
    config=_config,
    run=run,
    help="count events per event-time window with a watermark; check against the truth",
    description="Events per window(event_time, --window) with withWatermark(event_time, "
    "--watermark), append mode: each window printed once, when final; late rows dropped. "
    "--check compares with the generator's _truth.jsonl (run with --available-now).",
)
