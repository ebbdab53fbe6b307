"""What does a check cost beside the query's own streaming run? Lands a sensor folder (late,
out-of-order readings), then times, in turn on one local Spark: the query's own run (the same
function on the folder's stream, `availableNow`, one file a batch, into a `noop` sink) and
`check_query` of it (the same run into a sink that keeps each batch, the checkpoint read back,
the twin computed per group), for a windowed aggregation and a stateless filter. Prints the
medians and their ratio.

    python scripts/bench_check.py [--files 8] [--rows-per-file 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def per_minute(df: Any) -> Any:
    from pyspark.sql import functions as F

    return (df.withWatermark("event_time", "20 seconds")
            .groupBy(F.window("event_time", "1 minute"), "status")
            .agg(F.count("*").alias("n"), F.avg("temperature").alias("t")))  # fmt: skip


def hot(df: Any) -> Any:
    return df.filter("temperature > 20")


def main() -> None:
    from consumer.pytest_plugin import TEST_CONF
    from consumer.session import SessionConfig, build_session, read_csv_stream
    from consumer.testing import check_query
    from generator.clock import EventTime
    from generator.files import FilesConfig, run
    from generator.manifest import held_to

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--rows-per-file", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    spark = build_session(SessionConfig(app_name="bench-check", master="local[2]",
                                        conf=TEST_CONF, quiet=True))  # fmt: skip
    clock = EventTime(start=dt.datetime(2026, 1, 1), speed=30, disorder=5, late_fraction=0.15,
                      max_lateness=240)  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "sensor"
        run(FilesConfig(folder, "sensor", seed=1, rows_per_file=args.rows_per_file, interval=0,
                        files=args.files, quiet=True, event_time=clock))  # fmt: skip
        dataset = held_to(folder, None, "")
        assert dataset is not None

        def own(query: Any, k: int) -> float:
            start = time.perf_counter()
            df = read_csv_stream(spark, str(folder), dataset, 1)
            q = (query(df).writeStream.format("noop").outputMode("append")
                 .option("checkpointLocation", f"{tmp}/own-{query.__name__}-{k}")
                 .trigger(availableNow=True).start())  # fmt: skip
            q.awaitTermination()
            return time.perf_counter() - start

        def check(query: Any) -> float:
            start = time.perf_counter()
            assert check_query(spark, query, folder).agree
            return time.perf_counter() - start

        own(per_minute, -1), check(per_minute)  # warm: the JVM's first queries are slower
        for query in (per_minute, hot):
            runs, checks = [], []
            for k in range(args.repeat):
                runs.append(own(query, k))
                checks.append(check(query))
            a, b = statistics.median(runs), statistics.median(checks)
            print(f"{query.__name__}: {args.files} files of {args.rows_per_file} rows, median of "
                  f"{args.repeat}: the query's own run {a:.2f} s; the check {b:.2f} s; "
                  f"ratio {b / a:.2f}x")  # fmt: skip
    spark.stop()


if __name__ == "__main__":
    main()
