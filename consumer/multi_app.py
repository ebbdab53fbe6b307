"""`consumer multi DIR1 DIR2`: the notes' two file streams in one session, corrected.

`fname` upper-cased in one stream and lower-cased in the other; a loop over `isActive` that
sleeps between checks and stops both after `--timeout` seconds (the notes' `timedelta(TIMEOUT)`
meant days, and its loop spun without sleeping).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from consumer import arguments, runner
from consumer.commands import Command
from consumer.inputs import FolderInput
from consumer.output import OutputConfig, OutputMode
from consumer.runner import RunOptions
from generator.errors import UsageError

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

MODES: tuple[OutputMode, ...] = ("append",)
CONSOLE = OutputConfig(num_rows=3)


@dataclass(frozen=True)
class MultiConsumerConfig:
    sources: tuple[FolderInput, FolderInput]
    run: RunOptions = RunOptions(CONSOLE)

    def __post_init__(self) -> None:
        self.run.output.check(MODES)


def run(spark: SparkSession, config: MultiConsumerConfig, err: TextIO | None = None) -> None:
    from pyspark.sql import functions as F

    def recased(case: Callable[[Column], Column]) -> Callable[[DataFrame], DataFrame]:
        def query(df: DataFrame) -> DataFrame:
            if "fname" in df.columns:
                df = df.withColumn("fname", case(F.col("fname")))
            return df

        return query

    base = config.run.output.query_name or "multi"
    cases = zip(config.sources, (F.upper, F.lower), strict=True)
    # each query needs a checkpoint and an output folder of its own
    streams = [
        runner.Stream(source, recased(case), f"{base}_{k}", f"/stream{k}")
        for k, (source, case) in enumerate(cases, 1)
    ]
    runner.run(spark, streams, config.run, MODES, consumer="consumer multi", err=err)


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("directories", nargs="*", metavar="DIR", help="exactly two folders")
    arguments.add_input(p, dataset="person")
    arguments.add_running(p, CONSOLE)


def _config(args: argparse.Namespace) -> MultiConsumerConfig:
    if len(args.directories) != 2:
        raise UsageError(f"multi reads exactly two folders, got {len(args.directories)}: "
                         "consumer multi DIR1 DIR2")  # fmt: skip
    first, second = (arguments.folder_input(args, d) for d in args.directories)
    return MultiConsumerConfig((first, second), arguments.run_options(args))


COMMAND = Command(
    name="multi",
    app_name="Two Streams",
    arguments=_arguments,
    config=_config,
    run=run,
    help="two file streams in one session (upper- and lower-cased fname)",
    description="The notes' two file streams: fname upper-cased in DIR1, lower-cased in DIR2, "
    "both stopped after --timeout seconds.",
)
