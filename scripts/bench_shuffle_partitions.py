"""What Spark's default 200 shuffle partitions cost the word count of Spark's own example
(structured_network_wordcount.py: split, explode, groupBy(word).count(), complete mode) on a
laptop, against 4. One process, one local Spark, the same query twice: each reads its own
`generator socket --dataset words` server (a real process, loopback) at the same rate, and the
median and slowest micro-batch durations of its first --batches batches after the first are
printed, from Spark's own progress.

    python scripts/bench_shuffle_partitions.py [--batches 10] [--rate 200] [--master local[2]]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def measure(spark: object, partitions: int, rate: float, batches: int) -> list[float]:
    from pyspark.sql import SparkSession
    from pyspark.sql.functions import explode, split

    assert isinstance(spark, SparkSession)
    server = subprocess.Popen(
        [sys.executable, "-m", "generator", "socket", "0", "--dataset", "words", "--seed", "1",
         "--rate", str(rate), "--quiet"],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().rsplit(":", 1)[1])
        spark.conf.set("spark.sql.shuffle.partitions", str(partitions))
        lines = (spark.readStream.format("socket").option("host", "127.0.0.1")
                 .option("port", port).load())  # fmt: skip
        words = lines.select(explode(split(lines.value, " ")).alias("word"))
        query = (words.groupBy("word").count().writeStream.outputMode("complete")
                 .format("memory").queryName(f"words_{partitions}").start())  # fmt: skip
        try:
            while len(query.recentProgress) < batches + 1:
                time.sleep(0.2)
                if query.exception() is not None:
                    raise RuntimeError(str(query.exception()))
            progress = query.recentProgress[1 : batches + 1]  # the first one starts the query
        finally:
            query.stop()
        return [p["durationMs"]["triggerExecution"] / 1000 for p in progress]
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--rate", type=float, default=200.0, help="lines per second")
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master(args.master).appName("bench-shuffle-partitions")
             .config("spark.ui.enabled", "false").getOrCreate())  # fmt: skip
    spark.sparkContext.setLogLevel("FATAL")  # a batch cut short by the stop logs its aborts
    print(f"word count of `generator socket --dataset words --rate {args.rate:g}`, "
          f"{args.master}, {args.batches} micro-batches each")  # fmt: skip
    for partitions in (200, 4):
        took = measure(spark, partitions, args.rate, args.batches)
        print(f"spark.sql.shuffle.partitions={partitions:<3}  median batch "
              f"{statistics.median(took):.2f} s, slowest {max(took):.2f} s")  # fmt: skip
    spark.stop()


if __name__ == "__main__":
    main()
