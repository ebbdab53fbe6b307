"""`consumer multi DIR1 DIR2`: the seed's two file streams in one session, corrected.

`fname` upper-cased in one stream and lower-cased in the other; a loop over `isActive` that
sleeps between checks and stops both after `--timeout` seconds (the seed's `timedelta(TIMEOUT)`
meant days, and its loop spun without sleeping).
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
    from pyspark.sql import SparkSession


@dataclass(frozen=True)
class MultiConsumerConfig:
    directories: tuple[str, str]
    dataset: Dataset
    output: OutputConfig
    max_files_per_trigger: int = 1
    timeout: float | None = None
    quiet: bool = False
    format: str = "csv"  # or "json": JSON lines


def run(spark: SparkSession, config: MultiConsumerConfig, err: TextIO | None = None) -> None:
    from pyspark.sql import functions as F

    err = err if err is not None else sys.stderr
    for folder in config.directories:
        wait_for_folder(folder, err)
    cases = (F.upper, F.lower)
    with batch_lines(spark, config.quiet, err):
        queries = []
        try:
            for k, (folder, case) in enumerate(zip(config.directories, cases, strict=True), 1):
                df = read_csv_stream(
                    spark, folder, config.dataset, config.max_files_per_trigger, config.format
                )
                if "fname" in config.dataset.column_names:
                    df = df.withColumn("fname", case(F.col("fname")))
                name = f"{config.output.query_name or 'multi'}_{k}"
                # each query needs a checkpoint and an output folder of its own
                queries.append(start(df, config.output, ["append"], name, f"/stream{k}"))
        except BaseException:
            for q in queries:
                q.stop()
            raise
        await_all(queries, config.timeout, err)
