"""One engine, one contract: files, socket lines and any range are cuts of one sequence, and a
config built in Python is the command line's config, checked the same way."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from generator import PERSON, RETAIL, UsageError
from generator.answers import TRUTH, load_truth
from generator.cli import main
from generator.clock import EventTime
from generator.files import FilesConfig, run
from generator.replay import ReplayConfig
from generator.socket_server import SocketConfig
from tests.socket_helpers import LineClient, config, running


def landed_rows(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.glob("part-*.csv")))


def test_three_files_of_1000_are_the_rows_of_one_file_of_3000(tmp_path: Path) -> None:
    common = ["--seed", "5", "--interval", "0", "--quiet"]
    assert main(["files", str(tmp_path / "a"), "--rows-per-file", "1000", "--files", "3",
                 *common]) == 0  # fmt: skip
    assert main(["files", str(tmp_path / "b"), "--rows-per-file", "3000", "--files", "1",
                 *common]) == 0  # fmt: skip
    a, b = landed_rows(tmp_path / "a"), landed_rows(tmp_path / "b")
    assert a == b and a.count(b"\n") == 3000


def test_the_socket_sends_the_rows_the_files_hold(tmp_path: Path) -> None:
    run(FilesConfig(tmp_path, "person", seed=5, rows_per_file=700, interval=0, files=3,
                    quiet=True))  # fmt: skip
    with running(config(dataset=PERSON, seed=5, count=2100)) as server:
        lines = LineClient(server.port).rest()
    assert b"\n".join(lines) + b"\n" == landed_rows(tmp_path)


def test_retail_files_are_the_days_of_the_sequence_the_socket_walks(tmp_path: Path) -> None:
    run(FilesConfig(tmp_path, "retail", seed=2, interval=0, files=3, quiet=True))
    days = sorted(tmp_path.glob("2010-12-0*.csv"))
    body = b"".join(p.read_bytes().split(b"\n", 1)[1] for p in days)  # without headers
    rows = body.count(b"\n")
    with running(config(dataset=RETAIL, seed=2, count=rows)) as server:
        lines = LineClient(server.port).rest()
    assert b"\n".join(lines) + b"\n" == body


def test_a_sensor_config_built_in_python_lands_what_the_cli_lands(tmp_path: Path) -> None:
    args = ["files", str(tmp_path / "cli"), "--dataset", "sensor", "--seed", "3", "--files", "4",
            "--interval", "0", "--rows-per-file", "50", "--start", "2026-01-01T00:00:00",
            "--speed", "30", "--disorder", "5", "--late-fraction", "0.1", "--max-lateness", "90",
            "--quiet"]  # fmt: skip
    assert main(args) == 0
    cfg = FilesConfig(tmp_path / "py", "sensor", seed=3, files=4, interval=0, rows_per_file=50,
                      quiet=True, event_time=EventTime(start=dt.datetime(2026, 1, 1), speed=30,
                      disorder=5, late_fraction=0.1, max_lateness=90))  # fmt: skip
    run(cfg)
    for name in ("part-000001.csv", "part-000004.csv", TRUTH):
        assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes()
    # the clock is derived on the config: 50 rows a simulated second, 30 times faster
    assert cfg.clock is not None and cfg.clock.seconds_per_row == pytest.approx(30 / 50)


def test_a_truth_made_with_the_defaults_answers_the_consumer_s_defaults(tmp_path: Path) -> None:
    """The documented defaults (a 60 s window, a 10 s watermark) reach the truth file from the
    command line, and the watermark consumer's defaults are the same values."""
    from consumer.inputs import FolderInput
    from consumer.watermark_app import WatermarkConsumerConfig
    from generator.datasets import DATASETS

    assert main(["files", str(tmp_path), "--dataset", "sensor", "--files", "2", "--interval",
                 "0", "--seed", "3", "--quiet"]) == 0  # fmt: skip
    truth = load_truth(tmp_path / TRUTH)
    assert {t["window_seconds"] for t in truth} == {60}
    assert {t["watermark_seconds"] for t in truth} == {10}
    consumer = WatermarkConsumerConfig(FolderInput(str(tmp_path), DATASETS["sensor"]))
    assert (consumer.window, consumer.watermark) == (60, 10)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda t: SocketConfig(dataset="sensor", truth=t / "truth.jsonl", fanout="each"),
         "--truth follows the one broadcast stream"),
        (lambda t: SocketConfig(dataset="person", truth=t / "truth.jsonl"),
         "--truth is for data sets with an event-time column"),
        (lambda t: SocketConfig(dataset="sensor", rate=0),
         "--rate 0 sends as fast as clients read, which gives sensor's event time no pace: give "
         "--rate ROWS_PER_SECOND"),
        (lambda t: SocketConfig(dataset="sensor", truth=t), "--truth names a file"),
        (lambda t: SocketConfig(stdin=True, rate=3), "--stdin forwards lines as they come"),
        (lambda t: SocketConfig(count=5, duration=1.0), "give one of them"),
        (lambda t: SocketConfig(dataset="person", event_time=EventTime(disorder=3)),
         "--disorder is for data sets with an event-time column"),
        (lambda t: FilesConfig(t, "retail", rows_per_file=10), "--rows-per-file does not apply"),
        (lambda t: FilesConfig(t, "person", rate=5, interval=1), "--rate replaces --interval"),
        (lambda t: FilesConfig(t, "person", format="json", header=True), "--header is for CSV"),
        (lambda t: FilesConfig(t, "person", rows_per_file=0), "--rows-per-file: must be 1 or more"),
        (lambda t: FilesConfig(t, "people"), "unknown data set 'people'"),
        (lambda t: FilesConfig(t, "sensor", event_time=EventTime(late_fraction=0.2)),
         "--late-fraction needs --max-lateness"),
        (lambda t: ReplayConfig(t, t / "out", interval=1, speed=2), "do not go together"),
    ],
)  # fmt: skip
def test_configs_check_their_rules_when_built(tmp_path: Path, build: object, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        build(tmp_path)  # type: ignore[operator]
    assert not list(tmp_path.iterdir())  # nothing written


def test_socket_truth_holds_every_row_sent_once_the_server_stops(tmp_path: Path) -> None:
    truth = tmp_path / "truth.jsonl"
    cfg = config(dataset="sensor", rate=100_000, count=30_000, truth=truth,
                 event_time=EventTime(start=dt.datetime(2026, 1, 1)))  # fmt: skip
    with running(cfg) as server:
        assert len(LineClient(server.port).rest()) == 30_000
    assert sum(int(str(w["events"])) for w in load_truth(truth)) == 30_000


def test_replay_config_from_python_lands_what_the_cli_lands(tmp_path: Path) -> None:
    from generator import replay
    from tests.conftest import RETAIL_SAMPLE

    assert main(["replay", str(RETAIL_SAMPLE), str(tmp_path / "cli"), "--interval", "0",
                 "--files", "2", "--quiet"]) == 0  # fmt: skip
    cfg = ReplayConfig(RETAIL_SAMPLE, tmp_path / "py", interval=0, files=2, quiet=True)
    assert replay.run(cfg) == 0
    names = sorted(p.name for p in (tmp_path / "cli").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "py").iterdir()) and len(names) == 2
    for name in names:
        assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes()
