"""Data-set declarations: plain data saying which columns a data set has and how values are drawn.

Nothing here draws a value (the kinds in `sources.py` know how, the engine runs them) or imports
Spark; the Spark schema, the CSV header and the DDL string are all derived from a `Dataset`, so a
schema is written exactly once.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
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
    Reference,
    Sequence,
    SimClock,
    Source,
    Template,
    Text,
    TimeOfDay,
)
from generator.types import TYPES

__all__ = [
    "KINDS",
    "Bundle",
    "Catalog",
    "Changes",
    "Choice",
    "Column",
    "Dataset",
    "Effect",
    "Entity",
    "FakerPool",
    "Flag",
    "Follows",
    "Histogram",
    "Level",
    "LogNormal",
    "Naming",
    "Normal",
    "Pattern",
    "Reference",
    "Sequence",
    "SimClock",
    "Source",
    "Template",
    "Text",
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
class Follows:
    """Rows born of another data set's rows, as clicks are of impressions: each referenced row
    is followed by one row of this data set `delay` seconds after its event time, except a
    fraction `never` that nothing follows. The clock column holds that time; `reference`
    columns take the referenced row's values."""

    dataset: str
    delay: Source  # seconds after the referenced row's event time; a kind with an upper bound
    never: float = 0.0


CHANGE_COLUMNS = ("op", "seq", "ts")  # what a change feed's rows carry before the table's columns


@dataclass(frozen=True)
class Changes:
    """A change feed of a table: its rows are inserts, updates and deletes (`op` `c`, `u`, `d`)
    of the table whose columns follow `op`, `seq` and `ts`, keyed by the data set's `key`.

    Each change falls on one of `keys` key slots (unevenly with `skew` > 0, as some customers
    change far more often than others). A slot's first change inserts its key; a change to a
    live row deletes it with chance `deletes`, else updates it, each other column changing with
    chance `touch` (at least one does); the change after a delete inserts again: the same key
    with chance `reinserts`, else a new key that takes the slot."""

    keys: int = 1000
    deletes: float = 0.05
    reinserts: float = 0.5
    touch: float = 0.5
    skew: float = 0.0


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
    static: bool = False  # a dimension table: `rows_per_file` rows landed once, not a stream
    follows: Follows | None = None  # rows born of another data set's rows (clicks)
    key: str | None = None  # the column naming each event once (what duplicates repeat)
    session_by: str | None = None  # the column sessions are per (a user)
    changes: Changes | None = None  # the rows are a change feed of a table keyed by `key`

    def __post_init__(self) -> None:
        check_dataset(self)

    @property
    def references(self) -> list[str]:
        """The data sets this one takes values from."""
        found = [c.source.dataset for c in self.columns if isinstance(c.source, Reference)]
        if self.follows is not None:
            found.append(self.follows.dataset)
        return list(dict.fromkeys(found))

    @property
    def table_columns(self) -> tuple[Column, ...]:
        """A change feed's table: its columns after `op`, `seq` and `ts`."""
        return self.columns[len(CHANGE_COLUMNS) :] if self.changes else self.columns

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

    @property
    def text_column(self) -> str | None:
        """The column of lines of words (a `text` source), if the data set has one."""
        return next((c.name for c in self.columns if isinstance(c.source, Text)), None)

    def ddl(self) -> str:
        """The schema as a Spark DDL string: `fname STRING, age INT`; a name that is not a
        plain identifier is quoted (`` `with space` STRING ``)."""
        return ", ".join(f"{quote_name(c.name)} {c.type}" for c in self.columns)

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


