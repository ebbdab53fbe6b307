"""`consumer socket`: the seed's network stream, corrected (`functions as F`; `withColumn`, not
the seed's `writeColumn`), with `value` split into the data set's columns.

Waits for the server instead of dying on "Connection refused", and ends (exit 1) when the server
goes away, since Spark's socket source would otherwise sit there reading nothing (both are the
socket input's: `consumer/inputs.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from consumer import runner
from consumer.inputs import SocketInput
from consumer.output import OutputConfig, OutputMode
from generator.errors import UsageError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

MODES: tuple[OutputMode, ...] = ("append",)


@dataclass(frozen=True)
class SocketConsumerConfig:
    source: SocketInput
    output: OutputConfig = OutputConfig()
    timeout: float | None = None
    quiet: bool = False
    log_level: str = "WARN"

    def __post_init__(self) -> None:
        self.output.check(MODES)
        if self.output.available_now:
            raise UsageError("--available-now does not work with the socket source: use --timeout")


def query(df: DataFrame) -> DataFrame:
    return df  # the split columns, as the seed prints them


def run(spark: SparkSession, config: SocketConsumerConfig, err: TextIO | None = None) -> None:
    name = config.output.query_name or "socket"
    runner.run(spark, [runner.Stream(config.source, query, name)], config.output, MODES,
               config.timeout, config.quiet, config.log_level, err,
               consumer="consumer socket")  # fmt: skip
