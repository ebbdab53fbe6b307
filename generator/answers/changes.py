"""The answer keys of a change feed: the table its changes make (`_truth_table.jsonl`, SCD type
1) and every version of every row (`_truth_history.jsonl`, SCD type 2).

Changes are applied by `seq`, whatever order they land in: a change older than the one a key
is at changes nothing, a copy of a change (the same `seq`) changes nothing, and a delete keeps
its `seq` (a tombstone) so an older change landing after it cannot bring the row back.

Both keys are appended to as files land: a line for each row or version that changed, the last
line of each identity standing (`store.read` with `fold`), and the readers here (`load_table`,
`load_history`) fold the file back to the table: one record per live key, one per version. A
run's last save writes each file anew, compact (one line per live key; one per version); a
killed run leaves them appended to, which the readers fold the same.
"""

from __future__ import annotations

import bisect
import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa

from generator.answers import store
from generator.answers.base import AnswerKey, isos
from generator.answers.store import KeyFile, Line
from generator.engine import seconds_of
from generator.spec import Dataset

TABLE_TRUTH = "_truth_table.jsonl"
HISTORY_TRUTH = "_truth_history.jsonl"
DELETED = "deleted"  # a table key's line for a key deleted: {key: ..., "deleted": true}
HISTORY_COLUMNS = ("valid_from", "valid_to", "current")


def _changes(dataset: Dataset, table: pa.Table) -> list[tuple[Any, int, str, str, list[Any]]]:
    """A landed file's changes as (key, seq, op, ts, the table's other columns), values as
    JSON holds them (a date or a time as the CSV writes it)."""
    assert dataset.key is not None
    others = [c.name for c in dataset.table_columns if c.name != dataset.key]
    keys = table.column(dataset.key).to_pylist()
    seqs = table.column("seq").to_pylist()
    ops = table.column("op").to_pylist()
    times = isos(seconds_of(table.column("ts")))
    columns = [[_json(v) for v in table.column(n).to_pylist()] for n in others]
    values = list(zip(*columns, strict=True)) if columns else [()] * len(keys)
    return [
        (k, s, o, t, list(v)) for k, s, o, t, v in zip(keys, seqs, ops, times, values, strict=True)
    ]


