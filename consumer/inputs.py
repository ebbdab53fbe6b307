"""Where a consumer's rows come from: a watched folder or a socket server.

An input makes the streaming DataFrame of a data set and starts the query that reads it: a
folder is waited for until it exists; a socket server is retried until it listens (Spark's
socket source dies on "Connection refused") and watched while the query runs (Spark's source
never notices that the server went away).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TextIO

from consumer.errors import ServerGone
from consumer.output import quieter_log
from consumer.server_watch import ServerWatch
from consumer.session import UNFIT, is_remote, read_csv_stream, split_value, unfit_value
from consumer.waiting import NotListening, retry_until_listening, wait_for_folder
from generator.clock import EventTime
from generator.errors import UsageError
from generator.options import client_port, held, one_of, positive_float, positive_int
from generator.spec import Dataset

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming.query import StreamingQuery

CleanSource = Literal["off", "archive", "delete"]
Watch = Callable[[], None] | None
FORMATS = ("csv", "json", "debezium")


@dataclass(frozen=True)
class FolderInput:
    """Files landing in a folder, read with the data set's schema, N files a micro-batch."""

    directory: str
    dataset: Dataset
    format: str = "csv"  # or "json": JSON lines
    max_files_per_trigger: int = 1
    clean_source: CleanSource = "off"  # Spark's cleanSource: what to do with files it has read
    archive_dir: str | None = None  # sourceArchiveDir, for clean_source "archive"

    def __post_init__(self) -> None:
        held("--format", one_of(*FORMATS), self.format)
        held("--max-files-per-trigger", positive_int, self.max_files_per_trigger)
        held("--clean-source", one_of("off", "archive", "delete"), self.clean_source)
        if self.clean_source == "archive" and self.archive_dir is None:
            raise UsageError("--clean-source archive needs --archive-dir DIR (where files go)")
        if self.archive_dir is not None and self.clean_source != "archive":
            raise UsageError("--archive-dir goes with --clean-source archive")
        if self.archive_dir is not None and _inside(self.archive_dir, self.directory):
            # Spark would list the archived files again as new input
            raise UsageError(
                f"--archive-dir {self.archive_dir} is inside the folder read, {self.directory}: "
                "put it beside it"
            )

    def describe(self) -> str:
        return f"folder {self.directory}"

    def frame(self, spark: SparkSession) -> DataFrame:
        options: dict[str, str] = {}
        if self.clean_source != "off":
            options["cleanSource"] = self.clean_source
            if self.archive_dir is not None:
                options["sourceArchiveDir"] = self.archive_dir
        return read_csv_stream(spark, self.directory, self.dataset, self.max_files_per_trigger,
                               self.format, options)  # fmt: skip

    def open(
        self, spark: SparkSession, start: Callable[[], StreamingQuery], err: TextIO,
        log_level: str,
    ) -> tuple[StreamingQuery, Watch]:  # fmt: skip
        wait_for_folder(self.directory, err)
        return start(), None


