"""`consumer.testing.check_query` on real Spark: a query of one's own against the same query
without streaming (docs/testing.md, "Check your own query")."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from consumer.testing import CannotCheck, check_query

pytestmark = [pytest.mark.spark]

LATE = {"speed": 30, "disorder": 5, "late_fraction": 0.15, "max_lateness": 240}


@pytest.fixture(scope="module")
def sensor(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight files of sensor readings, out of order, 15 % up to four minutes late, with the
    answer key of a one-minute window under a 20 s watermark."""
    import datetime as dt

    from generator.clock import EventTime
    from generator.files import FilesConfig, run

    folder = tmp_path_factory.mktemp("check") / "sensor"
    run(FilesConfig(folder, "sensor", seed=1, rows_per_file=100, interval=0, files=8, quiet=True,
                    event_time=EventTime(start=dt.datetime(2026, 1, 1), truth_window=60,
                                         truth_watermark=20, **LATE)))  # fmt: skip
    return folder


def windowed_sum(df: Any) -> Any:
    from pyspark.sql import functions as F

    return (df.withWatermark("event_time", "20 seconds")
            .groupBy(F.window("event_time", "1 minute"), "status")
            .agg(F.count("*").alias("n"), F.sum("temperature").alias("kwh")))  # fmt: skip


def test_a_windowed_sum_over_late_rows_agrees_and_counts_the_late_rows_as_the_key(
    spark: Any, sensor: Path
) -> None:
    import json

    result = check_query(spark, windowed_sum, sensor)
    print("\n".join(result.lines()))
    assert result.agree, result.explain()
    assert len(result.streamed) > 5
    truth = [json.loads(line) for line in (sensor / "_truth.jsonl").read_text().splitlines()]
    assert result.dropped_late == sum(w.get("late", 0) for w in truth if "window_start" in w) > 0
    assert result.lines()[0] == f"dropped as late: {result.dropped_late}"
    assert result.lines()[-1].startswith("agree")
    assert [b.batch for b in result.batches if b.files] == list(range(8))


def sliding_sum(df: Any) -> Any:
    from pyspark.sql import functions as F

    return (df.withWatermark("event_time", "20 seconds")
            .groupBy(F.window("event_time", "1 minute", "20 seconds"))
            .agg(F.sum("humidity").alias("h"), F.max("temperature").alias("top")))  # fmt: skip


def hot(df: Any) -> Any:
    return df.filter("temperature > 20").select("device_id", "event_time", "temperature")


def by_status(df: Any) -> Any:
    return df.groupBy("status").agg({"temperature": "avg", "*": "count"})


def windowed_count(df: Any) -> Any:
    from pyspark.sql import functions as F

    return (df.withWatermark("event_time", "20 seconds")
            .groupBy(F.window("event_time", "1 minute")).count())  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    ("query", "mode", "per_trigger", "restart_at"),
    [
        (sliding_sum, "append", 1, ()),
        (hot, "append", 2, (1,)),
        (by_status, "update", 1, ()),
        (windowed_sum, "update", 1, ()),
        (windowed_count, "complete", 1, ()),
        (windowed_sum, "append", 1, (2,)),
        (by_status, "update", 1, (4,)),
    ],
    ids=lambda v: getattr(v, "__name__", str(v)),
)
def test_queries_of_each_shape_agree(
    spark: Any, sensor: Path, query: Callable[[Any], Any], mode: Any, per_trigger: int,
    restart_at: tuple[int, ...],
) -> None:  # fmt: skip
    result = check_query(spark, query, sensor, output_mode=mode,
                         max_files_per_trigger=per_trigger, restart_at=restart_at)  # fmt: skip
    assert result.agree, "\n".join(result.lines())
    assert len(result.streamed) > 2


def on_processing_time(df: Any) -> Any:
    from pyspark.sql import functions as F

    return (df.withColumn("seen", F.current_timestamp())
            .groupBy(F.window("seen", "1 minute"), "status").count())  # fmt: skip


def sampled(df: Any) -> Any:
    from pyspark.sql import functions as F

    return df.filter(F.rand() < 0.5)


def watermark_elsewhere(df: Any) -> Any:
    from pyspark.sql import functions as F

    return (df.withColumn("seen", F.current_timestamp()).withWatermark("seen", "10 seconds")
            .groupBy(F.window("event_time", "1 minute")).count())  # fmt: skip


