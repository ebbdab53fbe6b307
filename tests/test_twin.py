"""What a correct stream computes, found by experiment on the pinned Spark: the rule a check of a
user's own query stands on (docs/testing.md, "What a correct stream computes").

A stream reads a folder one file per micro-batch; the rows it keeps are those not late for the
watermark in force at the batch that read them (the answer keys' rule, `Lateness`, over the
files of each batch from the checkpoint and the watermarks from the progress). Fed those rows in
one micro-batch, the same query gives the same rows for tumbling windows and for dropDuplicates
within a watermark: the no-streaming twin. Sliding windows judge lateness per (row, window)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from consumer.report.spark_state import files_per_batch, watermarks
from generator.answers import Lateness
from generator.clock import EventTime
from generator.files import FilesConfig, run

pytestmark = [pytest.mark.spark, pytest.mark.slow]

SENSOR = (
    "device_id STRING, event_time TIMESTAMP, temperature DOUBLE, humidity DOUBLE, status STRING"
)
ACTIVITY = "eventId STRING, userId STRING, event_time TIMESTAMP, action STRING, page STRING"


Run = tuple[list[Any], list[dict[str, Any]]]  # the rows written, the progress


def _stream(spark: Any, query: Callable[[Any], Any], folder: Path, checkpoint: Path, name: str,
            per_trigger: int, schema: str = SENSOR) -> Run:  # fmt: skip
    df = spark.readStream.schema(schema).option("maxFilesPerTrigger", per_trigger).csv(str(folder))
    q = (query(df).writeStream.format("memory").queryName(name).outputMode("append")
         .option("checkpointLocation", str(checkpoint))
         .trigger(availableNow=True).start())  # fmt: skip
    q.awaitTermination()
    return spark.table(name).collect(), [json.loads(p.json) for p in q.recentProgress]


def _times(lines: list[str], column: int = 1) -> np.ndarray:
    def seconds(line: str) -> float:
        when = dt.datetime.strptime(line.split(",")[column], "%Y-%m-%d %H:%M:%S")
        return when.replace(tzinfo=dt.UTC).timestamp()

    return np.asarray([seconds(line) for line in lines], dtype=np.int64)


def _batches(checkpoint: Path, progress: list[dict[str, Any]]) -> list[tuple[int, list[str]]]:
    """(the watermark the batch's rows are judged by, the batch's lines), batch by batch."""
    files, marks = files_per_batch(checkpoint, 0, progress), watermarks(progress)
    return [(marks.get(b - 1, 0), [line for path in files[b]
                                   for line in path.read_text().splitlines() if line])
            for b in sorted(files)]  # fmt: skip


# sensor readings out of order, 15 % up to four minutes late
CLOCK = EventTime(
    start=dt.datetime(2026, 1, 1), speed=30, disorder=5, late_fraction=0.15, max_lateness=240
)


def _sensor(folder: Path, seed: int) -> None:
    run(FilesConfig(folder, "sensor", seed=seed, rows_per_file=100, interval=0, files=8,
                    quiet=True, event_time=CLOCK))  # fmt: skip


def _kept(checkpoint: Path, progress: list[dict[str, Any]], late: Lateness,
          column: int = 1) -> tuple[list[str], int]:  # fmt: skip
    """The lines the stream was entitled to use, by the answer keys' rule; how many it lost."""
    kept, dropped = [], 0
    for watermark, lines in _batches(checkpoint, progress):
        flags = late.late(_times(lines, column), watermark)
        dropped += int(flags.sum())
        kept += [line for line, flag in zip(lines, flags, strict=True) if not flag]
    return kept, dropped


def _twin(spark: Any, query: Callable[[Any], Any], kept: list[str], root: Path, name: str,
          schema: str = SENSOR) -> list[Any]:  # fmt: skip
    """What the same query writes fed the kept lines in one micro-batch."""
    (root / f"kept-{name}").mkdir()
    (root / f"kept-{name}" / "kept.csv").write_text("\n".join(kept) + "\n")
    rows, _ = _stream(spark, query, root / f"kept-{name}", root / f"twin-{name}", f"twin_{name}",
                      len(kept), schema)  # fmt: skip
    return rows


