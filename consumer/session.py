"""The one way every consumer builds its SparkSession, and the schema helpers they share."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from generator.spec import CHANGE_COLUMNS, Dataset

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession
    from pyspark.sql.types import StructType

SHUFFLE_PARTITIONS = "spark.sql.shuffle.partitions"
LOOPBACK = "127.0.0.1"
JAVA_OPTIONS = "spark.driver.extraJavaOptions"  # read when the driver's JVM starts
LOG_CONFIG = Path(__file__).with_name("log4j2.properties")
LOG_LEVELS = ("ALL", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF")


@dataclass(frozen=True)
class SessionConfig:
    app_name: str
    master: str | None = None  # None: spark-submit's --master, else local[*]
    log_level: str = "WARN"
    conf: tuple[tuple[str, str], ...] = ()
    quiet: bool = False
    remote: str | None = None  # a Spark Connect server, sc://HOST:PORT (or SPARK_REMOTE)

    def __post_init__(self) -> None:
        from generator.errors import UsageError

        if self.remote is not None:
            if not self.remote.startswith("sc://"):
                raise UsageError(f"--remote takes sc://HOST:PORT, not {self.remote!r}")
            if self.master is not None:
                raise UsageError("--master and --remote both say where Spark runs: give one")


def is_remote(spark: SparkSession) -> bool:
    """A Spark Connect session: no SparkContext and no JVM on this side."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def build_session(config: SessionConfig, err: TextIO | None = None) -> SparkSession:
    """Create (or join) the SparkSession; print where its UI is."""
    err = err if err is not None else sys.stderr
    # executors run the same Python as the driver (a virtualenv's, not whatever `python3` is)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    if config.remote is not None:
        # Spark Connect: the server has its own settings; this side only connects
        spark = SparkSession.builder.remote(config.remote).appName(config.app_name).getOrCreate()
        for key, value in config.conf:
            spark.conf.set(key, value)
        if not config.quiet:
            print(f"consumer: {config.app_name} on Spark Connect {config.remote}", file=err,
                  flush=True)  # fmt: skip
        return spark
    # the console sink's tables, not a progress bar drawn over them (a --conf can turn it back on)
    settings = {"spark.app.name": config.app_name, "spark.ui.showConsoleProgress": "false"}
    if config.master is not None:
        settings["spark.master"] = config.master
    given = dict(config.conf)
    if SHUFFLE_PARTITIONS not in given:
        # Spark's 200 shuffle partitions cost a stateful query (a join keeps 4 state stores
        # per partition) seconds a micro-batch on a laptop; one per core is plenty there
        settings[SHUFFLE_PARTITIONS] = str(max(2, os.cpu_count() or 2))
    # loopback only unless asked otherwise: the driver's address (executors and a cluster
    # master reach it there), its bind address, and the UI, which binds where SPARK_LOCAL_IP
    # says (Spark's default is every interface). Spark on several machines: set SPARK_LOCAL_IP
    # and --conf spark.driver.host to an address the others reach (docs/lessons/09-cluster.md).
    os.environ.setdefault("SPARK_LOCAL_IP", LOOPBACK)
    for key in ("spark.driver.host", "spark.driver.bindAddress"):
        settings[key] = os.environ["SPARK_LOCAL_IP"]
    settings |= given
    from pyspark import SparkContext

    launching = SparkContext._gateway is None
    running = None if launching else SparkSession.getActiveSession()
    if running is not None:
        # joined (a notebook's session, the tests'): of the consumer's own settings only those
        # a running session takes (Spark warns of the others: "Using an existing Spark
        # session; only runtime SQL configurations will take effect"); the user's all
        settings = {key: value for key, value in settings.items()
                    if key in given or running.conf.isModifiable(key)}  # fmt: skip
    if launching:  # read only when the driver's JVM starts
        settings[JAVA_OPTIONS] = _java_options(given.get(JAVA_OPTIONS))
    builder = SparkSession.builder
    for key, value in settings.items():
        builder = builder.config(key, value)
    with _without_jvm_notices() if launching else contextlib.nullcontext():
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(config.log_level)
    if not config.quiet:
        ui = spark.sparkContext.uiWebUrl
        where = f"Spark UI at {ui}" if ui else "Spark UI disabled"
        print(
            f"consumer: {config.app_name} on {spark.sparkContext.master} ({where})",
            file=err,
            flush=True,
        )
    return spark


# what the JVM itself prints as it starts, before any log configuration applies: Spark's
# launcher always adds --add-modules=jdk.incubator.vector, and Java says so on stderr
JVM_NOTICES = ("WARNING: Using incubator modules:",)


@contextlib.contextmanager
def _without_jvm_notices() -> Iterator[None]:
    """The driver's JVM started with a stderr of its own that passes everything on but the
    lines of JVM_NOTICES (the JVM keeps that stderr for its life; this process's is as it was
    once the block ends)."""
    read_end, write_end = os.pipe()
    ours = os.dup(2)
    sys.stderr.flush()
    os.dup2(write_end, 2)  # the JVM inherits fd 2 as it is now
    os.close(write_end)

    def forward() -> None:
        with os.fdopen(read_end, "rb") as pipe, os.fdopen(os.dup(ours), "wb", 0) as out:
            for line in pipe:
                if not line.decode(errors="replace").startswith(JVM_NOTICES):
                    out.write(line)

    threading.Thread(target=forward, name="jvm-stderr", daemon=True).start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(ours, 2)
        os.close(ours)


