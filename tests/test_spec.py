from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from generator import PERSON, RETAIL, UsageError
from generator.cli import main
from generator.spec import Choice, Column, Dataset, Entity, Naming, Sequence


def test_person_schema_is_exactly_the_seeds() -> None:
    assert PERSON.ddl() == "fname STRING, mname STRING, lname STRING, age INT, ssn STRING"
    assert PERSON.csv_header() == "fname,mname,lname,age,ssn"
    assert PERSON.header is False


def test_retail_schema_is_what_spark_infers_for_the_real_files() -> None:
    assert RETAIL.csv_header() == (
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
    )
    assert RETAIL.ddl() == (
        "InvoiceNo STRING, StockCode STRING, Description STRING, Quantity INT, "
        "InvoiceDate TIMESTAMP, UnitPrice DOUBLE, CustomerID DOUBLE, Country STRING"
    )
    assert RETAIL.header is True


def test_json_schema_is_sparks_form() -> None:
    fields = PERSON.schema_json()["fields"]
    assert isinstance(fields, list)
    assert fields[3] == {"name": "age", "type": "integer", "nullable": True, "metadata": {}}
    assert json.loads(PERSON.schema_json_string()) == PERSON.schema_json()


def test_schema_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "person"]) == 0
    assert capsys.readouterr().out == PERSON.ddl() + "\n"
    assert main(["schema", "person", "--ddl"]) == 0
    assert capsys.readouterr().out == PERSON.ddl() + "\n"
    assert main(["schema", "retail", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == RETAIL.schema_json()
    assert main(["schema", "retail", "--header"]) == 0
    assert capsys.readouterr().out == RETAIL.csv_header() + "\n"


def test_schema_of_unknown_data_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "people"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "generator: error: unknown data set 'people' (one of: person, retail, counter, sensor, "
        "impressions, clicks, customers, orders, activity, words, customer_changes, ads, shop; "
        "or a spec file, *.toml)\n"
    )


@pytest.mark.parametrize(
    ("columns", "problem"),
    [
        ((), "no columns declared"),
        ((Column("a", "STRING", Sequence()), Column("a", "INT", Sequence())), "declared twice"),
        ((Column("a", "TEXT", Sequence()),), "unknown type 'TEXT'"),
        ((Column("a", "INT", Sequence(), nulls=1.5),), "nulls must be a fraction"),
        ((Column("a", "INT", Sequence(), per="group"),), "needs the data set's group_size"),
        ((Column("a", "STRING", Entity("product", "code")),), "unknown catalog 'product'"),
        ((Column("a", "INT", Choice((1, 2), (1.0,))),), "weights must be as many"),
    ],
)
def test_a_declaration_that_cannot_work_is_rejected(
    columns: tuple[Column, ...], problem: str
) -> None:
    with pytest.raises(UsageError, match=problem) as info:
        Dataset(name="mine", description="", columns=columns)
    assert "data set 'mine'" in str(info.value)


@pytest.mark.parametrize("name", ["../person", "a/b", "a\\b", ".hidden", ""])
def test_a_data_set_name_that_could_be_a_path_is_rejected(name: str) -> None:
    with pytest.raises(UsageError, match=r"cannot be empty, start with '\.' or hold a path"):
        Dataset(name=name, description="", columns=(Column("a", "INT", Sequence()),))


@pytest.mark.parametrize("prefix", ["../part-", "out/part-", "_part-", ".part-"])
def test_a_file_prefix_that_could_escape_or_hide_is_rejected(prefix: str) -> None:
    with pytest.raises(UsageError, match="naming prefix"):
        Dataset(
            name="mine",
            description="",
            columns=(Column("a", "INT", Sequence()),),
            naming=Naming(prefix=prefix),
        )


_STARTS_A_PROGRAM = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                     "os.fork", "os.forkpty", "pty.spawn")  # fmt: skip
_watching: list[str] = []  # events seen while a test watches; an audit hook cannot be removed


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _watching and event in _STARTS_A_PROGRAM:
        _watching.append(event)


sys.addaudithook(_audit)


def test_nothing_shells_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Running the generator's commands and `consumer verify` starts no shell and no program:
    Python's audit events would show any attempt, whatever module made it."""
    from consumer.cli import main as consumer_main
    from tests.socket_helpers import LineClient, config, running

    source = tmp_path / "source"
    _watching.append("watching")
    try:
        assert main(["files", str(source), "--files", "3", "--interval", "0", "--seed", "1",
                     "--quiet"]) == 0  # fmt: skip
        assert main(["files", str(tmp_path / "s"), "--dataset", "sensor", "--files", "2",
                     "--interval", "0", "--quiet"]) == 0  # fmt: skip
        assert main(["replay", str(source), str(tmp_path / "replayed"), "--interval", "0",
                     "--quiet"]) == 0  # fmt: skip
        assert main(["schema", "retail", "--toml"]) == 0
        with running(config(count=100)) as server:
            assert len(LineClient(server.port).rest()) == 100
        assert consumer_main(["verify", "--manifest", str(source), "--sink", str(tmp_path)]) == 2
    finally:
        seen = _watching[1:]
        _watching.clear()
    capsys.readouterr()
    assert seen == []


def test_the_spark_side_sees_only_the_generators_public_surface() -> None:
    """`consumer` imports declarations, types, converters, readers and the row batches — never
    the generator's command line, engine or formats (read from the imports themselves): every
    generator module it imports is on this list."""
    import ast

    from tests.conftest import REPO

    public = {
        "generator",  # the package's own names: the built-in declarations, UsageError
        "generator.answers",  # the answer keys and their readers, the watermark rule
        "generator.clock",  # the event-time options
        "generator.datasets",  # the built-in declarations by name
        "generator.errors",
        "generator.manifest",  # the manifest reader
        "generator.options",  # the option converters
        "generator.rows",  # the seed's rows as Arrow batches
        "generator.spec",  # declarations
        "generator.spec_file",  # declarations read from TOML
        "generator.types",  # column types
    }
    for path in sorted((REPO / "consumer").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            else:
                continue
            mine = {m for m in modules if m == "generator" or m.startswith("generator.")}
            assert mine <= public, f"{path.name} imports {mine - public}"
