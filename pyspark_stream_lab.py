"""`format("synthetic")` with no `register(spark)` call: PySpark looks up top-level modules named
`pyspark_*` that hold a `DefaultSource` (pyspark/sql/worker/lookup_data_sources.py) the first
time a session uses a Python data source. So wherever this package is installed, the
`synthetic` source works in the `pyspark` shell, in `spark-submit` scripts, in SQL and on a
Spark Connect server. `consumer.source.register(spark)` still registers it by hand."""

from __future__ import annotations

from consumer.source import SyntheticDataSource as DefaultSource

__all__ = ["DefaultSource"]
