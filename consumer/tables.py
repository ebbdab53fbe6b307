"""A table in a database kept up to date from a change feed, one micro-batch per transaction.

Each batch's changes are applied by `seq` (an older change never overwrites a newer one, a copy
changes nothing) and the batch's id is recorded in the same transaction, under the writer's id
(the query's, from its checkpoint): a batch Spark runs again after a failure finds its id there
and changes nothing. SQLite (`sqlite:///PATH`, in the standard library) and PostgreSQL
(`postgresql://...`, through psycopg) take the same statements; only the placeholder differs.

SCD type 1 (`Scd1`): the table `NAME` holds each live key's row and the `seq` of the change that
made it (`_seq`); `NAME_deleted` holds each deleted key's delete `seq`, so an older insert landing
after the delete cannot bring the row back. SCD type 2 (`Scd2`): `NAME` holds every version of
every row, valid from its change's `ts` to the key's next change (`valid_to` empty and `current`
1 for the version that stands); `NAME_deleted` holds the deletes that closed versions.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from consumer.errors import StreamFailed
from generator.errors import UsageError

BATCHES = "stream_lab_batches"  # (writer, table, batch): the batches each writer has applied
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,54}")

Change = tuple[Any, int, str, str, list[Any]]  # key, seq, op, ts, the other columns
Tails = dict[Any, list[Any]]  # per key, rows of its history


@dataclass(frozen=True)
class Target:
    """Where changes go: a database URL and a table name, checked when given."""

    url: str
    table: str

    def __post_init__(self) -> None:
        scheme = urlparse(self.url).scheme
        if scheme == "sqlite":
            path = self.url.removeprefix("sqlite:///")
            if not self.url.startswith("sqlite:///") or not path:
                raise UsageError(
                    f"--into {self.url}: a SQLite database is sqlite:///PATH "
                    "(sqlite:////tmp/x.db for an absolute path)"
                )
            folder = Path(path).parent
            if not folder.is_dir():
                raise UsageError(f"--into {self.url}: no folder {folder} to keep the database in")
        elif scheme not in ("postgresql", "postgres"):
            raise UsageError(f"--into {self.url}: give sqlite:///PATH or postgresql://USER@HOST/DB")
        if not _NAME.fullmatch(self.table):
            raise UsageError(
                f"--table {self.table!r}: a table name is letters, digits and _, "
                "not starting with a digit, at most 55 of them (with _deleted, 63)"
            )

    @property
    def postgres(self) -> bool:
        return not self.url.startswith("sqlite:")

    @contextmanager
    def connect(self) -> Iterator[Any]:
        """A connection, closed after the block (each block's work commits or rolls back as
        one transaction: `transaction`). A server that cannot be reached is a stream that
        cannot go on: one line."""
        if self.postgres:
            import psycopg

            try:
                conn: Any = psycopg.connect(self.url, connect_timeout=10)
            except psycopg.OperationalError as exc:
                reason = " ".join(str(exc).split())
                raise StreamFailed(f"cannot connect to {self.url}: {reason}") from None
        else:
            conn = sqlite3.connect(
                self.url.removeprefix("sqlite:///"), timeout=60, isolation_level=None
            )
        try:
            yield conn
        finally:
            conn.close()


class Writer:
    """Applies change batches to a target table (SCD type 1 or 2) for one writer id. Every name
    in its SQL is quoted (`_q`): a column of a spec file is a name, never SQL."""

    def __init__(
        self,
        target: Target,
        key: str,
        columns: Sequence[str],
        types: Sequence[str],
        scd: int,
        naive: bool = False,
    ) -> None:
        self.target, self.key, self.columns, self.scd = target, key, list(columns), scd
        self.naive = naive  # the first version people write: see `_naive`
        self.types = dict(zip([key, *columns], types, strict=True))
        self.p = "%s" if target.postgres else "?"
        self.t, self.d = _q(target.table), _q(target.table + "_deleted")
        self.k, self.cols = _q(key), [_q(c) for c in columns]

    # --- SQL ---------------------------------------------------------------------------------

    def _sql(self, text: str) -> str:
        return text.replace("?", self.p)

    def layout(self) -> list[str]:
        """The table's columns, as this writer makes it."""
        extra = (["valid_from", "valid_to", "current"] if self.scd == 2 else []) + (
            [] if self.naive else ["_seq"])  # fmt: skip
        return [self.key, *self.columns, *extra]

    def create(self, conn: Any) -> None:
        """The tables, made if missing; a table there already must be one this writer made
        (the same columns): else one line."""
        t, d, k = self.t, self.d, self.k
        typed = zip(self.cols, self.columns, strict=True)
        cols = ", ".join(f"{q} {_sql_type(self.types[c])}" for q, c in typed)
        ktype = _sql_type(self.types[self.key])
        with _transaction(conn, self.target.postgres):
            cur = conn.cursor()
            cur.execute(f"CREATE TABLE IF NOT EXISTS {BATCHES} (writer TEXT NOT NULL, "
                        "target TEXT NOT NULL, batch BIGINT NOT NULL, changes BIGINT NOT NULL, "
                        "PRIMARY KEY (writer, target, batch))")  # fmt: skip
            if self.naive:  # a plain table: no seq, no tombstones, versions not unique
                extra = ", valid_from TEXT, valid_to TEXT, current INTEGER" if self.scd == 2 else ""
                unique = " PRIMARY KEY" if self.scd == 1 else ""
                cur.execute(f"CREATE TABLE IF NOT EXISTS {t} ({k} {ktype}{unique}, {cols}{extra})")
            elif self.scd == 1:
                cur.execute(f"CREATE TABLE IF NOT EXISTS {t} ({k} {ktype} PRIMARY KEY, {cols}, "
                            "_seq BIGINT NOT NULL)")  # fmt: skip
                cur.execute(f"CREATE TABLE IF NOT EXISTS {d} ({k} {ktype} PRIMARY KEY, "
                            "_seq BIGINT NOT NULL)")  # fmt: skip
            else:
                cur.execute(f"CREATE TABLE IF NOT EXISTS {t} ({k} {ktype} NOT NULL, {cols}, "
                            "valid_from TEXT NOT NULL, valid_to TEXT, current INTEGER NOT NULL, "
                            f"_seq BIGINT NOT NULL, PRIMARY KEY ({k}, _seq))")  # fmt: skip
                cur.execute(f"CREATE TABLE IF NOT EXISTS {d} ({k} {ktype} NOT NULL, _seq BIGINT "
                            f"NOT NULL, ts TEXT NOT NULL, PRIMARY KEY ({k}, _seq))")  # fmt: skip
            cur.execute(f"SELECT * FROM {t} WHERE 1 = 0")
            found = [c[0] for c in cur.description]
        if [c.lower() for c in found] != [c.lower() for c in self.layout()]:
            how = f"--scd {self.scd}" + (" --naive" if self.naive else "")
            raise UsageError(f"--table {self.target.table} is there with other columns "
                             f"({', '.join(found)}) than {how} keeps for this data set: give "
                             "another --table")  # fmt: skip

    def apply(self, conn: Any, writer: str, batch: int, changes: Sequence[Change]) -> bool:
        """One batch in one transaction; False (nothing changed) when this writer applied it
        before."""
        with _transaction(conn, self.target.postgres):
            cur = conn.cursor()
            if self.naive:
                self._naive(cur, changes)
                return True
            cur.execute(
                self._sql(f"SELECT 1 FROM {BATCHES} WHERE writer = ? AND target = ? AND batch = ?"),
                (writer, self.target.table, batch),
            )
            if cur.fetchone() is not None:
                return False
            if self.scd == 1:
                self._scd1(cur, changes)
            else:
                self._scd2(cur, changes)
            cur.execute(
                self._sql(f"INSERT INTO {BATCHES} VALUES (?, ?, ?, ?)"),
                (writer, self.target.table, batch, len(changes)),
            )
        return True

    def _scd1(self, cur: Any, changes: Sequence[Change]) -> None:
        t, d, k = self.t, self.d, self.k
        newest: dict[Any, Change] = {}
        for change in changes:  # per key, its newest change of the batch
            if change[0] not in newest or newest[change[0]][1] < change[1]:
                newest[change[0]] = change
        upserts = [(key, *values, seq, key, seq) for key, seq, op, _, values in newest.values()
                   if op != "d"]  # fmt: skip
        deletes = [(key, seq) for key, seq, op, _, _ in newest.values() if op == "d"]
        names = ", ".join(self.cols)
        marks = ", ".join("?" for _ in self.cols)
        sets = ", ".join(f"{c} = excluded.{c}" for c in self.cols)
        # an insert or update: unless the row, or its delete, is newer
        cur.executemany(self._sql(
            f"INSERT INTO {t} ({k}, {names}, _seq) SELECT ?, {marks}, ? WHERE NOT EXISTS "
            f"(SELECT 1 FROM {d} WHERE {d}.{k} = ? AND {d}._seq >= ?) "
            f"ON CONFLICT ({k}) DO UPDATE SET {sets}, _seq = excluded._seq "
            f"WHERE excluded._seq > {t}._seq"), upserts)  # fmt: skip
        cur.executemany(self._sql(f"DELETE FROM {d} WHERE {k} = ? AND _seq < ?"),
                        [(row[0], row[-1]) for row in upserts])  # fmt: skip
        # a delete: unless the row is newer
        cur.executemany(self._sql(f"DELETE FROM {t} WHERE {k} = ? AND _seq < ?"), deletes)
        cur.executemany(self._sql(
            f"INSERT INTO {d} ({k}, _seq) SELECT ?, ? WHERE TRUE "
            f"ON CONFLICT ({k}) DO UPDATE SET _seq = excluded._seq "
            f"WHERE excluded._seq > {d}._seq"), deletes)  # fmt: skip

    def _scd2(self, cur: Any, changes: Sequence[Change]) -> None:
        """Each key the batch touches: the tail of its history from the change before the
        batch's oldest read (versions and deletes), the batch's changes merged in by seq (a seq
        already there is a copy), the versions whose end moved updated and the new ones
        inserted. In commit order that tail is the key's current version alone. The tails are
        read a few hundred keys a query, and written with one statement a kind."""
        by_key: dict[Any, list[Change]] = {}
        for change in changes:
            by_key.setdefault(change[0], []).append(change)
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        deletes: list[tuple[Any, ...]] = []
        keys = list(by_key)
        for at in range(0, len(keys), 400):
            some = keys[at : at + 400]
            versions, gone = self._tails(cur, [(key, min(c[1] for c in by_key[key]))
                                               for key in some])  # fmt: skip
            for key in some:
                chain = {r[0]: (r[0], "u", r[1], list(r[3:])) for r in versions.get(key, [])}
                kept = {r[0]: r[2] for r in versions.get(key, [])}
                chain |= {seq: (seq, "d", ts, []) for seq, ts in gone.get(key, [])}
                there = set(chain)
                for _, seq, op, ts, values in by_key[key]:
                    chain.setdefault(seq, (seq, op, ts, values))
                if set(chain) == there:
                    continue  # copies only
                ordered = sorted(chain.values())
                for i, (seq, op, ts, values) in enumerate(ordered):
                    if op == "d":
                        if seq not in there:
                            deletes.append((key, seq, ts))
                        continue
                    last = i + 1 == len(ordered)
                    end = (None if last else ordered[i + 1][2], last)
                    if seq not in there:
                        inserts.append((key, *values, ts, end[0], int(end[1]), seq))
                    elif kept[seq] != end:
                        updates.append((end[0], int(end[1]), key, seq))
        t, d, k = self.t, self.d, self.k
        names = ", ".join(self.cols)
        marks = ", ".join("?" for _ in range(len(self.cols) + 5))
        cur.executemany(self._sql(f"INSERT INTO {t} ({k}, {names}, valid_from, valid_to, "
                                  f"current, _seq) VALUES ({marks})"), inserts)  # fmt: skip
        cur.executemany(self._sql(f"UPDATE {t} SET valid_to = ?, current = ? WHERE {k} = ? "
                                  "AND _seq = ?"), updates)  # fmt: skip
        cur.executemany(self._sql(f"INSERT INTO {d} VALUES (?, ?, ?)"), deletes)

    def _tails(self, cur: Any, oldest: list[tuple[Any, int]]) -> tuple[Tails, Tails]:
        """For each (key, the batch's oldest seq of it): its versions (seq, valid_from,
        (valid_to, current), the columns) and deletes (seq, ts) from the key's last change
        before that seq on, in two queries."""
        t, d, k = self.t, self.d, self.k
        pairs = ", ".join("(?, ?)" for _ in oldest)
        # the last change before the batch's oldest, in versions or deletes; else the oldest
        since = (
            f"WITH b (bk, oldest) AS (VALUES {pairs}), "
            f"x AS (SELECT bk, oldest, (SELECT max(_seq) FROM {t} AS tv WHERE tv.{k} = b.bk "
            f"AND tv._seq < b.oldest) AS v, (SELECT max(_seq) FROM {d} AS td WHERE td.{k} = "
            f"b.bk AND td._seq < b.oldest) AS g FROM b), "
            "s AS (SELECT bk, COALESCE(CASE WHEN COALESCE(v, -1) >= COALESCE(g, -1) THEN v "
            "ELSE g END, oldest) AS since FROM x) "
        )  # fmt: skip
        flat = [value for pair in oldest for value in pair]
        names = ", ".join(f"r.{c}" for c in self.cols)
        cur.execute(self._sql(since + f"SELECT r.{k}, r._seq, r.valid_from, r.valid_to, "
                              f"r.current, {names} FROM {t} AS r JOIN s ON r.{k} = s.bk "
                              "WHERE r._seq >= s.since"), flat)  # fmt: skip
        versions: dict[Any, list[Any]] = {}
        for row in cur.fetchall():
            versions.setdefault(row[0], []).append(
                (row[1], row[2], (row[3], bool(row[4])), *row[5:])
            )
        cur.execute(self._sql(since + f"SELECT r.{k}, r._seq, r.ts FROM {d} AS r JOIN s ON "
                              f"r.{k} = s.bk WHERE r._seq >= s.since"), flat)  # fmt: skip
        gone: dict[Any, list[Any]] = {}
        for row in cur.fetchall():
            gone.setdefault(row[0], []).append((row[1], row[2]))
        return versions, gone

    def _naive(self, cur: Any, changes: Sequence[Change]) -> None:
        """What a first version does, for the lesson to show what it gets wrong: every change
        as it comes (copies too), in the order it arrives, no batch id. An update that arrives
        after a newer one overwrites it; a batch run again appends its versions again."""
        t, k = self.t, self.k
        names, marks = ", ".join(self.cols), ", ".join("?" for _ in self.cols)
        sets = ", ".join(f"{c} = excluded.{c}" for c in self.cols)
        for key, _, op, ts, values in changes:
            if self.scd == 1:
                if op == "d":
                    cur.execute(self._sql(f"DELETE FROM {t} WHERE {k} = ?"), (key,))
                else:
                    cur.execute(self._sql(f"INSERT INTO {t} ({k}, {names}) VALUES (?, {marks}) "
                                          f"ON CONFLICT ({k}) DO UPDATE SET {sets}"),
                                (key, *values))  # fmt: skip
                continue
            cur.execute(self._sql(f"UPDATE {t} SET valid_to = ?, current = 0 WHERE {k} = ? "
                                  "AND current = 1"), (ts, key))  # fmt: skip
            if op != "d":
                cur.execute(self._sql(f"INSERT INTO {t} ({k}, {names}, valid_from, valid_to, "
                                      f"current) VALUES (?, {marks}, ?, NULL, 1)"),
                            (key, *values, ts))  # fmt: skip

    # --- reading back ------------------------------------------------------------------------

    def rows(self, conn: Any) -> list[dict[str, Any]]:
        """The table as the answer key has it: SCD 1, a record per live row; SCD 2, a record
        per version (with `seq`, None for a naive table's)."""
        names = [self.key, *self.columns]
        if self.scd == 2:
            names += ["valid_from", "valid_to", "current"]
        picked = [_q(n) for n in names] + (["_seq"] if self.scd == 2 and not self.naive else [])
        cur = conn.cursor()
        cur.execute(f"SELECT {', '.join(picked)} FROM {self.t}")
        out = []
        for row in cur.fetchall():
            record = dict(zip(names, row, strict=False))
            if self.scd == 2:
                record["current"] = bool(record["current"])
                record["seq"] = row[len(names)] if len(row) > len(names) else None
            out.append(record)
        return out


def _q(name: str) -> str:
    """A name quoted for SQLite and PostgreSQL alike."""
    return '"' + name.replace('"', '""') + '"'


@contextmanager
def _transaction(conn: Any, postgres: bool) -> Iterator[None]:
    if postgres:
        with conn.transaction():
            yield
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _sql_type(spark_type: str) -> str:
    return {
        "INT": "INTEGER",
        "BIGINT": "BIGINT",
        "DOUBLE": "DOUBLE PRECISION",
        "BOOLEAN": "BOOLEAN",
    }.get(spark_type, "TEXT")