def test_the_classic_bugs_are_caught(spark: Any, sensor: Path) -> None:
    from pyspark.errors import AnalysisException

    for query, mode, said in ((on_processing_time, "update", "current_timestamp()"),
                              (sampled, "append", "rand()")):  # fmt: skip
        result = check_query(spark, query, sensor, output_mode=mode)
        lines = result.lines()
        assert not result.agree and lines[-1].startswith("DIFFER"), lines
        assert any(said in line for line in lines), lines
    # Spark itself refuses a window on another column than the watermark's, in append mode
    with pytest.raises(AnalysisException, match="without watermark"):
        check_query(spark, watermark_elsewhere, sensor)
    # in update mode it runs, its watermark on a time computed anew in each micro-batch
    result = check_query(spark, watermark_elsewhere, sensor, output_mode="update")
    assert not result.agree and "current_timestamp()" in result.explain()


def test_what_the_twin_cannot_stand_in_for_is_refused(spark: Any, sensor: Path) -> None:
    from pyspark.sql import functions as F

    def sessions(df: Any) -> Any:
        session = F.session_window("event_time", "30 seconds")
        return (df.withWatermark("event_time", "20 seconds")
                .groupBy(session, "device_id").count())  # fmt: skip

    def self_join(df: Any) -> Any:
        left = df.withWatermark("event_time", "20 seconds").alias("a")
        right = df.withWatermark("event_time", "20 seconds").alias("b")
        return left.join(right, F.expr("a.device_id = b.device_id AND "
                                       "a.event_time = b.event_time"))  # fmt: skip

    for query, said in ((sessions, "session windows"), (self_join, "a join of two streams")):
        with pytest.raises(CannotCheck, match=said):
            check_query(spark, query, sensor)


def test_bad_options_and_folders_are_one_line(spark: Any, sensor: Path, tmp_path: Path) -> None:
    from generator.errors import UsageError

    for kwargs, said in (({"output_mode": "upsert"}, "--output-mode: must be one of"),
                         ({"max_files_per_trigger": 0}, "--max-files-per-trigger"),
                         ({"restart_at": (3, 1)}, "increasing order"),
                         ({"restart_at": (7,)}, "batches 0 to 7")):  # fmt: skip
        with pytest.raises(UsageError, match=said):
            check_query(spark, hot, sensor, **kwargs)
    with pytest.raises(CannotCheck, match="not a folder"):
        check_query(spark, hot, tmp_path / "nothing")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "a.csv").write_text("x\n")
    with pytest.raises(CannotCheck, match="does not say what it holds"):
        check_query(spark, hot, tmp_path / "mine")


def test_dropduplicates_within_a_watermark_agrees(spark: Any, landed: Callable[..., Path]) -> None:
    """Events sent twice (the same id and time, up to 100 rows later): the stream keeps the
    first copy of each not late for its batch's watermark; Spark counts the same late rows."""
    from pyspark.sql import functions as F

    events = landed("activity", files=6, rows_per_file=100, duplicates=0.1, **LATE)

    def dedup(df: Any) -> Any:
        return (df.withWatermark("event_time", "20 seconds")
                .dropDuplicates(["eventId", "event_time"])
                .withColumn("page", F.upper("page")))  # fmt: skip

    result = check_query(spark, dedup, events)
    assert result.agree, "\n".join(result.lines())
    assert len(result.streamed) < sum(b.rows_in for b in result.batches) - (
        result.dropped_late or 0
    )
    spark_dropped = sum(o.get("numRowsDroppedByWatermark", 0) for p in result.progress
                        for o in p.get("stateOperators") or [])  # fmt: skip
    assert result.dropped_late == spark_dropped > 0


JOB = """
from pyspark.sql import functions as F


def per_minute(df):
    return (df.withWatermark("event_time", "20 seconds")
            .groupBy(F.window("event_time", "1 minute"), "status")
            .agg(F.avg("temperature").alias("mean")))


def sampled(df):
    return df.filter(F.rand() < 0.5)


def fahrenheit(celsius):
    return celsius * 9 / 5 + 32


def with_udf(df):  # a function of the file's own, sent to Spark's workers
    return df.select("device_id", F.udf(fahrenheit, "double")("temperature").alias("f"))


def failing(df):
    return df.select(F.udf(lambda t: 1 / 0, "double")("temperature").alias("x"))


def sessions(df):
    return (df.withWatermark("event_time", "20 seconds")
            .groupBy(F.session_window("event_time", "30 seconds")).count())
"""


