"""`consumer watermark DIR`: events counted per event-time window with a watermark.

`withWatermark("event_time", W)` and `window(event_time, WINDOW)`, append mode: a window is
printed once, when the watermark passes its end, and rows that arrive after that are dropped.
`--check TRUTH` compares the windows with the generator's `_truth.jsonl`: expected, counted,
dropped as late, difference; exit 0 only when they agree.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from consumer import checks, runner
from consumer.errors import ServerGone, StreamFailed
from consumer.inputs import Input, SocketInput, SyntheticInput
from consumer.output import OutputConfig, OutputMode
from consumer.report import amend
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


@dataclass(frozen=True)
class WatermarkConsumerConfig:
    source: Input
    output: OutputConfig = OutputConfig(truncate=False)
    window: int = TRUTH_WINDOW  # seconds
    watermark: int = TRUTH_WATERMARK  # seconds
    check: Path | None = None  # the truth file (or its folder)
    truth_watermark: int | None = None  # --synthetic: the drawn truth's (default: `watermark`)
    timeout: float | None = None
    quiet: bool = False
    log_level: str = "WARN"

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
            if not self.output.available_now or src.rows is None or src.max_records is None:
                raise UsageError(
                    "--check on --synthetic needs --available-now, --rows N and "
                    "--max-records-per-batch N: then Spark's batches are known"
                )
            object.__setattr__(self, "check", SELF_TRUTH)
        elif self.truth_watermark is not None:
            raise UsageError("--truth-watermark is for --synthetic --check (a drawn truth)")
        if socket and self.output.available_now:
            raise UsageError("--available-now does not work with the socket source: use --timeout")
        if self.check is not None:
            # a socket server writes its truth as it sends; a synthetic one is drawn
            key = None if socket or synthetic else truth_path(Path(self.check))
            needs = checks.Needs(key, "land an event-time data set with `generator files`",
                                 folder=False)  # fmt: skip
            output = checks.prepare(self.output, self.source, needs, self.timeout)
            object.__setattr__(self, "output", output)
        self.output.check(MODES)

    @property
    def event_time(self) -> str:
        column = self.source.dataset.event_time_column
        assert column is not None
        return column

    @property
    def table(self) -> str:
        return self.output.query_name or "watermark_windows"


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
    size = config.window
    streams = [runner.Stream(config.source, lambda df: windows(df, config), config.table,
                             late=Lateness("window", size))]  # fmt: skip
    report = None
    try:
        report = runner.run(spark, streams, config.output, MODES, config.timeout, config.quiet,
                            config.log_level, err, consumer="consumer watermark")  # fmt: skip
    except ServerGone as exc:
        if config.check is None:
            raise
        # a server that sent its --count rows and closed: what arrived is what there is to check
        print(f"consumer: {exc}", file=err if err is not None else sys.stderr)
    if config.check is not None:
        if isinstance(config.source, SyntheticInput):
            delay = config.watermark if config.truth_watermark is None else config.truth_watermark
            truth = drawn_truth(config.source, config.window, delay)
        elif truth_path(config.check).exists():
            truth = load_truth(truth_path(config.check))
        else:
            raise StreamFailed(f"no ground truth at {config.check}: did the server get --truth?")
        emitted = {r["window_start"]: r["count"] for r in spark.table(config.table).collect()}
        if report is not None:  # expected against counted, per final window
            report.windows = [(str(t["window_start"]), int(str(t.get("expected", t.get(
                "expected_at_least")))), emitted.get(str(t["window_start"])))
                for t in truth if t["final"]]  # fmt: skip
            amend(report, config.output)
        checks.conclude(compare(emitted, truth, config.window, config.watermark), sys.stdout)


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
