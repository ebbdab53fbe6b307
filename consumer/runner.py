"""Running a consumer: each stream is an input, a query and the output they share. Inputs open
(waiting for a folder, retrying a server), queries start into the sink, and the run lasts until
they end, the timeout passes, Ctrl-C, or an input's watch says the stream cannot go on."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from consumer.inputs import FolderInput, Input, Watch
from consumer.output import OutputConfig, OutputMode, await_all, batch_lines, start
from consumer.waiting import wait_for_folder

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming.query import StreamingQuery


@dataclass(frozen=True)
class Stream:
    source: Input
    query: Callable[..., DataFrame]  # the consumer's transformation of the inputs' frames
    name: str
    checkpoint_suffix: str = ""  # several queries of one run need folders of their own
    others: tuple[Input, ...] = ()  # more inputs of one query (a join's other side)


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
                    for other in s.others:  # a join's other side: its folder too
                        if isinstance(other, FolderInput):
                            wait_for_folder(other.directory, err)
                    df = s.query(s.source.frame(spark), *(o.frame(spark) for o in s.others))
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
