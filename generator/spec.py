"""Data-set declarations: plain data saying which columns a data set has and how values are drawn.

Nothing here draws a value (that is `engine.py`) or imports Spark; the Spark schema, the CSV header
and the DDL string are all derived from a `Dataset`, so a schema is written exactly once.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from generator.errors import UsageError

# Spark SQL type name (as written in DDL) -> the name Spark uses in its JSON schema form.
SPARK_TYPES: Mapping[str, str] = {
    "STRING": "string",
    "INT": "integer",
    "BIGINT": "long",
    "DOUBLE": "double",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
}

Level = Literal["row", "group"]


# --- value sources: how the values of one column are drawn ------------------------------------


@dataclass(frozen=True)
class FakerPool:
    """Values from a Faker provider, drawn into a pool once per run and sampled per row."""

    provider: str
    kwargs: Mapping[str, object] = field(default_factory=dict)
    size: int = 1000
    case: Literal["upper", "lower"] | None = None


@dataclass(frozen=True)
class Choice:
    """One of `values`, with optional relative `weights`."""

    values: tuple[object, ...]
    weights: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Histogram:
    """A number drawn from buckets: bucket i is [edges[i], edges[i+1]) with weight weights[i]."""

    edges: tuple[float, ...]
    weights: tuple[float, ...]
    integer: bool = True


@dataclass(frozen=True)
class LogNormal:
    """A skewed positive number: half the values fall below `median`; clipped to [low, high]."""

    median: float
    sigma: float
    low: float
    high: float
    decimals: int | None = None  # None: whole numbers


@dataclass(frozen=True)
class Normal:
    """A bell-curve number around `mean`, clipped to [low, high], rounded to `decimals`."""

    mean: float
    stddev: float
    low: float
    high: float
    decimals: int = 1


@dataclass(frozen=True)
class SimClock:
    """Event time from the simulated clock of the run (`--start`, `--speed`), with the run's
    disorder and late events applied. The clock ticks per row, so the same seed and options
    give the same event times whatever the machine's speed."""


@dataclass(frozen=True)
class Pattern:
    """A string from a pattern: '#' is a digit, '@' an upper-case letter, anything else literal.

    With several patterns, each row picks one by `weights`.
    """

    patterns: tuple[str, ...]
    weights: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Sequence:
    """Consecutive integers, continuing across files (one per row, or one per group)."""

    start: int = 1
    step: int = 1


@dataclass(frozen=True)
class TimeOfDay:
    """A timestamp on the file's day, hour drawn by `hour_weights` (24 of them), in time order."""

    hour_weights: tuple[float, ...]


@dataclass(frozen=True)
class Template:
    """A string built from `text` with `{part}` fields, each filled from its own source.

    Used for catalog fields (drawn once per run), not per row.
    """

    text: str
    parts: Mapping[str, Source]
    case: Literal["upper", "lower"] | None = None


@dataclass(frozen=True)
class Entity:
    """A field of an entity drawn from a catalog: columns naming the same catalog at the same
    level share one draw, so their values belong together (a product's code, name and price)."""

    catalog: str
    field: str


Source: TypeAlias = (
    FakerPool
    | Choice
    | Histogram
    | LogNormal
    | Normal
    | Pattern
    | Sequence
    | TimeOfDay
    | SimClock
    | Template
    | Entity
)


@dataclass(frozen=True)
class Catalog:
    """A pool of `size` entities with correlated fields, filled once per run.

    `skew` > 0 makes some entities far more popular than others (Zipf-like), as best-sellers are.
    """

    name: str
    size: int
    fields: Mapping[str, Source]
    skew: float = 0.0


@dataclass(frozen=True)
class Flag:
    """A per-group yes/no drawn with probability `fraction` (e.g. a cancelled invoice).

    Groups with the flag set may have sizes of their own (`group_size`).
    """

    name: str
    fraction: float
    group_size: Source | None = None


@dataclass(frozen=True)
class Effect:
    """What a flag does to a column's values where it is set."""

    flag: str
    negate: bool = False
    prefix: str = ""


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # a key of SPARK_TYPES
    source: Source
    per: Level = "row"  # "group": drawn once per group (e.g. invoice) and repeated on its rows
    nulls: float = 0.0  # fraction of values left empty
    effects: tuple[Effect, ...] = ()


