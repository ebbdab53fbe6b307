"""The value engine: turns a `Dataset` declaration and a seed into one pyarrow table per file.

Faker fills value pools and catalogs once per run; numpy draws every per-row choice and number;
pyarrow holds the columns (strings drawn from a pool stay dictionary-encoded). There is no per-row
Python loop. File `i` depends only on the seed, the declaration and `i`, so a restarted run
produces the same file `i` as an uninterrupted one.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from generator.errors import UsageError
from generator.spec import (
    Catalog,
    Choice,
    Column,
    Dataset,
    Entity,
    FakerPool,
    Histogram,
    Level,
    LogNormal,
    Normal,
    Pattern,
    Sequence,
    SimClock,
    Source,
    Template,
    TimeOfDay,
)

ARROW_TYPES: dict[str, pa.DataType] = {
    "STRING": pa.string(),
    "INT": pa.int32(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("s"),
}


def arrow_schema(dataset: Dataset) -> pa.Schema:
    """The Arrow types a data set's columns are drawn and read back as."""
    return pa.schema([(c.name, ARROW_TYPES[c.type]) for c in dataset.columns])


# Streams of the per-run random generator: independent of each other and of the file index.
_POOLS, _PLAN, _VALUES = 0, 1, 2


@dataclass(frozen=True)
class Clock:
    """The simulated clock behind `SimClock` columns: row k of the run happens at
    start + k * seconds_per_row, then disorder and lateness pull some rows back in time."""

    start: int  # epoch seconds (UTC)
    seconds_per_row: float = 1.0
    disorder: float = 0.0  # every row up to this many seconds earlier than the clock
    late_fraction: float = 0.0  # this fraction of rows ...
    max_lateness: float = 0.0  # ... up to this many seconds behind the clock

    def event_times(self, first_row: int, n: int, rng: np.random.Generator) -> np.ndarray:
        t = self.start + (first_row + np.arange(n, dtype=np.float64)) * self.seconds_per_row
        if self.disorder > 0:
            t -= rng.random(n) * self.disorder
        if self.late_fraction > 0 and self.max_lateness > 0:
            late = rng.random(n) < self.late_fraction
            t -= np.where(late, (1.0 - rng.random(n)) * self.max_lateness, 0.0)
        seconds: np.ndarray = np.floor(t).astype(np.int64)
        return seconds


@dataclass(frozen=True)
class Plan:
    """The shape of one file: its rows, and which group (e.g. invoice) each row belongs to."""

    index: int
    rows: int
    group_of_row: np.ndarray | None  # None: every row is a group of its own
    flags: dict[str, np.ndarray]  # per group

    @property
    def groups(self) -> int:
        if self.group_of_row is None:
            return self.rows
        return int(self.group_of_row[-1]) + 1 if self.rows else 0


