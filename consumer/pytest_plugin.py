"""pytest fixtures for the tests of a streaming job of one's own, loaded wherever this project is
installed (the `pytest11` entry point `spark_stream_lab_consumer`): `spark_session`, one local
Spark for the whole test session, tuned for tests. A fixture of that name in the user's own
`conftest.py` wins, as pytest's nearer fixtures always do. The files to read come from
`landed` (`generator.pytest_plugin`). Spark is imported only when a test asks for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# what makes a local Spark quick to test with: two cores and two shuffle partitions (not 200),
# no UI, event times printed in UTC as the generator writes them, and a query's temporary
# checkpoint removed even when it fails
TEST_CONF = (
    ("spark.sql.shuffle.partitions", "2"),
    ("spark.ui.enabled", "false"),
    ("spark.sql.session.timeZone", "UTC"),
    ("spark.sql.streaming.forceDeleteTempCheckpointLocation", "true"),
)


@pytest.fixture(scope="session")
def spark_session() -> Iterator[SparkSession]:
    """A local Spark (`local[2]`) for the test session, on loopback, quiet; stopped at the end."""
    from consumer.session import SessionConfig, build_session

    spark = build_session(SessionConfig(app_name="pytest", master="local[2]", conf=TEST_CONF,
                                        quiet=True))  # fmt: skip
    yield spark
    spark.stop()
