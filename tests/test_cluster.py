"""The same consumers on a real Spark standalone cluster, started by scripts/cluster.sh as
lesson 9 starts it: the suite's one cluster."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.socket_helpers import config, running

pytestmark = [pytest.mark.spark, pytest.mark.slow]
CLUSTER = REPO / "scripts" / "cluster.sh"
LESSON = REPO / "docs" / "lessons" / "09-cluster.md"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYSPARK_PYTHON"] = sys.executable
    env["PYTHON"] = sys.executable
    return env


ON_THE_CLUSTER = """
import json, os, sys
from pyspark.sql import SparkSession
from consumer.cli import main
from consumer.source import register
url, port, socket_out = sys.argv[1:]
spark = SparkSession.builder.master(url).appName("on a cluster").getOrCreate()
# one driver for both (a driver and its executors take half a minute to start; the lesson's
# own step runs `consumer files` on the cluster): the socket consumer, its command line as
# given, joining this session ...
socket_code = main(["socket", "--host", "127.0.0.1", "--port", port, "--master", url,
                    "--sink", "parquet", "--output", socket_out, "--checkpoint",
                    socket_out + "-checkpoint"])
# ... and the synthetic source
register(spark)
df = (spark.read.format("synthetic").option("dataset", "person").option("seed", 12)
      .option("rows", 20000).option("numPartitions", 4).load())
# a Python worker runs in its executor's own work folder: where each partition was drawn
where = df.rdd.mapPartitions(lambda rows: [(os.getcwd(), sum(1 for _ in rows))]).collect()
print(json.dumps({"socket_code": socket_code, "where": where,
                  "rows": [list(r) for r in df.collect()]}))
spark.stop()
"""


def test_lesson_9_and_the_consumers_on_its_cluster(spark: Any, tmp_path: Path) -> None:
    """Lesson 9's commands in order, each its own process as a person runs them — land files,
    start a cluster, run `consumer files` on it, stop it — and, on the cluster the lesson
    started, before it stops: the socket consumer and, under the same driver, the
    synthetic source drawing on both executors."""
    from tests.test_lessons import steps

    commands, env = steps(LESSON, tmp_path)
    state = tmp_path / "09" / "cluster"
    url, pids, checked = None, [], False
    try:
        for _, command, _ in commands:
            if "cluster.sh stop" in command:
                assert url is not None
                check_the_consumers_on(url, spark, tmp_path)
                checked = True
            done = subprocess.run(command, shell=True, cwd=REPO, env=env, capture_output=True,
                                  text=True, timeout=400)  # fmt: skip
            assert done.returncode == 0, f"`{command}`: {done.stderr[-3000:]}"
            if "cluster.sh start" in command:
                url = done.stdout.strip().splitlines()[-1]
                assert url.startswith("spark://127.0.0.1:")
                pids = [int(p.read_text()) for p in state.glob("*.pid")]
                assert len(pids) == 3  # a master and two workers
                status = subprocess.run(["bash", str(CLUSTER), "status", "--dir", str(state)],
                                        capture_output=True, text=True)  # fmt: skip
                assert "master: running" in status.stdout
                assert "worker-2: running" in status.stdout
            if "consumer files" in command:  # what you will see: six batches, on the cluster
                assert done.stderr.count("consumer: files batch ") == 6, done.stderr[-3000:]
                assert f"on {url}" in done.stderr
        assert checked
    finally:
        subprocess.run(["bash", str(CLUSTER), "stop", "--dir", str(state)], capture_output=True,
                       timeout=60, env=env)  # fmt: skip
    # nothing it started is left running
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    status = subprocess.run(["bash", str(CLUSTER), "status", "--dir", str(state)],
                            capture_output=True, text=True)  # fmt: skip
    assert "no cluster started" in status.stdout


def check_the_consumers_on(cluster: str, spark: Any, tmp_path: Path) -> None:
    import json

    from generator.datasets import PERSON as person
    from generator.rows import table

    with running(config(rate=2000, count=4000)) as server:
        proc = subprocess.run(
            [sys.executable, "-c", ON_THE_CLUSTER, cluster, str(server.port),
             str(tmp_path / "socket-out")],
            cwd=REPO, capture_output=True, text=True, timeout=400, env=_env(),
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    # the socket consumer: ends (exit 1) when the server has sent its rows and gone
    assert got["socket_code"] == 1 and "went away" in proc.stderr
    written = spark.read.parquet(str(tmp_path / "socket-out"))
    assert written.count() == 4000
    assert written.where("age IS NULL").count() == 0
    assert f"on {cluster}" in proc.stderr
    # the synthetic source
    executors = {folder for folder, _ in got["where"]}
    assert len(executors) == 2, executors  # both executors drew rows
    assert sum(n for _, n in got["where"]) == 20000
    # and the rows are the local run's: the seed's sequence, drawn here without Spark
    local = table(person, 12, 0, 20000).to_pylist()
    assert got["rows"] == [list(r.values()) for r in local]
