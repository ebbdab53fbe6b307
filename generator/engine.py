"""The value engine: a `Dataset` declaration and a seed make one endless sequence of rows, and
any range of it can be drawn on its own.

The sequence is cut into segments: fixed blocks of `BLOCK_ROWS` rows, or, for data sets named by
day, one segment a day (its size drawn from the day's own stream). Groups (an invoice's rows)
never straddle a segment. Every column draws from a stream of its own, keyed by the seed, the
column's name and the segment, so row k depends only on (data set, seed, k), and adding a column
leaves the others' values as they were. Files, socket lines and Spark partitions are cuts of the
one sequence.

Faker fills value pools and catalogs once per engine (seeded per column); numpy draws every
per-row choice and number; pyarrow holds the columns (strings drawn from a pool stay
dictionary-encoded). There is no per-row Python loop.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from generator.changes import Feed, Slots
from generator.clock import Clock
from generator.errors import UsageError
from generator.naming import day_of
from generator.sources import Draw, Prepare
from generator.spec import Catalog, Column, Dataset, Level
from generator.types import arrow_schema, arrow_type, plain

BLOCK_ROWS = 1 << 16  # rows in a segment of a data set that is not named by day
_DAY_BLOCK = 1024  # day sizes are drawn this many days at a time

# Stream tags: what a random stream is for. With the seed and a key they name a stream. Every
# tag is here, those of linked.py and resend.py too: a tag used for two purposes would draw the
# same numbers for both. A new tag takes the next number; an old one never changes (the bytes
# of every seed would).
POOLS, PLAN, COLUMN, PICKS, SIZES, FOLLOW, RESEND, CHANGES, DELIVERY = 0, 1, 2, 3, 4, 5, 6, 7, 8
_LEVELS: dict[Level, int] = {"row": 0, "group": 1}


def key_of(name: str) -> int:
    """A stable 64-bit number for a name: the part of a stream's key that says whose it is."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


def default_clock(dataset: Dataset) -> Clock:
    start = dataset.naming.start_date
    return Clock(int(dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC).timestamp()))


@dataclass(frozen=True)
class Layout:
    """Where segment `index` sits in the sequence, and its groups."""

    index: int
    start: int  # first row
    rows: int
    group_start: int  # first group
    group_of_row: np.ndarray | None  # None: every row is a group of its own
    flags: dict[str, np.ndarray]  # per group
    day: dt.date | None

    @property
    def groups(self) -> int:
        if self.group_of_row is None:
            return self.rows
        return int(self.group_of_row[-1]) + 1 if self.rows else 0


