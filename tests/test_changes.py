"""Change feeds: the rows (inserts, updates and deletes of a table, in commit order), their
delivery out of order and again, the answer keys (the table, SCD 1; its history, SCD 2), and
`consumer upsert` keeping a real SQLite table (and a real PostgreSQL one, where a server can be
started) equal to the key, killed or not."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from consumer.cli import main as consumer_main
from generator import UsageError
from generator.answers import HistoryKey, TableKey, load_history, load_table
from generator.clock import Clock, EventTime
from generator.datasets import get_dataset
from generator.engine import BLOCK_ROWS, Engine
from generator.files import FilesConfig
from generator.files import run as run_files
from generator.resend import Disorder, Resender
from generator.spec_file import loads
from tests import postgres
from tests.conftest import REPO

FEED = get_dataset("customer_changes")
START = EventTime(start=dt.datetime(2026, 1, 1))
OTHERS = ["name", "city", "segment"]


def land(folder: Path, *args: str) -> None:
    cmd = [sys.executable, "-m", "generator", "files", str(folder), "--dataset",
           "customer_changes", "--interval", "0", "--quiet", *args]  # fmt: skip
    subprocess.run(cmd, cwd=REPO, check=True)


def by_key(table: pa.Table) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for row in sorted(table.to_pylist(), key=lambda r: r["seq"]):
        out.setdefault(row["customerId"], []).append(row)
    return out


# --- the rows ---------------------------------------------------------------------------------


def test_every_key_s_changes_follow_the_rule_across_segments() -> None:
    """Per key, in commit order: an insert first; after a delete, an insert, and never an
    insert of a live row; a delete carries the row before it. Checked row by row in plain
    Python over two segments' worth of rows."""
    table = Engine(FEED, 5).table(0, BLOCK_ROWS + 20_000)
    assert table.column("seq").to_pylist() == list(range(1, table.num_rows + 1))
    ts = table.column("ts").cast(pa.int64()).to_numpy()
    assert (np.diff(ts) >= 0).all()  # commit times in commit order
    ops = Counter(table.column("op").to_pylist())
    assert set(ops) == {"c", "u", "d"}
    for key, rows in by_key(table).items():
        assert rows[0]["op"] == "c", key
        for before, row in itertools.pairwise(rows):
            values = [row[c] for c in OTHERS]
            if before["op"] == "d":
                assert row["op"] == "c", (key, row["seq"])
            else:
                assert row["op"] in ("u", "d"), (key, row["seq"])
            if row["op"] == "d":
                assert values == [before[c] for c in OTHERS], (key, row["seq"])
    # a deleted key comes back about half the time (reinserts = 0.5); the others' slots take
    # new keys, past the first generation's
    assert max(table.column("customerId").to_pylist()) > 1000 + FEED.changes.keys  # type: ignore[union-attr]


def test_row_k_is_the_same_however_the_sequence_is_cut() -> None:
    whole = Engine(FEED, 9).table(0, BLOCK_ROWS + 500)
    late = Engine(FEED, 9).table(BLOCK_ROWS - 300, BLOCK_ROWS + 500)  # a fresh engine
    assert late.equals(whole.slice(BLOCK_ROWS - 300))
    assert not Engine(FEED, 10).table(0, 50).equals(whole.slice(0, 50))


def test_disorder_delivers_each_change_once_and_any_cut_is_the_same() -> None:
    engine = Engine(FEED, 2, clock=Clock(0, 0.1))
    late = Disorder(engine, 20)  # up to 200 rows later
    whole = late.table(0, 30_000).column("seq").to_numpy()
    pieces = np.concatenate([late.table(a, min(a + 777, 30_000)).column("seq").to_numpy()
                             for a in range(0, 30_000, 777)])  # fmt: skip
    assert (pieces == whole).all()
    assert not (whole == np.arange(1, 30_001)).all()  # out of order ...
    assert np.abs(whole - np.arange(1, 30_001)).max() <= late.reach  # ... by the rows of 20 s
    full = late.table(0, 40_000).column("seq").to_numpy()
    assert set(range(1, 29_000)) <= set(full.tolist())  # every change, once
    assert len(set(full.tolist())) == len(full)


