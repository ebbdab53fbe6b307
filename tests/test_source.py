"""The `synthetic` data source on a real local Spark: the generator's rows, made in Spark."""

from __future__ import annotations

import datetime as dt
import json
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


BAD_PROVIDER = """name = "bad"
description = "id"
[[columns]]
name = "id"
type = "STRING"
source = { kind = "faker", provider = "no_such_provider", size = 5 }
"""
BAD_TYPE = BAD_PROVIDER.replace('"STRING"', '"INT"').replace(
    'kind = "faker", provider = "no_such_provider", size = 5', 'kind = "choice", values = ["a"]'
)
ODD_NAMES = """name = "odd"
description = "a,b,with space"
[[columns]]
name = "a,b"
type = "INT"
source = { kind = "sequence" }
[[columns]]
name = "with space"
type = "STRING"
source = { kind = "choice", values = ["x", "y"] }
"""


def test_names_that_need_quoting_and_a_given_schema(synthetic: Any) -> None:
    """Names that are not plain identifiers are quoted in the DDL; `.schema(...)` with some of
    the data set's columns reads just those; one that does not fit is refused, naming it."""
    df = read(synthetic, spec=ODD_NAMES, rows=4)
    assert df.columns == ["a,b", "with space"]
    assert [r[0] for r in df.collect()] == [1, 2, 3, 4]  # a sequence starts at 1
    given = synthetic.read.format("synthetic").schema("AGE INT, fname STRING")
    rows = given.options(dataset="person", seed=5, rows=3).load().collect()
    whole = read(synthetic, dataset="person", seed=5, rows=3).collect()
    assert [tuple(r) for r in rows] == [(r.age, r.fname) for r in whole]
    assert rows[0].asDict().keys() == {"AGE", "fname"}
    for schema, words in [("age STRING", "column 'age' as string, but data set person draws "
                           "it as int"), ("shoe INT", "column 'shoe', which data set person "
                           "lacks")]:  # fmt: skip
        with pytest.raises(Exception, match=None) as failure:
            synthetic.read.format("synthetic").schema(schema).load().collect()
        assert words in str(failure.value)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"dataset": "people"}, "option dataset: unknown data set 'people'"),
        ({"rows": "-5"}, "option rows='-5': must be 0 or more, not -5"),
        ({"seed": "x"}, "option seed='x': not a whole number"),
        ({"colour": "red"}, "unknown option 'colour'"),
        ({"dataset": "person", "disorder": "3"}, "option disorder is for data sets with an event"),
        ({"dataset": "sensor", "lateFraction": "0.2"}, "option lateFraction needs option maxL"),
        ({"spec": BAD_PROVIDER}, "option spec: column 'id': unknown Faker provider method"),
        ({"spec": BAD_TYPE}, "option spec: column 'id': its values (string) do not fit type INT"),
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


