"""Data-set declarations: plain data saying which columns a data set has and how values are drawn.

Nothing here draws a value (the kinds in `sources.py` know how, the engine runs them) or imports
Spark; the Spark schema, the CSV header and the DDL string are all derived from a `Dataset`, so a
schema is written exactly once.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from generator.errors import UsageError
from generator.sources import (
    KINDS,
    Choice,
    Context,
    Entity,
    FakerPool,
    Histogram,
    LogNormal,
    Normal,
    Pattern,
    Sequence,
    SimClock,
    Source,
    Template,
    TimeOfDay,
)
from generator.types import TYPES

__all__ = [
    "KINDS",
    "Catalog",
    "Choice",
    "Column",
    "Dataset",
    "Effect",
    "Entity",
    "FakerPool",
    "Flag",
    "Histogram",
    "Level",
    "LogNormal",
    "Naming",
    "Normal",
    "Pattern",
    "Sequence",
    "SimClock",
    "Source",
    "Template",
    "TimeOfDay",
]

Level = Literal["row", "group"]


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
    type: str  # a key of types.TYPES
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
    """A data set: one endless sequence of rows per seed. Named by day (`naming.kind = "daily"`),
    the sequence is day 1's rows, then day 2's ..., `rows_per_file` rows a day (drawn, if it is a
    source); otherwise a file holds `rows_per_file` rows of it."""

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
    def daily(self) -> bool:
        """Rows come in days, a file a day (retail)."""
        return self.naming.kind == "daily"

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
                {"name": c.name, "type": TYPES[c.type].spark, "nullable": True, "metadata": {}}
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
    catalogs = {c.name: tuple(c.fields) for c in ds.catalogs}
    flags = {f.name for f in ds.flags}
    for catalog in ds.catalogs:
        for field_name, src in catalog.fields.items():
            ctx = Context("STRING", catalogs, ds.daily)
            for problem in src.problems(ctx):
                if "needs type" not in problem:  # a catalog field's type is its column's
                    fail(f"catalog {catalog.name!r} field {field_name!r}", problem)
    for col in ds.columns:
        where = f"column {col.name!r}"
        if col.type not in TYPES:
            fail(where, f"unknown type {col.type!r} (one of {', '.join(TYPES)})")
        if not 0.0 <= col.nulls <= 1.0:
            fail(where, f"nulls must be a fraction between 0 and 1, not {col.nulls}")
        if col.per == "group" and ds.group_size is None:
            fail(where, "per = 'group' needs the data set's group_size")
        for eff in col.effects:
            if eff.flag not in flags:
                fail(where, f"effect names unknown flag {eff.flag!r}")
        for problem in col.source.problems(Context(col.type, catalogs, ds.daily)):
            fail(where, problem)
    if isinstance(ds.rows_per_file, int):
        if ds.rows_per_file < 1:
            fail("rows_per_file", f"must be at least 1, not {ds.rows_per_file}")
    elif not ds.daily:
        fail("rows_per_file", "a drawn count makes days: give [naming] kind = 'daily'")
    for flag in ds.flags:
        if not 0.0 <= flag.fraction <= 1.0:
            fail(f"flag {flag.name!r}", f"fraction must be between 0 and 1, not {flag.fraction}")