# --- the answer keys --------------------------------------------------------------------------


def fold_table(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The table, the plain way: every change applied in seq order."""
    table: dict[int, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: r["seq"]):
        if row["op"] == "d":
            table.pop(row["customerId"], None)
        else:
            table[row["customerId"]] = {k: row[k] for k in ["customerId", *OTHERS]}
    return table


def fold_history(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every version, the plain way: the changes once each, in seq order, each insert or update
    a version that ends at its key's next change."""
    once = {r["seq"]: r for r in rows}
    chains: dict[int, list[dict[str, Any]]] = {}
    for seq in sorted(once):
        chains.setdefault(once[seq]["customerId"], []).append(once[seq])
    out = []
    for key, chain in chains.items():
        for i, row in enumerate(chain):
            if row["op"] == "d":
                continue
            nxt = chain[i + 1] if i + 1 < len(chain) else None
            out.append({"customerId": key, **{c: row[c] for c in OTHERS},
                        "valid_from": str(row["ts"]),
                        "valid_to": None if nxt is None else str(nxt["ts"]),
                        "current": nxt is None, "seq": row["seq"]})  # fmt: skip
    return sorted(out, key=lambda v: (v["customerId"], v["seq"]))


def test_the_keys_are_the_same_whatever_order_and_copies_the_changes_land_in(
    tmp_path: Path,
) -> None:
    engine = Engine(FEED, 4, clock=Clock(0, 1.0))
    rows = engine.table(0, 3000)
    messy, copies = Resender(Disorder(engine, 60), 0.2).rows(0, 3000)
    assert copies > 0
    keys = []
    for table in (rows, messy):
        t, h = TableKey(FEED), HistoryKey(FEED)
        for start in range(0, table.num_rows, 100):
            t.add_batch(table.slice(start, 100))
            h.add_batch(table.slice(start, 100))
        folder = tmp_path / str(len(keys))
        folder.mkdir()
        t.save(folder)
        h.save(folder)
        keys.append((load_table(folder / t.file_name), load_history(folder / h.file_name)))
    (table1, history1), (table2, history2) = keys
    expected = fold_table(rows.to_pylist())
    assert [r["customerId"] for r in table1] == sorted(expected)
    assert table1 == [expected[k] for k in sorted(expected)]
    # the changes that landed (not those the disorder left for later) make the same table
    landed = messy.to_pylist()
    assert table2 == [v for _, v in sorted(fold_table(landed).items())]
    # SCD 2: a version per insert or update, closed by the key's next change
    versions = [r for r in rows.to_pylist() if r["op"] != "d"]
    assert len(history1) == len(versions)
    current = [v for v in history1 if v["current"]]
    assert sorted(v["customerId"] for v in current) == sorted(expected)
    assert all(v["valid_to"] is None for v in current)
    assert all(v["valid_to"] is not None for v in history1 if not v["current"])
    assert history1 == fold_history(rows.to_pylist())
    assert history2 == fold_history(landed)  # valid_to and current too, out of order


def test_the_keys_land_with_the_files_and_a_run_that_goes_on_keeps_them(tmp_path: Path) -> None:
    once, twice = tmp_path / "once", tmp_path / "twice"
    for folder, runs in ((once, [40]), (twice, [15, 25])):
        for files in runs:
            config = FilesConfig(folder, "customer_changes", seed=8, files=files, interval=0,
                                 quiet=True, duplicates=0.1, event_time=START)  # fmt: skip
            run_files(config)
    assert load_table(once / "_truth_table.jsonl") == load_table(twice / "_truth_table.jsonl")
    # a run's end writes each key compact: one line per live key, one per version, a summary
    for folder in (once, twice):
        raw = [
            json.loads(line) for line in (folder / "_truth_table.jsonl").read_text().splitlines()
        ]
        assert raw[:-1] == load_table(folder / "_truth_table.jsonl") and "summary" in raw[-1]
        raw = [json.loads(line) for line in
               (folder / "_truth_history.jsonl").read_text().splitlines()]  # fmt: skip
        assert raw[:-1] == load_history(folder / "_truth_history.jsonl")
    assert load_history(once / "_truth_history.jsonl") == load_history(
        twice / "_truth_history.jsonl"
    )


# --- the declaration ----------------------------------------------------------------------------

SPEC = """
name = "accounts"
description = "a change feed of accounts"
key = "id"

[changes]
keys = 50
deletes = 0.2

[[columns]]
name = "id"
type = "BIGINT"
[columns.source]
kind = "sequence"
start = 1

[[columns]]
name = "balance"
type = "DOUBLE"
[columns.source]
kind = "normal"
mean = 100.0
stddev = 30.0
low = 0.0
high = 500.0
"""


def test_a_spec_of_one_s_own_is_a_change_feed() -> None:
    ds = loads(SPEC)
    assert ds.column_names == ["op", "seq", "ts", "id", "balance"]
    table = Engine(ds, 1).table(0, 2000)
    assert set(table.column("id").to_pylist()) <= set(range(1, 1000))
    assert Counter(table.column("op").to_pylist())["d"] > 100


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ("keys = 0", "changes keys: must be from 1 to 1,000,000, not 0"),
        ("deletes = 1.5", "changes deletes: must be a fraction between 0 and 1, not 1.5"),
        ('keys = "many"', "keys must be a whole number"),
        ("colour = 1", "unknown key 'colour'"),
    ],
)
def test_a_wrong_changes_table_is_one_line(change: str, said: str) -> None:
    with pytest.raises(UsageError, match=said.replace("(", r"\(").replace(")", r"\)")):
        loads(SPEC.replace("keys = 50\ndeletes = 0.2", change))