class Engine:
    """Draws the files of one data set for one seed."""

    def __init__(
        self,
        dataset: Dataset,
        seed: int,
        rows_per_file: int | None = None,
        day_of: Callable[[int], dt.date] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.dataset = dataset
        start = dataset.naming.start_date
        self.clock = clock or Clock(int(dt.datetime(start.year, start.month, start.day,
                                                   tzinfo=dt.UTC).timestamp()))  # fmt: skip
        self.seed = seed
        self.rows_per_file = rows_per_file
        self._day_of = day_of or (lambda i: dataset.naming.start_date)
        self._schema = arrow_schema(dataset)
        self._pool_rng = np.random.default_rng([seed, _POOLS])
        self._faker = _seeded_faker(seed)
        self._pools: dict[str, pa.Array] = {}
        self._catalogs: dict[str, dict[str, pa.Array]] = {}
        self._popularity: dict[str, np.ndarray | None] = {}
        for catalog in dataset.catalogs:
            self._fill_catalog(catalog)
        for column in dataset.columns:
            if isinstance(column.source, FakerPool):
                self._pools[column.name] = self._faker_pool(
                    column.source, f"column {column.name!r}"
                )
        # rows and groups landed before file i, for sequences that continue across files
        self._before: dict[int, tuple[int, int]] = {1: (0, 0)}
        self._plans: dict[int, Plan] = {}

    @property
    def schema(self) -> pa.Schema:
        return self._schema

    # --- per file -------------------------------------------------------------------------------

    def plan(self, index: int) -> Plan:
        """Rows and groups of file `index` (1-based), drawn from the plan stream only."""
        cached = self._plans.get(index)
        if cached is not None:
            return cached
        ds = self.dataset
        rng = np.random.default_rng([self.seed, _PLAN, index])
        if self.rows_per_file is not None:
            rows = self.rows_per_file
        elif isinstance(ds.rows_per_file, int):
            rows = ds.rows_per_file
        else:
            rows = max(1, int(_numbers(ds.rows_per_file, 1, rng)[0]))
        group_of_row: np.ndarray | None = None
        flags: dict[str, np.ndarray] = {}
        if ds.group_size is not None:
            # at most `rows` groups: draw that many, then keep those that fit
            sizes = _numbers(ds.group_size, rows, rng).astype(np.int64)
            for flag in ds.flags:
                on = rng.random(rows) < flag.fraction
                flags[flag.name] = on
                if flag.group_size is not None:
                    own = _numbers(flag.group_size, rows, rng).astype(np.int64)
                    sizes = np.where(on, own, sizes)
            sizes = np.maximum(sizes, 1)
            groups = int(np.searchsorted(np.cumsum(sizes), rows)) + 1
            group_of_row = np.repeat(np.arange(groups), sizes[:groups])[:rows]
            flags = {name: on[:groups] for name, on in flags.items()}
        else:
            for flag in ds.flags:
                flags[flag.name] = rng.random(rows) < flag.fraction
        plan = Plan(index, rows, group_of_row, flags)
        self._plans = {index: plan}  # keep only the newest: plans of big files are big
        return plan

    def _counts_before(self, index: int) -> tuple[int, int]:
        """Rows and groups in files 1 .. index-1 (drawn again from their plans if not seen)."""
        known = max(i for i in self._before if i <= index)
        rows, groups = self._before[known]
        for i in range(known, index):
            p = self.plan(i)
            rows, groups = rows + p.rows, groups + p.groups
            self._before[i + 1] = (rows, groups)
        return rows, groups

    def table(self, index: int) -> pa.Table:
        """The rows of file `index` (1-based) as a pyarrow table."""
        plan = self.plan(index)
        rows_before, groups_before = self._counts_before(index)
        rng = np.random.default_rng([self.seed, _VALUES, index])
        sizes = {"row": plan.rows, "group": plan.groups}
        offsets = {"row": rows_before, "group": groups_before}
        picks: dict[tuple[str, Level], np.ndarray] = {}
        arrays = []
        for column in self.dataset.columns:
            level: Level = column.per if plan.group_of_row is not None else "row"
            n = sizes[level]
            src = column.source
            if isinstance(src, Entity):
                key = (src.catalog, level)
                if key not in picks:
                    picks[key] = self._pick_entities(src.catalog, n, rng)
                values = _take(self._catalogs[src.catalog][src.field], picks[key])
            elif isinstance(src, FakerPool):
                pool = self._pools[column.name]
                values = _take(pool, rng.integers(0, len(pool), n))
            elif isinstance(src, TimeOfDay):
                values = _times_of_day(src, n, self._day_of(index), rng)
            elif isinstance(src, SimClock):
                times = self.clock.event_times(offsets[level], n, rng)
                values = pa.array(times, pa.timestamp("s"))
            else:
                values = _draw(src, n, rng, offsets[level])
            values = _cast(values, ARROW_TYPES[column.type], column)
            for effect in column.effects:
                on = plan.flags[effect.flag]
                if level == "row" and plan.group_of_row is not None:
                    on = on[plan.group_of_row]
                values = _apply_effect(values, on, effect.negate, effect.prefix)
            if column.nulls > 0:
                values = _with_nulls(values, rng.random(n) < column.nulls)
            if level == "group" and plan.group_of_row is not None:
                values = _expand(values, plan.group_of_row)
            arrays.append(values)
        return pa.Table.from_arrays(arrays, schema=self._decoded_schema(arrays))

    def _decoded_schema(self, arrays: list[pa.Array]) -> pa.Schema:
        # columns drawn from a pool, a catalog or per group stay dictionary-encoded
        return pa.schema(
            [pa.field(f.name, a.type) for f, a in zip(self._schema, arrays, strict=True)]
        )

    # --- once per run ---------------------------------------------------------------------------

    def _faker_pool(self, source: FakerPool, where: str) -> pa.Array:
        method = getattr(self._faker, source.provider, None)
        if method is None or not callable(method):
            raise UsageError(f"{where}: unknown Faker provider method: {source.provider!r}")
        try:
            values = [str(method(**source.kwargs)) for _ in range(source.size)]
        except TypeError as exc:
            raise UsageError(f"{where}: Faker provider {source.provider!r}: {exc}") from None
        return pa.array(_recase(values, source.case), pa.string())

    def _fill_catalog(self, catalog: Catalog) -> None:
        fields: dict[str, pa.Array] = {}
        for name, src in catalog.fields.items():
            where = f"catalog {catalog.name!r} field {name!r}"
            if isinstance(src, FakerPool):
                fields[name] = self._faker_pool(src, where)
            elif isinstance(src, Template):
                fields[name] = pa.array(_templates([src], None, catalog.size, self._pool_rng))
            elif isinstance(src, Choice) and all(isinstance(v, Template) for v in src.values):
                fields[name] = pa.array(
                    _templates(list(src.values), src.weights, catalog.size, self._pool_rng)  # type: ignore[arg-type]
                )
            else:
                fields[name] = _decode(_draw(src, catalog.size, self._pool_rng, 0))
        self._catalogs[catalog.name] = fields
        if catalog.skew > 0:
            weights = 1.0 / np.arange(1, catalog.size + 1) ** catalog.skew
            self._popularity[catalog.name] = np.cumsum(weights / weights.sum())
        else:
            self._popularity[catalog.name] = None

    def _pick_entities(self, catalog: str, n: int, rng: np.random.Generator) -> np.ndarray:
        cdf = self._popularity[catalog]
        size = len(next(iter(self._catalogs[catalog].values())))
        if cdf is None:
            return rng.integers(0, size, n)
        return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), size - 1)


