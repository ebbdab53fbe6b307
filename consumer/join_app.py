"""`consumer join DIR` and `consumer enrich DIR`: the joins of Spark's guide on a bundle the
generator landed.

join: DIR/impressions and DIR/clicks (`--dataset ads`), each with its watermark (2 and 3 hours),
joined on the ad id with a click at most an hour after its impression — the guide's query —
inner or left outer. `--check` compares the pairs and null rows with DIR/_truth_join.jsonl.

enrich: DIR/orders streaming against the static table DIR/customers (`--dataset shop`), inner or
left outer; orders naming an unknown customer are counted. `--check` compares with
DIR/_truth_enrich.jsonl.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TextIO

from consumer import runner
from consumer.errors import StreamFailed
from consumer.inputs import FolderInput
from consumer.output import OutputConfig, OutputMode
from consumer.session import read_csv_static
from consumer.waiting import wait_for_folder
from generator.answers import (
    ENRICH_TRUTH,
    JOIN_LEFT_WATERMARK,
    JOIN_RIGHT_WATERMARK,
    JOIN_TRUTH,
    JOIN_WITHIN,
    Lateness,
    load_key,
)
from generator.datasets import BUNDLES
from generator.errors import UsageError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, Row, SparkSession

MODES: tuple[OutputMode, ...] = ("append",)
How = Literal["inner", "leftOuter"]
HOWS: tuple[How, ...] = ("inner", "leftOuter")
TIME = "%Y-%m-%d %H:%M:%S"


def _inputs(directory: Path, bundle: str, fmt: str, max_files: int) -> list[FolderInput]:
    return [FolderInput(str(directory / m.name), m, fmt, max_files)
            for m in BUNDLES[bundle].members]  # fmt: skip


def _check_how(how: str) -> None:
    if how not in HOWS:
        raise UsageError(f"--how is inner or leftOuter, not {how!r}")


def _checked_output(output: OutputConfig, check: bool, truth: Path) -> OutputConfig:
    if not check:
        return output
    if not truth.exists():
        raise UsageError(f"no answer key at {truth}: land the bundle with `generator files`")
    if not output.available_now:
        raise UsageError("--check needs --available-now (a deterministic run)")
    # the check reads the rows back from the memory table
    return dataclasses.replace(output, sink="memory")


@dataclass(frozen=True)
class JoinConsumerConfig:
    directory: Path  # holds impressions/ and clicks/
    how: How = "inner"
    impression_watermark: int = JOIN_LEFT_WATERMARK  # seconds
    click_watermark: int = JOIN_RIGHT_WATERMARK
    within: int = JOIN_WITHIN  # a click at most this long after its impression
    check: bool = False
    format: str = "csv"
    max_files_per_trigger: int = 1
    output: OutputConfig = OutputConfig(truncate=False)
    timeout: float | None = None
    quiet: bool = False
    log_level: str = "WARN"

    def __post_init__(self) -> None:
        _check_how(self.how)
        for option, value in (("--impression-watermark", self.impression_watermark),
                              ("--click-watermark", self.click_watermark),
                              ("--within", self.within)):  # fmt: skip
            if value < 0:
                raise UsageError(f"{option} must be 0 or more, not {value}")
        object.__setattr__(self, "directory", Path(self.directory))
        if self.check and self.max_files_per_trigger != 1:
            raise UsageError("--check needs one file per trigger (the answer key's batches)")
        output = _checked_output(self.output, self.check, self.truth)
        object.__setattr__(self, "output", output)
        self.output.check(MODES)

    @property
    def truth(self) -> Path:
        return self.directory / JOIN_TRUTH

    @property
    def inputs(self) -> list[FolderInput]:
        return _inputs(self.directory, "ads", self.format, self.max_files_per_trigger)

    @property
    def table(self) -> str:
        return self.output.query_name or "ad_clicks"


def join(impressions: DataFrame, clicks: DataFrame, config: JoinConsumerConfig) -> DataFrame:
    """The guide's stream-stream join."""
    from pyspark.sql.functions import expr

    left = impressions.withWatermark("impressionTime", f"{config.impression_watermark} seconds")
    right = clicks.withWatermark("clickTime", f"{config.click_watermark} seconds")
    condition = expr(
        "clickAdId = impressionAdId AND clickTime >= impressionTime AND "
        f"clickTime <= impressionTime + interval {config.within} seconds"
    )
    return left.join(right, condition, config.how)


def run_join(spark: SparkSession, config: JoinConsumerConfig, err: TextIO | None = None) -> None:
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    impressions, clicks = config.inputs
    stream = runner.Stream(impressions, lambda i, c: join(i, c, config), config.table,
                           others=(clicks,), late=Lateness("event"))  # fmt: skip
    runner.run(spark, [stream], config.output, MODES, config.timeout, config.quiet,
               config.log_level, err, consumer="consumer join")  # fmt: skip
    if config.check:
        rows = spark.table(config.table).collect()
        if not compare_join(rows, load_key(config.truth), config, sys.stdout):
            raise StreamFailed("the join differs from the answer key (see above)")


def _t(value: dt.datetime | None) -> str:
    return "" if value is None else value.strftime(TIME)