class Engine:
    """The rows of one data set for one seed (and, for event-time data sets, one clock).

    Thread-safe: files draw ahead in worker threads while the main thread lands.
    """

    def __init__(
        self,
        dataset: Dataset,
        seed: int,
        clock: Clock | None = None,
        peers: Mapping[str, Dataset] | None = None,
    ) -> None:
        self.dataset = dataset
        self.seed = seed
        self.clock = clock or default_clock(dataset)
        self._peers = peers  # the other data sets of its bundle, for lookups in static tables
        self._peer_values: dict[tuple[str, str], tuple[pa.Array, pa.Array]] = {}
        self.schema = arrow_schema(dataset)
        self._lock = threading.Lock()
        self._faker: Any = None
        self._catalogs: dict[str, dict[str, pa.Array]] = {}
        self._popularity: dict[str, np.ndarray | None] = {}
        for catalog in dataset.catalogs:
            self._fill_catalog(catalog)
        self._state = {c.name: c.source.prepare(self._prepare(c.name, f"column {c.name!r}"))
                       for c in dataset.columns}  # fmt: skip
        self._day_starts: list[int] = [0]  # first row of day 1, 2, ... as far as known
        self._group_starts: dict[int, int] = {0: 0}
        self._layouts: OrderedDict[int, Layout] = OrderedDict()
        self._tables: OrderedDict[int, pa.Table] = OrderedDict()
        self._feed: Feed | None = None  # a change feed: the table each segment starts from
        if dataset.changes is not None:
            hot = np.random.default_rng([seed, POOLS, key_of("changes: hot slots")])
            self._feed = Feed(dataset, self.schema, hot)
            self._slots: dict[int, Slots] = {0: self._feed.initial()}
            self._slots_lock = threading.Lock()

    # --- the sequence ---------------------------------------------------------------------------

    def table(self, start: int, stop: int) -> pa.Table:
        """Rows [start, stop) as one table (columns chunked by segment)."""
        pieces = self.pieces(start, stop)
        if not pieces:
            return self.schema.empty_table()
        return pa.concat_tables(pieces) if len(pieces) > 1 else pieces[0]

    def pieces(self, start: int, stop: int) -> list[pa.Table]:
        """Rows [start, stop), one table per segment they cross, in order."""
        out = []
        row = start
        while row < stop:
            s = self.segment_of(row)
            layout = self.layout(s)
            table = self.segment(s)
            lo = row - layout.start
            hi = min(stop, layout.start + layout.rows) - layout.start
            out.append(table.slice(lo, hi - lo))
            row = layout.start + hi
        return out

    def day(self, index: int) -> tuple[int, int]:
        """The rows [start, stop) of day `index` (1-based) of a data set named by day."""
        self._days_through(index)
        return self._day_starts[index - 1], self._day_starts[index]

    def segment_of(self, row: int) -> int:
        if not self.dataset.daily:
            return row // BLOCK_ROWS
        with self._lock:
            while self._day_starts[-1] <= row:
                self._extend_days()
            return bisect.bisect_right(self._day_starts, row) - 1

    # --- segments -------------------------------------------------------------------------------

    def layout(self, s: int) -> Layout:
        with self._lock:
            return self._layout(s)

    def _layout(self, s: int) -> Layout:
        cached = self._layouts.get(s)
        if cached is not None:
            return cached
        ds = self.dataset
        if ds.daily:
            while len(self._day_starts) <= s + 1:
                self._extend_days()
            start, rows = self._day_starts[s], self._day_starts[s + 1] - self._day_starts[s]
            day: dt.date | None = day_of(ds.naming, s + 1)
        else:
            start, rows, day = s * BLOCK_ROWS, BLOCK_ROWS, None
        group_of_row, flags = self._plan(s, rows)
        layout = Layout(s, start, rows, self._group_start(s), group_of_row, flags, day)
        self._layouts[s] = layout
        while len(self._layouts) > 64:
            self._layouts.popitem(last=False)
        return layout

    def _plan(self, s: int, rows: int) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
        """Which group each row of segment s belongs to, and the groups' flags."""
        ds = self.dataset
        rng = np.random.default_rng([self.seed, PLAN, s])
        flags: dict[str, np.ndarray] = {}
        if ds.group_size is None:
            for flag in ds.flags:
                flags[flag.name] = rng.random(rows) < flag.fraction
            return None, flags
        # at most `rows` groups: draw that many, then keep those that fit
        sizes = ds.group_size.numbers(rows, rng).astype(np.int64)
        for flag in ds.flags:
            on = rng.random(rows) < flag.fraction
            flags[flag.name] = on
            if flag.group_size is not None:
                sizes = np.where(on, flag.group_size.numbers(rows, rng).astype(np.int64), sizes)
        sizes = np.maximum(sizes, 1)
        groups = int(np.searchsorted(np.cumsum(sizes), rows)) + 1
        group_of_row = np.repeat(np.arange(groups), sizes[:groups])[:rows]
        return group_of_row, {name: on[:groups] for name, on in flags.items()}

    def _group_start(self, s: int) -> int:
        if self.dataset.group_size is None:
            return self._day_starts[s] if self.dataset.daily else s * BLOCK_ROWS
        known = max(k for k in self._group_starts if k <= s)
        groups = self._group_starts[known]
        for k in range(known, s):
            groups += self._layout(k).groups
            self._group_starts[k + 1] = groups
        return groups

    def _extend_days(self) -> None:
        """Draw the sizes of the next block of days (under the lock)."""
        first = len(self._day_starts) - 1
        block = first // _DAY_BLOCK
        per_day = self.dataset.rows_per_file
        if isinstance(per_day, int):
            sizes = np.full(_DAY_BLOCK, per_day, dtype=np.int64)
        else:
            rng = np.random.default_rng([self.seed, SIZES, block])
            sizes = np.maximum(per_day.numbers(_DAY_BLOCK, rng).astype(np.int64), 1)
        ends = self._day_starts[-1] + np.cumsum(sizes[first - block * _DAY_BLOCK :])
        self._day_starts.extend(int(e) for e in ends)

    def _days_through(self, index: int) -> None:
        with self._lock:
            while len(self._day_starts) <= index:
                self._extend_days()

    def segment(self, s: int) -> pa.Table:
        """The rows of segment s."""
        with self._lock:
            cached = self._tables.get(s)
            if cached is not None:
                return cached
            layout = self._layout(s)
        table = self._draw(layout) if self._feed is None else self._changes(s, layout)
        with self._lock:
            self._tables[s] = table
            while len(self._tables) > 4:
                self._tables.popitem(last=False)
        return table

    def _changes(self, s: int, layout: Layout) -> pa.Table:
        """Segment s of a change feed: its fresh rows made changes of the table as segments
        0 .. s-1 left it (made in turn, the first time a later segment is asked for)."""
        assert self._feed is not None
        with self._slots_lock:
            known = max(k for k in self._slots if k <= s)
            for k in range(known, s + 1):
                rng = np.random.default_rng([self.seed, CHANGES, k])
                here = layout if k == s else self.layout(k)
                table, after = self._feed.apply(self._draw(here), self._slots[k], rng)
                self._slots[k + 1] = after
            while len(self._slots) > 16:  # the start and the latest few
                del self._slots[min(k for k in self._slots if k > 0)]
        return table

    def _draw(self, layout: Layout) -> pa.Table:
        grouped = layout.group_of_row is not None
        sizes = {"row": layout.rows, "group": layout.groups}
        offsets = {"row": layout.start, "group": layout.group_start}
        picks: dict[tuple[str, Level], np.ndarray] = {}
        arrays = []
        for column in self.dataset.columns:
            level: Level = column.per if grouped else "row"

            def pick(catalog: str, level: Level = level) -> np.ndarray:
                if (catalog, level) not in picks:
                    picks[catalog, level] = self._pick_entities(catalog, sizes[level], layout,
                                                                level)  # fmt: skip
                return picks[catalog, level]

            rng = np.random.default_rng([self.seed, COLUMN, key_of(column.name), layout.index])
            d = Draw(sizes[level], rng, offsets[level], layout.day, self.clock,
                     self._state[column.name], pick)  # fmt: skip
            values = _cast(column.source.draw(d), arrow_type(column.type), column)
            for effect in column.effects:
                on = layout.flags[effect.flag]
                if level == "row" and layout.group_of_row is not None:
                    on = on[layout.group_of_row]
                values = _apply_effect(values, on, effect.negate, effect.prefix)
            if column.nulls > 0:
                values = _with_nulls(values, rng.random(d.n) < column.nulls)
            if level == "group" and layout.group_of_row is not None:
                values = _expand(values, layout.group_of_row)
            arrays.append(values)
        # columns drawn from a pool, a catalog or per group stay dictionary-encoded
        schema = pa.schema([pa.field(f.name, a.type) for f, a in zip(self.schema, arrays,
                                                                      strict=True)])  # fmt: skip
        return pa.Table.from_arrays(arrays, schema=schema)

    # --- once per engine ------------------------------------------------------------------------

    def _prepare(self, name: str, where: str) -> Prepare:
        def faker() -> Any:
            if self._faker is None:
                self._faker = _new_faker()
            self._faker.seed_instance(f"{self.seed}/{name}")  # per column: its own values
            return self._faker

        rng = np.random.default_rng([self.seed, POOLS, key_of(name)])
        peer = self._peer if self._peers is not None else None
        return Prepare(rng, faker, self._catalogs, where, peer)

    def _peer(self, name: str, column: str) -> tuple[pa.Array, pa.Array]:
        """A static table's column: its values, and values of the same shape it never holds
        (the rows after its own, less any it holds) for dangling keys."""
        if (name, column) not in self._peer_values:
            assert self._peers is not None
            table = Engine(self._peers[name], self.seed, peers=self._peers)
            size = static_rows(self._peers[name])
            values = plain(table.table(0, size).column(column))
            beyond = plain(table.table(size, 2 * size).column(column))
            unknown = beyond.filter(pc.invert(pc.is_in(beyond, value_set=values)))
            self._peer_values[name, column] = (values, unknown)
        return self._peer_values[name, column]

    def _fill_catalog(self, catalog: Catalog) -> None:
        fields: dict[str, pa.Array] = {}
        for name, src in catalog.fields.items():
            run = self._prepare(f"{catalog.name}.{name}", f"catalog {catalog.name!r} field "
                                f"{name!r}")  # fmt: skip
            fields[name] = src.catalog_values(run, catalog.size)
        self._catalogs[catalog.name] = fields
        if catalog.skew > 0:
            weights = 1.0 / np.arange(1, catalog.size + 1) ** catalog.skew
            self._popularity[catalog.name] = np.cumsum(weights / weights.sum())
        else:
            self._popularity[catalog.name] = None

    def _pick_entities(self, catalog: str, n: int, layout: Layout, level: Level) -> np.ndarray:
        rng = np.random.default_rng([self.seed, PICKS, key_of(catalog), _LEVELS[level],
                                     layout.index])  # fmt: skip
        cdf = self._popularity[catalog]
        size = len(next(iter(self._catalogs[catalog].values())))
        if cdf is None:
            return rng.integers(0, size, n)
        return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), size - 1)


