"""How fast does `consumer upsert` keep a table, in changes per second, beside a plain append of
the same rows? Lands a customer_changes feed (5 % copies, delivered up to 30 s out of order),
then, in turn on one local Spark warmed up by a first run, each run `availableNow` over the
whole folder, N files a batch, into a new table:

- append: the same stream, each batch's rows inserted as they are into one table, one
  transaction per batch (no dedup, no order, no batch id): the floor a database sets;
- upsert: `consumer upsert` (copies dropped, changes applied by seq, deletes kept as
  tombstones, the batch id in the same transaction), SCD type 1 and 2;

into SQLite (a file, the default journal) and into a real PostgreSQL server (started here,
durable: fsync on). Prints the median rate of each and the upsert's share of the append's; and
first, how fast the engine draws the feed itself beside `person` (a million rows each, after a
first draw that fills the pools).

    python scripts/bench_upsert.py [--files 40] [--rows-per-file 2500] [--per-batch 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def append(spark: Any, folder: Path, url: str, table: str, per_batch: int, dataset: Any) -> None:
    """The baseline: each batch's rows inserted as they come, one transaction a batch."""
    from consumer.session import read_csv_stream
    from consumer.tables import Target, _transaction
    from consumer.upsert_app import changes_of

    target = Target(url, table)
    names = dataset.column_names
    p = "%s" if target.postgres else "?"
    with target.connect() as conn:
        conn.cursor().execute(f"CREATE TABLE {table} (op TEXT, seq BIGINT, ts TEXT, customerId "
                              "INTEGER, name TEXT, city TEXT, segment TEXT)")  # fmt: skip
        if target.postgres:
            conn.commit()

    def write(batch: Any, batch_id: int) -> None:
        # the rows read from the batch as the upsert reads them, every copy kept
        found = changes_of(batch, dataset, naive=True)
        rows = [(op, seq, ts, key, *values) for key, seq, op, ts, values in found]
        with target.connect() as conn, _transaction(conn, target.postgres):
            conn.cursor().executemany(f"INSERT INTO {table} VALUES ({', '.join([p] * 7)})", rows)

    frame = read_csv_stream(spark, str(folder), dataset, per_batch)
    assert names[:3] == ["op", "seq", "ts"]
    query = frame.writeStream.foreachBatch(write).trigger(availableNow=True).start()
    query.awaitTermination()


def draw_rates(rows: int = 1_000_000) -> None:
    from generator.datasets import get_dataset
    from generator.engine import Engine

    for name in ("customer_changes", "person"):
        engine = Engine(get_dataset(name), 3)
        engine.table(0, 10)
        start = time.perf_counter()
        engine.table(0, rows)
        rate = rows / (time.perf_counter() - start)
        print(f"the engine draws {name}: {rate:,.0f} rows/s")


def main() -> None:
    from consumer.cli import main as consumer_main
    from consumer.pytest_plugin import TEST_CONF
    from consumer.session import SessionConfig, build_session
    from generator.clock import EventTime
    from generator.files import FilesConfig, run
    from generator.manifest import held_to, read_manifests
    from tests import postgres

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--rows-per-file", type=int, default=2500)
    parser.add_argument("--per-batch", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    draw_rates()
    spark = build_session(SessionConfig(app_name="bench-upsert", master="local[2]",
                                        conf=TEST_CONF, quiet=True))  # fmt: skip
    spark.sparkContext.setLogLevel("ERROR")
    with tempfile.TemporaryDirectory() as tmp, postgres.server(durable=True) as pg:
        folder = Path(tmp) / "changes"
        run(FilesConfig(folder, "customer_changes", seed=1, rows_per_file=args.rows_per_file,
                        interval=0, files=args.files, quiet=True, duplicates=0.05,
                        event_time=EventTime(disorder=30)))  # fmt: skip
        dataset = held_to(folder, None, "")
        changes = sum(e.rows for _, e in read_manifests([folder]))
        runs = 0
        results: dict[str, list[float]] = {}
        # a first run untimed: the JVM's code warmed up for every run after it
        append(spark, folder, f"sqlite:///{tmp}/warm.db", "warm", args.per_batch, dataset)
        for _ in range(args.repeat):
            for db, url_of in (("SQLite", lambda n: f"sqlite:///{tmp}/{n}.db"),
                               ("PostgreSQL", lambda n: pg)):  # fmt: skip
                for how in ("append", "upsert SCD 1", "upsert SCD 2"):
                    runs += 1
                    name = f"t{runs}"
                    start = time.perf_counter()
                    if how == "append":
                        append(spark, folder, url_of(name), name, args.per_batch, dataset)
                    else:
                        status = consumer_main(
                            ["upsert", str(folder), "--into", url_of(name), "--table", name,
                             "--scd", how[-1], "--available-now", "--quiet",
                             "--max-files-per-trigger", str(args.per_batch)])  # fmt: skip
                        assert status == 0
                    seconds = time.perf_counter() - start
                    results.setdefault(f"{db}: {how}", []).append(changes / seconds)
        print(f"{changes} changes ({args.files} files, {args.per_batch} a batch), median of "
              f"{args.repeat} runs, changes per second:")  # fmt: skip
        for db in ("SQLite", "PostgreSQL"):
            base = statistics.median(results[f"{db}: append"])
            for how in ("append", "upsert SCD 1", "upsert SCD 2"):
                rate = statistics.median(results[f"{db}: {how}"])
                print(f"  {db:<10} {how:<13} {rate:>9,.0f}/s  ({rate / base:.2f} of the append)")


if __name__ == "__main__":
    main()
