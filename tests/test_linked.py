"""Linked data sets: bundles landed by one run with one clock, references between data sets,
duplicates re-sent, and the answer keys' rules (no Spark here: test_stateful.py runs Spark)."""

from __future__ import annotations

import datetime as dt
import filecmp
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pytest

from generator.answers import DedupKey, JoinKey, SessionsKey, iso, load_key, load_truth
from generator.cli import main
from generator.datasets import BUNDLES, DATASETS
from generator.files import FilesConfig, run

T0 = int(dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp())


def gen(*args: object) -> int:
    return main(["files", *(str(a) for a in args)])


def read(path: Path) -> list[list[str]]:
    return [line.split(",") for line in path.read_text().splitlines()]


def rows_of(folder: Path) -> list[list[str]]:
    return [row for f in sorted(folder.glob("part-*.csv")) for row in read(f)]


def test_ads_lands_the_guides_columns_in_two_subfolders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert gen(tmp_path, "--dataset", "ads", "--files", 40, "--interval", 0, "--seed", 5) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_keys_state.json", "_truth_join.jsonl",
                                                          "clicks",
                                                          "impressions"]  # fmt: skip
    assert len(list((tmp_path / "impressions").glob("part-*.csv"))) == 40
    assert len(list((tmp_path / "clicks").glob("part-*.csv"))) == 40  # one per tick, some empty
    impressions = {r[0]: r[1] for r in rows_of(tmp_path / "impressions")}
    clicks = rows_of(tmp_path / "clicks")
    assert len(impressions) == 800
    shown = [c for c in clicks if c[0] in impressions]
    dangling = len(clicks) - len(shown)
    assert 0.2 < len(clicks) / 800 < 0.4  # 70 % of impressions are never clicked
    assert dangling < 0.1 * len(clicks)
    fmt = "%Y-%m-%d %H:%M:%S"
    for ad, clicked in ((c[0], c[1]) for c in shown):
        delay = dt.datetime.strptime(clicked, fmt) - dt.datetime.strptime(impressions[ad], fmt)
        assert dt.timedelta(0) <= delay <= dt.timedelta(minutes=90)
    capsys.readouterr()
    assert main(["schema", "impressions"]) == 0
    assert main(["schema", "clicks"]) == 0
    assert main(["schema", "ads"]) == 0
    out = capsys.readouterr().out.splitlines()
    ddl = "impressionAdId STRING, impressionTime TIMESTAMP, campaign STRING, placement STRING"
    assert out[0] == ddl
    assert out[1] == "clickAdId STRING, clickTime TIMESTAMP, device STRING"
    assert out[2:] == [f"impressions: {out[0]}", f"clicks: {out[1]}"]


def test_a_bundle_resumed_is_the_bundle_landed_at_once(tmp_path: Path) -> None:
    """One engine: the clicks of a tick depend on the seed and the clock, not on the run."""
    args = ["--dataset", "ads", "--interval", 0, "--seed", 9, "--start", "2024-01-01T00:00:00",
            "--disorder", 60, "--late-fraction", 0.1, "--max-lateness", 7200,
            "--quiet"]  # fmt: skip
    assert gen(tmp_path / "once", "--files", 30, *args) == 0
    assert gen(tmp_path / "twice", "--files", 12, *args) == 0
    assert gen(tmp_path / "twice", "--files", 18, *args) == 0
    same_bundle(tmp_path / "once", tmp_path / "twice")


def same_bundle(once: Path, other: Path) -> None:
    """Two ads folders hold the same files, byte for byte, one manifest line each, and the
    same answer keys."""
    for side in ("impressions", "clicks"):
        names = sorted(p.name for p in (once / side).glob("part-*.csv"))
        assert names == sorted(p.name for p in (other / side).glob("part-*.csv"))
        assert filecmp.cmpfiles(once / side, other / side, names, shallow=False)[0] == names
        assert len((other / side / "_manifest.jsonl").read_text().splitlines()) == len(names)
    assert load_key(once / "_truth_join.jsonl") == load_key(other / "_truth_join.jsonl")
    assert load_truth(once / "clicks/_truth.jsonl") == load_truth(other / "clicks/_truth.jsonl")


def test_a_bundle_killed_between_the_files_of_a_tick_is_made_whole_at_restart(
    tmp_path: Path,
) -> None:
    """A run killed after a tick's impressions file landed and before its clicks file did
    (the same state whatever kills it: the clicks file and its manifest line missing): the
    next start lands that clicks file first, the bytes a whole run lands, and the answer keys
    are the whole run's."""
    args = ["--dataset", "ads", "--interval", 0, "--seed", 9, "--start", "2024-01-01T00:00:00",
            "--quiet"]  # fmt: skip
    assert gen(tmp_path / "once", "--files", 8, *args) == 0
    assert gen(tmp_path / "cut", "--files", 6, *args) == 0
    clicks = tmp_path / "cut" / "clicks"
    last = sorted(clicks.glob("part-*.csv"))[-1]
    last.unlink()
    manifest = clicks / "_manifest.jsonl"
    lines = manifest.read_text().splitlines(keepends=True)
    assert last.name in lines[-1]
    manifest.write_text("".join(lines[:-1]))
    assert gen(tmp_path / "cut", "--files", 2, *args) == 0
    same_bundle(tmp_path / "once", tmp_path / "cut")


