"""`consumer files` and `consumer multi` on a real local Spark, reading generated files."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from consumer import files_app, multi_app
from consumer.cli import main
from consumer.inputs import FolderInput
from consumer.output import OutputConfig
from consumer.runner import RunOptions
from generator import PERSON
from generator.files import FilesConfig, run

pytestmark = pytest.mark.spark


def land(folder: Path, files: int, rows: int = 25, seed: int = 1) -> int:
    cfg = FilesConfig(folder, PERSON, seed=seed, rows_per_file=rows, interval=0, files=files,
                      quiet=True)  # fmt: skip
    return run(cfg).rows


def test_files_one_file_per_batch_in_process(spark: Any, tmp_path: Path) -> None:
    rows = land(tmp_path / "in", files=4)
    config = files_app.FilesConsumerConfig(
        source=FolderInput(str(tmp_path / "in"), PERSON),
        run=RunOptions(
            OutputConfig(sink="memory", available_now=True, query_name="files_inproc"), quiet=True
        ),
    )
    err = io.StringIO()
    files_app.run(spark, config, err=err)
    df = spark.table("files_inproc")
    assert df.count() == rows == 100
    # `<=>` is null-safe: a NULL result is a difference, not a pass
    assert df.where("NOT (result <=> concat(fname, '-', age))").count() == 0
    assert df.where("result IS NOT NULL").count() == 100
    assert df.columns == [*PERSON.column_names, "result"]
    assert err.getvalue() == ""  # quiet


def test_a_quoted_value_reads_back_as_written(spark: Any, tmp_path: Path) -> None:
    """The generator quotes as RFC 4180 does (a `"` doubled): the consumer reads it so."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "part-000001.csv").write_text('"Jean ""JG"", Jr",M,Perrin,52,123-45-6789\n')
    assert main(["files", str(folder), "--dataset", "person", "--available-now", "--sink",
                 "memory", "--query-name", "quoted", "--quiet"]) == 0  # fmt: skip
    row = spark.table("quoted").first()
    assert (row.fname, row.mname, row.age) == ('Jean "JG", Jr', "M", 52)


def test_files_cli_batches_and_progress_lines(
    spark: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    land(tmp_path / "in", files=4)
    code = main(["files", str(tmp_path / "in"), "--available-now", "--sink", "memory",
                 "--query-name", "files_cli", "--max-files-per-trigger", "2"])  # fmt: skip
    assert code == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("consumer: files_cli batch")]
    # 4 files, 2 per trigger: exactly two batches of 50 rows, a line each
    assert len(lines) == 2
    assert all(": 50 rows, " in line and "rows/s processed" in line for line in lines)
    assert "Spark UI" in err
    assert spark.table("files_cli").count() == 100


@pytest.mark.slow
def test_each_batch_line_follows_its_own_table(spark: Any, tmp_path: Path) -> None:
    """As a terminal shows them, stdout and stderr in one stream: the table of batch N, then
    its line, then batch N+1's table. Spark hands the line to a listener a little after the
    batch, when the next one may be printing already: here each line takes a second to come
    out, longer than a batch takes."""
    import contextlib

    class SlowLines(io.StringIO):
        def write(self, text: str) -> int:
            if text.startswith("consumer: in_order batch "):
                time.sleep(1)
            return super().write(text)

    land(tmp_path / "in", files=4, rows=5)
    config = files_app.FilesConsumerConfig(
        source=FolderInput(str(tmp_path / "in"), PERSON),
        run=RunOptions(OutputConfig(available_now=True, query_name="in_order", num_rows=2)),
    )
    terminal = SlowLines()
    with contextlib.redirect_stdout(terminal):
        files_app.run(spark, config, err=terminal)
    said = [line for line in terminal.getvalue().splitlines()
            if line.startswith(("Batch: ", "consumer: in_order batch "))]  # fmt: skip
    order = [("table", int(line.split()[1])) if line.startswith("Batch: ")
             else ("line", int(line.split(" batch ")[1].split(":")[0]))
             for line in said]  # fmt: skip
    assert order == [(kind, n) for n in range(4) for kind in ("table", "line")], said
    assert terminal.getvalue().count("only showing top 2 rows") == 4
    assert ": 5 rows, " in said[1]  # the whole file read, though two rows are shown