def test_no_deletes_at_all_is_a_feed_of_inserts_and_updates() -> None:
    ds = loads(SPEC.replace("deletes = 0.2", "deletes = 0.0"))
    ops = Counter(Engine(ds, 1).table(0, BLOCK_ROWS + 10).column("op").to_pylist())
    assert set(ops) == {"c", "u"} and ops["c"] == 50  # each slot inserted once, never again


def test_a_change_feed_needs_a_whole_number_key() -> None:
    with pytest.raises(UsageError, match="a change feed's key is a whole number"):
        loads(SPEC.replace('key = "id"', 'key = "balance"'))
    with pytest.raises(UsageError, match="needs the table's key"):
        loads(SPEC.replace('key = "id"\n', ""))
    with pytest.raises(UsageError, match="keys count up: step must be 1 or more, not 0"):
        loads(SPEC.replace("start = 1\n", "start = 1\nstep = 0\n"))
    with pytest.raises(UsageError, match="the first 50 keys from 2147483600 by 1 go past INT"):
        loads(SPEC.replace("start = 1\n", "start = 2147483600\n").replace("BIGINT", "INT", 1))


def test_late_changes_are_refused_and_disorder_is_the_files_own(tmp_path: Path) -> None:
    from generator.socket_server import SocketConfig

    with pytest.raises(UsageError, match="--late-fraction does not apply to a change feed"):
        FilesConfig(tmp_path, "customer_changes",
                    event_time=EventTime(late_fraction=0.1, max_lateness=5))  # fmt: skip
    with pytest.raises(UsageError, match="--disorder on a change feed delivers changes out of"):
        SocketConfig(port=0, dataset="customer_changes", event_time=EventTime(disorder=5))


# --- consumer upsert ------------------------------------------------------------------------------


