"""Spark's own Auto CDC flow (declarative pipelines, SCD type 1) fed the customer_changes feed:
an outside check of `_truth_table.jsonl`. Run with `spark-pipelines run` in this folder, the
feed's folder in CHANGES_DIR. On Spark 4.2.0 alone it stops before a row is read: the default
catalog's tables (parquet) cannot take MERGE (docs/change-feeds.md)."""

from __future__ import annotations

import os

from pyspark import pipelines as dp
from pyspark.sql import SparkSession

spark = SparkSession.active()
FEED = (
    "op STRING, seq BIGINT, ts TIMESTAMP, customerId INT, name STRING, city STRING, segment STRING"
)


@dp.temporary_view
def changes():  # type: ignore[no-untyped-def]
    folder = os.environ["CHANGES_DIR"]
    return spark.readStream.schema(FEED).option("header", True).csv(folder)


dp.create_streaming_table("customers")
dp.create_auto_cdc_flow(
    target="customers",
    source="changes",
    keys=["customerId"],
    sequence_by="seq",
    apply_as_deletes="op = 'd'",
    except_column_list=["op", "seq", "ts"],
    stored_as_scd_type=1,
)
