"""`consumer retail DIR`: "Spark: The Definitive Guide", chapter 3, in Python.

Total cost per customer per `window(InvoiceDate, "1 day")`. `--static`: the batch version, read
with `inferSchema`. Default: the streaming version — the same schema (declared once, equal to
what `inferSchema` finds), `maxFilesPerTrigger` 1, `complete` mode, to the console or, as in the
book, into the memory table `customer_purchases` queried with `spark.sql` once the stream ends.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from consumer import arguments, runner
from consumer.commands import Command
from consumer.inputs import FolderInput, SocketInput, SyntheticInput
from consumer.output import OutputConfig, OutputMode
from consumer.runner import RunOptions
from consumer.waiting import is_local
from generator.errors import UsageError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

TOTAL = "sum(total_cost)"
MODES: tuple[OutputMode, ...] = ("complete", "update")
CONSOLE = OutputConfig(num_rows=5)


@dataclass(frozen=True)
class RetailConsumerConfig:
    source: FolderInput | SyntheticInput  # of the retail data set
    run: RunOptions = RunOptions(CONSOLE)
    static: bool = False
    window: str = "1 day"

    def __post_init__(self) -> None:
        if self.static:
            if not isinstance(self.source, FolderInput):
                raise UsageError("--static reads a folder of by-day files (DIR), not --synthetic")
            local = self.source.directory.removeprefix("file://")
            if is_local(self.source.directory) and not Path(local).is_dir():
                # a stream waits for its folder to appear; --static reads once what is there
                raise UsageError(f"not a folder: {self.source.directory}")
        if not self.static:
            self.run.output.check(MODES)

    @property
    def table(self) -> str:
        return self.run.output.query_name or "customer_purchases"


def purchases_by_customer(df: DataFrame, window: str) -> DataFrame:
    """The book's query, the same for a static and a streaming DataFrame."""
    from pyspark.sql.functions import col
    from pyspark.sql.functions import window as window_of

    return (
        df.selectExpr("CustomerId", "(UnitPrice * Quantity) as total_cost", "InvoiceDate")
        .groupBy(col("CustomerId"), window_of(col("InvoiceDate"), window))
        .sum("total_cost")
    )


def static_frame(spark: SparkSession, directory: str) -> DataFrame:
    return (
        spark.read.format("csv")
        .option("header", "true")
        .option("inferSchema", "true")
        .option("escape", '"')  # the generator's RFC 4180 quotes (Spark's default: a backslash)
        # the book loads DIR/*.csv: the same files, but a glob in the path has Spark log a
        # 90-line FileNotFoundException (it looks for a sink's metadata under "*.csv")
        .option("pathGlobFilter", "*.csv")
        .load(directory)
    )


def static_result(spark: SparkSession, config: RetailConsumerConfig) -> DataFrame:
    assert isinstance(config.source, FolderInput)
    return purchases_by_customer(static_frame(spark, config.source.directory), config.window)


def stream(spark: SparkSession, config: RetailConsumerConfig) -> DataFrame:
    return purchases_by_customer(config.source.frame(spark), config.window)


def run(spark: SparkSession, config: RetailConsumerConfig, err: TextIO | None = None) -> None:
    out = config.run.output
    if config.static:
        top = static_result(spark, config).orderBy(TOTAL, ascending=False)
        top.show(out.num_rows, truncate=out.truncate)
        return
    streams = [runner.Stream(config.source, lambda df: purchases_by_customer(df, config.window),
                             config.table)]  # fmt: skip
    runner.run(spark, streams, config.run, MODES, consumer="consumer retail", err=err)
    if out.target == "memory":
        # as in the book: the memory sink is a table the program can query
        spark.sql(f"SELECT * FROM {config.table} ORDER BY `{TOTAL}` DESC").show(
            out.num_rows, truncate=out.truncate
        )


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("directory", nargs="?", metavar="DIR",
                   help="folder of by-day retail CSV files; or --synthetic")  # fmt: skip
    p.add_argument("--static", action="store_true", help="the batch version, with inferSchema")
    p.add_argument("--window", default="1 day",
                   help="window length, e.g. '1 hour' (default: 1 day)")  # fmt: skip
    arguments.add_input(p, dataset=None, kinds=("folder", "synthetic"))
    arguments.add_running(p, CONSOLE)


def _config(args: argparse.Namespace) -> RetailConsumerConfig:
    source = arguments.one_input(args, "retail")
    assert not isinstance(source, SocketInput)  # retail offers no --socket
    return RetailConsumerConfig(source, arguments.run_options(args), static=args.static,
                                window=args.window)  # fmt: skip


COMMAND = Command(
    name="retail",
    app_name="Retail purchases by customer",
    arguments=_arguments,
    config=_config,
    run=run,
    help="total cost per customer per day (The Definitive Guide, ch. 3)",
    description="Total cost per customer per window(InvoiceDate). Streaming by default "
    "(complete mode, one file per trigger); --static for the batch version.",
)
