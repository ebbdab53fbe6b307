"""`consumer retail DIR`: "Spark: The Definitive Guide", chapter 3, in Python.

Total cost per customer per `window(InvoiceDate, "1 day")`. `--static`: the batch version, read
with `inferSchema`. Default: the streaming version — the same schema (declared once, equal to
what `inferSchema` finds), `maxFilesPerTrigger` 1, `complete` mode, to the console or, as in the
book, into the memory table `customer_purchases` queried with `spark.sql` once the stream ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from consumer import runner
from consumer.inputs import FolderInput, SyntheticInput
from consumer.output import OutputConfig, OutputMode
from generator.errors import UsageError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

TOTAL = "sum(total_cost)"
MODES: tuple[OutputMode, ...] = ("complete", "update")


@dataclass(frozen=True)
class RetailConsumerConfig:
    source: FolderInput | SyntheticInput  # of the retail data set
    output: OutputConfig = OutputConfig(num_rows=5)
    static: bool = False
    window: str = "1 day"
    timeout: float | None = None
    quiet: bool = False
    log_level: str = "WARN"

    def __post_init__(self) -> None:
        if self.static and not isinstance(self.source, FolderInput):
            raise UsageError("--static reads a folder of by-day files (DIR), not --synthetic")
        if not self.static:
            self.output.check(MODES)

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
    assert isinstance(config.source, FolderInput)
    return purchases_by_customer(static_frame(spark, config.source.directory), config.window)


def stream(spark: SparkSession, config: RetailConsumerConfig) -> DataFrame:
    return purchases_by_customer(config.source.frame(spark), config.window)


def run(spark: SparkSession, config: RetailConsumerConfig, err: TextIO | None = None) -> None:
    out = config.output
    if config.static:
        top = static_result(spark, config).orderBy(TOTAL, ascending=False)
        top.show(out.num_rows, truncate=out.truncate)
        return
    streams = [runner.Stream(config.source, lambda df: purchases_by_customer(df, config.window),
                             config.table)]  # fmt: skip
    runner.run(spark, streams, out, MODES, config.timeout, config.quiet, config.log_level, err,
               consumer="consumer retail")  # fmt: skip
    if out.target == "memory":
        # as in the book: the memory sink is a table the program can query
        spark.sql(f"SELECT * FROM {config.table} ORDER BY `{TOTAL}` DESC").show(
            out.num_rows, truncate=out.truncate
        )
