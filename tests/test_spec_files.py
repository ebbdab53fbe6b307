"""Data sets from TOML spec files: the built-in ones are written this way; yours too."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import threading
import tomllib
from pathlib import Path
from typing import Any

import pytest

from consumer import files_app
from consumer.cli import main as consumer_main
from consumer.inputs import FolderInput
from consumer.output import OutputConfig
from consumer.runner import RunOptions
from generator.cli import main as generator_main
from generator.clock import EventTime
from generator.datasets import DATASETS, get_dataset
from generator.engine import Engine
from generator.formats import csv_body
from generator.spec_file import dumps, from_data
from tests.conftest import REPO
from tests.socket_helpers import config, running

EXAMPLES = sorted((REPO / "examples").glob("*.toml"))

# sha256 of rows 0-2,999 of seed 42 (sensor with the clock below): a seed reproduces these bytes
# on this release (see "Reproducible" in docs/generator.md); a change of the engine changes them
SEED_BYTES = {
    "person": "596fd70b5832653e9f00cb466008776cb87f85156a88b5d157bd4a89f4ddbcae",
    "retail": "879af7555436a7792a924ce32e6bbbdba667376d42a43231760ae36cffbb4d5e",
    "counter": "bd07f054a66a4d67f4025f6910ff31da3135d80c087d1a73ed795c810d039fd6",
    "sensor": "5ffc61414256fca592f226501bc5f7da08b5d4d0c40fb28177a04d1b680598b9",
    "impressions": "5ef4cdf13a988b76f74ccad6d63638b7ee0f93038dba163b318c48ffd2f566ef",
    "customers": "00ae823c957fe13440df0321ca0f0ba37a58b30923042001bce01509adb56148",
    "activity": "047b10746369dc6f7b7ec9d15645c698fefdc257b88909c14f781b38c5ec6df7",
    "words": "0ed1ce2d502a15bb308dbf468ade5ee6dea756e41c8966171910b9c7ad90c1d0",
    "customer_changes": "4f4de912976d2094b3399cc29e482f65c619949518491a6b8bc9ca826a78fbe3",
}
EVENT_TIME = EventTime(start=dt.datetime(2026, 1, 1), speed=0.5, disorder=3, late_fraction=0.1,
                       max_lateness=60)  # fmt: skip


def digest(dataset: Any) -> str:
    engine = Engine(dataset, 42, clock=EVENT_TIME.clock(1.0))
    h = hashlib.sha256()
    for piece in engine.pieces(0, 3000):
        h.update(bytes(csv_body(piece)))
    return h.hexdigest()


@pytest.mark.parametrize("name", list(DATASETS))
def test_built_ins_round_trip_byte_for_byte(name: str, tmp_path: Path) -> None:
    dataset = DATASETS[name]
    spec = tmp_path / f"{name}.toml"
    spec.write_text(dumps(dataset))
    if dataset.references:  # clicks, orders: drawn only in their bundle (test_linked.py)
        assert from_data(tomllib.loads(spec.read_text())) == dataset
        return
    assert digest(dataset) == SEED_BYTES[name]
    again = get_dataset(str(spec))  # through the same door a user's spec file comes in
    assert again == dataset == from_data(tomllib.loads(spec.read_text()))
    assert digest(again) == SEED_BYTES[name]


def test_schema_toml_prints_a_spec_file_to_start_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert generator_main(["schema", "retail", "--toml"]) == 0
    text = capsys.readouterr().out
    mine = tmp_path / "mine.toml"
    mine.write_text(text.replace('name = "retail"', 'name = "mine"', 1))
    assert generator_main(["files", str(tmp_path / "out"), "--dataset", str(mine), "--files",
                           "2", "--interval", "0", "--seed", "4", "--quiet"]) == 0  # fmt: skip
    assert generator_main(["files", str(tmp_path / "ref"), "--dataset", "retail", "--files",
                           "2", "--interval", "0", "--seed", "4", "--quiet"]) == 0  # fmt: skip
    for day in ("2010-12-01.csv", "2010-12-02.csv"):
        assert (tmp_path / "out" / day).read_bytes() == (tmp_path / "ref" / day).read_bytes()


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_load_and_land(example: Path, tmp_path: Path) -> None:
    dataset = get_dataset(str(example))
    assert generator_main(["files", str(tmp_path), "--dataset", str(example), "--files", "2",
                           "--interval", "0", "--seed", "1", "--quiet"]) == 0  # fmt: skip
    assert len([p for p in tmp_path.glob("*.csv")]) == 2
    assert dataset.name == example.stem


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ('name = "x"\ndescription = ""\n[[columns]]\nname = "a"\ntype = "STRING"\n'
         'source = { kind = "faker", provider = "no_such" }\n',
         "column 'a': unknown Faker provider method: 'no_such'"),
        ('name = "x"\ndescription = ""\n[[columns]]\nname = "age"\ntype = "INT"\n'
         'source = { kind = "faker", provider = "first_name" }\n',
         "column 'age': its values (string) do not fit type INT"),
        ('name = "x"\ndescription = ""\n[[columns]]\nname = "a"\n'
         'source = { kind = "sequence" }\n', "column 'a': missing 'type'"),
        ('name = "x"\ndescription = ""\n[[columns]]\nname = "a"\ntype = "INT"\n'
         'source = { kind = "dice" }\n', "column 'a'.source: unknown kind 'dice' (one of: faker"),
        ('name = "x"\ndescription = ""\n[[columns]]\nname = "a"\ntype = "INT"\ncolour = 1\n'
         'source = { kind = "sequence" }\n', "column 'a': unknown key 'colour'"),
        ('name = "x"\ndescription = ""\n[[columns]]\nname = "a"\ntype = "TEXT"\n'
         'source = { kind = "sequence" }\n', "column 'a': unknown type 'TEXT'"),
        ('description = ""\n', "the file: missing 'name'"),
        ('name = "x\n', "not valid TOML"),
        ('name = "../x"\ndescription = ""\n[[columns]]\nname = "a"\ntype = "INT"\n'
         'source = { kind = "sequence" }\n', "hold a path separator"),
        # names Spark could not tell apart, or not take at all
        ('name = "x"\ndescription = ""\n[[columns]]\nname = "Amount"\ntype = "INT"\n'
         'source = { kind = "sequence" }\n[[columns]]\nname = "amount"\ntype = "INT"\n'
         'source = { kind = "sequence" }\n',
         "column 'amount': differs from column 'Amount' only in case"),
        ('name = "x"\ndescription = ""\n[[columns]]\nname = ""\ntype = "INT"\n'
         'source = { kind = "sequence" }\n', "column 1 (''): a column name must be non-empty"),
        ('name = "x"\ndescription = ""\n[[columns]]\nname = "a\\nb"\ntype = "INT"\n'
         'source = { kind = "sequence" }\n',
         "column 1 ('a\\nb'): a column name must be non-empty, printable text"),
        # every weekday skipped: no day could ever land
        ('name = "x"\ndescription = ""\n[naming]\nkind = "daily"\n'
         'skip_weekdays = [0, 1, 2, 3, 4, 5, 6]\n[[columns]]\nname = "a"\ntype = "INT"\n'
         'source = { kind = "sequence" }\n', "at least one must be left"),
        # Faker's own refusal, named: random_int with min > max
        ('name = "x"\ndescription = ""\n[[columns]]\nname = "a"\ntype = "INT"\n'
         'source = { kind = "faker", provider = "random_int", kwargs = { min = 9, max = 1 } }\n',
         "column 'a': Faker provider 'random_int': empty range"),
        # a catalog of a negative size
        ('name = "x"\ndescription = ""\n[[catalogs]]\nname = "c"\nsize = -3\n'
         '[catalogs.fields.f]\nkind = "pattern"\npatterns = ["##"]\n[[columns]]\nname = "a"\n'
         'type = "STRING"\nsource = { kind = "entity", catalog = "c", field = "f" }\n',
         "catalog 'c': size must be from 1 to 1,000,000, not -3"),
    ],
)  # fmt: skip
def test_a_bad_spec_is_one_line_naming_file_column_and_problem(
    spec: str, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(spec)
    out = tmp_path / "out"
    assert generator_main(["files", str(out), "--dataset", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"generator: error: {path}: "), err
    assert problem in err and err.count("\n") == 1
    assert not out.exists()
    assert consumer_main(["files", str(out), "--dataset", str(path)]) == 2  # before Spark
    assert problem in capsys.readouterr().err


@pytest.mark.parametrize("circle", [1, 2])
def test_bundles_that_name_themselves_or_each_other_are_one_line(
    circle: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = [tmp_path / f"b{k}.toml" for k in range(circle)]
    for k, path in enumerate(names):
        after = names[(k + 1) % circle]
        path.write_text(f'name = "b{k}"\nmembers = ["{after}", "person"]\n')
    assert generator_main(["schema", str(names[0])]) == 2
    err = capsys.readouterr().err
    circle_text = " -> ".join(str(p) for p in [*names, names[0]])
    assert err.endswith(f"bundles name each other in a circle: {circle_text}\n"), err
    assert err.count("\n") == 1


def test_schema_of_a_spec_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert generator_main(["schema", str(REPO / "examples" / "minimal.toml")]) == 0
    assert capsys.readouterr().out == "id BIGINT, city STRING\n"


@pytest.mark.spark
@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_spark_reads_a_spec_data_set_from_files(spark: Any, tmp_path: Path, fmt: str) -> None:
    example = REPO / "examples" / "orders.toml"
    assert generator_main(["files", str(tmp_path), "--dataset", str(example), "--files", "3",
                           "--interval", "0", "--format", fmt, "--quiet"]) == 0  # fmt: skip
    assert len(list(tmp_path.glob(f"2010-12-0*.{fmt}"))) == 3
    cfg = files_app.FilesConsumerConfig(
        source=FolderInput(str(tmp_path), get_dataset(str(example)), format=fmt),
        run=RunOptions(
            OutputConfig(sink="memory", available_now=True, query_name=f"orders_{fmt}"),
            quiet=True,
        ),
    )
    files_app.run(spark, cfg, err=io.StringIO())
    rows = spark.table(f"orders_{fmt}")
    assert rows.count() == 150
    assert rows.where("order_id IS NULL OR quantity IS NULL OR ordered_at IS NULL").count() == 0
    assert 0 < rows.where("coupon IS NULL").count() < 150  # nulls = 0.8 of them
    assert rows.selectExpr("min(order_id)").first()[0] == 100001


@pytest.mark.spark
@pytest.mark.parametrize("fmt", ["csv", "json"])
@pytest.mark.slow
def test_spark_reads_a_spec_data_set_over_a_socket(
    spark: Any, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    example = str(REPO / "examples" / "orders.toml")
    dataset = get_dataset(example)
    result: list[int] = []
    with running(config(dataset=dataset, rate=500, count=400, format=fmt)) as server:
        args = ["socket", "--port", str(server.port), "--host", "127.0.0.1", "--dataset", example,
                "--format", fmt, "--sink", "memory", "--query-name", f"orders_socket_{fmt}",
                "--quiet"]  # fmt: skip
        consumer = threading.Thread(target=lambda: result.append(consumer_main(args)))
        consumer.start()
        consumer.join(180)
    assert result == [1]  # ends when the server has sent its 400 rows and gone
    rows = spark.table(f"orders_socket_{fmt}")
    assert rows.count() == 400
    assert rows.where("order_id IS NULL OR unit_price IS NULL").count() == 0
    capsys.readouterr()


@pytest.mark.spark
def test_a_landed_folder_describes_itself(
    spark: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder of a spec file's data set named like a built-in (examples/orders.toml): the
    declaration lands with the files, so the consumer, verify and schema read the folder's own
    data set with no --dataset; one named that disagrees is one line."""
    data, out = tmp_path / "orders", tmp_path / "out"
    example = str(REPO / "examples" / "orders.toml")
    assert generator_main(["files", str(data), "--dataset", example, "--files", "2",
                           "--interval", "0", "--quiet"]) == 0  # fmt: skip
    assert (data / "_dataset.toml").read_text() == dumps(get_dataset(example))
    run = ["files", str(data), "--available-now", "--sink", "parquet", "--output", str(out),
           "--checkpoint", str(tmp_path / "ckpt"), "--quiet"]  # fmt: skip
    assert consumer_main(run) == 0
    assert spark.read.parquet(str(out)).columns[:2] == ["order_id", "customer"]
    capsys.readouterr()
    assert consumer_main(["verify", "--manifest", str(data), "--sink", str(out)]) == 0
    assert "OK: every row exactly once" in capsys.readouterr().out
    assert generator_main(["schema", str(data)]) == 0
    assert capsys.readouterr().out.startswith("order_id BIGINT, customer STRING")
    # the built-in orders (a bundle's member) is another data set of the same name
    assert consumer_main(["files", str(data), "--dataset", "orders", "--available-now"]) == 2
    err = capsys.readouterr().err
    assert err == (f"consumer: error: {data} holds a data set named 'orders' declared in its "
                   "_dataset.toml, not the one given of that name: drop --dataset: the folder's "
                   "own is read\n")  # fmt: skip
    assert consumer_main(["files", str(data), "--dataset", "person", "--available-now"]) == 2
    assert "holds data set 'orders' (its _dataset.toml), not 'person'" in capsys.readouterr().err
    # and the generator goes on in it only with the same declaration
    assert generator_main(["files", str(data), "--dataset", "person", "--files", "1",
                           "--interval", "0", "--quiet"]) == 2  # fmt: skip
    assert "a run goes on with what made the folder" in capsys.readouterr().err
    assert len(list(data.glob("*.csv"))) == 2  # nothing written


def test_a_parent_of_landed_folders_is_named_for_what_it_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert generator_main(["files", str(tmp_path), "--streams", "2", "--files", "2",
                           "--interval", "0", "--quiet"]) == 0  # fmt: skip
    assert consumer_main(["files", str(tmp_path), "--available-now"]) == 2
    assert capsys.readouterr().err == (
        f"consumer: error: {tmp_path} holds no files, only the folders subdir1, subdir2, with "
        f"files of their own: read one of them (or two at once: consumer multi {tmp_path}/subdir1 "
        f"{tmp_path}/subdir2)\n"
    )