def test_the_no_streaming_twin_is_exact_for_tumbling_windows_and_dedup(
    spark: Any, tmp_path: Path
) -> None:
    from pyspark.sql import functions as F

    data, events = tmp_path / "sensor", tmp_path / "activity"
    _sensor(data, seed=1)
    # events sent twice (the same id and time, up to 100 rows later): dedup has work to do
    run(FilesConfig(events, "activity", seed=1, rows_per_file=100, interval=0, files=8,
                    quiet=True, duplicates=0.1, event_time=CLOCK))  # fmt: skip
    shapes = {
        "tumbling": (data, SENSOR, 1, Lateness("window", 60),
                     lambda df: df.withWatermark("event_time", "20 seconds")
                     .groupBy(F.window("event_time", "1 minute"), "status")
                     .agg(F.count("*").alias("n"), F.sum("temperature").alias("t"))),
        "dedup": (events, ACTIVITY, 2, Lateness("event"),
                  lambda df: df.withWatermark("event_time", "20 seconds")
                  .dropDuplicates(["eventId", "event_time"])),
    }  # fmt: skip
    dropped_by = {}
    for shape, (folder, schema, column, late, query) in shapes.items():
        streamed, progress = _stream(spark, query, folder, tmp_path / shape, f"stream_{shape}", 1,
                                     schema)  # fmt: skip
        kept, dropped = _kept(tmp_path / shape, progress, late, column)
        twin = _twin(spark, query, kept, tmp_path, shape, schema)
        assert len(streamed) == len(twin) > 5 and dropped > 0, shape
        if shape == "dedup":
            assert len(streamed) < len(kept) - 40, "no duplicates dropped"  # ~10 % of 800
        dropped_by[shape] = dropped
        for one, two in zip(sorted(streamed, key=str), sorted(twin, key=str), strict=True):
            for key, value in one.asDict().items():
                if isinstance(value, float):  # a sum in another order: the last bits differ
                    assert value == pytest.approx(two[key], rel=1e-9), (shape, one, two)
                else:
                    assert value == two[key], (shape, one, two)
        spark_dropped = sum(o.get("numRowsDroppedByWatermark", 0)
                            for p in progress for o in p.get("stateOperators") or [])  # fmt: skip
        # Spark counts dropped rows after the partial aggregation (once per window and
        # partition), the rows themselves for dropDuplicates
        assert (spark_dropped < dropped) if shape == "tumbling" else (spark_dropped == dropped)
    # the answer key the generator wrote counts the same rows late
    truth = [json.loads(line) for line in (data / "_truth.jsonl").read_text().splitlines()]
    assert dropped_by["tumbling"] == sum(w.get("late", 0) for w in truth if "window_start" in w)


def test_sliding_windows_judge_lateness_per_row_and_window(spark: Any, tmp_path: Path) -> None:
    """A row whose earlier window has closed still counts in its later one: a row-level twin is
    not exact for sliding windows; a window's count is its rows read while it was open."""
    from pyspark.sql import functions as F

    data = tmp_path / "data"
    _sensor(data, seed=2)

    def query(df: Any) -> Any:
        return (df.withWatermark("event_time", "20 seconds")
                .groupBy(F.window("event_time", "1 minute", "30 seconds")).count())  # fmt: skip

    streamed, progress = _stream(spark, query, data, tmp_path / "ck", "sliding", 1)
    counts: dict[int, int] = {}
    for watermark, lines in _batches(tmp_path / "ck", progress):
        for t in _times(lines).tolist():
            for start in (t // 30 * 30 - 30, t // 30 * 30):  # the two windows holding t
                if start + 60 > watermark:  # open when the row was read
                    counts[start] = counts.get(start, 0) + 1
    final = max(watermarks(progress).values())
    expected = sorted((s, n) for s, n in counts.items() if s + 60 <= final)
    # collect() gives the machine's own time: a naive datetime's timestamp() reads it so
    got = sorted((int(r["window"]["start"].timestamp()), r["count"])
                 for r in streamed)  # fmt: skip
    assert got == expected and len(got) > 5


def test_a_restart_is_checked_against_its_own_batches(spark: Any, tmp_path: Path) -> None:
    """The same windowed query, one file per batch, into a parquet sink (which survives a
    restart), stopped after batch 2 (availableNow over the first three files) and started again
    on its checkpoint once the other files are there. Its first run ends with a batch without
    data that moves the watermark on, so the next file is judged by a newer watermark than in a
    run that never stopped: the two write different counts. Each equals the twin of its own
    batches: a check of a restarted run judges it by the watermarks it had, from its progress."""
    import os
    import shutil
    import time

    from pyspark.sql import functions as F

    data = tmp_path / "data"
    _sensor(data, seed=3)
    files = sorted(data.glob("part-*.csv"))
    now = time.time() - 100

    def copy(names: list[Path], into: Path) -> None:  # modification times in landing order
        into.mkdir(exist_ok=True)
        for path in names:
            shutil.copy(path, into / path.name)
            os.utime(into / path.name, (now + files.index(path),) * 2)

    def query(df: Any) -> Any:
        return (df.withWatermark("event_time", "20 seconds")
                .groupBy(F.window("event_time", "1 minute")).count())  # fmt: skip

    def once(name: str) -> list[dict[str, Any]]:
        df = (
            spark.readStream.schema(SENSOR)
            .option("maxFilesPerTrigger", 1)
            .csv(str(tmp_path / name))
        )
        q = (query(df).writeStream.format("parquet").outputMode("append")
             .option("path", str(tmp_path / f"out-{name}"))
             .option("checkpointLocation", str(tmp_path / f"ck-{name}"))
             .trigger(availableNow=True).start())  # fmt: skip
        q.awaitTermination()
        return [json.loads(p.json) for p in q.recentProgress]

    def written(name: str) -> list[str]:
        return sorted(map(str, spark.read.parquet(str(tmp_path / f"out-{name}")).collect()))

    def twin(name: str, progress: list[dict[str, Any]]) -> list[str]:
        kept, _ = _kept(tmp_path / f"ck-{name}", progress, Lateness("window", 60))
        return sorted(map(str, _twin(spark, query, kept, tmp_path, name)))

    copy(files, tmp_path / "unbroken")
    unbroken = once("unbroken")
    copy(files[:3], tmp_path / "broken")
    broken = once("broken")
    copy(files[3:], tmp_path / "broken")
    broken += once("broken")
    assert written("broken") != written("unbroken")
    assert written("unbroken") == twin("unbroken", unbroken)
    assert written("broken") == twin("broken", broken)