def test_shop_lands_customers_once_and_counts_unknown_customers(tmp_path: Path) -> None:
    for _ in range(2):  # a second run lands more orders, not the table again
        config = FilesConfig(tmp_path, "shop", seed=3, files=20, interval=0, quiet=True)
        run(config)
    assert [p.name for p in (tmp_path / "customers").glob("*.csv")] == ["part-000001.csv"]
    customers = pacsv.read_csv(tmp_path / "customers" / "part-000001.csv")
    assert customers.column_names == ["customerId", "name", "city", "segment"]
    known = set(customers.column("customerId").to_pylist())
    assert len(known) == 200
    orders = [r for f in sorted((tmp_path / "orders").glob("*.csv")) for r in read(f)[1:]]
    assert len(orders) == 400
    unknown = sum(1 for r in orders if int(r[1]) not in known)
    assert 0 < unknown < 0.12 * len(orders)
    key = load_key(tmp_path / "_truth_enrich.jsonl")[-1]
    assert (key["rows"], key["unknown"], key["customers"]) == (400, unknown, 200)


def test_activity_users_come_in_sessions(tmp_path: Path) -> None:
    assert gen(tmp_path, "--dataset", "activity", "--files", 300, "--interval", 0, "--seed", 2,
               "--quiet") == 0  # fmt: skip
    fmt = "%Y-%m-%d %H:%M:%S"
    times: dict[str, list[float]] = {}
    for row in rows_of(tmp_path):
        times.setdefault(row[1], []).append(dt.datetime.strptime(row[2], fmt).timestamp())
    gaps = [np.diff(sorted(t)) for t in times.values() if len(t) > 1]
    assert max(g.max() for g in gaps) >= 60  # idle for a minute or more: sessions end
    assert np.median(np.concatenate(gaps)) < 5  # events of a session come seconds apart
    key = load_key(tmp_path / "_truth_sessions.jsonl")
    assert key[-1]["emitted"] > 5 and key[-1]["gap_seconds"] == 30


def test_duplicates_repeat_rows_a_little_later_and_resume_the_same(tmp_path: Path) -> None:
    args = ["--dataset", "activity", "--interval", 0, "--seed", 4, "--duplicates", 0.2,
            "--start", "2024-01-01T00:00:00", "--quiet"]  # fmt: skip
    assert gen(tmp_path / "once", "--files", 30, *args) == 0
    assert gen(tmp_path / "twice", "--files", 10, *args) == 0
    assert gen(tmp_path / "twice", "--files", 20, *args) == 0
    names = sorted(p.name for p in (tmp_path / "once").glob("part-*.csv"))
    assert filecmp.cmpfiles(tmp_path / "once", tmp_path / "twice", names,
                            shallow=False)[0] == names  # fmt: skip
    rows = rows_of(tmp_path / "once")
    first: dict[str, int] = {}
    for i, row in enumerate(rows):
        if row[0] in first:  # a copy: the same row, later
            assert rows[first[row[0]]] == row and i > first[row[0]]
        else:
            first[row[0]] = i
    assert 600 * 0.15 < len(rows) - len(first) < 600 * 0.25
    key = load_key(tmp_path / "once" / "_truth_dedup.jsonl")[-1]
    assert (key["rows"], key["kept"] + key["late"] + key["duplicates"]) == (len(rows), len(rows))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--dataset", "clicks"],
            "clicks takes keys from impressions: land the bundle that "
            "holds them (ads for clicks, shop for orders)",
        ),
        (
            ["--dataset", "customers"],
            "customers is a static table: land it with its bundle (shop for customers)",
        ),
        (
            ["--dataset", "ads", "--streams", "2"],
            "ads lands one subfolder per data set: --streams does not apply",
        ),
        (
            ["--dataset", "sensor", "--duplicates", "0.1"],
            "--duplicates re-sends events by their "
            "id: sensor declares no key column (activity, impressions, orders and customer_changes "
            "do)",
        ),
        (
            ["--dataset", "ads", "--duplicates", "0.1"],
            "--duplicates is for a single data set, not a bundle",
        ),
    ],
)
def test_linked_bad_input_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert gen(tmp_path / "out", *args) == 2
    assert capsys.readouterr().err == f"generator: error: {message}\n"
    assert not (tmp_path / "out").exists()


