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

import argparse
import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal, TextIO

from consumer import arguments, checks, runner
from consumer.commands import Command
from consumer.inputs import FolderInput
from consumer.output import OutputConfig, OutputMode
from consumer.runner import RunOptions
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
from generator.options import held, non_negative_int, one_of

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, Row, SparkSession

MODES: tuple[OutputMode, ...] = ("append",)
How = Literal["inner", "leftOuter"]
HOWS: tuple[How, ...] = ("inner", "leftOuter")
TIME = "%Y-%m-%d %H:%M:%S"
CONSOLE = OutputConfig(truncate=False)


@dataclass(frozen=True)
class BundleConfig:
    """What both joins of a landed bundle take: its folder, the join, the check, how its files
    are read, and the run. A subclass names the bundle, its answer key, the member that streams
    (the one a check counts files of) and its default table."""

    BUNDLE: ClassVar[str]
    KEY: ClassVar[str]
    STREAM: ClassVar[int]
    TABLE: ClassVar[str]

    directory: Path  # holds the bundle's members, one folder each
    how: How = "inner"
    check: bool = False
    format: str = "csv"
    max_files_per_trigger: int = 1
    run: RunOptions = RunOptions(CONSOLE)

    def __post_init__(self) -> None:
        held("--how", one_of(*HOWS), self.how)
        object.__setattr__(self, "directory", Path(self.directory))
        if self.check:
            needs = checks.Needs(self.truth, "land the bundle with `generator files`")
            object.__setattr__(self, "run", self.run.checked(needs, self.inputs[self.STREAM]))
        self.run.output.check(MODES)

    @property
    def truth(self) -> Path:
        return self.directory / self.KEY

    @property
    def inputs(self) -> list[FolderInput]:
        """The bundle's members as folders, in the bundle's order."""
        return [FolderInput(str(self.directory / m.name), m, self.format,
                            self.max_files_per_trigger)
                for m in BUNDLES[self.BUNDLE].members]  # fmt: skip

    @property
    def table(self) -> str:
        return self.run.output.query_name or self.TABLE


@dataclass(frozen=True)
class JoinConsumerConfig(BundleConfig):
    BUNDLE, KEY, STREAM, TABLE = "ads", JOIN_TRUTH, 0, "ad_clicks"

    impression_watermark: int = JOIN_LEFT_WATERMARK  # seconds
    click_watermark: int = JOIN_RIGHT_WATERMARK
    within: int = JOIN_WITHIN  # a click at most this long after its impression

    def __post_init__(self) -> None:
        for option, value in (("--impression-watermark", self.impression_watermark),
                              ("--click-watermark", self.click_watermark),
                              ("--within", self.within)):  # fmt: skip
            held(option, non_negative_int, value)
        super().__post_init__()


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
                           others=(clicks,), late=Lateness("event"),
                           about=(("impressions' watermark", f"{config.impression_watermark} s"),
                                  ("clicks' watermark", f"{config.click_watermark} s"),
                                  ("a click within", f"{config.within} s")))  # fmt: skip

    def check(spark: SparkSession) -> checks.Verdict:
        return compare_join(spark.table(config.table).collect(), load_key(config.truth), config)

    runner.run(spark, [stream], config.run, MODES, consumer="consumer join",
               check=check if config.check else None, err=err)  # fmt: skip


def _t(value: dt.datetime | None) -> str:
    return "" if value is None else value.strftime(TIME)


def compare_join(rows: list[Row], key: list[dict[str, object]],
                 config: JoinConsumerConfig) -> checks.Verdict:  # fmt: skip
    """Pairs and null rows found against the answer key."""
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
    table: list[list[object]] = [
        ["", "answer key", "counted"],
        ["pairs that must appear", len(must), len(pairs & must)],
        ["pairs that may appear", len(may), len(pairs & may)],
        ["pairs in neither", 0, len(pairs - must - may)],
    ]
    if outer:
        table.append(["null rows", len(nulls), len(found_nulls)])
    good = not missing and not unexpected and len(found) == len(pairs)
    if outer:
        good = good and set(found_nulls) == nulls and len(found_nulls) == len(nulls)
    verdict = checks.Verdict(table, good, "the joined rows", f"{len(rows)} rows")
    verdict.missing("missing", [f"{k} shown {lt}, clicked {rt}" for k, lt, rt in sorted(missing)])
    verdict.missing("not expected", [f"{k} shown {lt}, clicked {rt}"
                                     for k, lt, rt in sorted(unexpected)])  # fmt: skip
    verdict.settings(summary, [
        ("--impression-watermark", config.impression_watermark, "left_watermark_seconds"),
        ("--click-watermark", config.click_watermark, "right_watermark_seconds"),
        ("--within", config.within, "within_seconds"),
    ])  # fmt: skip
    return verdict


# --- stream-static ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EnrichConsumerConfig(BundleConfig):
    """customers/ (static) and orders/ (stream)."""

    BUNDLE, KEY, STREAM, TABLE = "shop", ENRICH_TRUTH, 1, "enriched_orders"


def enrich(orders: DataFrame, customers: DataFrame, how: str) -> DataFrame:
    """Each order with its customer's name, city and segment (a stream-static join: no state)."""
    from pyspark.sql import functions as F

    joined = orders.join(customers, on="customerId", how=how)
    return joined.withColumn("known_customer", F.col("name").isNotNull())