@dataclass(frozen=True)
class Bundle:
    """Several data sets landed by one run with one clock, one subfolder each, that refer to
    one another (impressions and clicks)."""

    name: str
    description: str
    members: tuple[Dataset, ...]
    speed: float | None = None  # the clock's default speed (simulated seconds per real second)

    def __post_init__(self) -> None:
        names = [m.name for m in self.members]
        where = f"bundle {self.name!r}"
        if not self.members:
            raise UsageError(f"{where}: no data sets")
        for dup in sorted({n for n in names if names.count(n) > 1}):
            raise UsageError(f"{where}: data set {dup!r} named twice")
        for member in self.members:
            for ref in member.references:
                if ref not in names:
                    raise UsageError(
                        f"{where}: {member.name!r} refers to {ref!r}, which is not in the bundle"
                    )
                target = self.member(ref)
                if member.follows is None and not target.static:
                    raise UsageError(
                        f"{where}: {member.name!r} looks up keys in {ref!r}, which is a stream: "
                        f"give {ref!r} static = true, or {member.name!r} [follows]"
                    )
                if member.follows is not None and target.event_time_column is None:
                    raise UsageError(f"{where}: {member.name!r} follows {ref!r}, which has no "
                                     "event-time column")  # fmt: skip
        leads = [m.name for m in self.streams if m.follows is None]
        if len(leads) != 1:
            raise UsageError(
                f"{where}: one stream must set the pace and the others follow it or be static "
                f"tables; here {len(leads)} lead ({', '.join(leads) or 'none'})"
            )
        if self.speed is not None and not self.speed > 0:
            raise UsageError(f"{where}: speed must be more than 0, not {self.speed}")

    def member(self, name: str) -> Dataset:
        return next(m for m in self.members if m.name == name)

    @property
    def streams(self) -> list[Dataset]:
        return [m for m in self.members if not m.static]

    @property
    def lead(self) -> Dataset:
        """The stream whose rows set the pace: the first that follows no other."""
        return next(m for m in self.streams if m.follows is None)


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def quote_name(name: str) -> str:
    """A column name as Spark's DDL and SQL read it: plain identifiers as they are, any other
    in backticks (a backtick inside doubled)."""
    return name if _PLAIN.fullmatch(name) else "`" + name.replace("`", "``") + "`"


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
    if not 1 <= ds.naming.width <= 18:
        fail("naming width", f"must be from 1 to 18 digits, not {ds.naming.width}")
    weekdays = set(ds.naming.skip_weekdays)
    if not weekdays <= set(range(7)) or len(weekdays) == 7:
        fail("naming skip_weekdays", "days are 0 (Monday) to 6 (Sunday), and at least one "
             f"must be left, not {list(ds.naming.skip_weekdays)}")  # fmt: skip
    if not ds.columns:
        fail("columns", "no columns declared")
    names = ds.column_names
    for dup in sorted({n for n in names if names.count(n) > 1}):
        fail(f"column {dup!r}", "declared twice")
    for i, name in enumerate(names):
        if not name or not name.isprintable():
            fail(f"column {i + 1} ({name!r})", "a column name must be non-empty, printable "
                 "text (no newline or other control character)")  # fmt: skip
        twin = next((n for n in names[:i] if n.lower() == name.lower()), None)
        if twin is not None:
            fail(f"column {name!r}", f"differs from column {twin!r} only in case: Spark "
                 "resolves names without case, so it could not tell them apart")  # fmt: skip
    catalogs = {c.name: tuple(c.fields) for c in ds.catalogs}
    flags = {f.name for f in ds.flags}
    for catalog in ds.catalogs:
        if not 1 <= catalog.size <= 1_000_000:
            fail(f"catalog {catalog.name!r}", f"size must be from 1 to 1,000,000, not "
                 f"{catalog.size}")  # fmt: skip
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
        if isinstance(ds.rows_per_file, bool) or not 1 <= ds.rows_per_file <= 1_000_000:
            fail("rows_per_file", f"must be a whole number from 1 to 1,000,000, not "
                 f"{ds.rows_per_file!r}")  # fmt: skip
    elif not ds.daily:
        fail("rows_per_file", "a drawn count makes days: give [naming] kind = 'daily'")
    for name, value in (("key", ds.key), ("session_by", ds.session_by)):
        if value is not None and value not in names:
            fail(name, f"no column {value!r}")
    if ds.session_by is not None and ds.event_time_column is None:
        fail("session_by", "sessions need an event-time column (kind = 'clock')")
    if ds.follows is not None:
        if not 0.0 <= ds.follows.never < 1.0:
            fail("follows", f"never must be a fraction below 1, not {ds.follows.never}")
        if ds.follows.delay.upper() is None:
            fail("follows delay", "needs a kind with an upper bound (histogram, lognormal, "
                 "normal)")  # fmt: skip
        if ds.event_time_column is None:
            fail("follows", "a data set that follows another needs a clock column (its time)")
        if ds.static:
            fail("follows", "a static table cannot follow a stream")
    if ds.static and (ds.event_time_column is not None or ds.daily):
        fail("static", "a static table has no clock and no days: it lands once")
    follows = ds.follows
    for col in ds.columns:
        if isinstance(col.source, Reference) and follows and col.source.dataset != follows.dataset:
            fail(f"column {col.name!r}", f"refers to {col.source.dataset!r} but the data set "
                 f"follows {follows.dataset!r}")  # fmt: skip
    for flag in ds.flags:
        if not 0.0 <= flag.fraction <= 1.0:
            fail(f"flag {flag.name!r}", f"fraction must be between 0 and 1, not {flag.fraction}")
    if ds.changes is not None:
        _check_changes(ds, ds.changes, fail)


