from __future__ import annotations

import collections
import datetime as dt
import re

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from generator import PERSON, RETAIL, UsageError
from generator.engine import Engine
from generator.formats import csv_body, csv_cells, joined_body
from generator.naming import day_of
from generator.spec import Column, Dataset, FakerPool


def person_rows(seed: int, rows: int, index: int = 1) -> list[dict[str, object]]:
    return Engine(PERSON, seed, rows_per_file=rows).table(index).to_pylist()


def retail_engine(seed: int = 3) -> Engine:
    return Engine(RETAIL, seed, day_of=lambda i: day_of(RETAIL.naming, i))


def test_same_seed_same_bytes_different_seed_different_bytes() -> None:
    def body(seed: int, index: int) -> bytes:
        return bytes(csv_body(Engine(PERSON, seed, rows_per_file=500).table(index)))

    assert body(11, 1) == body(11, 1)
    assert body(11, 2) == body(11, 2)
    assert body(11, 1) != body(12, 1)
    assert body(11, 1) != body(11, 2)


def test_file_i_does_not_depend_on_where_the_run_started() -> None:
    # a restarted run continues the numbering and must produce the same file as an unbroken one
    straight = retail_engine()
    for i in (1, 2, 3):
        straight.table(i)
    resumed = retail_engine()
    assert resumed.table(4).equals(straight.table(4))


def test_person_values_look_human() -> None:
    rows = person_rows(5, 20_000)
    ssns = [r["ssn"] for r in rows]
    assert all(re.fullmatch(r"\d{3}-\d{2}-\d{4}", str(s)) for s in ssns)
    assert len(set(ssns)) > 19_900  # varied, not a small pool of repeats
    ages = collections.Counter(int(r["age"]) for r in rows)  # type: ignore[call-overload]
    assert min(ages) >= 0 and max(ages) <= 104
    children = sum(n for a, n in ages.items() if a < 18) / len(rows)
    old = sum(n for a, n in ages.items() if a >= 85) / len(rows)
    assert 0.15 < children < 0.30  # a population pyramid, not a flat 0..100
    assert old < 0.03
    for column in ("fname", "mname", "lname"):
        names = {r[column] for r in rows}
        assert len(names) > 300
        assert all(isinstance(n, str) and n[:1].isupper() for n in names)


def test_retail_looks_like_the_real_set() -> None:
    engine = retail_engine()
    tables = [engine.table(i) for i in range(1, 21)]
    counts = [t.num_rows for t in tables]
    assert all(279 <= c <= 5331 for c in counts)
    rows = pa.concat_tables(tables).to_pylist()
    n = len(rows)
    empty_customer = sum(r["CustomerID"] is None for r in rows) / n
    cancelled = [r for r in rows if str(r["InvoiceNo"]).startswith("C")]
    assert 0.20 < empty_customer < 0.30  # real: 24.9 %
    assert 0.005 < len(cancelled) / n < 0.04  # real: 1.7 %
    assert all(int(r["Quantity"]) < 0 for r in cancelled)  # type: ignore[call-overload]
    assert all(int(r["Quantity"]) > 0 for r in rows if r not in cancelled)  # type: ignore[call-overload]
    with_comma = sum("," in str(r["Description"]) for r in rows) / n
    assert 0.002 < with_comma < 0.03  # real: 0.9 %
    hours = collections.Counter(r["InvoiceDate"].hour for r in rows)  # type: ignore[union-attr]
    assert min(hours) >= 6 and max(hours) <= 20
    assert sum(hours[h] for h in range(10, 17)) / n > 0.6
    countries = collections.Counter(r["Country"] for r in rows)
    assert 0.85 < countries["United Kingdom"] / n < 0.96
    prices = sorted(float(r["UnitPrice"]) for r in rows)  # type: ignore[arg-type]
    assert 1.0 < prices[n // 2] < 4.0  # real median: 2.08
    invoices = collections.Counter(r["InvoiceNo"] for r in rows)
    assert 8 < n / len(invoices) < 40  # real: about 21 rows per invoice
    # an invoice is one customer, one time, one country
    by_invoice: dict[object, set[tuple[object, object, object]]] = collections.defaultdict(set)
    for r in rows:
        by_invoice[r["InvoiceNo"]].add((r["CustomerID"], r["InvoiceDate"], r["Country"]))
    assert all(len(v) == 1 for v in by_invoice.values())


def test_retail_days_invoices_and_times_advance() -> None:
    engine = retail_engine()
    first, second = engine.table(1).to_pylist(), engine.table(2).to_pylist()
    assert {r["InvoiceDate"].date() for r in first} == {dt.date(2010, 12, 1)}  # type: ignore[union-attr]
    assert {r["InvoiceDate"].date() for r in second} == {dt.date(2010, 12, 2)}  # type: ignore[union-attr]
    numbers = [int(str(r["InvoiceNo"]).lstrip("C")) for r in first + second]
    assert numbers[0] == 536365
    assert numbers == sorted(numbers)
    times = [r["InvoiceDate"] for r in first]
    assert times == sorted(times)  # type: ignore[type-var]


def test_csv_is_written_like_the_real_files() -> None:
    cells = csv_cells(pa.array([17850.0, 2.1, 0.0, -3.0, None])).to_pylist()
    assert cells == ["17850.0", "2.1", "0.0", "-3.0", None]
    quoted = csv_cells(pa.array(["PLAIN", "KEY FOB , SHED", 'RECORD FRAME 7" SINGLE'])).to_pylist()
    assert quoted == ["PLAIN", '"KEY FOB , SHED"', '"RECORD FRAME 7"" SINGLE"']
    times = pa.array([dt.datetime(2010, 12, 1, 8, 26)], pa.timestamp("s"))
    assert csv_cells(times).to_pylist() == ["2010-12-01 08:26:00"]
    body = bytes(csv_body(retail_engine().table(1))).decode()
    line = body.splitlines()[0].split(",")
    assert re.fullmatch(r"C?\d{6}", line[0])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:00", line[4])
    assert ",," in body  # empty CustomerIDs


def test_unknown_faker_provider_is_named() -> None:
    ds = Dataset("mine", "", (Column("x", "STRING", FakerPool("no_such_thing")),))
    with pytest.raises(UsageError, match="unknown Faker provider method: 'no_such_thing'"):
        Engine(ds, 1)


def test_both_csv_renderers_write_the_same_bytes() -> None:
    """Arrow's writer (nothing to quote) and the joined cells (some quotes) agree byte for byte."""
    person = Engine(PERSON, 8, rows_per_file=2000).table(1)
    assert bytes(csv_body(person)) == bytes(joined_body(person.columns))
    retail = retail_engine().table(1)
    plain = pa.table(
        {
            name: col.combine_chunks().dictionary_decode()
            for name, col in zip(retail.column_names, retail.columns, strict=True)
        }
    )
    plain = plain.filter(pc.invert(pc.match_substring_regex(plain["Description"], '[,"]')))
    assert plain.num_rows > 500
    assert bytes(csv_body(plain)) == bytes(joined_body(plain.columns))
