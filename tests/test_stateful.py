"""Joins, sessions and duplicates on Spark, against their answer keys: first the boundary cases
the rules were found with (hand-made files, one per micro-batch), then the generator's data."""

from __future__ import annotations

import datetime as dt
import json
import os
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from consumer import join_app, sessions_app
from consumer.cli import main as consumer_main
from consumer.inputs import FolderInput
from consumer.output import OutputConfig
from consumer.runner import RunOptions
from generator.answers import SessionsKey, load_key
from generator.cli import main as generator_main
from generator.datasets import DATASETS
from tests.test_linked import JOIN_EDGE, h, join_key

pytestmark = pytest.mark.spark


def iso(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def write_batches(folder: Path, batches: list[list[str]]) -> None:
    """One file per batch, modification times in batch order (as the file source sorts them)."""
    folder.mkdir(parents=True)
    for b, lines in enumerate(batches):
        path = folder / f"part-{b + 1:06d}.csv"
        path.write_text("".join(line + "\n" for line in lines))
        os.utime(path, (1_000_000 + b, 1_000_000 + b))


def available_now(tmp_path: Path) -> RunOptions:
    return RunOptions(OutputConfig(available_now=True, checkpoint=str(tmp_path / "ck")), quiet=True)


@pytest.mark.parametrize("how", ["inner", "leftOuter"])
def test_the_join_rules_on_spark(spark: Any, tmp_path: Path, how: str) -> None:
    """The edge cases of test_linked.py, run by Spark: the key's pairs and null rows exactly."""
    write_batches(tmp_path / "impressions", [[f"{k},{iso(h(t))},," for k, t in left]
                                             for left, _ in JOIN_EDGE])  # fmt: skip
    write_batches(tmp_path / "clicks", [[f"{k},{iso(h(t))}," for k, t in right]
                                        for _, right in JOIN_EDGE])  # fmt: skip
    join_key(JOIN_EDGE).save(tmp_path)
    config = join_app.JoinConsumerConfig(tmp_path, how=how, check=True,
                                         run=available_now(tmp_path))  # fmt: skip
    join_app.run_join(spark, config)  # raises StreamFailed unless they agree
    rows = spark.table(config.table).collect()
    assert len(rows) == (3 if how == "inner" else 6)


def test_the_session_rules_on_spark(spark: Any, tmp_path: Path) -> None:
    batches = [
        [("z", 1000), ("p", 960)],
        [("q", 1)],
        [("x", 929), ("y", 930), ("w", 931), ("v", 985), ("p", 989)],
        [("u", 2000)],
        [],
    ]
    write_batches(tmp_path / "in", [[f"e{u}{t},{u},{iso(h(0) + t)},view,/" for u, t in batch]
                                    for batch in batches])  # fmt: skip
    key = SessionsKey(gap=60, watermark=10)
    for batch in batches:
        key.add_batch([u for u, _ in batch],
                      np.array([h(0) + t for _, t in batch], dtype=np.int64))  # fmt: skip
    key.save(tmp_path / "in")
    source = FolderInput(str(tmp_path / "in"), DATASETS["activity"])
    config = sessions_app.SessionsConsumerConfig(
        source, gap=60, watermark=10, check=True, run=available_now(tmp_path)
    )
    sessions_app.run_sessions(spark, config)
    assert spark.table(config.table).count() == 5


def line_of(out: str, start: str) -> list[str]:
    """The words of the output line that starts so."""
    return next(line for line in out.splitlines() if line.startswith(start)).split()


def consume(*args: object) -> int:
    return consumer_main([*(str(a) for a in args), "--available-now", "--quiet"])


@pytest.fixture(scope="module")
def ads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seven hours of impressions and clicks, out of order and some hours late."""
    folder = tmp_path_factory.mktemp("ads")
    assert generator_main(["files", str(folder), "--dataset", "ads", "--files", "10",
                           "--interval", "0", "--seed", "11", "--speed", "2700", "--disorder",
                           "600", "--late-fraction", "0.1", "--max-lateness", "20000",
                           "--quiet"]) == 0  # fmt: skip
    return folder


def test_join_check_agrees_with_spark(
    spark: Any, ads: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = ["--report", tmp_path / "join.html", "--progress-log", tmp_path / "join.jsonl"]
    assert consume("join", ads, "--check", "--checkpoint", tmp_path / "a", *report) == 0
    out = capsys.readouterr().out
    assert "rows: agree" in out
    # the report's pictures mark as late, on each side, the rows the answer key drops
    log = [json.loads(line) for line in (tmp_path / "join.jsonl").read_text().splitlines()]
    left, right = [line["picture"] for line in log if "picture" in line]
    summary = load_key(ads / "_truth_join.jsonl")[-1]
    assert (sum(left["dropped"]), sum(right["dropped"])) == (summary["late_left"],
                                                             summary["late_right"])  # fmt: skip
    assert summary["late_left"] > 0
    must, counted = line_of(out, "pairs that must")[-2:]
    assert must == counted and int(must) > 50


# A wrong watermark failing the join check, and the leftOuter join's check with its null rows:
# lesson 6 runs both and asserts what they print (tests/test_lessons.py).


def test_the_join_options_reach_the_query(
    spark: Any, ads: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # clicks at most 10 minutes after their impression; the key (1 hour) has pairs further apart
    assert consume("join", ads, "--within", 600, "--sink", "memory", "--query-name", "within",
                   "--checkpoint", tmp_path) == 0  # fmt: skip
    rows = spark.table("within").collect()
    delays = [(r.clickTime - r.impressionTime).total_seconds() for r in rows]
    assert rows and max(delays) <= 600
    key = load_key(ads / "_truth_join.jsonl")

    def apart(k: dict[str, object]) -> float:
        right, left = (dt.datetime.fromisoformat(str(k[t])) for t in ("right_time", "left_time"))
        return (right - left).total_seconds()

    assert any(apart(k) > 600 for k in key if k.get("appears"))
    config = join_app.JoinConsumerConfig(ads, impression_watermark=3600)
    verdict = join_app.compare_join([], key, config)
    assert not verdict.good
    assert "the answer key is for --impression-watermark 7200 and the query used 3600" in (
        verdict.lines())  # fmt: skip


@pytest.fixture(scope="module")
def activity(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("activity")
    # a fixed start: which sessions close depends on where the clock starts (twelve files:
    # sessions emitted, rows late for their session and copies late for the dedup, each of them)
    assert generator_main(["files", str(folder), "--dataset", "activity", "--files", "12",
                           "--interval", "0", "--seed", "5", "--speed", "40", "--disorder", "3",
                           "--late-fraction", "0.05", "--max-lateness", "60", "--duplicates",
                           "0.1", "--start", "2026-01-01T00:00:00", "--quiet"]) == 0  # fmt: skip
    return folder


def test_sessions_and_dedup_checks_agree_with_spark(
    spark: Any, activity: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert consume("sessions", activity, "--check", "--checkpoint", tmp_path / "s") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "agree"
    assert int(line_of(out, "sessions emitted")[-1]) >= 20
    assert consume("dedup", activity, "--check", "--checkpoint", tmp_path / "d") == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "agree"
    kept = line_of(out, "rows kept")
    assert kept[-1] == kept[-2]


def test_sessions_by_and_dedup_id_choose_the_column(
    spark: Any, activity: Path, tmp_path: Path
) -> None:
    # per event id: every event a session of its own, closed 30 s on
    assert consume("sessions", activity, "--by", "eventId", "--sink", "memory", "--query-name",
                   "by_event", "--checkpoint", tmp_path / "s") == 0  # fmt: skip
    sessions = spark.table("by_event").collect()
    assert sessions and all(r.user.startswith("ev-") and r.events >= 1 for r in sessions)
    assert consume("dedup", activity, "--id", "userId", "--sink", "memory", "--query-name",
                   "one_per_user", "--checkpoint", tmp_path / "d") == 0  # fmt: skip
    kept: dict[str, list[dt.datetime]] = {}
    for r in spark.table("one_per_user").collect():
        kept.setdefault(r.userId, []).append(r.event_time)
    assert 0 < len(kept) <= 20
    for times in kept.values():  # a user's row again only once its state outlived the watermark
        times.sort()
        assert all((b - a).total_seconds() > 60 for a, b in pairwise(times))


@pytest.mark.slow
def test_another_gap_fails_the_sessions_check(
    spark: Any, activity: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert consume("sessions", activity, "--check", "--gap", 10, "--checkpoint", tmp_path) == 1
    out = capsys.readouterr().out
    assert "DIFFER" in out and "missing:" in out


def test_enrich_counts_unknown_customers(
    spark: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shop = tmp_path / "shop"
    assert generator_main(["files", str(shop), "--dataset", "shop", "--files", "6",
                           "--interval", "0", "--seed", "8", "--quiet"]) == 0  # fmt: skip
    for how in ("inner", "leftOuter"):
        assert consume("enrich", shop, "--how", how, "--check", "--checkpoint",
                       tmp_path / how) == 0  # fmt: skip
        out = capsys.readouterr().out
        assert out.splitlines()[-1] == "agree"
    # JSON lines: the same orders, the same counts
    assert generator_main(["files", str(tmp_path / "json"), "--dataset", "shop", "--files", "6",
                           "--interval", "0", "--seed", "8", "--format", "json",
                           "--quiet"]) == 0  # fmt: skip
    assert consume("enrich", tmp_path / "json", "--format", "json", "--check", "--checkpoint",
                   tmp_path / "j") == 0  # fmt: skip
    assert capsys.readouterr().out.splitlines()[-1] == "agree"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["join", "{dir}", "--check"],
            "no answer key at {dir}/_truth_join.jsonl: land the bundle with `generator files`",
        ),
        (
            ["sessions", "--socket", "--check", "--timeout", "5"],
            "--check reads the answer key landed beside the files: give a folder",
        ),
        (
            ["dedup", "{dir}", "--dataset", "sensor"],
            "--id names the event id column; sensor has no key column (try activity)",
        ),
        (
            ["sessions", "{dir}", "--dataset", "person"],
            "data set 'person' has no event-time column (try activity)",
        ),
        (
            ["join", "{dir}", "--check", "--max-files-per-trigger", "2"],
            "--check needs one file per trigger (the answer key's batches)",
        ),
        (["dedup", "{dir}", "--report", "{dir}"], "--report names a file, and {dir} is a folder"),
        (  # a check reads its result back: a sink it cannot read is refused, not replaced
            [
                "sessions",
                "{dir}",
                "--check",
                "--sink",
                "parquet",
                "--output",
                "{dir}/o",
                "--checkpoint",
                "{dir}/c",
                "--available-now",
            ],
            "--check reads the result back from a memory table, and --sink is parquet: leave "
            "--sink out (or give --sink memory)",
        ),
        (
            ["enrich", "{dir}", "--check", "--sink", "console", "--available-now"],
            "--check reads the result back from a memory table, and --sink is console: leave "
            "--sink out (or give --sink memory)",
        ),
    ],
)
def test_stateful_bad_input_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    argv = [a.replace("{dir}", str(tmp_path)) for a in args]
    assert consumer_main(argv) == 2
    assert (
        capsys.readouterr().err == f"consumer: error: {message.replace('{dir}', str(tmp_path))}\n"
    )