def count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


@pytest.mark.spark
@pytest.mark.parametrize("scd", ["1", "2"])
def test_upsert_with_copies_and_disorder_equals_the_key(
    tmp_path: Path, spark: Any, capsys: pytest.CaptureFixture[str], scd: str
) -> None:
    data, db = tmp_path / "data", tmp_path / "shop.db"
    land(data, "--files", "20", "--seed", "6", "--duplicates", "0.15", "--disorder", "30")
    args = ["upsert", str(data), "--into", f"sqlite:///{db}", "--table", "customers",
            "--scd", scd, "--available-now", "--max-files-per-trigger", "4", "--check",
            "--quiet", "--checkpoint", str(tmp_path / "ckpt")]  # fmt: skip
    assert consumer_main(args) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].endswith("agree")
    assert count(db, "SELECT count(*) FROM stream_lab_batches") == 5
    # run again on the same checkpoint: nothing new, nothing changed; a new checkpoint (a new
    # writer) reads every change again, and seq keeps the table as it is
    assert consumer_main(args) == 0
    assert consumer_main([*args[:-1], str(tmp_path / "other")]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("agree")
    assert count(db, "SELECT count(*) FROM stream_lab_batches") == 10


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_the_history_writer_merges_changes_in_any_order_into_the_key_s_versions(
    tmp_path: Path, db: str, request: pytest.FixtureRequest
) -> None:
    """SCD 2 in the database, without Spark: changes shuffled, copies among them, in batches of
    any size; the table's versions (valid_to and current included) are those of seq order."""
    from consumer.tables import Target, Writer

    url = request.getfixturevalue("postgresql") if db == "postgresql" else (
        f"sqlite:///{tmp_path / 'h.db'}")  # fmt: skip
    writer = Writer(Target(url, f"h_{tmp_path.name[-10:].replace('-', '_')}"), "customerId",
                    OTHERS, ["INT", "STRING", "STRING", "STRING"], 2)  # fmt: skip
    rows = Engine(FEED, 8, clock=Clock(0, 0.5)).table(0, 3000).to_pylist()
    changes = [(r["customerId"], r["seq"], r["op"], str(r["ts"]), [r[c] for c in OTHERS])
               for r in rows]  # fmt: skip
    messy = changes + random.Random(2).sample(changes, 300)  # copies
    random.Random(3).shuffle(messy)
    with writer.target.connect() as conn:
        writer.create(conn)
        batch, start = 0, 0
        while start < len(messy):
            size = random.Random(batch).randint(1, 400)
            assert writer.apply(conn, "w", batch, messy[start : start + size])
            batch, start = batch + 1, start + size
        found = sorted(writer.rows(conn), key=lambda v: (v["customerId"], v["seq"]))
    assert found == fold_history(rows)


def test_a_batch_applied_twice_changes_nothing_the_second_time(tmp_path: Path) -> None:
    from consumer.tables import Target, Writer

    writer = Writer(Target(f"sqlite:///{tmp_path / 'x.db'}", "t"), "customerId", OTHERS,
                    ["INT", "STRING", "STRING", "STRING"], 1)  # fmt: skip
    rows = Engine(FEED, 3).table(0, 500).to_pylist()
    changes = [(r["customerId"], r["seq"], r["op"], str(r["ts"]), [r[c] for c in OTHERS])
               for r in rows]  # fmt: skip
    with writer.target.connect() as conn:
        writer.create(conn)
        assert writer.apply(conn, "w", 0, changes[:300])
        assert not writer.apply(conn, "w", 0, changes[:300])
        # changes in any order, in batches of any size: the table of seq order
        shuffled = changes[300:]
        random.Random(1).shuffle(shuffled)
        for b in range(0, len(shuffled), 37):
            assert writer.apply(conn, "w", 1 + b, shuffled[b : b + 37])
        found = {r["customerId"]: r for r in writer.rows(conn)}
    assert found == fold_table(rows)


def ask(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a query, in SQLite or PostgreSQL."""
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return list(conn.execute(sql).fetchall())
    import psycopg

    with psycopg.connect(url) as conn:
        return list(conn.execute(sql).fetchall())


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_upsert_killed_at_random_moments_still_equals_the_key(
    tmp_path: Path, spark: Any, capsys: pytest.CaptureFixture[str], db: str,
    request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    data, ckpt = tmp_path / "data", tmp_path / "ckpt"
    url = request.getfixturevalue("postgresql") if db == "postgresql" else (
        f"sqlite:///{tmp_path / 'shop.db'}")  # fmt: skip
    table = f"killed_{tmp_path.name[-12:].replace('-', '_')}"
    land(data, "--files", "60", "--seed", "12", "--duplicates", "0.1", "--disorder", "20")
    args = ["upsert", str(data), "--into", url, "--table", table, "--checkpoint", str(ckpt),
            "--quiet", "--conf", "spark.ui.enabled=false", "--log-level", "ERROR"]  # fmt: skip
    cmd = [sys.executable, "-m", "consumer", *args]
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    rng = random.Random(3)

    def applied() -> int:
        try:
            found = ask(url, f"SELECT count(*) FROM stream_lab_batches WHERE target = '{table}'")
        except Exception:  # the table is not there before the first start made it
            return 0
        return int(found[0][0])

    done = 0
    for _ in range(2):
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while applied() <= done:  # it is writing: a batch applied since its start
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.1)
        time.sleep(rng.uniform(0.0, 1.0))  # then a random moment, often mid-batch
        proc.kill()
        proc.wait()
        done = applied()
    assert 0 < done < 60
    assert consumer_main([*args, "--available-now", "--max-files-per-trigger", "20",
                          "--check"]) == 0  # fmt: skip
    assert capsys.readouterr().out.splitlines()[-1].endswith("agree")
    # every batch Spark committed is in the table's record once, and no other
    writer = json.loads((ckpt / "metadata").read_text())["id"]
    recorded = ask(url, f"SELECT batch FROM stream_lab_batches WHERE writer = '{writer}' "
                        f"AND target = '{table}' ORDER BY batch")  # fmt: skip
    assert [b for (b,) in recorded] == [int(p.name) for p in commits(ckpt)]


def commits(checkpoint: Path) -> list[Path]:
    found = [p for p in (checkpoint / "commits").iterdir() if p.name.isdigit()]
    return sorted(found, key=lambda p: int(p.name))


@pytest.mark.spark
@pytest.mark.parametrize("naive", [False, True])
def test_a_batch_run_again_after_its_write_changes_nothing_only_with_batch_ids(
    tmp_path: Path, spark: Any, capsys: pytest.CaptureFixture[str], naive: bool
) -> None:
    """A crash between the table's commit and Spark's (the window a kill lands in) makes Spark
    run the last batch again. With the batch id in the table's transaction, nothing changes;
    without (`--naive`: each change as it comes), its versions are appended twice."""
    data, db, ckpt = tmp_path / "data", tmp_path / "t.db", tmp_path / "ckpt"
    land(data, "--files", "6", "--seed", "2")  # in order, no copies: naive gets it right once
    args = ["upsert", str(data), "--into", f"sqlite:///{db}", "--table", "history", "--scd",
            "2", "--available-now", "--check", "--quiet", "--checkpoint", str(ckpt)]  # fmt: skip
    args += ["--naive"] if naive else []
    assert consumer_main(args) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("agree")
    last = commits(ckpt)[-1]  # Spark's commit of the last batch never written
    last.unlink()
    (last.parent / f".{last.name}.crc").unlink()
    status = consumer_main(args)
    out, err = capsys.readouterr()
    if naive:
        assert status == 1
        assert "not in the key" in out and out.splitlines()[-1].endswith("DIFFER")
    else:
        assert status == 0, out
        assert (
            "consumer: batch 5 was applied before (stream_lab_batches says so): nothing "
            "changed" in err
        )
        assert out.splitlines()[-1].endswith("agree")


@pytest.mark.spark
@pytest.mark.slow
def test_naive_upserts_of_a_feed_out_of_order_differ(
    tmp_path: Path, spark: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    data, db = tmp_path / "data", tmp_path / "t.db"
    land(data, "--files", "20", "--seed", "6", "--duplicates", "0.15", "--disorder", "30")
    args = ["upsert", str(data), "--into", f"sqlite:///{db}", "--table", "customers",
            "--naive", "--available-now", "--check", "--quiet"]  # fmt: skip
    assert consumer_main(args) == 1
    out = capsys.readouterr().out
    assert "missing: " in out and out.splitlines()[-1].endswith("DIFFER")


@pytest.mark.spark
@pytest.mark.slow
def test_debezium_envelopes_say_what_the_csv_feed_says(
    tmp_path: Path, spark: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    csv, dbz = tmp_path / "csv", tmp_path / "dbz"
    common = ["--files", "8", "--seed", "5", "--duplicates", "0.1", "--disorder", "20",
              "--start", "2026-01-01T00:00:00"]  # fmt: skip
    land(csv, *common)
    land(dbz, *common, "--format", "debezium")
    assert load_table(csv / "_truth_table.jsonl") == load_table(dbz / "_truth_table.jsonl")
    # a standard JSON reader: every line an envelope as Debezium writes it with schemas off
    lines = [json.loads(line) for f in sorted(dbz.glob("part-*.json"))
             for line in f.read_text().splitlines()]  # fmt: skip
    rows = [r for f in sorted(csv.glob("part-*.csv")) for r in pa_csv(f)]
    assert len(lines) == len(rows)
    for envelope, row in zip(lines, rows, strict=True):
        assert set(envelope) == {"before", "after", "source", "op", "ts_ms"}
        assert envelope["op"] == row["op"] and envelope["source"]["seq"] == row["seq"]
        image = envelope["before"] if row["op"] == "d" else envelope["after"]
        assert (envelope["after"] if row["op"] == "d" else envelope["before"]) is None
        assert image == {k: row[k] for k in ["customerId", *OTHERS]}
        assert envelope["ts_ms"] == int(row["ts"].replace(tzinfo=dt.UTC).timestamp()) * 1000
    # Spark reads the envelopes (the folder says its format) and the table is the key's
    args = ["upsert", str(dbz), "--into", f"sqlite:///{tmp_path / 'd.db'}", "--table",
            "customers", "--available-now", "--check", "--quiet"]  # fmt: skip
    assert consumer_main(args) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("agree")


ODD = """
name = "odd"
description = "a change feed whose columns SQL would misread unquoted"
key = "order"

[changes]
keys = 30

[[columns]]
name = "order"
type = "INT"
[columns.source]
kind = "sequence"

[[columns]]
name = "a b"
type = "STRING"
[columns.source]
kind = "choice"
values = ["x", "y", "z"]

[[columns]]
name = "x); DROP TABLE t; --"
type = "DATE"
[columns.source]
kind = "choice"
values = ["2026-01-01", "2026-02-01"]
"""


@pytest.mark.spark
@pytest.mark.slow
def test_any_column_name_is_a_name_in_sql_and_dates_survive_the_keys(
    tmp_path: Path, spark: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "odd.toml"
    spec.write_text(ODD)
    data, db = tmp_path / "data", tmp_path / "odd.db"
    land(data, "--files", "5", "--seed", "1", "--dataset", str(spec), "--format", "debezium")
    args = ["upsert", str(data), "--into", f"sqlite:///{db}", "--table", "t", "--available-now",
            "--check", "--quiet"]  # fmt: skip
    assert consumer_main(args) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("agree")
    with sqlite3.connect(db) as conn:
        names = [c[1] for c in conn.execute('PRAGMA table_info("t")')]
    assert names == ["order", "a b", "x); DROP TABLE t; --", "_seq"]
    # the same table name with another --scd: one line, nothing changed
    assert consumer_main([*args, "--scd", "2"]) == 2
    assert "--table t is there with other columns (order, a b, x); DROP TABLE t; --, _seq)" in (
        capsys.readouterr().err)  # fmt: skip


def test_a_column_upsert_keeps_for_itself_is_one_line(tmp_path: Path) -> None:
    spec = tmp_path / "own.toml"
    spec.write_text(SPEC.replace('name = "balance"', 'name = "current"'))
    land(tmp_path / "data", "--files", "1", "--dataset", str(spec))
    with pytest.raises(UsageError, match="column 'current' of accounts: upsert keeps a column"):
        from consumer.cli import COMMANDS, build_parser

        into = f"sqlite:///{tmp_path / 'x.db'}"
        args = build_parser().parse_args(["upsert", str(tmp_path / "data"), "--into", into,
                                          "--table", "t"])  # fmt: skip
        next(c for c in COMMANDS if c.name == "upsert").config(args)


def pa_csv(path: Path) -> list[dict[str, Any]]:
    import pyarrow.csv as pacsv

    rows: list[dict[str, Any]] = pacsv.read_csv(path).to_pylist()
    return rows


NO_POSTGRES = postgres.missing()


@pytest.fixture(scope="module")
def postgresql() -> Any:
    if NO_POSTGRES:
        pytest.skip(NO_POSTGRES)
    with postgres.server() as url:
        yield url


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.parametrize("scd", ["1", "2"])
def test_upsert_into_a_real_postgresql_equals_the_key(
    tmp_path: Path, spark: Any, capsys: pytest.CaptureFixture[str], postgresql: str, scd: str
) -> None:
    data = tmp_path / "data"
    land(data, "--files", "12", "--seed", "7", "--duplicates", "0.15", "--disorder", "30")
    args = ["upsert", str(data), "--into", postgresql, "--table", f"customers{scd}", "--scd",
            scd, "--available-now", "--max-files-per-trigger", "3", "--check", "--quiet",
            "--checkpoint", str(tmp_path / "ckpt")]  # fmt: skip
    assert consumer_main(args) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("agree")
    import psycopg

    with psycopg.connect(postgresql) as conn:
        batches = conn.execute("SELECT count(*) FROM stream_lab_batches WHERE target = %s",
                               (f"customers{scd}",)).fetchone()  # fmt: skip
    assert batches == (4,)


@pytest.mark.slow
def test_spark_s_own_auto_cdc_flow_cannot_run_on_spark_alone(tmp_path: Path) -> None:
    """The outside check, tried: Spark's Auto CDC flow (spark-pipelines, SCD 1) on the pinned
    Spark stops before a row is read, because the default catalog's tables cannot take MERGE.
    Should a Spark ever run it, the test says so: the flow's table is then to be held against
    _truth_table.jsonl (docs/change-feeds.md)."""
    data, project = tmp_path / "data", tmp_path / "pipeline"
    land(data, "--files", "3", "--seed", "1")
    shutil.copytree(REPO / "examples" / "auto_cdc", project)
    spec = project / "spark-pipeline.yml"
    spec.write_text(spec.read_text().replace("file:///tmp/stream-lab-auto-cdc",
                                             f"file://{tmp_path / 'storage'}"))  # fmt: skip
    env = {**os.environ, "CHANGES_DIR": str(data), "PYSPARK_PYTHON": sys.executable,
           "SPARK_LOCAL_IP": "127.0.0.1",
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}  # fmt: skip
    done = subprocess.run(["spark-pipelines", "run"], cwd=project, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode != 0, "Auto CDC ran: compare its table with _truth_table.jsonl"
    assert "[AUTOCDC_TARGET_DOES_NOT_SUPPORT_MERGE]" in done.stdout + done.stderr
    assert "(format: parquet) does not support row-level operations" in done.stdout + done.stderr


@pytest.mark.spark
@pytest.mark.slow
def test_the_synthetic_source_makes_the_same_changes_in_any_partition(spark: Any) -> None:
    """70,000 rows in three partitions: the last starts past the engine's first segment, so its
    worker draws the table that segment left before its own rows."""
    from consumer.source import register

    register(spark)
    df = (spark.read.format("synthetic").option("dataset", "customer_changes")
          .option("seed", 5).option("rows", 70_000).option("numPartitions", 3).load())  # fmt: skip
    assert df.rdd.getNumPartitions() == 3
    names = ["op", "seq", "customerId", *OTHERS]
    got = df.select(*names).toArrow()
    want = Engine(FEED, 5).table(0, 70_000).select(names)
    assert got.to_pylist() == want.to_pylist()


def test_the_socket_serves_the_changes_in_commit_order() -> None:
    from tests.socket_helpers import LineClient, config, running

    with running(config(dataset=FEED, count=3000, rate=3000, format="debezium")) as server:
        lines = LineClient(server.port).rest()
    envelopes = [json.loads(line) for line in lines]
    assert [e["source"]["seq"] for e in envelopes] == list(range(1, 3001))
    rows = Engine(FEED, 7).table(0, 3000).to_pylist()  # the helper's seed
    assert [e["op"] for e in envelopes] == [r["op"] for r in rows]
    assert [(e["after"] or e["before"])["customerId"] for e in envelopes] == [
        r["customerId"] for r in rows
    ]


@pytest.mark.spark
@pytest.mark.slow
def test_ctrl_c_stops_an_upsert_cleanly_and_the_table_goes_on_from_there(
    tmp_path: Path, spark: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C as a terminal sends it (to the process group), mid-run: one line, no traceback,
    exit 0; started again on its checkpoint, the table equals the key."""
    import signal

    from tests.test_consumer_cli import _terminal

    data, db, ckpt = tmp_path / "data", tmp_path / "t.db", tmp_path / "ckpt"
    land(data, "--files", "40", "--seed", "9", "--duplicates", "0.1", "--disorder", "20")
    args = ["upsert", str(data), "--into", f"sqlite:///{db}", "--table", "customers",
            "--checkpoint", str(ckpt), "--conf", "spark.ui.enabled=false"]  # fmt: skip
    proc = _terminal([sys.executable, "-m", "consumer", *args])
    deadline = time.monotonic() + 120
    while proc.err.count("consumer: upsert batch ") < 3:
        assert proc.poll() is None and time.monotonic() < deadline, proc.err
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.finish()
    assert proc.returncode == 0, err
    assert "consumer: interrupted: stopping" in err
    assert "Traceback" not in err and "Exception" not in err, err
    assert consumer_main([*args, "--available-now", "--check", "--quiet"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("agree")


@pytest.mark.spark
@pytest.mark.slow
def test_a_query_of_one_s_own_is_checked_over_debezium_envelopes(
    tmp_path: Path, spark: Any
) -> None:
    """`check_query` reads the folder in the format its manifest says: the envelopes, as the
    feed's rows, both as a stream and as the static table its twin runs on."""
    from pyspark.sql import functions as F

    from consumer.testing import check_query

    land(tmp_path, "--files", "5", "--seed", "2", "--format", "debezium")

    def per_op(changes: Any) -> Any:
        return changes.groupBy("op").agg(F.count("*").alias("n"), F.max("seq").alias("last"))

    result = check_query(spark, per_op, tmp_path, output_mode="complete")
    assert result.agree, result.explain()
    assert {r[0] for r in result.streamed} >= {"c", "u"}
