"""`consumer socket`: the seed's network stream, corrected (`functions as F`; `withColumn`, not
the seed's `writeColumn`), with `value` split into the data set's columns.

Waits for the server instead of dying on "Connection refused", and ends (exit 1) when the server
goes away, since Spark's socket source would otherwise sit there reading nothing.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from consumer.errors import StreamFailed
from consumer.output import OutputConfig, await_all, batch_lines, quieter_log, start
from consumer.server_watch import ServerWatch
from consumer.session import split_value
from consumer.waiting import NotListening, retry_until_listening
from generator.spec import Dataset

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming.query import StreamingQuery


@dataclass(frozen=True)
class SocketConsumerConfig:
    dataset: Dataset
    output: OutputConfig
    host: str = "localhost"
    port: int = 9999
    connect_timeout: float = 60.0
    timeout: float | None = None
    log_level: str = "WARN"
    quiet: bool = False
    format: str = "csv"  # or "json": JSON lines


def stream(spark: SparkSession, config: SocketConsumerConfig) -> DataFrame:
    from pyspark.sql import functions as F

    lines = (
        spark.readStream.format("socket")
        .option("host", config.host)
        .option("port", config.port)
        .load()
    )
    return lines.select(*split_value(F.col("value"), config.dataset, config.format))


def run(spark: SparkSession, config: SocketConsumerConfig, err: TextIO | None = None) -> None:
    err = err if err is not None else sys.stderr
    jvm_pid = int(spark._jvm.ProcessHandle.current().pid())  # type: ignore[union-attr]
    watch = ServerWatch(jvm_pid, config.host, config.port)
    name = config.output.query_name or "socket"

    def attempt() -> StreamingQuery:
        query = start(stream(spark, config), config.output, ["append"], name)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if not query.isActive:
                failure = str(query.exception() or "")
                if "Connection refused" in failure:
                    raise NotListening(failure)
                return query  # another failure: await_all reports it
            state = watch.state()
            if state == "connected" or (state == "unknown" and not watch.can_tell):
                return query
            time.sleep(0.05)  # the query connects in its own thread, within a second
        query.stop()
        raise NotListening("timed out connecting")

    def server_still_there() -> None:
        if watch.state() == "closed":
            raise StreamFailed(
                f"the server on {config.host}:{config.port} went away: Spark's socket source "
                "never reconnects; start the server again, then this consumer"
            )

    with batch_lines(spark, config.quiet, err):
        # a refused connection fails the query with an ERROR and a stack trace: quiet while trying
        with quieter_log(spark, config.log_level):
            query = retry_until_listening(
                attempt, config.host, config.port, config.connect_timeout, err
            )
        await_all([query], config.timeout, err, watch=server_still_there)
