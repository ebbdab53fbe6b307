"""`consumer files DIR`: the notes' first program (Spark in Action, ch. 10), corrected.

CSV files of a data set read as a stream with its declared schema, `maxFilesPerTrigger` files a
batch, a `result` column `fname-age`, to the console (numRows 3, no truncation, as in the notes).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from consumer import arguments, runner
from consumer.commands import Command
from consumer.inputs import Input
from consumer.output import OutputConfig, OutputMode
from consumer.runner import RunOptions
from generator.spec import Dataset

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

MODES: tuple[OutputMode, ...] = ("append",)
CONSOLE = OutputConfig(num_rows=3, truncate=False)


@dataclass(frozen=True)
class FilesConsumerConfig:
    source: Input
    run: RunOptions = RunOptions(CONSOLE)

    def __post_init__(self) -> None:
        self.run.output.check(MODES)

    @property
    def name(self) -> str:
        return self.run.output.query_name or "files"


def query(df: DataFrame, dataset: Dataset) -> DataFrame:
    from pyspark.sql import functions as F

    names = dataset.column_names
    if "fname" in names and "age" in names:
        # the notes' `result` column; its `F` was never imported
        df = df.withColumn("result", F.concat(F.col("fname"), F.lit("-"), F.col("age")))
    return df


def stream(spark: SparkSession, config: FilesConsumerConfig) -> DataFrame:
    return query(config.source.frame(spark), config.source.dataset)


def run(spark: SparkSession, config: FilesConsumerConfig, err: TextIO | None = None) -> None:
    dataset = config.source.dataset
    streams = [runner.Stream(config.source, lambda df: query(df, dataset), config.name)]
    runner.run(spark, streams, config.run, MODES, consumer="consumer files", err=err)


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("directory", nargs="?", metavar="DIR",
                   help="folder to watch (waited for if missing); or --synthetic")  # fmt: skip
    arguments.add_input(p, dataset="person", kinds=("folder", "synthetic"))
    arguments.add_running(p, CONSOLE)


def _config(args: argparse.Namespace) -> FilesConsumerConfig:
    return FilesConsumerConfig(arguments.one_input(args), arguments.run_options(args))


COMMAND = Command(
    name="files",
    app_name="Read lines from a file stream",
    arguments=_arguments,
    config=_config,
    run=run,
    help="read CSV files landing in a folder (Spark in Action, ch. 10)",
    description="The notes' first program: CSV files with the data set's schema, max files per "
    "trigger, a `result` column fname-age, to the console.",
)
