"""`consumer files DIR`: the seed's first program (Spark in Action, ch. 10), corrected.

CSV files of a data set read as a stream with its declared schema, `maxFilesPerTrigger` files a
batch, a `result` column `fname-age`, to the console (numRows 3, no truncation, as in the seed).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from consumer.output import OutputConfig, await_all, batch_lines, start
from consumer.session import read_csv_stream
from consumer.waiting import wait_for_folder
from generator.spec import Dataset

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


@dataclass(frozen=True)
class FilesConsumerConfig:
    directory: str
    dataset: Dataset
    output: OutputConfig
    max_files_per_trigger: int = 1
    timeout: float | None = None
    quiet: bool = False
    format: str = "csv"  # or "json": JSON lines


def stream(spark: SparkSession, config: FilesConsumerConfig) -> DataFrame:
    from pyspark.sql import functions as F

    df = read_csv_stream(
        spark, config.directory, config.dataset, config.max_files_per_trigger, config.format
    )
    names = config.dataset.column_names
    if "fname" in names and "age" in names:
        # the seed's `result` column; its `F` was never imported
        df = df.withColumn("result", F.concat(F.col("fname"), F.lit("-"), F.col("age")))
    return df


def run(spark: SparkSession, config: FilesConsumerConfig, err: TextIO | None = None) -> None:
    err = err if err is not None else sys.stderr
    wait_for_folder(config.directory, err)
    with batch_lines(spark, config.quiet, err):
        query = start(
            stream(spark, config), config.output, ["append"], config.output.query_name or "files"
        )
        await_all([query], config.timeout, err)
