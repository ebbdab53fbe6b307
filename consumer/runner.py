"""Running a consumer: each stream is an input, a query and the output they share. Inputs open
(waiting for a folder, retrying a server), queries start into the sink, and the run lasts until
they end, the timeout passes, Ctrl-C, or an input's watch says the stream cannot go on."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from consumer.inputs import Input, Watch
from consumer.output import OutputConfig, OutputMode, await_all, batch_lines, start

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming.query import StreamingQuery


@dataclass(frozen=True)
class Stream:
    source: Input
    query: Callable[[DataFrame], DataFrame]  # the consumer's transformation of the input
    name: str
    checkpoint_suffix: str = ""  # several queries of one run need folders of their own


def run(
    spark: SparkSession,
    streams: Sequence[Stream],
    output: OutputConfig,
    modes: Sequence[OutputMode],
    timeout: float | None,
    quiet: bool = False,
    log_level: str = "WARN",
    err: TextIO | None = None,
) -> None:
    err = err if err is not None else sys.stderr
    with batch_lines(spark, quiet, err):
        queries: list[StreamingQuery] = []
        watches: list[Watch] = []
        try:
            for s in streams:

                def begin(s: Stream = s) -> StreamingQuery:
                    df = s.query(s.source.frame(spark))
                    return start(df, output, modes, s.name, s.checkpoint_suffix)

                query, watch = s.source.open(spark, begin, err, log_level)
                queries.append(query)
                watches.append(watch)
        except BaseException:
            for q in queries:
                q.stop()
            raise

        def watch_all() -> None:
            for w in watches:
                if w is not None:
                    w()

        await_all(queries, timeout, err, watch=watch_all if any(watches) else None,
                  quiet_stop=(spark, log_level))  # fmt: skip