def test_socket_serves_data_sets_of_their_own(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["socket", "0", "--dataset", "ads"]) == 2
    assert main(["socket", "0", "--dataset", "clicks"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "generator: error: ads is a bundle of impressions, clicks: the socket server serves one "
        "data set; land a bundle with `generator files`",
        "generator: error: clicks is drawn with its bundle (ads): the socket server serves data "
        "sets of their own; land the bundle with `generator files`",
    ]


def test_bundle_declarations_are_checked() -> None:
    from generator.errors import UsageError
    from generator.spec import Bundle

    with pytest.raises(UsageError, match="'clicks' refers to 'impressions', which is not in"):
        Bundle("b", "", (DATASETS["clicks"],))
    with pytest.raises(UsageError, match="one stream must set the pace"):
        Bundle("b", "", (DATASETS["sensor"], DATASETS["person"]))
    assert [m.name for m in BUNDLES["ads"].members] == ["impressions", "clicks"]


# --- the rules of the answer keys, on the cases the experiments on Spark settled -------------
# (test_stateful.py runs the same cases on Spark and compares)


def h(hours: float) -> int:
    return T0 + int(hours * 3600)


JOIN_EDGE = [  # (impressions, clicks) per batch: (key, hours)
    ([("a", 10)], [("z", 10)]),  # W(1) = min(10 - 2, 10 - 3) = 7 h
    ([("y", 6.5), ("y2", 6.5)], []),
    ([("w", 7.0), ("w2", 7.01), ("h", 8)], [("y", 7.0), ("y2", 7.01), ("w", 7.5), ("w2", 7.5)]),
    ([("g", 20)], [("g", 20)]),  # W moves to 17 h: one more batch without data evicts
]


def join_key(batches: list[tuple[list[tuple[str, float]], list[tuple[str, float]]]]) -> JoinKey:
    key = JoinKey()
    for left, right in batches:
        left_times = np.array([h(t) for _, t in left], dtype=np.int64)
        right_times = np.array([h(t) for _, t in right], dtype=np.int64)
        key.add_batch([k for k, _ in left], left_times, [k for k, _ in right], right_times)
    return key


def test_join_key_rules_at_the_edges() -> None:
    key = join_key(JOIN_EDGE)
    # a row at the previous batch's watermark (7 h) is late; one a little after is not
    lines = key.lines()
    pairs = [(r["key"], r["batch"]) for r in lines if r.get("appears") == "must"]
    assert sorted(pairs) == [("g", 3), ("w2", 2), ("y2", 2)]
    # impressions leave the state unmatched when W - 1 h passes them: null rows, the last ones
    # in the batch without data the run ends with
    nulls = [(r["key"], r["batch"]) for r in lines if r.get("null_row")]
    assert sorted(nulls) == [("a", 4), ("h", 4), ("y", 4)]
    assert lines[-1]["must"] == 3 and lines[-1]["may"] == 2  # y and w: late on one side


def test_sessions_key_rules_at_the_edges() -> None:
    key = SessionsKey(gap=60, watermark=10)
    for batch in (
        [("z", 1000), ("p", 960)],  # W(1) = 990
        [("q", 1)],
        [("x", 929), ("y", 930), ("w", 931), ("v", 985), ("p", 989)],
        [("u", 2000)],
        [],
    ):
        key.add_batch([u for u, _ in batch], np.array([t for _, t in batch], dtype=np.int64))
    closed = {(r["user"], r["start"], r["end"], r["events"]) for r in key.lines()[:-1]
              if r["emitted"]}  # fmt: skip
    # x and y end at or before 990: late; w ends after it; p's late event joins its session
    assert closed == {("q", iso(1), iso(61), 1), ("p", iso(960), iso(1049), 2),
                      ("z", iso(1000), iso(1060), 1), ("v", iso(985), iso(1045), 1),
                      ("w", iso(931), iso(991), 1)}  # fmt: skip
    assert key.late == 2
    merged = SessionsKey(gap=60).sessions([100, 160, 300])
    assert merged == [(100, 220, 2), (300, 360, 1)]  # an event at the very end joins


def test_dedup_key_rules() -> None:
    key = DedupKey(watermark=10)
    for batch in (
        [("a", 500), ("z", 1000), ("k", 985)],
        [("a", 500), ("b", 990), ("c", 991), ("k", 985)],
        [("y", 1100)],
        [("k", 985), ("z", 1000)],
        [("m", 1095), ("m", 1095)],
        [("m", 1095)],
    ):
        key.add_batch([k for k, _ in batch], np.array([t for _, t in batch], dtype=np.int64))
    assert (key.kept, key.duplicates, key.late) == (7, 5, 1)
    # the key lists the rows kept: the first of each id (k again in batch 3 is late)
    kept = [(r["id"], r["batch"]) for r in key.lines()[:-1]]
    assert kept == [("a", 0), ("z", 0), ("k", 0), ("b", 1), ("c", 1), ("y", 2), ("m", 4)]


def test_an_empty_landed_file_reads_as_no_rows(tmp_path: Path) -> None:
    """A tick with no rows for a file (a bundle's clicks) lands an empty file: read back (as the
    answer keys do when a run goes on), it is a table of no rows, not Arrow's 'Empty CSV file'."""
    from generator.manifest import read_landed

    (tmp_path / "part-000001.csv").write_bytes(b"")
    clicks = BUNDLES["ads"].member("clicks")
    table = read_landed(tmp_path / "part-000001.csv", clicks, header=False)
    assert table.num_rows == 0 and table.column_names == clicks.column_names
