"""`consumer multi DIR1 DIR2`: the seed's two file streams in one session, corrected.

`fname` upper-cased in one stream and lower-cased in the other; a loop over `isActive` that
sleeps between checks and stops both after `--timeout` seconds (the seed's `timedelta(TIMEOUT)`
meant days, and its loop spun without sleeping).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from consumer import runner
from consumer.inputs import FolderInput
from consumer.output import OutputConfig, OutputMode

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

MODES: tuple[OutputMode, ...] = ("append",)


@dataclass(frozen=True)
class MultiConsumerConfig:
    sources: tuple[FolderInput, FolderInput]
    output: OutputConfig = OutputConfig(num_rows=3)
    timeout: float | None = None
    quiet: bool = False
    log_level: str = "WARN"

    def __post_init__(self) -> None:
        self.output.check(MODES)


def run(spark: SparkSession, config: MultiConsumerConfig, err: TextIO | None = None) -> None:
    from pyspark.sql import functions as F

    def recased(case: Callable[[Column], Column]) -> Callable[[DataFrame], DataFrame]:
        def query(df: DataFrame) -> DataFrame:
            if "fname" in df.columns:
                df = df.withColumn("fname", case(F.col("fname")))
            return df

        return query

    base = config.output.query_name or "multi"
    cases = zip(config.sources, (F.upper, F.lower), strict=True)
    # each query needs a checkpoint and an output folder of its own
    streams = [
        runner.Stream(source, recased(case), f"{base}_{k}", f"/stream{k}")
        for k, (source, case) in enumerate(cases, 1)
    ]
    runner.run(spark, streams, config.output, MODES, config.timeout, config.quiet,
               config.log_level, err, consumer="consumer multi")  # fmt: skip
