"""A streaming job of one's own, and the classic bugs a check catches (lesson 10,
docs/lessons/10-test-your-job.md). Each function takes the streaming DataFrame of a folder of
sensor readings (`generator files DIR --dataset sensor`) and returns the query's DataFrame:

    python -m consumer check examples/sensor_job.py:per_minute DIR
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def per_minute(readings: DataFrame) -> DataFrame:
    """The job: readings and their mean temperature per minute of event time and status, each
    minute written once, when the watermark (20 s behind the newest reading) has passed it."""
    return (
        readings.withWatermark("event_time", "20 seconds")
        .groupBy(F.window("event_time", "1 minute"), "status")
        .agg(F.count("*").alias("readings"), F.avg("temperature").alias("mean_temperature"))
    )


def on_processing_time(readings: DataFrame) -> DataFrame:
    """Bug: minutes of the clock that reads the rows, not of the readings' own time."""
    return (
        readings.withColumn("seen", F.current_timestamp())
        .groupBy(F.window("seen", "1 minute"), "status")
        .count()
    )


def watermark_on_arrival(readings: DataFrame) -> DataFrame:
    """Bug: the watermark on another column than the window's."""
    return (
        readings.withColumn("arrived", F.current_timestamp())
        .withWatermark("arrived", "20 seconds")
        .groupBy(F.window("event_time", "1 minute"), "status")
        .count()
    )


def sampled(readings: DataFrame) -> DataFrame:
    """Bug: a column that is not a function of the row (a sample by rand())."""
    return readings.filter(F.rand() < 0.9).select("device_id", "event_time", "temperature")
