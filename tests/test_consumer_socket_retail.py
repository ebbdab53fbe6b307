"""`consumer socket` against the real server; `consumer retail` on real and generated days."""

from __future__ import annotations

import io
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from consumer import retail_app
from consumer.cli import main
from consumer.inputs import FolderInput
from consumer.output import OutputConfig
from consumer.runner import RunOptions
from generator import RETAIL
from generator.files import FilesConfig, run
from tests.socket_helpers import config, free_port, running

pytestmark = pytest.mark.spark


def test_socket_consumer_waits_for_the_server_then_ends_when_it_goes(
    spark: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    result: list[int] = []
    args = ["socket", "--host", "127.0.0.1", "--port", str(port), "--sink", "memory",
            "--query-name", "socket_cli", "--connect-timeout", "60"]  # fmt: skip
    consumer = threading.Thread(target=lambda: result.append(main(args)))
    consumer.start()
    # the consumer starts first and has to wait: that is what is under test
    err = ""
    deadline = time.monotonic() + 60
    while f"no server on 127.0.0.1:{port} yet" not in err:
        assert time.monotonic() < deadline, err
        time.sleep(0.1)
        err += capsys.readouterr().err
    with running(config(port=port, rate=400, count=1200)) as server:
        consumer.join(120)
        assert server.served == 1  # Spark itself, and nothing else
    assert result == [1]  # the server went away: said, and exit non-zero
    err += capsys.readouterr().err
    assert f"the server on 127.0.0.1:{port} went away" in err
    rows = spark.table("socket_cli")
    assert rows.count() == 1200
    assert rows.columns == ["fname", "mname", "lname", "age", "ssn"]
    assert rows.where("age IS NULL OR ssn IS NULL").count() == 0


def test_socket_consumer_gives_up_after_connect_timeout(
    capsys: pytest.CaptureFixture[str], spark: Any
) -> None:
    port = free_port()
    code = main(["socket", "--port", str(port), "--connect-timeout", "1", "--quiet"])
    assert code == 1
    err = capsys.readouterr().err
    assert f"consumer: no server on localhost:{port} after 1s" in err
    assert "Traceback" not in err


def _rows(df: Any) -> set[tuple[object, ...]]:
    return {
        (r["CustomerId"], r["window"].start, r["window"].end, round(r["sum(total_cost)"], 6))
        for r in df.collect()
    }


def _stream_equals_static(spark: Any, folder: Path, name: str, window: str = "1 day") -> int:
    cfg = retail_app.RetailConsumerConfig(
        source=FolderInput(str(folder), RETAIL),
        run=RunOptions(
            OutputConfig(sink="memory", available_now=True, query_name=name, num_rows=3),
            quiet=True,
        ),
        window=window,
    )
    retail_app.run(spark, cfg, err=io.StringIO())
    streamed = _rows(spark.table(name))
    static = _rows(retail_app.static_result(spark, cfg))
    assert streamed == static
    return len(static)


def test_retail_stream_equals_static_on_the_real_days(
    spark: Any, retail_sample: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "by-day"
    shutil.copytree(retail_sample, folder)
    assert _stream_equals_static(spark, folder, "retail_real") > 100


@pytest.mark.slow
def test_retail_stream_equals_static_on_generated_days(spark: Any, tmp_path: Path) -> None:
    run(FilesConfig(tmp_path, RETAIL, seed=5, interval=0, files=6, quiet=True))
    assert _stream_equals_static(spark, tmp_path, "retail_generated") > 100
    hourly = _stream_equals_static(spark, tmp_path, "retail_hourly", window="1 hour")
    assert hourly > _rows(spark.table("retail_generated")).__len__()


def test_retail_memory_sink_is_queried_as_in_the_book(
    spark: Any, retail_sample: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["retail", str(retail_sample), "--available-now", "--sink", "memory",
                 "--num-rows", "5", "--quiet"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "sum(total_cost)" in out and "only showing top 5 rows" in out
    top = spark.sql("SELECT * FROM customer_purchases ORDER BY `sum(total_cost)` DESC").first()
    assert top is not None and top["sum(total_cost)"] > 1000


def test_retail_static(retail_sample: Path, capsys: pytest.CaptureFixture[str], spark: Any) -> None:
    assert main(["retail", str(retail_sample), "--static", "--num-rows", "3", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "CustomerId" in out and "window" in out and "only showing top 3 rows" in out