def test_a_restart_that_changes_what_decides_the_rows_is_refused_naming_it(
    synthetic: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The offsets carry the seed, the declaration, the clock and the versions: a restart with
    another seed (or pace of event time) fails before any batch, one line, naming the option;
    another arrival rate goes on, with the event times of the first start."""
    out, checkpoint = tmp_path / "out", tmp_path / "cp"

    def run(*more: str) -> int:
        return consumer_main(["files", "--synthetic", "--dataset", "sensor", "--rows", *more,
                              "--available-now", "--sink", "parquet", "--output", str(out),
                              "--checkpoint", str(checkpoint), "--quiet"])  # fmt: skip

    assert run("200", "--seed", "1", "--rate", "10") == 0
    first = synthetic.read.parquet(str(out)).collect()
    capsys.readouterr()
    assert run("400", "--seed", "2", "--rate", "10") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "option seed is 2, but this checkpoint's stream was drawn with 1" in err
    # another event-time pace, from Python: the stream fails naming it, before any batch
    paced = synthetic.readStream.format("synthetic").options(
        dataset="sensor", seed=1, rowsPerSecond=10, rows=400, secondsPerRow=0.5
    )
    query = (paced.load().writeStream.format("parquet").option("path", str(out))
             .option("checkpointLocation", str(checkpoint)).trigger(availableNow=True)
             .start())  # fmt: skip
    with pytest.raises(Exception, match="event-time pace"):
        query.awaitTermination()
    assert synthetic.read.parquet(str(out)).count() == 200  # nothing written by the refusals
    # another arrival rate: the same clock goes on
    assert run("400", "--seed", "1", "--rate", "1000") == 0
    rows = synthetic.read.parquet(str(out)).collect()
    offset = json.loads((checkpoint / "offsets" / "0").read_text().splitlines()[2])
    clock = offset["of"]["clock"]
    assert clock["secondsPerRow"] == 0.1 and offset["of"]["seed"] == 1
    start = dt.datetime.fromtimestamp(clock["start"], dt.UTC).isoformat()
    expected = read(synthetic, dataset="sensor", seed=1, rows=400, rowsPerSecond=10,
                    start=start).collect()  # fmt: skip
    assert sorted(map(tuple, rows)) == sorted(map(tuple, expected))
    assert sorted(map(tuple, first)) == sorted(map(tuple, expected[:200]))
    # verify finds the stream's clock in its checkpoint
    verify = ["verify", "--seed", "1", "--rows", "400", "--dataset", "sensor", "--sink",
              str(out)]  # fmt: skip
    assert consumer_main([*verify, "--checkpoint", str(checkpoint)]) == 0
    assert "OK: every row exactly once" in capsys.readouterr().out
    # without it, the rows are compared on a batch read's clock: MISMATCH, and what to do
    assert consumer_main(verify) == 1
    out_text = capsys.readouterr().out
    assert "hint: sensor's event times follow the clock its stream drew them on" in out_text
    assert out_text.rstrip().endswith("MISMATCH")


def test_partitions_follow_the_engines_segments() -> None:
    from consumer.source import split

    # three segments and two tasks: whole segments each, none drawn twice
    edges = [65_536, 131_072]
    parts = split(0, 150_000, 2, edges, None)
    assert [(p.start, p.stop) for p in parts] == [(0, 65_536), (65_536, 150_000)]
    # one segment and three tasks: the segment is shared, as asked
    parts = split(100, 190, 3, [], None)
    assert [(p.start, p.stop) for p in parts] == [(100, 130), (130, 160), (160, 190)]


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


def test_a_stream_takes_a_segment_a_partition_by_default_and_reports_its_backlog(
    synthetic: Any, tmp_path: Path
) -> None:
    """Without maxRecordsPerBatch a query that stalled catches up in bounded batches (65,536
    rows a partition), and each batch's progress shows the newest row available (Spark's
    `latestOffset`, from reportLatestOffset) beside the one it read to."""
    df = (synthetic.readStream.format("synthetic").option("dataset", "counter")
          .option("seed", 1).option("rows", 200_000).option("numPartitions", 2).load())  # fmt: skip
    query = (df.writeStream.format("noop").option("checkpointLocation", str(tmp_path / "cp"))
             .trigger(availableNow=True).start())  # fmt: skip
    query.awaitTermination(120)
    progress = [p["sources"][0] for p in query.recentProgress if p["numInputRows"]]
    assert [p["numInputRows"] for p in progress] == [131_072, 68_928]
    assert [json.loads(p["endOffset"])["row"] for p in progress] == [131_072, 200_000]
    assert [json.loads(p["latestOffset"])["row"] for p in progress] == [200_000, 200_000]


@pytest.mark.parametrize(("setting", "expected"), [(None, 10_000), ("1234", 1234), ("0", None)])
def test_arrow_batches_follow_the_sessions_max_records_per_batch(
    synthetic: Any, setting: str | None, expected: int | None
) -> None:
    """What a task of the session sees as spark.sql.execution.arrow.maxRecordsPerBatch (a
    Python UDF runs where the source's read runs)."""
    from pyspark.sql.functions import udf

    from consumer.source import ARROW_BATCH_CONF, arrow_batch_rows

    seen = udf(lambda: str(arrow_batch_rows()), "string")
    if setting is not None:
        synthetic.conf.set(ARROW_BATCH_CONF, setting)
    try:
        assert synthetic.range(1).select(seen()).first()[0] == str(expected)
    finally:
        synthetic.conf.unset(ARROW_BATCH_CONF)


def test_batches_are_cut_to_at_most_max_rows_and_hold_the_same_rows() -> None:
    from generator.rows import batches

    whole = list(batches(PERSON, 3, 100, 70_100))
    cut = list(batches(PERSON, 3, 100, 70_100, max_rows=10_000))
    assert max(b.num_rows for b in cut) == 10_000
    assert len(cut) > len(whole)
    import pyarrow as pa

    assert pa.Table.from_batches(cut).equals(pa.Table.from_batches(whole))
