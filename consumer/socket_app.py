"""`consumer socket`: the notes' network stream, corrected (`functions as F`; `withColumn`, not
the notes' `writeColumn`), with `value` split into the data set's columns.

Waits for the server instead of dying on "Connection refused", and ends (exit 1) when the server
goes away, since Spark's socket source would otherwise sit there reading nothing (both are the
socket input's: `consumer/inputs.py`).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from consumer import arguments, runner
from consumer.commands import Command
from consumer.inputs import SocketInput
from consumer.output import OutputConfig, OutputMode
from consumer.runner import RunOptions
from generator.errors import UsageError
from generator.options import positive_float

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

MODES: tuple[OutputMode, ...] = ("append",)
CONSOLE = OutputConfig()
NO_AVAILABLE_NOW = "--available-now does not work with the socket source: use --timeout"


@dataclass(frozen=True)
class SocketConsumerConfig:
    source: SocketInput
    run: RunOptions = RunOptions(CONSOLE)

    def __post_init__(self) -> None:
        self.run.output.check(MODES)
        if self.run.output.available_now:
            raise UsageError(NO_AVAILABLE_NOW)


def query(df: DataFrame) -> DataFrame:
    return df  # the split columns, as the notes print them


def run(spark: SparkSession, config: SocketConsumerConfig, err: TextIO | None = None) -> None:
    name = config.run.output.query_name or "socket"
    runner.run(spark, [runner.Stream(config.source, query, name)], config.run, MODES,
               consumer="consumer socket", err=err)  # fmt: skip


def _arguments(p: argparse.ArgumentParser) -> None:
    arguments.add_server(p, "server host (default: localhost)")
    p.add_argument("--connect-timeout", type=positive_float, default=60.0, metavar="SECONDS",
                   help="give up waiting for the server after this long (default: 60)")  # fmt: skip
    arguments.add_input(p, dataset="person", kinds=("socket",))
    arguments.add_running(p, CONSOLE)


def _config(args: argparse.Namespace) -> SocketConsumerConfig:
    return SocketConsumerConfig(arguments.socket_input(args), arguments.run_options(args))


COMMAND = Command(
    name="socket",
    app_name="Read lines over a network stream",
    arguments=_arguments,
    config=_config,
    run=run,
    help="read lines from a TCP server (the notes' `nc -lk 9999` stream)",
    description="The notes' network stream: each line's `value` split into the data set's "
    "columns. Waits for the server rather than failing on 'Connection refused'; exits 1 when "
    "the server goes away.",
)