def _java_options(given: str | None) -> str:
    """The driver's JVM options: the consumer's log configuration (consumer/log4j2.properties:
    no warnings at every start that are no one's fault), unless the user names their own."""
    if given is not None and "log4j2.configurationFile" in given:
        return given
    ours = f"-Dlog4j2.configurationFile={LOG_CONFIG.as_uri()}"
    return f"{ours} {given}" if given else ours


def struct_type(dataset: Dataset) -> StructType:
    """The Spark schema of a data set, derived from its declaration (never typed twice)."""
    from pyspark.sql.types import StructType

    return StructType.fromJson(dataset.schema_json())


def debezium_struct(dataset: Dataset) -> StructType:
    """The schema of a change feed's Debezium envelope (schemas off)."""
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    row = StructType([f for f in struct_type(dataset).fields if f.name not in CHANGE_COLUMNS])
    source = StructType([StructField("connector", StringType()), StructField("ts_ms", LongType()),
                         StructField("seq", LongType())])  # fmt: skip
    return StructType([StructField("before", row), StructField("after", row),
                       StructField("source", source), StructField("op", StringType()),
                       StructField("ts_ms", LongType())])  # fmt: skip


def debezium_rows(envelopes: DataFrame, dataset: Dataset) -> DataFrame:
    """Envelopes as the change feed's rows: op, seq, ts, then each column from `after`, or from
    `before` for a delete."""
    from pyspark.sql import functions as F

    deleted = F.col("op") == "d"
    table = [F.when(deleted, F.col("before")[c.name]).otherwise(F.col("after")[c.name])
             .alias(c.name) for c in dataset.table_columns]  # fmt: skip
    return envelopes.select("op", F.col("source.seq").alias("seq"),
                            F.timestamp_millis("ts_ms").alias("ts"), *table)  # fmt: skip


def split_value(value: Column, dataset: Dataset, fmt: str = "csv") -> list[Column]:
    """A socket line's `value` as the data set's typed columns: split on commas, or parsed as
    a JSON object."""
    from pyspark.sql import functions as F

    if fmt == "json":
        parsed = F.from_json(value, struct_type(dataset))
        return [parsed.getField(c.name).alias(c.name) for c in dataset.columns]
    # get and try_cast: a line with fewer fields, or a word where a number goes, gives nulls
    # (Spark 4's ANSI mode would fail the query on getItem or cast)
    parts = F.split(value, ",")
    return [F.get(parts, i).try_cast(c.type).alias(c.name)
            for i, c in enumerate(dataset.columns)]  # fmt: skip


UNFIT = "unfit"  # the observed metric of socket lines that do not fit the columns


def unfit_value(value: Column, dataset: Dataset) -> Column:
    """True for a CSV line that does not fit the data set's columns: another number of fields,
    or a field its column's type cannot take (a word where the age goes). Those columns are
    NULL in `split_value`; this tells such a line from a row whose value is NULL."""
    from functools import reduce

    from pyspark.sql import functions as F

    parts = F.split(value, ",")
    wrong = [(F.get(parts, i) != "") & F.get(parts, i).try_cast(c.type).isNull()
             for i, c in enumerate(dataset.columns)]  # fmt: skip
    count = F.size(parts) != len(dataset.columns)
    return F.coalesce(reduce(lambda a, b: a | b, wrong, count), F.lit(False))


def read_csv_stream(
    spark: SparkSession,
    folder: str,
    dataset: Dataset,
    max_files_per_trigger: int,
    fmt: str = "csv",
    options: dict[str, str] | None = None,
) -> DataFrame:
    """A file stream of a data set: its schema, its header default (CSV), N files a batch;
    CSV files, JSON lines with `fmt="json"`, or a change feed's Debezium envelopes with
    `fmt="debezium"` (read as the feed's rows); more reader `options` (cleanSource ...)."""
    if fmt == "debezium":
        reader = spark.readStream.format("json").schema(debezium_struct(dataset))
        for key, value in (options or {}).items():
            reader = reader.option(key, value)
        frame = reader.option("maxFilesPerTrigger", max_files_per_trigger).load(folder)
        return debezium_rows(frame, dataset)
    reader = spark.readStream.format(fmt).schema(struct_type(dataset))
    if fmt == "csv":
        reader = reader.options(**csv_options(dataset))
    for key, value in (options or {}).items():
        reader = reader.option(key, value)
    return reader.option("maxFilesPerTrigger", max_files_per_trigger).load(folder)


def read_csv_static(
    spark: SparkSession, folder: str | list[str], dataset: Dataset, fmt: str = "csv"
) -> DataFrame:
    """A data set's files read once, as a static table (the dimension of a stream-static join):
    a folder's, or the files listed; a change feed's Debezium envelopes as its rows."""
    if fmt == "debezium":
        return debezium_rows(spark.read.schema(debezium_struct(dataset)).json(folder), dataset)
    reader = spark.read.format(fmt).schema(struct_type(dataset))
    if fmt == "csv":
        reader = reader.options(**csv_options(dataset))
    return reader.load(folder)


def csv_options(dataset: Dataset) -> dict[str, str]:
    """How the generator writes CSV, told to Spark's reader: its header, and RFC 4180 quotes
    (a `"` inside a value doubled; Spark's default escape is a backslash)."""
    return {"header": str(dataset.header).lower(), "escape": '"'}