def _seeded_faker(seed: int) -> object:
    from faker import Faker  # imported here: 0.1 s that `schema` and `--help` need not pay

    fake = Faker("en_US")
    fake.seed_instance(seed)  # per instance: Faker.seed() would seed the shared class random
    return fake


def _recase(values: list[str], case: str | None) -> list[str]:
    if case == "upper":
        return [v.upper() for v in values]
    if case == "lower":
        return [v.lower() for v in values]
    return values


def _templates(
    templates: list[Template], weights: tuple[float, ...] | None, n: int, rng: np.random.Generator
) -> list[str]:
    """n strings, each from one of `templates` (chosen by weight); runs once per catalog."""
    which = _choose(weights, len(templates), n, rng)
    out: list[str] = [""] * n
    for k, template in enumerate(templates):
        rows = np.flatnonzero(which == k)
        parts = {
            name: _decode(_draw(src, len(rows), rng, 0)).to_pylist()
            for name, src in template.parts.items()
        }
        for j, row in enumerate(rows):
            out[row] = template.text.format(**{name: vals[j] for name, vals in parts.items()})
        if template.case:
            for row in rows:
                out[row] = _recase([out[row]], template.case)[0]
    return out


def _choose(
    weights: tuple[float, ...] | None, count: int, n: int, rng: np.random.Generator
) -> np.ndarray:
    """n indices below `count`, by relative `weights` (uniform if None).

    A search in the cumulative weights: as rng.choice(p=...) does, several times faster.
    """
    if weights is None:
        return rng.integers(0, count, n)
    cdf = np.cumsum(np.asarray(weights, dtype=np.float64))
    picks: np.ndarray = np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right")
    return picks.clip(0, count - 1)