def test_a_reader_that_leaves_does_not_fail_the_query(spark: Any, tmp_path: Path) -> None:
    """`consumer files DIR | head -5`: once the reader has gone, a table's write is a broken
    pipe; the query goes on to the end (as Spark's console sink did), printing to nowhere."""
    import contextlib
    import sys

    class Gone(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    land(tmp_path / "in", files=3, rows=5)
    config = files_app.FilesConsumerConfig(
        source=FolderInput(str(tmp_path / "in"), PERSON),
        run=RunOptions(OutputConfig(available_now=True, query_name="head"), quiet=True),
    )
    stdout = sys.stdout
    try:
        with contextlib.redirect_stdout(Gone()):
            files_app.run(spark, config, err=io.StringIO())
    finally:
        sys.stdout = stdout
    # no StreamFailed above: the query ran its three batches to the end
    assert not [q for q in spark.streams.active if q.name == "head"]


def test_a_table_cut_short_by_a_stop_is_a_stop_to_spark(spark: Any) -> None:
    """Ctrl-C (or --timeout) stops a query while its console table is read: the count in the
    table's foreachBatch function fails with java.lang.InterruptedException. Spark's rule for
    "stopped, not failed" runs a pattern over the function's Python traceback; the pattern
    recurses once per character, and on py4j's whole stack trace the query's thread died of a
    StackOverflowError (the last lines on the terminal). What the function raises instead is a
    stop to Spark, and a Java failure of another kind stays a failure that says what it was."""
    import traceback

    from py4j.protocol import Py4JJavaError

    from consumer.output import JavaErrorInBatch

    jvm = spark._jvm
    rule = jvm.org.apache.spark.sql.execution.streaming.runtime.StreamExecution

    def sent(error: Py4JJavaError) -> str:  # the text py4j's callback server sends the JVM
        try:
            raise JavaErrorInBatch(error) from None
        except JavaErrorInBatch:
            return traceback.format_exc()

    def a_stop(text: str) -> bool:
        return bool(rule.isInterruptionException(jvm.py4j.Py4JException(text),
                                                 spark.sparkContext._jsc.sc()))  # fmt: skip

    call = "An error occurred while calling o84.count.\n"
    assert a_stop(sent(Py4JJavaError(call, jvm.java.lang.InterruptedException())))
    failed = sent(Py4JJavaError(call, jvm.java.lang.IllegalStateException("no such luck")))
    assert not a_stop(failed)
    assert failed.endswith(": java.lang.IllegalStateException: no such luck\n"), failed
    # why: the same stop with a long stack trace overflows the rule's stack
    trace = "".join(f"\tat org.apache.spark.F{i}.run(F.scala:{i})\n" for i in range(2000))
    with pytest.raises(Py4JJavaError, match="StackOverflowError"):
        a_stop(f"py4j.protocol.Py4JJavaError: {call}: java.lang.InterruptedException\n{trace}")


def test_files_waits_for_the_folder(spark: Any, tmp_path: Path) -> None:
    folder = tmp_path / "later"
    err = io.StringIO()
    config = files_app.FilesConsumerConfig(
        source=FolderInput(str(folder), PERSON),
        run=RunOptions(
            OutputConfig(sink="memory", available_now=True, query_name="files_wait"), quiet=True
        ),
    )
    failures: list[BaseException] = []

    def consume() -> None:
        try:
            files_app.run(spark, config, err=err)
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=consume)
    thread.start()
    deadline = time.monotonic() + 10
    while "waiting for folder" not in err.getvalue():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    land(folder, files=2)
    thread.join(120)
    assert not failures
    assert f"consumer: waiting for folder {folder} to appear" in err.getvalue()
    assert spark.table("files_wait").count() == 50


def test_file_sink_with_checkpoint_resumes_exactly_once(spark: Any, tmp_path: Path) -> None:
    source, out, ckpt = tmp_path / "in", tmp_path / "out", tmp_path / "ckpt"
    first = land(source, files=2, seed=3)
    args = ["files", str(source), "--available-now", "--sink", "parquet", "--output", str(out),
            "--checkpoint", str(ckpt), "--quiet"]  # fmt: skip
    assert main(args) == 0
    second = land(source, files=3, seed=3)  # continues: part-000003 .. 5
    assert main(args) == 0  # the checkpoint knows files 1 and 2: only the new ones are read
    written = spark.read.parquet(str(out))
    assert written.count() == first + second
    assert written.distinct().count() == first + second


@pytest.mark.parametrize("sink", ["csv", "json"])
def test_other_file_sinks(spark: Any, tmp_path: Path, sink: str) -> None:
    land(tmp_path / "in", files=2)
    out = tmp_path / "out"
    args = ["files", str(tmp_path / "in"), "--available-now", "--sink", sink, "--output",
            str(out), "--checkpoint", str(tmp_path / "ckpt"), "--quiet"]  # fmt: skip
    assert main(args) == 0
    reader = spark.read.schema(PERSON.ddl() + ", result STRING")
    written = reader.csv(str(out)) if sink == "csv" else reader.json(str(out))
    assert written.count() == 50