def run_enrich(spark: SparkSession, config: EnrichConsumerConfig,
               err: TextIO | None = None) -> None:  # fmt: skip
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    customers, orders = config.inputs
    wait_for_folder(customers.directory, err or sys.stderr, config.run.timeout)
    static = read_csv_static(spark, customers.directory, customers.dataset, config.format)
    stream = runner.Stream(orders, lambda o: enrich(o, static, config.how), config.table)

    def check(spark: SparkSession) -> checks.Verdict:
        assert orders.dataset.key is not None  # the key lists each order by it
        rows = spark.table(config.table).collect()
        return compare_enrich(rows, load_key(config.truth), config.how, orders.dataset.key)

    runner.run(spark, [stream], config.run, MODES, consumer="consumer enrich",
               check=check if config.check else None, err=err)  # fmt: skip


def compare_enrich(rows: list[Row], key: list[dict[str, object]], how: str,
                   id_column: str) -> checks.Verdict:  # fmt: skip
    """Each order out of the join against the key's list: with its customer where the customer
    is known; an inner join drops the others, a left outer join keeps them with nulls."""
    summary = key[-1]
    orders = [k for k in key[:-1] if "reference" in k]
    expected = sorted((str(k["key"]), bool(k["known"])) for k in orders
                      if k["known"] or how != "inner")  # fmt: skip
    found = sorted((str(r[id_column]), bool(r.known_customer)) for r in rows)
    unknown = sum(1 for _, known in found if not known)
    dropped = "  (an inner join drops them)" if how == "inner" else ""
    table: list[list[object]] = [
        ["", "answer key", "counted"],
        ["orders", summary["rows"], ""],
        ["rows out", len(expected), len(found)],
        ["unknown customer", summary["unknown"], f"{unknown}{dropped}"],
    ]
    verdict = checks.Verdict(table, found == expected, "the enriched orders")
    want, got = set(expected), set(found)
    verdict.missing("missing", [f"order {o}" for o, _ in sorted(want - got)])
    verdict.missing("not expected", [f"order {o}" for o, _ in sorted(got - want)])
    return verdict


def _bundle_arguments(p: argparse.ArgumentParser, bundle: str) -> None:
    p.add_argument("directory", metavar="DIR", help=f"the {bundle} bundle's folder")
    p.add_argument("--how", choices=HOWS, default="inner",
                   help="inner (default) or leftOuter: the rows without a match too, with "
                   "nulls")  # fmt: skip
    p.add_argument("--check", action="store_true", help="compare with the answer key beside "
                   "the files (needs --available-now)")  # fmt: skip
    p.add_argument("--format", choices=("csv", "json"), default="csv",
                   help="what the generator wrote (default: csv)")  # fmt: skip
    arguments.add_files_per_trigger(p, "files of each stream")
    arguments.add_running(p, CONSOLE)


def _join_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--impression-watermark", type=non_negative_int, default=JOIN_LEFT_WATERMARK,
                   metavar="SECONDS", help=f"(default: {JOIN_LEFT_WATERMARK})")  # fmt: skip
    p.add_argument("--click-watermark", type=non_negative_int, default=JOIN_RIGHT_WATERMARK,
                   metavar="SECONDS", help=f"(default: {JOIN_RIGHT_WATERMARK})")  # fmt: skip
    p.add_argument("--within", type=non_negative_int, default=JOIN_WITHIN, metavar="SECONDS",
                   help=f"a click at most this long after its impression (default: "
                   f"{JOIN_WITHIN})")  # fmt: skip
    _bundle_arguments(p, "ads")


def _join_config(args: argparse.Namespace) -> JoinConsumerConfig:
    return JoinConsumerConfig(
        Path(args.directory),
        how=args.how,
        impression_watermark=args.impression_watermark,
        click_watermark=args.click_watermark,
        within=args.within,
        check=args.check,
        format=args.format or "csv",
        max_files_per_trigger=args.max_files_per_trigger,
        run=arguments.run_options(args),
    )


def _enrich_config(args: argparse.Namespace) -> EnrichConsumerConfig:
    return EnrichConsumerConfig(Path(args.directory), how=args.how, check=args.check,
                                format=args.format or "csv",
                                max_files_per_trigger=args.max_files_per_trigger,
                                run=arguments.run_options(args))  # fmt: skip


JOIN = Command(
    name="join",
    app_name="Impressions joined with clicks",
    arguments=_join_arguments,
    config=_join_config,
    run=run_join,
    help="the guide's stream-stream join of impressions and clicks; check the pairs",
    description="DIR/impressions joined with DIR/clicks (`generator files DIR --dataset ads`): "
    "impression watermark 2 hours, click watermark 3 hours, a click at most 1 hour after its "
    "impression. --check compares the pairs (and null rows) with DIR/_truth_join.jsonl.",
)

ENRICH = Command(
    name="enrich",
    app_name="Orders with their customers",
    arguments=lambda p: _bundle_arguments(p, "shop"),
    config=_enrich_config,
    run=run_enrich,
    help="orders joined to the static customers table (stream-static)",
    description="DIR/orders (a stream) joined to DIR/customers (read once, a static table), as "
    "`generator files DIR --dataset shop` lands them; inner or left outer; orders naming an "
    "unknown customer counted. --check compares with DIR/_truth_enrich.jsonl.",
)
