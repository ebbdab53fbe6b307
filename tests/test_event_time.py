"""Event time, disorder and late data with a known right answer; the watermark consumer held
to it on a real Spark."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from consumer.cli import main as consumer_main
from generator.answers import TRUTH, load_truth
from generator.cli import main as generator_main
from generator.datasets import SENSOR
from generator.manifest import read_landed

START = "2026-01-01T00:00:00"


def make(folder: Path, *extra: str, files: int = 6, seed: int = 3) -> None:
    args = ["files", str(folder), "--dataset", "sensor", "--files", str(files), "--interval",
            "0", "--rows-per-file", "100", "--seed", str(seed), "--start", START, "--speed",
            "30", "--quiet", *extra]  # fmt: skip
    assert generator_main(args) == 0


def event_times(folder: Path) -> list[dt.datetime]:
    times: list[dt.datetime] = []
    for path in sorted(folder.glob("part-*.csv")):
        times += read_landed(path, SENSOR, header=False).column("event_time").to_pylist()
    return times


def test_same_seed_same_events_and_same_truth(tmp_path: Path) -> None:
    late = ("--disorder", "5", "--late-fraction", "0.1", "--max-lateness", "120")
    make(tmp_path / "a", *late)
    make(tmp_path / "b", *late)
    make(tmp_path / "c", *late, seed=4)
    read = {k: (tmp_path / k / "part-000003.csv").read_bytes() for k in "abc"}
    assert read["a"] == read["b"] != read["c"]
    assert (tmp_path / "a" / TRUTH).read_bytes() == (tmp_path / "b" / TRUTH).read_bytes()


def test_truth_totals_equal_the_rows_landed(tmp_path: Path) -> None:
    make(tmp_path, "--disorder", "5", "--late-fraction", "0.2", "--max-lateness", "300")
    truth = load_truth(tmp_path / TRUTH)
    assert sum(int(str(t["events"])) for t in truth) == 600
    assert sum(int(str(t["late"])) for t in truth) > 0  # late beyond the watermark exists
    assert all(t["expected"] == int(str(t["events"])) - int(str(t["late"])) for t in truth)


def test_clock_follows_start_and_speed_and_disorder_stays_bounded(tmp_path: Path) -> None:
    make(tmp_path / "ordered")
    times = event_times(tmp_path / "ordered")
    start = dt.datetime(2026, 1, 1)
    # 100 rows a file at interval 0 is 100 rows a simulated second, times 30
    assert times[0] == start and times == sorted(times)
    assert times[-1] == start + dt.timedelta(seconds=int(599 * 30 / 100))
    make(tmp_path / "disorder", "--disorder", "20")
    shuffled = event_times(tmp_path / "disorder")
    assert shuffled != sorted(shuffled)
    assert all(
        t <= o and (o - t).total_seconds() <= 21 for t, o in zip(shuffled, times, strict=True)
    )


def test_restart_continues_the_clock_and_the_truth(tmp_path: Path) -> None:
    make(tmp_path / "straight", "--late-fraction", "0.1", "--max-lateness", "60", files=6)
    make(tmp_path / "resumed", "--late-fraction", "0.1", "--max-lateness", "60", files=3)
    make(tmp_path / "resumed", "--late-fraction", "0.1", "--max-lateness", "60", files=3)
    name = "part-000006.csv"
    assert (tmp_path / "straight" / name).read_bytes() == (tmp_path / "resumed" / name).read_bytes()
    # the key file is a log a run appends to: what it says, read back, is the same
    assert load_truth(tmp_path / "straight" / TRUTH) == load_truth(tmp_path / "resumed" / TRUTH)


@pytest.mark.spark
@pytest.mark.parametrize(
    ("extra", "late"),
    [
        ((), False),  # in order: the windows equal the truth exactly, nothing late
        (("--disorder", "5", "--late-fraction", "0.15", "--max-lateness", "240"), True),
    ],
)
def test_watermark_consumer_agrees_with_the_truth(
    spark: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: tuple[str, ...],
    late: bool,
) -> None:
    make(tmp_path, *extra, "--truth-window", "60", "--truth-watermark", "20", files=8)
    truth = load_truth(tmp_path / TRUTH)
    assert (sum(int(str(t["late"])) for t in truth) > 0) == late
    name = f"wm_{'late' if late else 'ordered'}"
    code = consumer_main(["watermark", str(tmp_path), "--window", "60", "--watermark", "20",
                          "--available-now", "--check", str(tmp_path), "--quiet",
                          "--query-name", name])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert ": agree" in out
    emitted = {r["window_start"]: r["count"] for r in spark.table(name).collect()}
    final = [t for t in truth if t["final"]]
    assert len(emitted) == len(final) >= 3
    for t in final:
        assert emitted[str(t["window_start"])] == t["expected"]
    if not late:
        assert all(t["late"] == 0 for t in truth)


@pytest.mark.spark
def test_check_fails_when_the_watermark_differs(
    spark: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make(tmp_path, "--disorder", "5", "--late-fraction", "0.15", "--max-lateness", "240",
         "--truth-watermark", "20", files=8)  # fmt: skip
    # a consumer with a longer watermark keeps rows the truth (20 s) says are dropped
    args = ["watermark", str(tmp_path), "--watermark", "200", "--available-now", "--check",
            str(tmp_path), "--quiet", "--query-name", "wm_wrong",
            "--report", str(tmp_path / "report.html")]  # fmt: skip
    code = consumer_main(args)
    out = capsys.readouterr().out
    assert code == 1
    assert "DIFFER" in out
    # and it says why: the truth was made for another watermark than the query's
    assert "the truth was made for a watermark of 20 s and the query uses 200 s" in out
    # the report's page opens with the verdict, not with "finished"
    page = (tmp_path / "report.html").read_text()
    head = page[page.index("<h1>") : page.index("Outcome:")]
    assert "class='verdict differ'>The check: DIFFER." in head
    assert "watermark delay</td><td>200 s" in page and "window</td><td>" in page


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["generator", "files", "D", "--speed", "2"],
         "--speed is for data sets with an event-time column (sensor), not 'person'"),
        (["generator", "files", "D", "--dataset", "sensor", "--late-fraction", "0.1"],
         "--late-fraction needs --max-lateness (how late, in seconds)"),
        (["generator", "files", "D", "--dataset", "sensor", "--late-fraction", "2"],
         "argument --late-fraction: must be between 0 and 1, not 2"),
        (["generator", "files", "D", "--dataset", "sensor", "--start", "noon"],
         "argument --start: not an ISO time: 'noon'"),
        (["consumer", "watermark", "D", "--check", "D/nothing"], "no answer key at"),
        (["consumer", "watermark"],
         "watermark reads a folder (DIR), a server (--socket) or the synthetic source"),
        (["consumer", "watermark", "D", "--dataset", "person"],
         "data set 'person' has no event-time column"),
    ],
)  # fmt: skip
def test_event_time_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    program, *rest = [a.replace("D", str(tmp_path / "out"), 1) if a.startswith("D") else a
                      for a in args]  # fmt: skip
    main = generator_main if program == "generator" else consumer_main
    assert main(rest) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.spark
def test_socket_truth_bounds_what_spark_counts(
    spark: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Over a socket Spark's batches depend on timing: the truth says how many rows were sent
    per window and the most a watermark can drop; Spark's counts must lie in between."""
    import threading

    from generator.clock import EventTime
    from tests.socket_helpers import config, running

    truth = tmp_path / "truth.jsonl"
    event_time = EventTime(start=dt.datetime(2026, 1, 1), speed=30, disorder=5,
                           late_fraction=0.15, max_lateness=240, truth_watermark=20)  # fmt: skip
    cfg = config(dataset=SENSOR, rate=400, count=2400, event_time=event_time, truth=truth)
    result: list[int] = []
    with running(cfg) as server:
        args = ["watermark", "--socket", "--host", "127.0.0.1", "--port", str(server.port),
                "--window", "60", "--watermark", "20", "--check", str(truth), "--timeout",
                "25", "--quiet", "--query-name", "wm_socket"]  # fmt: skip
        consumer = threading.Thread(target=lambda: result.append(consumer_main(args)))
        consumer.start()
        consumer.join(120)
    out = capsys.readouterr().out
    assert result == [0], out
    lines = load_truth(truth)
    assert sum(int(str(t["events"])) for t in lines) == 2400
    assert sum(int(str(t["late_at_most"])) for t in lines) > 0
    assert ": agree" in out
    assert spark.table("wm_socket").count() >= 3
