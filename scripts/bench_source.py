"""Rows/s of the `synthetic` data source beside Spark's own expressions, in one Spark session.

    python scripts/bench_source.py [--rows N] [--partitions N] [--master local[2]]

Into the `noop` sink (Spark does all the work of reading, then drops the rows), after a warm-up
run of each: the source (person, a batch read), then `spark.range` with SQL expressions making
columns of the same kinds — first, middle and last names from lists of the same size as the
generator's pools, an age, an ssn-shaped string — the JVM's own ceiling for such columns; then
the source as a stream, `availableNow` with a million rows a batch.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

from consumer.source import register  # noqa: E402
from generator.datasets import PERSON  # noqa: E402
from generator.rows import table  # noqa: E402


def timed(run: object) -> float:
    start = time.perf_counter()
    run()  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    spark = (SparkSession.builder.master(args.master).appName("bench-source")
             .config("spark.ui.enabled", "false").getOrCreate())  # fmt: skip
    spark.sparkContext.setLogLevel("ERROR")
    register(spark)
    n, parts = args.rows, args.partitions

    def source(rows: int) -> object:
        return (spark.read.format("synthetic").option("dataset", "person").option("seed", 1)
                .option("rows", rows).option("numPartitions", parts).load())  # fmt: skip

    # the JVM's ceiling: the same kinds of columns from SQL expressions
    pool = table(PERSON, 1, 0, 1000).to_pydict()  # names of the same kind and number

    def names(column: str) -> object:
        values = F.array(*[F.lit(v) for v in sorted(set(pool[column]))])
        return F.element_at(values, (F.rand() * F.size(values)).cast("int") + 1)

    def expressions(rows: int) -> object:
        return spark.range(0, rows, 1, parts).select(
            names("fname").alias("fname"), names("mname").alias("mname"),
            names("lname").alias("lname"), (F.rand() * 105).cast("int").alias("age"),
            F.format_string("%03d-%02d-%04d", (F.rand() * 1000).cast("int"),
                            (F.rand() * 100).cast("int"),
                            (F.rand() * 10000).cast("int")).alias("ssn"),
        )  # fmt: skip

    def noop(df: object) -> None:
        df.write.format("noop").mode("overwrite").save()  # type: ignore[attr-defined]

    def stream() -> None:
        df = (spark.readStream.format("synthetic").option("dataset", "person").option("seed", 1)
              .option("rows", n).option("numPartitions", parts)
              .option("maxRecordsPerBatch", 1_000_000).load())  # fmt: skip
        query = df.writeStream.format("noop").trigger(availableNow=True).start()
        query.awaitTermination()

    noop(source(200_000))  # warm-up: Python workers started, pools filled
    noop(expressions(200_000))
    src = timed(lambda: noop(source(n)))
    sql = timed(lambda: noop(expressions(n)))
    streamed = timed(stream)
    print(f"person rows: {n:,} into the noop sink, {args.master}, {parts} partitions")
    print(f"  {'synthetic source, batch read':<48} {n / src:>12,.0f} rows/s")
    print(f"  {'spark.range + SQL expressions (the ceiling)':<48} {n / sql:>12,.0f} rows/s")
    print(f"  {'synthetic source, stream (availableNow, 1M/batch)':<48} {n / streamed:>12,.0f} "
          "rows/s")  # fmt: skip
    print(f"  source / expressions: {sql / src:.2f}x")
    spark.stop()


if __name__ == "__main__":
    main()