@pytest.mark.slow
def test_processing_time_trigger_spaces_batches(spark: Any, tmp_path: Path) -> None:
    land(tmp_path / "in", files=3)
    log = tmp_path / "progress.jsonl"
    config = files_app.FilesConsumerConfig(
        source=FolderInput(str(tmp_path / "in"), PERSON),
        run=RunOptions(
            OutputConfig(
                sink="memory",
                trigger_seconds=1.0,
                query_name="files_trigger",
                progress_log=str(log),
            ),
            timeout=6.0,
            quiet=True,
        ),
    )
    err = io.StringIO()
    files_app.run(spark, config, err=err)
    assert "6s timeout: stopping" in err.getvalue()
    assert spark.table("files_trigger").count() == 75
    assert not [q for q in spark.streams.active if q.name == "files_trigger"]
    # one file a batch, on the trigger's clock: Spark starts the first batch at once and each
    # next one at the first multiple of the interval after the start of the one before (at once,
    # if that has passed), so no two batches start within one interval of the clock. Seen on
    # the pinned Spark: starts at 05.995, 07.327 (the first batch took longer than 1 s), 08.000
    progress = [json.loads(line)["progress"] for line in log.read_text().splitlines()
                if '"progress"' in line]  # fmt: skip
    data = [p for p in progress if p["numInputRows"] > 0]
    assert [p["numInputRows"] for p in data] == [25, 25, 25]
    starts = [dt.datetime.fromisoformat(p["timestamp"].replace("Z", "+00:00")) for p in data]
    seconds = [int(s.timestamp()) for s in starts]  # the interval of the clock each is in
    assert all(a < b for a, b in pairwise(seconds)), starts


@pytest.mark.slow
def test_multi_two_streams_stopped_by_the_timeout(spark: Any, tmp_path: Path) -> None:
    land(tmp_path / "data" / "subdir1", files=2, seed=1)
    land(tmp_path / "data" / "subdir2", files=2, seed=2)
    err = io.StringIO()
    config = multi_app.MultiConsumerConfig(
        sources=(
            FolderInput(str(tmp_path / "data" / "subdir1"), PERSON),
            FolderInput(str(tmp_path / "data" / "subdir2"), PERSON),
        ),
        run=RunOptions(OutputConfig(sink="memory", query_name="multi"), timeout=8.0),
    )
    multi_app.run(spark, config, err=err)
    assert "8s timeout: stopping" in err.getvalue()
    assert not [q for q in spark.streams.active if q.name.startswith("multi_")]
    upper, lower = spark.table("multi_1"), spark.table("multi_2")
    assert upper.count() == lower.count() == 50
    assert upper.where("fname != upper(fname)").count() == 0
    assert lower.where("fname != lower(fname)").count() == 0
    assert "multi_1 batch 0" in err.getvalue() and "multi_2 batch 0" in err.getvalue()


def test_clean_source_archives_what_spark_has_read_and_the_generator_numbers_on(
    spark: Any, tmp_path: Path
) -> None:
    """Spark's cleanSource moves a batch's files once the next batch commits (so the last
    batch's file stays until the next run); the generator, restarted on the thinned folder,
    numbers on from its manifest instead of reusing names Spark has already seen."""
    folder, archive = tmp_path / "in", tmp_path / "archive"
    land(folder, files=4, rows=10)
    source = FolderInput(str(folder), PERSON, clean_source="archive", archive_dir=str(archive))
    out = tmp_path / "out"
    sink = OutputConfig(sink="parquet", available_now=True, checkpoint=str(tmp_path / "cp"),
                        path=str(out))  # fmt: skip
    config = files_app.FilesConsumerConfig(source=source, run=RunOptions(sink, quiet=True))
    files_app.run(spark, config, err=io.StringIO())
    assert spark.read.parquet(str(out)).count() == 40
    archived = sorted(p.name for p in archive.rglob("part-*.csv"))
    assert archived == ["part-000001.csv", "part-000002.csv", "part-000003.csv"]
    assert sorted(p.name for p in folder.glob("part-*.csv")) == ["part-000004.csv"]
    land(folder, files=2, rows=10)
    assert sorted(p.name for p in folder.glob("part-*.csv")) == [
        "part-000004.csv", "part-000005.csv", "part-000006.csv"]  # fmt: skip
    files_app.run(spark, config, err=io.StringIO())
    assert spark.read.parquet(str(out)).count() == 60  # the new files, each once
    assert len(list(archive.rglob("part-*.csv"))) == 5


def test_clean_source_options_are_checked_before_spark_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "in"
    for extra, message in (
        (["--clean-source", "archive"], "--clean-source archive needs --archive-dir DIR"),
        (["--archive-dir", str(tmp_path / "a")], "--archive-dir goes with --clean-source"),
        (["--clean-source", "archive", "--archive-dir", str(folder / "old")],
         "is inside the folder read"),
    ):  # fmt: skip
        assert main(["files", str(folder), *extra]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
