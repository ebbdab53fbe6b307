"""Every consumer over Spark Connect: a real Connect server started from the installed pyspark
(`SparkConnectServer` from its jars), the consumer a client of it with `--remote`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from consumer.cli import main as consumer_main
from generator.files import FilesConfig, run
from tests.conftest import REPO
from tests.socket_helpers import free_port

pytestmark = [pytest.mark.spark, pytest.mark.slow]
SERVER = "org.apache.spark.sql.connect.service.SparkConnectServer"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYSPARK_PYTHON"] = sys.executable
    env.pop("SPARK_REMOTE", None)
    return env


@pytest.fixture(scope="module")
def connect_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`spark-submit --class SparkConnectServer`, on loopback, as docs/synthetic-source.md says."""
    port = free_port()
    log = tmp_path_factory.mktemp("connect") / "server.log"
    submit = Path(sys.executable).parent / "spark-submit"
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(submit), "--class", SERVER, "--master", "local[2]",
             "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
             "--conf", f"spark.connect.grpc.binding.port={port}",
             "--conf", "spark.ui.enabled=false", "spark-internal"],
            stdout=out, stderr=subprocess.STDOUT, env=_env(),
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while "Spark Connect server started" not in log.read_text():
            assert server.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the Connect server did not start"
            time.sleep(0.5)
        yield f"sc://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()


def consume(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "consumer", *args], cwd=REPO, text=True,
                          capture_output=True, timeout=300, env=_env())  # fmt: skip


def test_a_file_consumer_runs_on_a_connect_server(connect_url: str, tmp_path: Path) -> None:
    rows = run(FilesConfig(tmp_path / "in", "person", seed=3, rows_per_file=40, interval=0,
                           files=3, quiet=True)).rows  # fmt: skip
    proc = consume("files", str(tmp_path / "in"), "--remote", connect_url, "--available-now",
                   "--sink", "parquet", "--output", str(tmp_path / "out"),
                   "--checkpoint", str(tmp_path / "cp"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"on Spark Connect {connect_url}" in proc.stderr
    assert proc.stderr.count("consumer: files batch ") == 3  # the listener's lines, over Connect
    assert consumer_main(["verify", "--manifest", str(tmp_path / "in"), "--sink",
                          str(tmp_path / "out")]) == 0  # fmt: skip
    assert rows == 120


def test_the_synthetic_source_registers_over_connect(connect_url: str, tmp_path: Path) -> None:
    proc = consume("files", "--synthetic", "--dataset", "counter", "--seed", "9", "--rows",
                   "500", "--max-records-per-batch", "200", "--available-now", "--sink",
                   "parquet", "--output", str(tmp_path / "out"), "--checkpoint",
                   str(tmp_path / "cp"), "--remote", connect_url)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.count("files batch ") == 3
    remote = dict(_env(), SPARK_REMOTE=connect_url)  # the environment variable, this time
    proc = subprocess.run(
        [sys.executable, "-m", "consumer", "files", "--synthetic", "--dataset", "counter",
         "--seed", "9", "--rows", "900", "--max-records-per-batch", "200", "--available-now",
         "--sink", "parquet", "--output", str(tmp_path / "out"), "--checkpoint",
         str(tmp_path / "cp")],
        cwd=REPO, text=True, capture_output=True, timeout=300, env=remote,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "on Spark Connect" in proc.stderr and proc.stderr.count("files batch ") == 2
    # 500 rows, then on the same checkpoint on to 900: each row once
    assert consumer_main(["verify", "--seed", "9", "--rows", "900", "--dataset", "counter",
                          "--sink", str(tmp_path / "out")]) == 0  # fmt: skip