def _json(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


class TableKey(AnswerKey):
    """SCD type 1: each key's row as its newest change left it."""

    file_name = TABLE_TRUTH

    def __init__(self, dataset: Dataset) -> None:
        super().__init__()
        assert dataset.key is not None
        self.dataset, self.key = dataset, dataset.key
        self.others = [c.name for c in dataset.table_columns if c.name != self.key]
        self.rows: dict[Any, tuple[int, bool, list[Any]]] = {}  # key: (seq, deleted, values)
        self.changes = self.stale = 0

    def add_batch(self, table: pa.Table) -> None:
        for key, seq, op, _, values in _changes(self.dataset, table):
            self.changes += 1
            at = self.rows.get(key)
            if at is not None and at[0] >= seq:
                self.stale += 1  # older than what the key is at, or a copy
                continue
            self.rows[key] = (seq, op == "d", values)
            if op == "d":
                self.final.append({self.key: key, DELETED: True})
            else:
                self.final.append(self._row(key, values))

    def state(self) -> Line:
        return {
            "rows": [[k, s, d, v] for k, (s, d, v) in self.rows.items()],
            "changes": self.changes,
            "stale": self.stale,
        }

    def restore(self, state: Line) -> None:
        self.rows = {k: (s, d, v) for k, s, d, v in state["rows"]}
        self.changes, self.stale = state["changes"], state["stale"]

    def save(self, folder: Path, compact: bool = False) -> None:
        """Append the rows that changed; `compact` (a run's last save): write the file anew
        as the table alone, one line per live key in key order, then the summary."""
        if not compact:
            super().save(folder)
            return
        file = KeyFile(folder, self.file_name)
        file.write([self._row(k, v) for k, (_, deleted, v) in sorted(self.rows.items())
                    if not deleted], self.summary())  # fmt: skip
        self._file, self._saved = file, len(self.final)

    def _row(self, key: Any, values: list[Any]) -> Line:
        return {self.key: key, **dict(zip(self.others, values, strict=True))}

    def summary(self) -> Line:
        live = sum(1 for _, deleted, _ in self.rows.values() if not deleted)
        return {
            "summary": "table",
            "key": self.key,
            "rows": live,
            "changes": self.changes,
            "ignored": self.stale,
            "scd": 1,
        }


class HistoryKey(AnswerKey):
    """SCD type 2: each insert or update starts a version of its key's row, valid from its
    `ts` until the key's next change (an update, or a delete, which starts none)."""

    file_name = HISTORY_TRUTH

    def __init__(self, dataset: Dataset) -> None:
        super().__init__()
        assert dataset.key is not None
        self.dataset, self.key = dataset, dataset.key
        self.others = [c.name for c in dataset.table_columns if c.name != self.key]
        # per key, its changes in seq order: [seq, op, ts, values]
        self.chains: dict[Any, list[list[Any]]] = {}
        self.written: dict[
            tuple[Any, int], tuple[Any, bool]
        ] = {}  # (key, seq): (valid_to, current)
        self.changes = self.stale = 0

    def add_batch(self, table: pa.Table) -> None:
        touched: dict[Any, int] = {}  # key: index of its first change that moved
        for key, seq, op, ts, values in _changes(self.dataset, table):
            self.changes += 1
            chain = self.chains.setdefault(key, [])
            at = bisect.bisect_left(chain, seq, key=lambda c: c[0])
            if at < len(chain) and chain[at][0] == seq:
                self.stale += 1  # a copy
                continue
            chain.insert(at, [seq, op, ts, values])
            touched[key] = min(touched.get(key, at), at)
        for key, at in touched.items():
            chain = self.chains[key]
            for i in range(max(0, at - 1), len(chain)):
                seq, op = chain[i][:2]
                if op == "d":
                    continue
                now = _end(chain, i)
                if self.written.get((key, seq)) != now:
                    self.written[key, seq] = now
                    self.final.append(self._version(key, chain, i))

    def state(self) -> Line:
        return {
            "chains": [[k, chain] for k, chain in self.chains.items()],
            "changes": self.changes,
            "stale": self.stale,
        }

    def restore(self, state: Line) -> None:
        self.chains = {k: chain for k, chain in state["chains"]}
        self.changes, self.stale = state["changes"], state["stale"]
        self.written = {}
        for key, chain in self.chains.items():
            for i, (seq, op, _, _) in enumerate(chain):
                if op != "d":
                    self.written[key, seq] = _end(chain, i)

    def save(self, folder: Path, compact: bool = False) -> None:
        """Append the versions that changed; `compact` (a run's last save): write the file
        anew, one line per version in key and seq order, then the summary."""
        if not compact:
            super().save(folder)
            return
        lines = [self._version(key, chain, i) for key, chain in sorted(self.chains.items())
                 for i, change in enumerate(chain) if change[1] != "d"]  # fmt: skip
        file = KeyFile(folder, self.file_name)
        file.write(lines, self.summary())
        self._file, self._saved = file, len(self.final)

    def _version(self, key: Any, chain: list[list[Any]], i: int) -> Line:
        """The version change i of a key's chain starts."""
        seq, _, ts, values = chain[i]
        valid_to, current = _end(chain, i)
        return {self.key: key, **dict(zip(self.others, values, strict=True)), "valid_from": ts,
                "valid_to": valid_to, "current": current, "seq": seq}  # fmt: skip

    def summary(self) -> Line:
        versions = sum(1 for chain in self.chains.values() for c in chain if c[1] != "d")
        return {
            "summary": "history",
            "key": self.key,
            "versions": versions,
            "changes": self.changes,
            "ignored": self.stale,
            "scd": 2,
        }


def _end(chain: list[list[Any]], i: int) -> tuple[Any, bool]:
    """When version i of a chain ends (the ts of the key's next change, None while it stands)
    and whether it stands."""
    last = i + 1 == len(chain)
    return (None if last else chain[i + 1][2]), last


def load_table(path: Path) -> list[Line]:
    """`_truth_table.jsonl` folded: one record per live key, in key order."""
    lines = store.read(path)
    summary = lines[-1]
    key = summary["key"]
    rows = {line[key]: line for line in store.read(path, fold=(key,))[:-1]}
    return [row for _, row in sorted(rows.items()) if not row.get(DELETED)]


def load_history(path: Path) -> list[Line]:
    """`_truth_history.jsonl` folded: one record per version, in key and seq order."""
    key = store.read(path)[-1]["key"]
    versions = store.read(path, fold=(key, "seq"))[:-1]
    return sorted(versions, key=lambda v: (v[key], v["seq"]))
