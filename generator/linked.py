"""The rows of a data set that follows another — clicks of impressions — in the order they
arrive.

Segment s of the followed data set (its rows [s * BLOCK_ROWS, ...)) gives birth to its
followers: each followed row is followed unless a draw says `never`; the follower's time is the
followed row's event time plus a drawn delay, and it arrives after that by the run's disorder
and lateness. Its `reference` columns take the followed row's values (a fraction `dangling`
names keys the followed data set never had), its other columns are drawn as any data set's are.
Everything a segment's followers are depends on (seed, segment) alone; the follower's sequence
is all of them in arrival order, cut by the bundle's clock into one file per tick.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict

import numpy as np
import pyarrow as pa

from generator.clock import Clock
from generator.engine import BLOCK_ROWS, FOLLOW, Engine, key_of, seconds_of
from generator.sources import Reference, SimClock, with_dangling
from generator.spec import Dataset
from generator.types import arrow_schema, plain

_UNKNOWN_FROM = 1 << 40  # followed rows this far on are never landed: their keys are unknown ones


class Follower:
    def __init__(self, dataset: Dataset, followed: Engine, clock: Clock) -> None:
        assert dataset.follows is not None
        self.dataset = dataset
        self.followed = followed
        self.clock = clock
        self.seed = followed.seed
        self.delay = dataset.follows.delay
        upper = self.delay.upper()
        assert upper is not None
        self.max_delay = upper
        own = tuple(c for c in dataset.columns if not isinstance(c.source, Reference | SimClock))
        self.own = (
            Engine(
                dataclasses.replace(dataset, columns=own, follows=None, key=None, session_by=None),
                self.seed,
            )
            if own
            else None
        )
        self.schema = arrow_schema(dataset)
        self._lock = threading.Lock()
        self._born: OrderedDict[int, tuple[pa.Table, np.ndarray]] = OrderedDict()
        self._unknown: dict[str, pa.Array] = {}

    def _unknown_keys(self, column: str) -> pa.Array:
        with self._lock:
            if column not in self._unknown:
                table = self.followed.table(_UNKNOWN_FROM, _UNKNOWN_FROM + 4096)
                self._unknown[column] = plain(table.column(column))
            return self._unknown[column]

    def born_of(self, s: int) -> tuple[pa.Table, np.ndarray]:
        """The followers of followed segment s, in arrival order, and their arrival times."""
        with self._lock:
            cached = self._born.get(s)
        if cached is not None:
            return cached
        ds, follows = self.dataset, self.dataset.follows
        assert follows is not None
        parent = self.followed.segment(s)
        rng = np.random.default_rng([self.seed, FOLLOW, key_of(ds.name), s])
        chosen = np.flatnonzero(rng.random(parent.num_rows) >= follows.never)
        n = len(chosen)
        delays = np.floor(np.asarray(self.delay.numbers(n, rng), dtype=np.float64))
        time_column = self.followed.dataset.event_time_column
        assert time_column is not None
        parent_times = seconds_of(parent.column(time_column))[chosen]
        times = parent_times + delays.astype(np.int64)
        arrival = times + self.clock.lags(n, rng)
        own = self.own.table(s * BLOCK_ROWS, s * BLOCK_ROWS + n) if self.own is not None else None
        taken = pa.array(chosen)
        arrays = []
        for column in ds.columns:
            src = column.source
            if isinstance(src, Reference):
                values = plain(parent.column(src.column)).take(taken)
                values = with_dangling(values, self._unknown_keys(src.column), src.dangling, rng)
            elif isinstance(src, SimClock):
                values = pa.array(times, pa.timestamp("s"))
            else:
                assert own is not None
                values = plain(own.column(column.name))
            arrays.append(values.cast(self.schema.field(column.name).type))
        order = np.argsort(arrival, kind="stable")
        table = pa.Table.from_arrays(arrays, schema=self.schema).take(pa.array(order))
        result = (table, arrival[order])
        with self._lock:
            self._born[s] = result
            while len(self._born) > 8:
                self._born.popitem(last=False)
        return result

    def between(self, t0: float | None, t1: float) -> pa.Table:
        """The followers that arrive in [t0, t1) (t0 None: from the very first), in order."""
        spr = self.followed.clock.seconds_per_row
        start = self.followed.clock.start
        slack = self.followed.clock.most_behind + self.clock.most_behind + self.max_delay + 2
        last_row = max(0, int((t1 + slack - start) / spr) + 1)
        first_row = 0 if t0 is None else max(0, int((t0 - self.max_delay - slack - start) / spr))
        pieces, arrivals = [], []
        for s in range(first_row // BLOCK_ROWS, last_row // BLOCK_ROWS + 1):
            table, arrival = self.born_of(s)
            keep = arrival < t1 if t0 is None else (arrival >= t0) & (arrival < t1)
            if keep.any():
                pieces.append(table.filter(pa.array(keep)))
                arrivals.append(arrival[keep])
        if not pieces:
            return self.schema.empty_table()
        table = pa.concat_tables(pieces)
        order = np.argsort(np.concatenate(arrivals), kind="stable")
        return table.take(pa.array(order))
