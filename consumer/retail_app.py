"""`consumer retail DIR`: "Spark: The Definitive Guide", chapter 3, in Python.

Total cost per customer per `window(InvoiceDate, "1 day")`. `--static`: the batch version, read
with `inferSchema`. Default: the streaming version — the same schema (declared once, equal to
what `inferSchema` finds), `maxFilesPerTrigger` 1, `complete` mode, to the console or, as in the
book, into the memory table `customer_purchases` queried with `spark.sql` once the stream ends.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from consumer.output import OutputConfig, await_all, batch_lines, start
from consumer.session import read_csv_stream
from consumer.waiting import wait_for_folder
from generator.datasets import RETAIL

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

TOTAL = "sum(total_cost)"


@dataclass(frozen=True)
class RetailConsumerConfig:
    directory: str
    output: OutputConfig
    static: bool = False
    window: str = "1 day"
    max_files_per_trigger: int = 1
    timeout: float | None = None
    quiet: bool = False

    @property
    def table(self) -> str:
        return self.output.query_name or "customer_purchases"


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
        .load(_csv_glob(directory))
    )


def _csv_glob(directory: str) -> str:
    return directory.rstrip("/") + "/*.csv"


def static_result(spark: SparkSession, config: RetailConsumerConfig) -> DataFrame:
    return purchases_by_customer(static_frame(spark, config.directory), config.window)


def stream(spark: SparkSession, config: RetailConsumerConfig) -> DataFrame:
    df = read_csv_stream(spark, config.directory, RETAIL, config.max_files_per_trigger)
    return purchases_by_customer(df, config.window)


def run(spark: SparkSession, config: RetailConsumerConfig, err: TextIO | None = None) -> None:
    err = err if err is not None else sys.stderr
    out = config.output
    if config.static:
        top = static_result(spark, config).orderBy(TOTAL, ascending=False)
        top.show(out.num_rows, truncate=out.truncate)
        return
    wait_for_folder(config.directory, err)
    with batch_lines(spark, config.quiet, err):
        query = start(stream(spark, config), out, ["complete", "update"], config.table)
        await_all([query], config.timeout, err)
    if out.sink == "memory":
        # as in the book: the memory sink is a table the program can query
        spark.sql(f"SELECT * FROM {config.table} ORDER BY `{TOTAL}` DESC").show(
            out.num_rows, truncate=out.truncate
        )
