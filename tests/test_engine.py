from __future__ import annotations

import collections
import datetime as dt
import itertools
import re

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from generator import PERSON, RETAIL, UsageError
from generator.engine import BLOCK_ROWS, Engine
from generator.formats import csv_body, csv_cells, joined_body
from generator.spec import Column, Dataset, FakerPool, Histogram, Pattern, Sequence


def person_rows(seed: int, rows: int, start: int = 0) -> list[dict[str, object]]:
    return Engine(PERSON, seed).table(start, start + rows).to_pylist()


def retail_engine(seed: int = 3) -> Engine:
    return Engine(RETAIL, seed)


def day_table(engine: Engine, day: int) -> pa.Table:
    return engine.table(*engine.day(day))


def body(engine: Engine, start: int, stop: int) -> bytes:
    return b"".join(bytes(csv_body(p)) for p in engine.pieces(start, stop))


def test_same_seed_same_bytes_different_seed_different_bytes() -> None:
    assert body(Engine(PERSON, 11), 0, 500) == body(Engine(PERSON, 11), 0, 500)
    assert body(Engine(PERSON, 11), 0, 500) != body(Engine(PERSON, 12), 0, 500)
    assert body(Engine(PERSON, 11), 0, 500) != body(Engine(PERSON, 11), 500, 1000)


@pytest.mark.parametrize("dataset", [PERSON, RETAIL], ids=["person", "retail"])
def test_any_range_drawn_alone_is_that_part_of_the_sequence(dataset: Dataset) -> None:
    """Row k depends only on (data set, seed, k): a range drawn by a fresh engine, without
    the rows before it, equals the same rows of one long draw, across segment boundaries."""
    whole = body(Engine(dataset, 5), 0, 3 * BLOCK_ROWS + 10).split(b"\n")
    for start, stop in ((0, 1), (17, 4000), (BLOCK_ROWS - 3, BLOCK_ROWS + 3),
                        (2 * BLOCK_ROWS + 1, 3 * BLOCK_ROWS + 10)):  # fmt: skip
        alone = body(Engine(dataset, 5), start, stop).split(b"\n")[:-1]
        assert alone == whole[start:stop], (start, stop)


def test_adding_a_column_leaves_the_other_columns_as_they_were() -> None:
    base = (Column("id", "BIGINT", Sequence()), Column("name", "STRING", FakerPool("name")),
            Column("age", "INT", Histogram((0.0, 50.0, 100.0), (1.0, 1.0))))  # fmt: skip
    extra = (Column("first", "STRING", FakerPool("first_name")),
             Column("code", "STRING", Pattern(("@@-##",))))  # fmt: skip
    plain = Engine(Dataset("d", "", base), 9).table(0, 2000)
    grown = Engine(Dataset("d", "", extra[:1] + base + extra[1:]), 9).table(0, 2000)
    for name in ("id", "name", "age"):
        assert grown.column(name).to_pylist() == plain.column(name).to_pylist()


def test_retail_days_follow_each_other_and_invoices_never_straddle_a_day() -> None:
    engine = retail_engine()
    starts = [engine.day(d) for d in range(1, 8)]
    assert starts[0][0] == 0
    assert all(a[1] == b[0] for a, b in itertools.pairwise(starts))  # no gap
    invoices_by_day = [set(day_table(engine, d).column("InvoiceNo").to_pylist())
                       for d in range(1, 8)]  # fmt: skip
    for a, b in itertools.pairwise(invoices_by_day):
        assert not a & b
    # the day of a row comes from the declaration, however the rows are drawn
    middle = engine.table(starts[2][0] - 5, starts[2][0] + 5).to_pylist()
    days = [r["InvoiceDate"].date() for r in middle]  # type: ignore[union-attr]
    assert days == [dt.date(2010, 12, 2)] * 5 + [dt.date(2010, 12, 3)] * 5


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
    tables = [day_table(engine, i) for i in range(1, 21)]
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
    first, second = day_table(engine, 1).to_pylist(), day_table(engine, 2).to_pylist()
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
    text = bytes(csv_body(day_table(retail_engine(), 1))).decode()
    line = text.splitlines()[0].split(",")
    assert re.fullmatch(r"C?\d{6}", line[0])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:00", line[4])
    assert ",," in text  # empty CustomerIDs


def test_unknown_faker_provider_is_named() -> None:
    ds = Dataset("mine", "", (Column("x", "STRING", FakerPool("no_such_thing")),))
    with pytest.raises(UsageError, match="unknown Faker provider method: 'no_such_thing'"):
        Engine(ds, 1).table(0, 1)


def test_both_csv_renderers_write_the_same_bytes() -> None:
    """Arrow's writer (nothing to quote) and the joined cells (some quotes) agree byte for byte."""
    person = Engine(PERSON, 8).table(0, 2000)
    assert bytes(csv_body(person)) == bytes(joined_body(person.columns))
    retail = day_table(retail_engine(), 1)
    plain = pa.table(
        {
            name: col.combine_chunks().dictionary_decode()
            for name, col in zip(retail.column_names, retail.columns, strict=True)
        }
    )
    plain = plain.filter(pc.invert(pc.match_substring_regex(plain["Description"], '[,"]')))
    assert plain.num_rows > 500
    assert bytes(csv_body(plain)) == bytes(joined_body(plain.columns))