def _numbers(src: Source, n: int, rng: np.random.Generator) -> np.ndarray:
    """Plain numbers from a numeric source, as a numpy array (used for plans)."""
    arr = _draw(src, n, rng, 0)
    return np.asarray(_decode(arr).to_numpy(zero_copy_only=False))


def _draw(src: Source, n: int, rng: np.random.Generator, offset: int) -> pa.Array:
    """n values of a source that needs no per-run state."""
    if isinstance(src, Choice):
        values = pa.array(list(src.values))
        return _take(values, _choose(src.weights, len(values), n, rng))
    if isinstance(src, Histogram):
        edges = np.asarray(src.edges, dtype=np.float64)
        bucket = _choose(src.weights, len(src.weights), n, rng)
        low, high = edges[bucket], edges[bucket + 1]
        if src.integer:
            return pa.array(np.floor(low + rng.random(n) * (high - low)).astype(np.int64))
        return pa.array(low + rng.random(n) * (high - low))
    if isinstance(src, LogNormal):
        x = np.exp(rng.normal(math.log(src.median), src.sigma, n))
        x = np.clip(x, src.low, src.high)
        if src.decimals is None:
            return pa.array(np.rint(x).astype(np.int64))
        return pa.array(np.round(x, src.decimals))
    if isinstance(src, Normal):
        x = np.clip(rng.normal(src.mean, src.stddev, n), src.low, src.high)
        return pa.array(np.round(x, src.decimals))
    if isinstance(src, Pattern):
        return _patterns(src, n, rng)
    if isinstance(src, Sequence):
        return pa.array(src.start + src.step * (offset + np.arange(n, dtype=np.int64)))
    raise UsageError(f"{type(src).__name__} values cannot be drawn here")


def _patterns(src: Pattern, n: int, rng: np.random.Generator) -> pa.Array:
    if len(src.patterns) == 1:
        return _fixed_width(src.patterns[0], n, rng)
    which = _choose(src.weights, len(src.patterns), n, rng)
    parts, order = [], []
    for k, pattern in enumerate(src.patterns):
        rows = np.flatnonzero(which == k)
        parts.append(_fixed_width(pattern, len(rows), rng))
        order.append(rows)
    combined = pa.concat_arrays(parts)
    return combined.take(pa.array(np.argsort(np.concatenate(order), kind="stable")))


def _fixed_width(pattern: str, n: int, rng: np.random.Generator) -> pa.Array:
    """n strings of one pattern, built as one byte buffer: a column of bytes per character."""
    raw = pattern.encode("ascii")
    width = len(raw)
    buf = np.empty((n, width), dtype=np.uint8)
    for pos, ch in enumerate(raw):
        if ch == ord("#"):
            buf[:, pos] = rng.integers(ord("0"), ord("9") + 1, n, dtype=np.uint8)
        elif ch == ord("@"):
            buf[:, pos] = rng.integers(ord("A"), ord("Z") + 1, n, dtype=np.uint8)
        else:
            buf[:, pos] = ch
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(buf))


def _times_of_day(src: TimeOfDay, n: int, day: dt.date, rng: np.random.Generator) -> pa.Array:
    hours = _choose(src.hour_weights, 24, n, rng)
    seconds = np.sort(hours * 3600 + rng.integers(0, 60, n) * 60)
    midnight = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())
    return pa.array(midnight + seconds, pa.timestamp("s"))


def _take(values: pa.Array, indices: np.ndarray) -> pa.DictionaryArray:
    """Values at `indices`, dictionary-encoded: the pool is the dictionary, so writers render
    each distinct value once."""
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32, copy=False)), values)


def _decode(values: pa.Array) -> pa.Array:
    if isinstance(values, pa.DictionaryArray):
        return values.dictionary_decode()
    return values


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