def static_rows(dataset: Dataset) -> int:
    """The rows of a static table: its `rows_per_file`, landed once."""
    rows = dataset.rows_per_file
    return rows if isinstance(rows, int) else 1000


def seconds_of(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A timestamp column as epoch seconds."""
    seconds: np.ndarray = plain(column).cast(pa.int64()).to_numpy(zero_copy_only=False)
    return seconds


def _new_faker() -> Any:
    from faker import Faker  # imported here: 0.2 s that `schema` and `--help` need not pay

    return Faker("en_US")


def _cast(values: pa.Array, target: pa.DataType, column: Column) -> pa.Array:
    if isinstance(values, pa.DictionaryArray):
        return pa.DictionaryArray.from_arrays(
            values.indices, _cast(values.dictionary, target, column)
        )
    if values.type == target:
        return values
    try:
        return values.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise UsageError(
            f"column {column.name!r}: its values ({values.type}) do not fit type {column.type}: "
            f"{exc}"
        ) from None


def _apply_effect(values: pa.Array, on: np.ndarray, negate: bool, prefix: str) -> pa.Array:
    if not on.any():
        return values
    if isinstance(values, pa.DictionaryArray):
        # changed values join the dictionary; flagged rows point at them
        changed = _apply_effect(
            values.dictionary, np.ones(len(values.dictionary), bool), negate, prefix
        )
        indices = values.indices.to_numpy(zero_copy_only=False)
        moved = np.where(on, indices + len(values.dictionary), indices).astype(np.int32)
        return pa.DictionaryArray.from_arrays(
            pa.array(moved, mask=values.indices.is_null().to_numpy(zero_copy_only=False)),
            pa.concat_arrays([values.dictionary, changed]),
        )
    mask = pa.array(on)
    if negate:
        values = pc.if_else(mask, pc.negate(values), values)
    if prefix:
        values = pc.if_else(mask, pc.binary_join_element_wise(prefix, values, ""), values)
    return values


def _expand(values: pa.Array, group_of_row: np.ndarray) -> pa.DictionaryArray:
    """Group-level values repeated on each row of their group, as a dictionary (no copy)."""
    if isinstance(values, pa.DictionaryArray):
        indices = values.indices.take(pa.array(group_of_row))
        return pa.DictionaryArray.from_arrays(indices, values.dictionary)
    return pa.DictionaryArray.from_arrays(pa.array(group_of_row.astype(np.int32)), values)


def _with_nulls(values: pa.Array, empty: np.ndarray) -> pa.Array:
    if isinstance(values, pa.DictionaryArray):
        indices = values.indices.to_numpy(zero_copy_only=False)
        return pa.DictionaryArray.from_arrays(pa.array(indices, mask=empty), values.dictionary)
    return pc.if_else(pa.array(empty), pa.nulls(len(values), values.type), values)
