"""The job's own tests, as its author writes them. The fixtures `landed` (generated files in a
folder of the test's) and `spark_session` (one local Spark for the session) come with
spark-stream-lab wherever it is installed; `check_query` runs the job as a stream and holds
its result against the same query without streaming.

    python -m pytest examples/test_sensor_job.py
"""

from __future__ import annotations

from typing import Any

import sensor_job

from consumer.testing import check_query

# readings out of order, 15 % of them up to four minutes late
LATE: dict[str, Any] = {"speed": 30, "disorder": 5, "late_fraction": 0.15, "max_lateness": 240}


def test_the_job_agrees_with_the_same_query_without_streaming(spark_session, landed) -> None:
    folder = landed("sensor", files=6, rows_per_file=100, **LATE)
    result = check_query(spark_session, sensor_job.per_minute, folder)
    assert result.agree, result.explain()
    assert result.dropped_late > 0  # late readings came, and the watermark dropped them


def test_the_job_agrees_after_a_restart(spark_session, landed) -> None:
    folder = landed("sensor", files=6, rows_per_file=100, **LATE)
    result = check_query(spark_session, sensor_job.per_minute, folder, restart_at=[2])
    assert result.agree, result.explain()


def test_a_sample_by_rand_is_caught(spark_session, landed) -> None:
    result = check_query(spark_session, sensor_job.sampled, landed("sensor", files=3))
    assert not result.agree
    assert "rand()" in result.explain()
