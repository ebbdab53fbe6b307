"""`consumer files DIR`: the seed's first program (Spark in Action, ch. 10), corrected.

CSV files of a data set read as a stream with its declared schema, `maxFilesPerTrigger` files a
batch, a `result` column `fname-age`, to the console (numRows 3, no truncation, as in the seed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from consumer import runner
from consumer.inputs import Input
from consumer.output import OutputConfig, OutputMode
from generator.spec import Dataset

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

MODES: tuple[OutputMode, ...] = ("append",)


@dataclass(frozen=True)
class FilesConsumerConfig:
    source: Input
    output: OutputConfig = OutputConfig(num_rows=3, truncate=False)
    timeout: float | None = None
    quiet: bool = False
    log_level: str = "WARN"

    def __post_init__(self) -> None:
        self.output.check(MODES)

    @property
    def name(self) -> str:
        return self.output.query_name or "files"


def query(df: DataFrame, dataset: Dataset) -> DataFrame:
    from pyspark.sql import functions as F

    names = dataset.column_names
    if "fname" in names and "age" in names:
        # the seed's `result` column; its `F` was never imported
        df = df.withColumn("result", F.concat(F.col("fname"), F.lit("-"), F.col("age")))
    return df


def stream(spark: SparkSession, config: FilesConsumerConfig) -> DataFrame:
    return query(config.source.frame(spark), config.source.dataset)


def run(spark: SparkSession, config: FilesConsumerConfig, err: TextIO | None = None) -> None:
    dataset = config.source.dataset
    streams = [runner.Stream(config.source, lambda df: query(df, dataset), config.name)]
    runner.run(spark, streams, config.output, MODES, config.timeout, config.quiet,
               config.log_level, err, consumer="consumer files")  # fmt: skip