@dataclass(frozen=True)
class SocketInput:
    """Lines from a TCP server (`python -m generator socket`), split into the data set's
    columns."""

    dataset: Dataset
    host: str = "localhost"
    port: int = 9999
    format: str = "csv"  # or "json": JSON lines
    connect_timeout: float = 60.0

    def __post_init__(self) -> None:
        held("--format", one_of("csv", "json"), self.format)
        held("--port", client_port, self.port)
        held("--connect-timeout", positive_float, self.connect_timeout)

    def describe(self) -> str:
        return f"socket {self.host}:{self.port}"

    def frame(self, spark: SparkSession) -> DataFrame:
        from pyspark.sql import functions as F

        lines = (
            spark.readStream.format("socket")
            .option("host", self.host)
            .option("port", self.port)
            .load()
        )
        if self.format == "csv":  # lines typed by hand may not fit: each batch counts them
            lines = lines.observe(UNFIT, F.count_if(unfit_value(F.col("value"), self.dataset))
                                  .alias("lines"))  # fmt: skip
        return lines.select(*split_value(F.col("value"), self.dataset, self.format))

    def open(
        self, spark: SparkSession, start: Callable[[], StreamingQuery], err: TextIO,
        log_level: str,
    ) -> tuple[StreamingQuery, Watch]:  # fmt: skip
        """Start the query once the server listens; a watch that raises when it goes away."""
        if is_remote(spark):
            # Spark Connect: the server connects to the socket, where this side cannot look
            return start(), None
        jvm_pid = int(spark._jvm.ProcessHandle.current().pid())  # type: ignore[union-attr]
        watch = ServerWatch(jvm_pid, self.host, self.port)

        def attempt() -> StreamingQuery:
            query = start()
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                if not query.isActive:
                    failure = str(query.exception() or "")
                    if "Connection refused" in failure:
                        raise NotListening(failure)
                    return query  # another failure: the wait reports it
                state = watch.state()
                if state == "connected" or (state == "unknown" and not watch.can_tell):
                    return query
                time.sleep(0.05)  # the query connects in its own thread, within a second
            query.stop()
            raise NotListening("timed out connecting")

        def server_still_there() -> None:
            if watch.state() == "closed":
                raise ServerGone(
                    f"the server on {self.host}:{self.port} went away: Spark's socket source "
                    "never reconnects; start the server again, then this consumer"
                )

        # a refused connection fails the query with an ERROR and a stack trace: quiet while trying
        with quieter_log(spark, log_level):
            query = retry_until_listening(attempt, self.host, self.port, self.connect_timeout,
                                          err)  # fmt: skip
        return query, server_still_there


@dataclass(frozen=True)
class SyntheticInput:
    """Rows made inside Spark by the `synthetic` data source (`consumer/source.py`): the seed's
    sequence, `rate` rows a second, up to `rows`."""

    dataset: Dataset
    seed: int = 0
    rate: float = 1.0  # rowsPerSecond
    rows: int | None = None  # where the stream ends
    partitions: int | None = None  # numPartitions
    max_records: int | None = None  # maxRecordsPerBatch
    event_time: EventTime = field(default_factory=EventTime)

    def __post_init__(self) -> None:
        # the source's own checks, here, before Spark starts: one line, exit 2
        from consumer.source import SourceOptionError, SourceOptions

        try:
            SourceOptions.parse(self.options(), stream=True)
        except SourceOptionError as exc:
            raise UsageError(str(exc)) from None

    def options(self) -> dict[str, str]:
        """The data source options, as text. A built-in data set goes by name, any other as its
        declaration's text: a Spark Connect server need not see the spec file."""
        from generator.datasets import DATASETS
        from generator.spec_file import dumps

        opts = {"seed": str(self.seed), "rowsPerSecond": repr(self.rate)}
        if DATASETS.get(self.dataset.name) == self.dataset:
            opts["dataset"] = self.dataset.name
        else:
            opts["spec"] = dumps(self.dataset)
        for name, value in (("rows", self.rows), ("numPartitions", self.partitions),
                            ("maxRecordsPerBatch", self.max_records)):  # fmt: skip
            if value is not None:
                opts[name] = str(value)
        et = self.event_time
        for name, given in (("start", et.start), ("speed", et.speed),
                            ("disorder", et.disorder or None),
                            ("lateFraction", et.late_fraction or None),
                            ("maxLateness", et.max_lateness or None)):  # fmt: skip
            if given is not None:
                opts[name] = given.isoformat() if hasattr(given, "isoformat") else repr(given)
        return opts

    @property
    def format(self) -> str:
        return "synthetic"

    def describe(self) -> str:
        return f"synthetic {self.dataset.name} (seed {self.seed}, {self.rate:g} rows/s)"

    def frame(self, spark: SparkSession) -> DataFrame:
        from consumer.source import register

        register(spark)
        reader = spark.readStream.format("synthetic")
        for key, value in self.options().items():
            reader = reader.option(key, value)
        return reader.load()

    def open(
        self, spark: SparkSession, start: Callable[[], StreamingQuery], err: TextIO,
        log_level: str,
    ) -> tuple[StreamingQuery, Watch]:  # fmt: skip
        return start(), None


Input = FolderInput | SocketInput | SyntheticInput


def _inside(path: str, folder: str) -> bool:
    if "://" in path or "://" in folder:
        return False
    inner, outer = Path(path).resolve(), Path(folder).resolve()
    return inner == outer or outer in inner.parents
