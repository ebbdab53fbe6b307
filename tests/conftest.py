from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
# six real days of the retail set, copied with their attribution (CC BY 4.0): see tests/data
RETAIL_SAMPLE = REPO / "tests" / "data" / "retail-by-day-sample"

# Every JVM the suite starts (its own Spark, each consumer, spark-submit and Connect server it
# runs, the cluster's master, workers and executors) compiles with the client compiler only and
# collects with one thread: its runs are seconds long, most of a JVM's work is compiling its
# start-up, and two cores are shared by three test workers. Nothing Spark computes changes. A
# cold consumer run costs 16.0 -> 9.3 CPU seconds, 10.0 -> 8.0 s wall
# (scripts/bench_jvm_start.py). A setting of the user's own wins.
TEST_JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
# a driver passes them on to the executors a cluster starts for it
os.environ.setdefault("SPARK_SUBMIT_OPTS", f"{TEST_JVM_OPTIONS} "
                      f"'-Dspark.executor.defaultJavaOptions={TEST_JVM_OPTIONS}'")  # fmt: skip
os.environ.setdefault("SPARK_DAEMON_JAVA_OPTS", TEST_JVM_OPTIONS)


def pytest_configure(config: pytest.Config) -> None:
    """The tests send Ctrl-C as a terminal does, to processes a terminal starts: those start with
    Ctrl-C handled. A suite started in the background (`make test &`, a CI runner's job) has it
    ignored, and a process started with Ctrl-C ignored keeps it ignored (the consumer does, as
    the shell's background jobs and nohup expect): without this, each process a test starts
    would inherit the ignoring, and a Ctrl-C sent to it would be lost (measured: SigIgn of a
    pytest worker started from `bash -c '...' &`)."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def spark(spark_session: Any) -> Any:
    """One local Spark for every in-process test (starting one costs seconds): the one the
    project's pytest plugin gives a user's own tests (`consumer/pytest_plugin.py`), at ERROR."""
    # what the processes tests start beside it inherit, as before
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    spark_session.sparkContext.setLogLevel("ERROR")
    return spark_session


@pytest.fixture
def retail_sample() -> Path:
    if not RETAIL_SAMPLE.is_dir():
        pytest.fail(f"the real retail sample is missing: {RETAIL_SAMPLE}")
    return RETAIL_SAMPLE


def _seconds(item: pytest.Item) -> float:
    marker = item.get_closest_marker("slow")
    return float(marker.kwargs.get("seconds", 0)) if marker is not None else 0.0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slow tests first, the longest (`slow(seconds=N)`) first of all, dealt out so that
    each worker starts with its share: xdist's work stealing hands the workers the collection
    in equal runs, one after the other, and a long test at the back of one run would end the
    suite alone (the order is stable otherwise)."""
    items.sort(key=lambda item: (item.get_closest_marker("slow") is None,
                                 item.get_closest_marker("spark") is None,
                                 -_seconds(item)))  # fmt: skip
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    if workers < 2:
        return
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    rest = items[len(slow) :]
    runs: list[list[pytest.Item]] = [slow[k::workers] for k in range(workers)]
    left = len(items)
    for k, run in enumerate(runs):  # the sizes xdist cuts the collection into
        size = left // (workers - k)
        take = max(0, size - len(run))
        run += rest[:take]
        rest = rest[take:]
        left -= size
    runs[-1] += rest
    items[:] = [item for run in runs for item in run]
