"""A change feed's rows: which key each change falls on, whether it inserts, updates or deletes
it, and the row's values after it (before it, for a delete).

The rows of a segment are drawn as any data set's are (every column fresh), then made changes
of the table as it stood at the segment's start (`Slots`: per key slot, whether its row is live,
its key's generation and its current values). Within a segment there is no per-row loop: the
rows are sorted by slot, and what a row does follows from the rows of its slot before it, as
runs and cumulative sums. The state after segment s is the state before segment s + 1, so row k
still depends on the data set, the seed and k alone (the engine keeps the states it made).

A slot's op follows one rule: after a delete, or before its first change, the next change
inserts; otherwise a change deletes with chance `deletes`, else updates. So a delete is
never followed by an update and no key is inserted twice in a row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from generator.spec import Dataset
from generator.types import plain

_OPS = np.array(["c", "u", "d"])


@dataclass(frozen=True)
class Slots:
    """The table between two segments: per key slot."""

    dead: np.ndarray  # bool: no live row (never inserted, or deleted)
    seen: np.ndarray  # bool: inserted at least once
    generation: np.ndarray  # int64: how many new keys the slot has had after deletes
    values: dict[str, pa.Array]  # each non-key column: the slot's row as it stands


class Feed:
    """How a data set's change feed is drawn: fixed once per engine (which slots are hot)."""

    def __init__(self, dataset: Dataset, schema: pa.Schema, seed_rng: np.random.Generator) -> None:
        changes = dataset.changes
        assert changes is not None and dataset.key is not None
        self.dataset, self.changes, self.key = dataset, changes, dataset.key
        self.columns = [c.name for c in dataset.table_columns if c.name != self.key]
        self.types = {name: schema.field(name).type for name in self.columns}
        keys = changes.keys
        if changes.skew > 0:
            weights = 1.0 / np.arange(1, keys + 1) ** changes.skew
            self._cdf: np.ndarray | None = np.cumsum(weights / weights.sum())
        else:
            self._cdf = None
        self._hot = seed_rng.permutation(keys)  # which slots the skew favours: any, not the first
        source = next(c for c in dataset.columns if c.name == self.key).source
        self._first, self._step = int(source.start), int(source.step)  # type: ignore[attr-defined]

    def initial(self) -> Slots:
        k = self.changes.keys
        return Slots(
            np.ones(k, bool),
            np.zeros(k, bool),
            np.zeros(k, np.int64),
            {name: _nulls(k, t) for name, t in self.types.items()},
        )

    def key_of(self, slot: np.ndarray, generation: np.ndarray) -> np.ndarray:
        """The key a slot holds in a generation: the first key, then one slot after another."""
        key: np.ndarray = self._first + self._step * (slot + self.changes.keys * generation)
        return key

    def apply(
        self, fresh: pa.Table, before: Slots, rng: np.random.Generator
    ) -> tuple[pa.Table, Slots]:
        """A segment's fresh rows made changes of the table `before`; and the table after."""
        n, ch = fresh.num_rows, self.changes
        if n == 0:
            return fresh, before
        draw = rng.random(n)
        if self._cdf is None:
            slot = np.minimum((draw * ch.keys).astype(np.int64), ch.keys - 1)
        else:
            slot = self._hot[
                np.minimum(np.searchsorted(self._cdf, draw, side="right"), ch.keys - 1)
            ]
        deletes = rng.random(n) < ch.deletes
        again = rng.random(n) < ch.reinserts
        m = len(self.columns)
        touch = rng.random((n, m)) < ch.touch
        untouched = ~touch.any(axis=1)
        touch[untouched, rng.integers(0, m, n)[untouched]] = True

        # sorted by slot, each slot's changes in their order
        order = np.argsort(slot, kind="stable")
        ss = slot[order]
        first = np.r_[True, ss[1:] != ss[:-1]]
        group = np.cumsum(first) - 1
        firsts = np.flatnonzero(first)
        coin = deletes[order]
        # dead after row i: not dead before it and its coin says delete; a run of coins
        # alternates, starting from the slot's state before the run
        run_start = coin & (first | ~np.r_[False, coin[:-1]])
        run = np.cumsum(run_start) - 1
        starts = np.flatnonzero(run_start)
        if len(starts):
            base = first[starts] & before.dead[ss[starts]]
            pos = np.arange(n) - starts[np.maximum(run, 0)]
            dead = coin & ((pos % 2 == 0) ^ base[np.maximum(run, 0)])
        else:  # no change of the segment says delete
            dead = np.zeros(n, bool)
        dead_before = np.where(first, before.dead[ss], np.r_[False, dead[:-1]])
        seen_before = np.where(first, before.seen[ss], True)
        op = np.where(dead_before, 0, np.where(dead, 2, 1))
        # a new key takes the slot when a deleted key does not come back
        new_key = (op == 0) & seen_before & ~again[order]
        total = np.cumsum(new_key)
        generation = before.generation[ss] + total - (total - new_key)[firsts][group]

        # each column: the value of the slot's last change that touched it, else the table's
        lasts = np.r_[firsts[1:] - 1, n - 1]
        taken: dict[str, np.ndarray] = {}
        for j, name in enumerate(self.columns):
            touched = (op == 0) | ((op == 1) & touch[order, j])
            latest = np.maximum.accumulate(np.where(touched, np.arange(n), -1))
            taken[name] = np.where(latest >= firsts[group], order[np.maximum(latest, 0)], n + ss)

        unsort = np.empty(n, np.int64)
        unsort[order] = np.arange(n)
        columns: dict[str, pa.Array] = {
            "op": pa.array(_OPS[op[unsort]]),
            self.key: pa.array(self.key_of(ss, generation)[unsort]).cast(
                fresh.schema.field(self.key).type
            ),
        }
        after_values: dict[str, pa.Array] = {}
        for name in self.columns:
            pool = pa.concat_arrays([plain(fresh.column(name)), before.values[name]])
            columns[name] = pool.take(pa.array(taken[name][unsort]))
            keep = n + np.arange(ch.keys)
            keep[ss[lasts]] = taken[name][lasts]
            after_values[name] = pool.take(pa.array(keep))
        dead_after, seen_after = before.dead.copy(), before.seen.copy()
        generation_after = before.generation.copy()
        dead_after[ss[lasts]] = dead[lasts]
        seen_after[ss[lasts]] = True
        generation_after[ss[lasts]] = generation[lasts]
        arrays = [columns.get(f.name, fresh.column(f.name)) for f in fresh.schema]
        table = pa.Table.from_arrays(
            arrays,
            schema=pa.schema(
                [pa.field(f.name, a.type) for f, a in zip(fresh.schema, arrays, strict=True)]
            ),
        )
        return table, Slots(dead_after, seen_after, generation_after, after_values)


def _nulls(n: int, type_: pa.DataType) -> pa.Array:
    if pa.types.is_dictionary(type_):
        type_ = type_.value_type
    return pa.nulls(n, type_)
