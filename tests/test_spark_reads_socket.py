"""Spark's own socket source reads from the server: two queries at once on one port."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest

from generator import PERSON
from tests.socket_helpers import config, running

pytestmark = pytest.mark.spark


def test_two_spark_queries_on_one_port(spark: Any) -> None:
    from pyspark.sql import functions as F

    count = 3000
    with running(config(rate=1500, count=count)) as server:
        queries = []
        for name in ("socket_a", "socket_b"):
            lines = (
                spark.readStream.format("socket")
                .option("host", "127.0.0.1")
                .option("port", server.port)
                .load()
            )
            parts = F.split(F.col("value"), ",")
            rows = lines.select(
                F.col("value"),
                *[
                    parts.getItem(i).cast(c.type).alias(c.name)
                    for i, c in enumerate(PERSON.columns)
                ],
                F.size(parts).alias("fields"),
            )
            queries.append(rows.writeStream.format("memory").queryName(name).start())
        try:
            # the socket source has no availableNow trigger: wait, bounded, for the rows
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                done = [spark.table(q.name).count() for q in queries]
                if server.exit_code is not None and all(n > 0 for n in done):
                    for q in queries:
                        q.processAllAvailable()
                    break
                time.sleep(0.25)
        finally:
            for q in queries:
                q.stop()
    a = spark.table("socket_a")
    b = spark.table("socket_b")
    assert server.served == 2
    assert a.count() == count  # the first query was there from the first row
    assert 0 < b.count() <= count
    for table in (a, b):
        assert (
            table.where(
                "fields != 5 OR age IS NULL OR ssn NOT RLIKE '^[0-9]{3}-[0-9]{2}-[0-9]{4}$'"
            ).count()
            == 0
        )
    # broadcast: the second query's rows are among the first's (the order of rows across
    # micro-batches in a memory table is Spark's; the line order is checked without Spark)
    first = Counter(r.value for r in a.collect())
    second = Counter(r.value for r in b.collect())
    assert second <= first
