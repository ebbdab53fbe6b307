"""`generator replay`: a real data set landed in time order, and read by Spark as the source."""

from __future__ import annotations

import io
import os
import random
from pathlib import Path
from typing import Any

import pytest

from consumer import retail_app
from consumer.inputs import FolderInput
from consumer.output import OutputConfig
from consumer.runner import RunOptions
from generator import RETAIL
from generator.cli import main


def test_a_folder_replays_in_order_with_names_bytes_and_rising_mtimes(
    retail_sample: Path, tmp_path: Path
) -> None:
    out = tmp_path / "by-day"
    assert main(["replay", str(retail_sample), str(out), "--interval", "0", "--quiet"]) == 0
    names = sorted(p.name for p in retail_sample.iterdir())
    assert sorted(os.listdir(out)) == names
    for name in names:
        assert (out / name).read_bytes() == (retail_sample / name).read_bytes()
    mtimes = [(out / n).stat().st_mtime_ns // 1_000_000 for n in names]
    assert mtimes == sorted(set(mtimes))  # strictly increasing, in milliseconds as Spark sees


def test_one_csv_is_ordered_by_its_time_column_and_split(
    retail_sample: Path, tmp_path: Path
) -> None:
    files = sorted(retail_sample.iterdir())
    header = files[0].read_text().splitlines()[0]
    lines = [line for f in files for line in f.read_text().splitlines()[1:]]
    random.Random(1).shuffle(lines)
    source = tmp_path / "all.csv"
    source.write_text(header + "\n" + "\n".join(lines) + "\n")
    out = tmp_path / "out"
    args = ["replay", str(source), str(out), "--time-column", "InvoiceDate", "--every", "1d",
            "--interval", "0", "--quiet"]  # fmt: skip
    assert main(args) == 0
    landed = sorted(out.iterdir())
    assert len(landed) == 6  # one file a day, as the real set is cut
    seen = []
    for path, day in zip(landed, files, strict=True):
        rows = path.read_text().splitlines()
        assert rows[0] == header
        times = [r.split(",")[-4] for r in rows[1:]]  # InvoiceDate, counted from the end
        assert times == sorted(times)
        assert {t[:10] for t in times} == {day.name[:10]}
        seen += rows[1:]
    assert sorted(seen) == sorted(lines)
    # by rows instead, and a second replay into the same folder is refused before writing
    assert main(["replay", str(source), str(tmp_path / "n"), "--time-column", "InvoiceDate",
                 "--rows-per-file", "5000", "--interval", "0", "--quiet"]) == 0  # fmt: skip
    assert len(os.listdir(tmp_path / "n")) == 4
    assert main(args) == 2


def test_loop_starts_over_with_fresh_names(retail_sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["replay", str(retail_sample), str(out), "--interval", "0", "--loop",
                 "--files", "8", "--quiet"]) == 0  # fmt: skip
    names = sorted(os.listdir(out))
    assert len(names) == 8
    assert "2010-12-01.loop2.csv" in names and "2010-12-02.loop2.csv" in names


@pytest.mark.spark
def test_retail_stream_of_the_replay_equals_static_of_the_source(
    spark: Any, retail_sample: Path, tmp_path: Path
) -> None:
    out = tmp_path / "replayed"
    assert main(["replay", str(retail_sample), str(out), "--interval", "0", "--quiet"]) == 0
    stream_cfg = retail_app.RetailConsumerConfig(
        source=FolderInput(str(out), RETAIL),
        run=RunOptions(
            OutputConfig(sink="memory", available_now=True, query_name="replayed"), quiet=True
        ),
    )
    retail_app.run(spark, stream_cfg, err=io.StringIO())
    static_cfg = retail_app.RetailConsumerConfig(
        source=FolderInput(str(retail_sample), RETAIL), run=RunOptions(OutputConfig())
    )

    def rows(df: Any) -> set[tuple[object, ...]]:
        return {(r[0], r[1].start, round(r[2], 6)) for r in df.collect()}

    assert rows(spark.table("replayed")) == rows(retail_app.static_result(spark, static_cfg))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["replay", "NOWHERE", "OUT"], "no such file or folder: NOWHERE"),
        (["replay", "SAMPLE", "OUT", "--time-column", "InvoiceDate"],
         "--time-column is for one CSV file; SAMPLE is a folder"),
        (["replay", "ONE", "OUT"], "ONE is one file: name its time column with --time-column"),
        (["replay", "ONE", "OUT", "--time-column", "When"], "ONE has no column 'When' (it has: "),
        (["replay", "ONE", "OUT", "--time-column", "Country"],
         "column 'Country' of ONE is not a time (it reads as string)"),
        (["replay", "SAMPLE", "OUT", "--every", "soon"], "argument --every: not a period: 'soon'"),
        (["replay", "SAMPLE", "OUT", "--interval", "1", "--speed", "2"],
         "argument --speed: not allowed with argument --interval"),
        (["replay", "SAMPLE", "SAMPLE"], "SOURCE and DIR are the same"),
    ],
)  # fmt: skip
def test_replay_bad_input(
    retail_sample: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    one = tmp_path / "one.csv"
    one.write_bytes((retail_sample / "2010-12-01.csv").read_bytes())
    names = {"NOWHERE": str(tmp_path / "nowhere"), "SAMPLE": str(retail_sample),
             "ONE": str(one), "OUT": str(tmp_path / "out")}  # fmt: skip
    filled = [names.get(a, a) for a in args]
    assert main(filled) == 2
    err = capsys.readouterr().err
    expected = message
    for key, value in names.items():
        expected = expected.replace(key, value)
    assert err.startswith(f"generator: error: {expected}"), err
    assert err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_speed_follows_the_days_and_duration_bounds_the_run(
    retail_sample: Path, tmp_path: Path
) -> None:
    import time

    # a day is 0.1 s at this speed: 12-01 .. 12-07 without the Saturday is 6 days of gaps
    start = time.monotonic()
    assert main(["replay", str(retail_sample), str(tmp_path / "a"), "--speed", "864000",
                 "--quiet"]) == 0  # fmt: skip
    assert time.monotonic() - start >= 0.55
    assert len(os.listdir(tmp_path / "a")) == 6
    assert main(["replay", str(retail_sample), str(tmp_path / "b"), "--interval", "0.3",
                 "--duration", "0.5", "--quiet"]) == 0  # fmt: skip
    # a day every 0.3 s for 0.5 s: two days at most (a slow machine lands fewer), never all six
    assert 1 <= len(os.listdir(tmp_path / "b")) <= 2