def test_the_command_prints_the_verdict_last_and_writes_the_report(
    spark: Any, sensor: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from consumer.cli import main

    job = tmp_path / "job.py"
    job.write_text(JOB)
    report = tmp_path / "check.html"
    assert main(["check", f"{job}:per_minute", str(sensor), "--report", str(report)]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == "dropped as late: 64" and lines[-1].startswith("agree: ")
    assert err == f"consumer: report written to {report}\n"
    page = report.read_text()
    assert "The check: agree" in page and "the same query without streaming" in page
    assert "No row differs" in page and "Red crosses (" in page  # the picture of the late rows
    assert "<td>part-000008.csv</td>" in page  # batch by batch, the files read
    assert main(["check", f"{job}:sampled", str(sensor), "--max-files-per-trigger", "4"]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines()[-1].startswith("DIFFER: ") and "rand()" in out and err == ""
    assert main(["check", f"{job}:sessions", str(sensor)]) == 2
    out, err = capsys.readouterr()
    assert err.startswith("consumer: error: the same query without streaming does not give the "
                          "result of session windows") and err.count("\n") == 1  # fmt: skip
    assert main(["check", f"{job}:with_udf", str(sensor), "--max-files-per-trigger", "4"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("agree: 800 rows")
    assert main(["check", f"{job}:failing", str(sensor), "--max-files-per-trigger", "8"]) == 1
    out, err = capsys.readouterr()
    assert err == "consumer: query checked failed: ZeroDivisionError: division by zero\n", err
    assert main(["check", f"{job}:nope", str(sensor)]) == 2
    assert capsys.readouterr().err == f"consumer: error: {job} has no function nope\n"
    assert main(["check", f"{job}:per_minute", str(sensor), "--restart-at", "7"]) == 2
    assert capsys.readouterr().err == ("consumer: error: --restart-at 7: the folder's 8 files "
                                       "make batches 0 to 7 (1 file a batch), and a restart "
                                       "needs a batch after it\n")  # fmt: skip


@pytest.mark.slow
def test_python_m_consumer_check_in_a_terminal(sensor: Path, tmp_path: Path) -> None:
    """As a person runs it: a process with a cold JVM, from another folder than the job's, the
    job importing a module of its own beside it (Spark's Python workers import it too)."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    (tmp_path / "units.py").write_text("def fahrenheit(celsius):\n    return celsius * 1.8 + 32\n")
    (tmp_path / "job.py").write_text(
        "from pyspark.sql import functions as F\n"
        "from units import fahrenheit\n\n\n"
        "def per_minute(df):\n"
        "    hot = df.withColumn('f', F.udf(lambda c: fahrenheit(c), 'double')('temperature'))\n"
        "    return (hot.withWatermark('event_time', '20 seconds')\n"
        "            .groupBy(F.window('event_time', '1 minute'), 'status').agg(F.avg('f')))\n"
    )  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "consumer", "check",
                           f"{tmp_path / 'job.py'}:per_minute", str(sensor), "--restart-at", "3"],
                          cwd=REPO, timeout=300, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # nothing of Spark's: no log line at the restart
    assert done.stdout.splitlines()[-1].startswith("agree: ")


@pytest.mark.slow
def test_the_synthetic_source_is_checked_by_its_offsets(spark: Any) -> None:
    """Rows made inside Spark: a batch's input is its range of the seed's sequence (the
    offsets), the twin draws rows [0, end) in a batch read on the clock the stream recorded
    (a restart: the command's test below)."""
    import datetime as dt

    from consumer.inputs import SyntheticInput
    from generator.clock import EventTime
    from generator.datasets import get_dataset

    drawn = SyntheticInput(get_dataset("sensor"), seed=3, rows=400, max_records=100, rate=20,
                           event_time=EventTime(start=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                                                **LATE))  # fmt: skip
    result = check_query(spark, windowed_sum, drawn)
    assert result.agree, "\n".join(result.lines())
    assert [b.files for b in result.batches[:2]] == [("rows 0 to 99",), ("rows 100 to 199",)]
    assert (result.dropped_late or 0) > 0 and len(result.streamed) > 5
    with pytest.raises(CannotCheck, match="--synthetic needs --rows N"):
        check_query(spark, hot, SyntheticInput(get_dataset("sensor")))


@pytest.mark.slow
def test_the_command_checks_the_synthetic_source(
    spark: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from consumer.cli import main

    job = tmp_path / "job.py"
    job.write_text(JOB)
    drawn = ["--synthetic", "--rows", "400", "--max-records-per-batch", "100", "--rate", "20",
             "--start", "2026-01-01T00:00:00", "--speed", "30", "--disorder", "5",
             "--late-fraction", "0.15", "--max-lateness", "240"]  # fmt: skip
    assert main(["check", f"{job}:per_minute", *drawn, "--restart-at", "1"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("agree: ")
    assert main(["check", f"{job}:per_minute", *drawn, "--max-files-per-trigger", "2"]) == 2
    assert "--max-files-per-trigger is for a folder" in capsys.readouterr().err
    assert main(["check", f"{job}:per_minute", "--synthetic"]) == 2
    assert (
        capsys.readouterr().err == "consumer: error: --synthetic needs --rows N: where the "
        "stream ends\n"
    )


def renamed_after(df: Any) -> Any:  # the window renamed, and a filter on the groups (HAVING)
    return windowed_sum(df).withColumnRenamed("window", "minute").filter("n < 6")


def renamed(df: Any) -> Any:
    return windowed_sum(df).withColumnRenamed("window", "minute")


def window_first(df: Any) -> Any:  # the window made before the groupBy: out of the plan as written
    from pyspark.sql import functions as F

    return (df.withWatermark("event_time", "20 seconds")
            .withColumn("w", F.window("event_time", "1 minute", "20 seconds"))
            .groupBy("w").agg(F.max("humidity").alias("h")))  # fmt: skip


def dedup_by_reading(df: Any) -> Any:  # late rows dropped (by event time), state kept for ever
    return (df.withWatermark("event_time", "20 seconds")
            .dropDuplicates(["device_id", "temperature"]))  # fmt: skip


def per_status_late(df: Any) -> Any:  # a watermark, a groupBy without it: nothing dropped
    return df.withWatermark("event_time", "20 seconds").groupBy("status").count()


def with_static(df: Any) -> Any:  # a stream-static join holds no state (its table's does not count)
    statuses = df.sparkSession.createDataFrame([("ok", 1), ("warn", 2), ("ok", 3)],
                                               "status STRING, level INT")  # fmt: skip
    return df.join(statuses.groupBy("status").count(), "status")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("query", "mode"),
    [(renamed_after, "append"), (renamed, "update"), (window_first, "append"),
     (dedup_by_reading, "append"), (per_status_late, "update"), (with_static, "update")],
    ids=lambda v: getattr(v, "__name__", str(v)),
)  # fmt: skip
def test_shapes_the_plan_as_written_hides_agree(
    spark: Any, sensor: Path, query: Callable[[Any], Any], mode: Any
) -> None:
    result = check_query(spark, query, sensor, output_mode=mode)
    assert result.agree, "\n".join(result.lines())
    assert len(result.streamed) > 2
    if query is per_status_late:  # Spark counts every row: 800
        assert result.dropped_late == 0 and sum(n for _, n in result.streamed) == 800
        assert result.notes == ["the watermark on event_time drops no rows here: the "
                                "aggregation does not group by its column"]  # fmt: skip
    elif query is not with_static:
        assert (result.dropped_late or 0) > 0


def test_a_filter_on_groups_in_update_mode_is_caught(spark: Any, sensor: Path) -> None:
    """Update mode writes a group each time it changes and never takes a row back: a group that
    passed the filter once and outgrew it stays in the sink with its old value."""
    result = check_query(spark, renamed_after, sensor, output_mode="update")
    assert not result.agree and result.unexpected and not result.missing


@pytest.mark.slow
def test_ctrl_c_stops_a_check_cleanly_without_a_verdict(tmp_path: Path) -> None:
    """Ctrl-C as a terminal sends it, while the stream runs: one line, no Java stack (a batch
    cut short is told to Spark as a stop), exit 1: a check that did not finish never agrees."""
    import os
    import pty
    import select
    import signal
    import sys
    import time

    from generator.files import FilesConfig, run
    from tests.conftest import REPO

    run(FilesConfig(tmp_path / "many", "sensor", seed=1, rows_per_file=100, interval=0,
                    files=60, quiet=True))  # fmt: skip
    started = tmp_path / "started"
    (tmp_path / "job.py").write_text(
        "from pyspark.sql import functions as F\n\n\n"
        "def per_minute(df):\n"
        f"    open({str(started)!r}, 'w').close()\n"
        "    return (df.withWatermark('event_time', '20 seconds')\n"
        "            .groupBy(F.window('event_time', '1 minute')).count())\n"
    )  # fmt: skip
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command, on a terminal
        os.chdir(REPO)
        job = f"{tmp_path / 'job.py'}:per_minute"
        os.execv(sys.executable, [sys.executable, "-m", "consumer", "check", job,
                                  str(tmp_path / "many")])  # fmt: skip
    said, sent, deadline = b"", None, time.monotonic() + 240
    while time.monotonic() < deadline:
        if sent is None and started.exists():
            time.sleep(3)  # batches under way
            os.kill(pid, signal.SIGINT)
            sent = time.monotonic()
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            said += chunk
    _, status = os.waitpid(pid, 0)
    text = said.decode(errors="replace").replace("\r\n", "\n")
    assert sent is not None, text
    assert os.waitstatus_to_exitcode(status) == 1, text
    assert text.endswith("consumer: interrupted: stopping\n"
                         "consumer: the check did not finish: no verdict\n"), text  # fmt: skip
    assert "Exception" not in text and "agree" not in text
