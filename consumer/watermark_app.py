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

from consumer.errors import StreamFailed
from consumer.output import OutputConfig, await_all, batch_lines, start
from consumer.session import read_csv_stream, split_value
from consumer.waiting import wait_for_folder
from generator.errors import UsageError
from generator.spec import Dataset
from generator.truth import TRUTH, load_truth

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

TIME_FORMAT = "yyyy-MM-dd HH:mm:ss"


@dataclass(frozen=True)
class WatermarkConsumerConfig:
    dataset: Dataset
    output: OutputConfig
    directory: str | None = None  # files, or:
    host: str | None = None  # a socket server
    port: int = 9999
    window: int = 60  # seconds
    watermark: int = 10  # seconds
    check: Path | None = None  # the truth file (or its folder)
    max_files_per_trigger: int = 1
    timeout: float | None = None
    quiet: bool = False
    format: str = "csv"  # or "json": JSON lines

    @property
    def event_time(self) -> str:
        column = self.dataset.event_time_column
        if column is None:
            raise UsageError(f"data set {self.dataset.name!r} has no event-time column")
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
    from pyspark.sql import functions as F

    if config.directory is not None:
        df = read_csv_stream(
            spark, config.directory, config.dataset, config.max_files_per_trigger, config.format
        )
    else:
        lines = (
            spark.readStream.format("socket")
            .option("host", config.host)
            .option("port", config.port)
            .load()
        )
        df = lines.select(*split_value(F.col("value"), config.dataset, config.format))
    return windows(df, config)


def run(spark: SparkSession, config: WatermarkConsumerConfig, err: TextIO | None = None) -> None:
    err = err if err is not None else sys.stderr
    # the generator writes event times in UTC: parse and print them so
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    if config.directory is not None:
        wait_for_folder(config.directory, err)
    with batch_lines(spark, config.quiet, err):
        query = start(stream(spark, config), config.output, ["append"], config.table)
        await_all([query], config.timeout, err)
    if config.check is not None:
        if not truth_path(config.check).exists():
            raise StreamFailed(f"no ground truth at {config.check}: did the server get --truth?")
        emitted = {r["window_start"]: r["count"] for r in spark.table(config.table).collect()}
        if not compare(emitted, config.check, sys.stdout):
            raise StreamFailed("the windows differ from the ground truth (see the table)")


def truth_path(check: Path) -> Path:
    return check / TRUTH if check.is_dir() else check


def compare(emitted: dict[str, int], check: Path, out: TextIO) -> bool:
    """Print the windows beside the truth; True when every final window agrees."""
    truth = {str(t["window_start"]): t for t in load_truth(truth_path(check))}
    print(
        f"{'window start':<20} {'window end':<20} {'events':>7} {'late':>6} {'expected':>9} "
        f"{'counted':>8} {'diff':>5}",
        file=out,
    )
    good = True
    for start_at in sorted(set(truth) | set(emitted)):
        t = truth.get(start_at)
        counted = emitted.get(start_at)
        if t is None:
            print(f"{start_at:<20} {'':<20} {'':>7} {'':>6} {'':>9} {counted:>8}  not in the "
                  "truth", file=out)  # fmt: skip
            good = False
            continue
        bound = "late_at_most" in t  # rows sent over a socket: Spark may drop fewer
        late = t["late_at_most"] if bound else t["late"]
        events = int(str(t["events"]))
        expected = int(str(t["expected_at_least"] if bound else t["expected"]))
        if counted is None:
            state = "not final yet" if not t["final"] else "MISSING"
            good = good and not t["final"]
            print(f"{start_at:<20} {t['window_end']!s:<20} {events:>7} {late!s:>6} "
                  f"{expected:>9} {'-':>8}  {state}", file=out)  # fmt: skip
            continue
        if bound:  # between the events less the most that can be late, and all the events
            diff = 0 if expected <= counted <= events else counted - expected
        else:
            diff = counted - expected
        good = good and diff == 0
        print(f"{start_at:<20} {t['window_end']!s:<20} {events:>7} {late!s:>6} "
              f"{expected:>9} {counted:>8} {diff:>+5}", file=out)  # fmt: skip
    if any("late_at_most" in t for t in truth.values()):
        print("(over a socket `late` is the most Spark can drop: a count between expected and "
              "events agrees)", file=out)  # fmt: skip
    final = sum(1 for t in truth.values() if t["final"])
    verdict = "agree" if good else "DIFFER"
    print(f"{len(emitted)} windows emitted, {final} final in the truth: {verdict}", file=out)
    return good
