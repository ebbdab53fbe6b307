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
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")

Change = tuple[Any, int, str, str, list[Any]]  # key, seq, op, ts, the other columns


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
                "not starting with a digit, at most 63 of them"
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
    """Applies change batches to a target table (SCD type 1 or 2) for one writer id."""

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

    # --- SQL ---------------------------------------------------------------------------------

    def _sql(self, text: str) -> str:
        return text.replace("?", self.p)

    def create(self, conn: Any) -> None:
        t, k = self.target.table, self.key
        cols = ", ".join(f"{c} {_sql_type(self.types[c])}" for c in self.columns)
        ktype = _sql_type(self.types[k])
        with _transaction(conn, self.target.postgres):
            cur = conn.cursor()
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {BATCHES} (writer TEXT NOT NULL, "
                "target TEXT NOT NULL, batch BIGINT NOT NULL, changes BIGINT NOT NULL, "
                "PRIMARY KEY (writer, target, batch))"
            )
            if self.naive:  # a plain table: no seq, no tombstones, versions not unique
                extra = ", valid_from TEXT, valid_to TEXT, current INTEGER" if self.scd == 2 else ""
                unique = " PRIMARY KEY" if self.scd == 1 else ""
                cur.execute(f"CREATE TABLE IF NOT EXISTS {t} ({k} {ktype}{unique}, {cols}{extra})")
            elif self.scd == 1:
                cur.execute(
                    f"CREATE TABLE IF NOT EXISTS {t} ({k} {ktype} PRIMARY KEY, {cols}, "
                    "_seq BIGINT NOT NULL)"
                )
                cur.execute(
                    f"CREATE TABLE IF NOT EXISTS {t}_deleted ({k} {ktype} PRIMARY KEY, "
                    "_seq BIGINT NOT NULL)"
                )
            else:
                cur.execute(
                    f"CREATE TABLE IF NOT EXISTS {t} ({k} {ktype} NOT NULL, {cols}, "
                    "valid_from TEXT NOT NULL, valid_to TEXT, current INTEGER NOT NULL, "
                    f"_seq BIGINT NOT NULL, PRIMARY KEY ({k}, _seq))"
                )
                cur.execute(
                    f"CREATE TABLE IF NOT EXISTS {t}_deleted ({k} {ktype} NOT NULL, "
                    f"_seq BIGINT NOT NULL, ts TEXT NOT NULL, PRIMARY KEY ({k}, _seq))"
                )

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
        t, k, cols = self.target.table, self.key, self.columns
        newest: dict[Any, Change] = {}
        for change in changes:  # per key, its newest change of the batch
            if change[0] not in newest or newest[change[0]][1] < change[1]:
                newest[change[0]] = change
        upserts = [
            (key, *values, seq, key, seq)
            for key, seq, op, _, values in newest.values()
            if op != "d"
        ]
        deletes = [(key, seq) for key, seq, op, _, _ in newest.values() if op == "d"]
        names = ", ".join(cols)
        marks = ", ".join("?" for _ in cols)
        sets = ", ".join(f"{c} = excluded.{c}" for c in cols)
        # an insert or update: unless the row, or its delete, is newer
        cur.executemany(
            self._sql(
                f"INSERT INTO {t} ({k}, {names}, _seq) SELECT ?, {marks}, ? WHERE NOT EXISTS "
                f"(SELECT 1 FROM {t}_deleted d WHERE d.{k} = ? AND d._seq >= ?) "
                f"ON CONFLICT ({k}) DO UPDATE SET {sets}, _seq = excluded._seq "
                f"WHERE excluded._seq > {t}._seq"
            ),
            upserts,
        )
        cur.executemany(
            self._sql(f"DELETE FROM {t}_deleted WHERE {k} = ? AND _seq < ?"),
            [(row[0], row[-1]) for row in upserts],
        )
        # a delete: unless the row is newer
        cur.executemany(self._sql(f"DELETE FROM {t} WHERE {k} = ? AND _seq < ?"), deletes)
        cur.executemany(
            self._sql(
                f"INSERT INTO {t}_deleted ({k}, _seq) SELECT ?, ? WHERE TRUE "
                f"ON CONFLICT ({k}) DO UPDATE SET _seq = excluded._seq "
                f"WHERE excluded._seq > {t}_deleted._seq"
            ),
            deletes,
        )

    def _scd2(self, cur: Any, changes: Sequence[Change]) -> None:
        """Each key the batch touches: its versions and deletes read, the batch's changes
        merged in by seq (a seq already there is a copy), the versions whose end moved
        written again."""
        t, k, cols = self.target.table, self.key, self.columns
        by_key: dict[Any, list[Change]] = {}
        for change in changes:
            by_key.setdefault(change[0], []).append(change)
        names = ", ".join(cols)
        for key, mine in by_key.items():
            cur.execute(
                self._sql(f"SELECT _seq, valid_from, {names} FROM {t} WHERE {k} = ?"), (key,)
            )
            chain = {row[0]: (row[0], "u", row[1], list(row[2:])) for row in cur.fetchall()}
            cur.execute(self._sql(f"SELECT _seq, ts FROM {t}_deleted WHERE {k} = ?"), (key,))
            chain |= {row[0]: (row[0], "d", row[1], []) for row in cur.fetchall()}
            before = dict(chain)
            for _, seq, op, ts, values in mine:
                chain.setdefault(seq, (seq, op, ts, values))
            if chain.keys() == before.keys():
                continue
            ordered = sorted(chain.values())
            cur.execute(self._sql(f"DELETE FROM {t} WHERE {k} = ?"), (key,))
            rows = []
            for i, (seq, op, ts, values) in enumerate(ordered):
                if op == "d":
                    if seq not in before:
                        cur.execute(
                            self._sql(f"INSERT INTO {t}_deleted VALUES (?, ?, ?)"), (key, seq, ts)
                        )
                    continue
                last = i + 1 == len(ordered)
                rows.append(
                    (key, *values, ts, None if last else ordered[i + 1][2], 1 if last else 0, seq)
                )
            marks = ", ".join("?" for _ in range(len(cols) + 5))
            cur.executemany(
                self._sql(
                    f"INSERT INTO {t} ({k}, {names}, valid_from, valid_to, "
                    f"current, _seq) VALUES ({marks})"
                ),
                rows,
            )

    def _naive(self, cur: Any, changes: Sequence[Change]) -> None:
        """What a first version does, for the lesson to show what it gets wrong: every change
        as it comes (copies too), in the order it arrives, no batch id. An update that arrives
        after a newer one overwrites it; a batch run again appends its versions again."""
        t, k, cols = self.target.table, self.key, self.columns
        names, marks = ", ".join(cols), ", ".join("?" for _ in cols)
        sets = ", ".join(f"{c} = excluded.{c}" for c in cols)
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
        per version (with `seq`)."""
        t, k = self.target.table, self.key
        extra = ["valid_from", "valid_to", "current", "_seq"] if self.scd == 2 else []
        if self.naive and extra:
            extra[-1] = "NULL"
        names = [k, *self.columns, *extra]
        cur = conn.cursor()
        cur.execute(f"SELECT {', '.join(names)} FROM {t}")
        out = []
        for row in cur.fetchall():
            record = dict(zip(names, row, strict=True))
            if self.scd == 2:
                record["current"] = bool(record["current"])
                record["seq"] = record.pop(extra[-1])
            out.append(record)
        return out


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
