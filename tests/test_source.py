"""The `synthetic` data source on a real local Spark: the generator's rows, made in Spark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from consumer.cli import main as consumer_main
from consumer.session import struct_type
from consumer.source import register
from generator import PERSON
from generator.cli import main as generator_main
from generator.datasets import RETAIL
from tests.conftest import REPO

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def synthetic(spark: Any) -> Any:
    register(spark)
    return spark


def read(spark: Any, **options: object) -> Any:
    reader = spark.read.format("synthetic")
    for key, value in options.items():
        reader = reader.option(key, value)
    return reader.load()


def landed(spark: Any, folder: Path, dataset: Any, header: bool = False) -> list[Any]:
    rows = []
    for path in sorted(p for p in folder.iterdir() if p.suffix == ".csv"):  # in landing order
        reader = spark.read.schema(struct_type(dataset)).option("header", header)
        rows += reader.option("escape", '"').csv(str(path)).collect()
    return rows


@pytest.mark.parametrize("partitions", [1, 3, 7])
def test_a_batch_read_is_the_rows_generator_files_lands(
    synthetic: Any, tmp_path: Path, partitions: int
) -> None:
    assert generator_main(["files", str(tmp_path), "--seed", "5", "--rows-per-file", "1000",
                           "--files", "3", "--interval", "0", "--quiet"]) == 0  # fmt: skip
    df = read(synthetic, dataset="person", seed=5, rows=3000, numPartitions=partitions)
    assert df.schema == struct_type(PERSON)
    assert df.rdd.getNumPartitions() == partitions
    assert df.collect() == landed(synthetic, tmp_path, PERSON)


def test_retail_days_and_a_spec_file_travel_to_the_executors(
    synthetic: Any, tmp_path: Path
) -> None:
    assert generator_main(["files", str(tmp_path / "r"), "--dataset", "retail", "--seed", "2",
                           "--files", "2", "--interval", "0", "--quiet"]) == 0  # fmt: skip
    days = landed(synthetic, tmp_path / "r", RETAIL, header=True)
    assert read(synthetic, dataset="retail", seed=2, rows=len(days)).collect() == days
    spec = REPO / "examples" / "clicks.toml"
    assert generator_main(["files", str(tmp_path / "c"), "--dataset", str(spec), "--seed", "3",
                           "--files", "2", "--interval", "0", "--quiet",
                           "--start", "2010-12-01T00:00:00"]) == 0  # fmt: skip
    from generator.datasets import get_dataset

    clicks = get_dataset(str(spec))
    expected = landed(synthetic, tmp_path / "c", clicks)
    # the declaration, not the file, goes to the executors: as a path here, as text over Connect
    from generator.spec_file import dumps

    # 100 rows a file, a file a simulated second: the clock's pace is 100 rows per second
    by_path = read(synthetic, dataset=str(spec), seed=3, rows=200, rowsPerSecond=100)
    by_text = read(synthetic, spec=dumps(clicks), seed=3, rows=200, rowsPerSecond=100)
    assert by_path.collect() == by_text.collect() == expected


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"dataset": "people"}, "option dataset: unknown data set 'people'"),
        ({"rows": "-5"}, "option rows='-5': must be 0 or more, not -5"),
        ({"seed": "x"}, "option seed='x': not a whole number"),
        ({"colour": "red"}, "unknown option 'colour'"),
        ({"dataset": "person", "disorder": "3"}, "option disorder is for data sets with an event"),
        ({"dataset": "sensor", "lateFraction": "0.2"}, "option lateFraction needs option maxL"),
    ],
)
def test_bad_options_fail_at_load_naming_option_and_value(
    synthetic: Any, options: dict[str, str], words: str
) -> None:
    with pytest.raises(Exception, match=None) as failure:
        read(synthetic, **options)  # schema(): on the driver, before any task
    assert words in str(failure.value)


def test_a_stream_resumes_on_its_checkpoint_and_holds_every_row_once(
    synthetic: Any, tmp_path: Path
) -> None:
    out, checkpoint = tmp_path / "out", tmp_path / "cp"

    def run(rows: int) -> list[int]:
        df = (synthetic.readStream.format("synthetic").option("dataset", "counter")
              .option("seed", 1).option("rows", rows).option("maxRecordsPerBatch", 300)
              .load())  # fmt: skip
        query = (df.writeStream.format("parquet").option("path", str(out))
                 .option("checkpointLocation", str(checkpoint)).trigger(availableNow=True)
                 .start())  # fmt: skip
        query.awaitTermination(120)
        return [p["numInputRows"] for p in query.recentProgress]

    assert run(1000) == [300, 300, 300, 100]
    assert run(1600) == [300, 300]  # a later `rows`: it goes on where it stopped
    n = sorted(r[0] for r in synthetic.read.parquet(str(out)).select("n").collect())
    assert n == list(range(1, 1601))
    code = consumer_main(["verify", "--seed", "1", "--rows", "1600", "--dataset", "counter",
                          "--sink", str(out)])  # fmt: skip
    assert code == 0


def test_consumers_read_the_synthetic_source(
    synthetic: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["files", "--synthetic", "--dataset", "person", "--seed", "4", "--rate", "50",
            "--rows", "120", "--available-now", "--sink", "memory", "--query-name",
            "syn_files"]  # fmt: skip
    assert consumer_main(args) == 0
    assert "syn_files batch 0: 120 rows" in capsys.readouterr().err
    made = synthetic.table("syn_files").drop("result").collect()
    assert made == read(synthetic, dataset="person", seed=4, rows=120).collect()
    retail = ["retail", "--synthetic", "--rows", "4000", "--max-records-per-batch", "1000",
              "--available-now", "--sink", "memory", "--query-name", "syn_retail",
              "--quiet"]  # fmt: skip
    assert consumer_main(retail) == 0
    from consumer.retail_app import purchases_by_customer

    static = purchases_by_customer(read(synthetic, dataset="retail", rows=4000), "1 day")
    rounded = {(r[0], r[1].start, round(r[2], 6)) for r in synthetic.table("syn_retail").collect()}
    assert rounded == {(r[0], r[1].start, round(r[2], 6)) for r in static.collect()}


@pytest.mark.parametrize(("watermark", "verdict", "code"), [(20, "agree", 0), (200, "DIFFER", 1)])
def test_watermark_check_on_the_synthetic_source_is_exact(
    synthetic: Any, capsys: pytest.CaptureFixture[str], watermark: int, verdict: str, code: int
) -> None:
    """With availableNow and a fixed batch size, the source's batches are known, so the truth
    (drawn for a 20 s watermark) is exact; a query with another watermark differs."""
    args = ["watermark", "--synthetic", "--rows", "2000", "--max-records-per-batch", "200",
            "--start", "2026-01-01T00:00:00", "--speed", "30", "--rate", "100", "--disorder",
            "5", "--late-fraction", "0.15", "--max-lateness", "240", "--watermark",
            str(watermark), "--truth-watermark", "20", "--available-now", "--check", "--quiet",
            "--query-name", f"syn_wm_{watermark}"]  # fmt: skip
    assert consumer_main(args) == code
    out = capsys.readouterr().out
    assert f": {verdict}" in out


def test_synthetic_options_are_checked_before_spark_starts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for args, words in (
        (["files", "--synthetic", "/tmp/x"], "a folder (DIR) or the synthetic source"),
        (["files", "--synthetic", "--dataset", "people"], "unknown data set 'people'"),
        (["watermark", "--synthetic", "--check", "--available-now"], "needs --available-now, "
         "--rows N and --max-records-per-batch N"),
        (["watermark", "DIR", "--check"], "--check needs a TRUTH file"),
        (["files", "--synthetic", "--remote", "http://x"], "--remote takes sc://HOST:PORT"),
    ):  # fmt: skip
        assert consumer_main(args) == 2, args
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, err


def test_partitions_cut_each_micro_batch(synthetic: Any, tmp_path: Path) -> None:
    """--partitions 3: each micro-batch is read as three ranges, so a parquet sink writes
    three files per batch (the default would be two)."""
    out = tmp_path / "out"
    args = ["files", "--synthetic", "--dataset", "counter", "--rows", "90", "--partitions", "3",
            "--available-now", "--sink", "parquet", "--output", str(out), "--checkpoint",
            str(tmp_path / "cp"), "--quiet"]  # fmt: skip
    assert consumer_main(args) == 0
    assert len(list(out.glob("part-*.parquet"))) == 3
    assert synthetic.read.parquet(str(out)).count() == 90
