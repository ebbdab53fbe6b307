from __future__ import annotations

import json

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
        "generator: error: unknown data set 'people' (one of: person, retail, counter, sensor; "
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


def test_nothing_shells_out() -> None:
    """No code of the generator or the consumers starts a shell or a program."""
    from tests.conftest import REPO

    for path in [*(REPO / "generator").glob("*.py"), *(REPO / "consumer").glob("*.py")]:
        source = path.read_text()
        for word in ("subprocess", "os.system", "os.popen", "shell=True", "os.exec"):
            assert word not in source, f"{path.name} uses {word}"