def compare_join(rows: list[Row], key: list[dict[str, object]], config: JoinConsumerConfig,
                 out: TextIO) -> bool:  # fmt: skip
    """Pairs and null rows found against the answer key; True when they agree."""
    summary = key[-1]
    must = {(str(k["key"]), str(k["left_time"]), str(k["right_time"])) for k in key
            if k.get("appears") == "must"}  # fmt: skip
    may = {(str(k["key"]), str(k["left_time"]), str(k["right_time"])) for k in key
           if k.get("appears") == "may"}  # fmt: skip
    nulls = {(str(k["key"]), str(k["left_time"])) for k in key if k.get("null_row")}
    found = [(r.impressionAdId, _t(r.impressionTime), _t(r.clickTime)) for r in rows
             if r.clickAdId is not None]  # fmt: skip
    found_nulls = [(r.impressionAdId, _t(r.impressionTime)) for r in rows if r.clickAdId is None]
    pairs = set(found)
    missing = must - pairs
    unexpected = pairs - must
    outer = config.how == "leftOuter"
    print(f"{'':<24} {'answer key':>11} {'counted':>8}", file=out)
    print(f"{'pairs that must appear':<24} {len(must):>11} {len(pairs & must):>8}", file=out)
    print(f"{'pairs that may appear':<24} {len(may):>11} {len(pairs & may):>8}", file=out)
    print(f"{'pairs in neither':<24} {0:>11} {len(pairs - must - may):>8}", file=out)
    if outer:
        print(f"{'null rows':<24} {len(nulls):>11} {len(found_nulls):>8}", file=out)
    good = not missing and not unexpected and len(found) == len(pairs)
    if outer:
        good = good and set(found_nulls) == nulls and len(found_nulls) == len(nulls)
    for k, lt, rt in sorted(missing)[:5]:
        print(f"missing: {k} shown {lt}, clicked {rt}", file=out)
    for k, lt, rt in sorted(unexpected)[:5]:
        print(f"not expected: {k} shown {lt}, clicked {rt}", file=out)
    for option, mine, theirs in (
        ("--impression-watermark", config.impression_watermark,
         summary.get("left_watermark_seconds")),
        ("--click-watermark", config.click_watermark, summary.get("right_watermark_seconds")),
        ("--within", config.within, summary.get("within_seconds")),
    ):  # fmt: skip
        if theirs is not None and theirs != mine:
            good = False  # an answer key answers one query
            print(f"the answer key is for {option} {theirs} and the query used {mine}", file=out)
    print(f"{len(rows)} rows: {'agree' if good else 'DIFFER'}", file=out)
    return good


# --- stream-static ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EnrichConsumerConfig:
    directory: Path  # holds customers/ (static) and orders/ (stream)
    how: How = "inner"
    check: bool = False
    format: str = "csv"
    max_files_per_trigger: int = 1
    output: OutputConfig = OutputConfig(truncate=False)
    timeout: float | None = None
    quiet: bool = False
    log_level: str = "WARN"

    def __post_init__(self) -> None:
        _check_how(self.how)
        object.__setattr__(self, "directory", Path(self.directory))
        output = _checked_output(self.output, self.check, self.truth)
        object.__setattr__(self, "output", output)
        self.output.check(MODES)

    @property
    def truth(self) -> Path:
        return self.directory / ENRICH_TRUTH

    @property
    def table(self) -> str:
        return self.output.query_name or "enriched_orders"


def enrich(orders: DataFrame, customers: DataFrame, how: str) -> DataFrame:
    """Each order with its customer's name, city and segment (a stream-static join: no state)."""
    from pyspark.sql import functions as F

    joined = orders.join(customers, on="customerId", how=how)
    return joined.withColumn("known_customer", F.col("name").isNotNull())


def run_enrich(spark: SparkSession, config: EnrichConsumerConfig,
               err: TextIO | None = None) -> None:  # fmt: skip
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    customers, orders = _inputs(config.directory, "shop", config.format,
                                config.max_files_per_trigger)  # fmt: skip
    wait_for_folder(customers.directory, err or sys.stderr)
    static = read_csv_static(spark, customers.directory, customers.dataset, config.format)
    stream = runner.Stream(orders, lambda o: enrich(o, static, config.how), config.table)
    runner.run(spark, [stream], config.output, MODES, config.timeout, config.quiet,
               config.log_level, err, consumer="consumer enrich")  # fmt: skip
    if config.check:
        rows = spark.table(config.table).collect()
        key = load_key(config.truth)[-1]
        known = sum(1 for r in rows if r.known_customer)
        unknown = len(rows) - known
        expect_rows = key["known"] if config.how == "inner" else key["rows"]
        expect_unknown = 0 if config.how == "inner" else key["unknown"]
        out = sys.stdout
        print(f"{'':<18} {'answer key':>11} {'counted':>8}", file=out)
        print(f"{'orders':<18} {key['rows']!s:>11} {'':>8}", file=out)
        print(f"{'rows out':<18} {expect_rows!s:>11} {len(rows):>8}", file=out)
        dropped = "  (an inner join drops them)" if config.how == "inner" else ""
        print(f"{'unknown customer':<18} {key['unknown']!s:>11} {unknown:>8}{dropped}", file=out)
        good = len(rows) == expect_rows and unknown == expect_unknown
        print("agree" if good else "DIFFER", file=out)
        if not good:
            raise StreamFailed("the enriched orders differ from the answer key (see above)")