def change_columns() -> tuple[Column, ...]:
    """What every change feed's rows start with: the operation, the commit order, the commit
    time."""
    return (
        Column("op", "STRING", Choice(values=("c", "u", "d"))),
        Column("seq", "BIGINT", Sequence(start=1)),
        Column("ts", "TIMESTAMP", SimClock()),
    )


def _check_changes(ds: Dataset, changes: Changes, fail: Callable[[str, str], None]) -> None:
    if not 1 <= changes.keys <= 1_000_000:
        fail("changes keys", f"must be from 1 to 1,000,000, not {changes.keys}")
    for name in ("deletes", "reinserts", "touch"):
        value = getattr(changes, name)
        if not 0.0 <= value <= 1.0:
            fail(f"changes {name}", f"must be a fraction between 0 and 1, not {value}")
    if not 0.0 <= changes.skew <= 5.0:
        fail("changes skew", f"must be from 0 to 5, not {changes.skew}")
    if ds.columns[: len(CHANGE_COLUMNS)] != change_columns():
        fail("changes", "a change feed's first columns are op, seq and ts, as the spec file "
             "reader puts them; declare the table's columns only")  # fmt: skip
    table = ds.columns[len(CHANGE_COLUMNS) :]
    if ds.key is None or ds.key not in [c.name for c in table]:
        fail("changes", 'a change feed needs the table\'s key: key = "<one of its columns>"')
    key = next(c for c in table if c.name == ds.key)
    if not isinstance(key.source, Sequence) or key.type not in ("INT", "BIGINT") or key.nulls:
        fail(f"column {key.name!r}", "a change feed's key is a whole number (INT or BIGINT) of "
             "kind sequence, never empty: its start is the first key")  # fmt: skip
    assert isinstance(key.source, Sequence)
    if key.source.step <= 0:
        fail(f"column {key.name!r}", f"a change feed's keys count up: step must be 1 or more, "
             f"not {key.source.step}")  # fmt: skip
    last = key.source.start + key.source.step * changes.keys
    most = 2**31 - 1 if key.type == "INT" else 2**53
    if key.source.start < -most or last > most:
        fail(f"column {key.name!r}", f"the first {changes.keys} keys from {key.source.start} "
             f"by {key.source.step} go past {key.type}'s {most}")  # fmt: skip
    if len(table) < 2:
        fail("changes", "the table needs a column besides its key (what changes)")
    if ds.follows or ds.static or ds.daily or ds.group_size is not None or ds.references:
        fail("changes", "a change feed is a stream of its own: no follows, static, daily "
             "naming, groups or references")  # fmt: skip
    clocks = [c.name for c in ds.columns if isinstance(c.source, SimClock)]
    if clocks != ["ts"]:
        fail("changes", f"ts is a change feed's clock; column {clocks[-1]!r} cannot be another")