@dataclass(frozen=True)
class Naming:
    """How landed files are named: `part-000001.csv` in turn, or one `YYYY-MM-DD.csv` per day."""

    kind: Literal["sequence", "daily"] = "sequence"
    prefix: str = "part-"
    width: int = 6
    start_date: dt.date = dt.date(2010, 12, 1)
    skip_weekdays: tuple[int, ...] = ()  # Monday is 0; 5 skips Saturdays


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    columns: tuple[Column, ...]
    header: bool = False
    rows_per_file: int | Source = 10
    group_size: Source | None = None  # rows per group; None: every row is its own group
    flags: tuple[Flag, ...] = ()
    catalogs: tuple[Catalog, ...] = ()
    naming: Naming = Naming()

    def __post_init__(self) -> None:
        check_dataset(self)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def event_time_column(self) -> str | None:
        """The column that follows the simulated clock, if the data set has one."""
        return next((c.name for c in self.columns if isinstance(c.source, SimClock)), None)

    def ddl(self) -> str:
        """The schema as a Spark DDL string: `fname STRING, age INT`."""
        return ", ".join(f"{c.name} {c.type}" for c in self.columns)

    def schema_json(self) -> dict[str, object]:
        """The schema in Spark's JSON form, loadable with `StructType.fromJson`."""
        return {
            "type": "struct",
            "fields": [
                {"name": c.name, "type": SPARK_TYPES[c.type], "nullable": True, "metadata": {}}
                for c in self.columns
            ],
        }

    def schema_json_string(self) -> str:
        return json.dumps(self.schema_json())

    def csv_header(self) -> str:
        return ",".join(self.column_names)


def check_dataset(ds: Dataset) -> None:
    """Reject a declaration that cannot work, naming the data set, the column and the problem."""

    def fail(where: str, problem: str) -> None:
        raise UsageError(f"data set {ds.name!r}, {where}: {problem}")

    # names end up in paths and file names: nothing that could climb out of a folder
    if not ds.name or any(ch in ds.name for ch in "/\\\0") or ds.name.startswith("."):
        fail("name", "a data set name cannot be empty, start with '.' or hold a path separator")
    prefix = ds.naming.prefix
    if any(ch in prefix for ch in "/\\\0") or prefix.startswith((".", "_")):
        fail(
            "naming prefix",
            f"{prefix!r}: a file name prefix cannot hold a path separator or start with "
            "'.' or '_' (Spark would skip the files)",
        )
    if not ds.columns:
        fail("columns", "no columns declared")
    names = ds.column_names
    for dup in sorted({n for n in names if names.count(n) > 1}):
        fail(f"column {dup!r}", "declared twice")
    catalogs = {c.name: c for c in ds.catalogs}
    flags = {f.name for f in ds.flags}
    for col in ds.columns:
        where = f"column {col.name!r}"
        if col.type not in SPARK_TYPES:
            fail(where, f"unknown type {col.type!r} (one of {', '.join(SPARK_TYPES)})")
        if not 0.0 <= col.nulls <= 1.0:
            fail(where, f"nulls must be a fraction between 0 and 1, not {col.nulls}")
        if col.per == "group" and ds.group_size is None:
            fail(where, "per = 'group' needs the data set's group_size")
        for eff in col.effects:
            if eff.flag not in flags:
                fail(where, f"effect names unknown flag {eff.flag!r}")
        src = col.source
        if isinstance(src, Entity):
            if src.catalog not in catalogs:
                fail(where, f"unknown catalog {src.catalog!r}")
            if src.field not in catalogs[src.catalog].fields:
                fail(where, f"catalog {src.catalog!r} has no field {src.field!r}")
        if isinstance(src, TimeOfDay | SimClock) and col.type != "TIMESTAMP":
            fail(where, "a time source needs type TIMESTAMP")
        if isinstance(src, Choice | Pattern) and _weights_bad(src):
            fail(where, "weights must be as many as the choices, non-negative, not all zero")
        if isinstance(src, Histogram) and len(src.edges) != len(src.weights) + 1:
            fail(where, "a histogram needs one more edge than weights")
        if isinstance(src, TimeOfDay) and len(src.hour_weights) != 24:
            fail(where, "hour_weights needs 24 weights")
    if isinstance(ds.rows_per_file, int) and ds.rows_per_file < 1:
        fail("rows_per_file", f"must be at least 1, not {ds.rows_per_file}")
    for flag in ds.flags:
        if not 0.0 <= flag.fraction <= 1.0:
            fail(f"flag {flag.name!r}", f"fraction must be between 0 and 1, not {flag.fraction}")


def _weights_bad(src: Choice | Pattern) -> bool:
    options = src.values if isinstance(src, Choice) else src.patterns
    if not options:
        return True
    if src.weights is None:
        return False
    return (
        len(src.weights) != len(options) or any(w < 0 for w in src.weights) or sum(src.weights) <= 0
    )
