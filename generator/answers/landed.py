"""The answer keys of a `generator files` run, fed one tick at a time (a tick is one micro-batch
of the query that reads one file per trigger) and rebuilt from what landed before when a run goes
on: `_truth.jsonl` (windows) per event-time folder; `_truth_sessions.jsonl` where the data set
has sessions; `_truth_dedup.jsonl` with --duplicates; `_truth_table.jsonl` and
`_truth_history.jsonl` for a change feed; and for a bundle `_truth_join.jsonl` (a stream and its
follower) or `_truth_enrich.jsonl` (a stream and a static table)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa

from generator.answers.base import AnswerKey
from generator.answers.changes import HistoryKey, TableKey
from generator.answers.dedup import DedupKey
from generator.answers.join import EnrichKey, JoinKey, strings
from generator.answers.sessions import SessionsKey
from generator.answers.store import Line
from generator.answers.windows import WindowsKey
from generator.clock import EventTime
from generator.engine import Engine, seconds_of, static_rows
from generator.landing import land
from generator.manifest import Entry, Manifest, format_of, read_landed
from generator.naming import index_of
from generator.spec import Bundle, Dataset, Reference

STATE = "_keys_state.json"  # the keys' whole state, saved now and then: a restart's start
STATE_VERSION = 2  # 2: a place in each manifest for what the keys took; windows packed
SNAPSHOT_EVERY = 1.0  # seconds between saves of the state, at the least

Tick = list[tuple[int, pa.Table]]  # (folder, the rows landed there) for each file of a tick


class Keys:
    def __init__(self, members: Sequence[Dataset], folders: Sequence[Path], directory: Path,
                 bundle: Bundle | None, event_time: EventTime, duplicates: float, seed: int,
                 manifests: Sequence[Manifest]) -> None:  # fmt: skip
        self.members, self.folders, self.directory = list(members), list(folders), directory
        self.bundle, self.seed = bundle, seed
        self.manifests = list(manifests)
        self.fed = [0] * len(self.members)  # bytes of each folder's manifest the keys have taken
        self.replayed = 0  # ticks read back from landed files at start
        # the first landed file not there to read back (Spark's cleanSource moved it), and how
        # many the keys skip with it
        self.gone: tuple[str, int] | None = None
        self._snapshot_due = 0.0
        self._settings = (event_time, duplicates)
        self._build()
        if not self._restore():
            self._build()  # a state half taken up is thrown away with the rest
            self._replay()

    def _build(self) -> None:
        et, duplicates = self._settings
        bundle, manifests = self.bundle, self.manifests
        self.windows = {i: WindowsKey(et.truth_window, et.truth_watermark)
                        for i, m in enumerate(self.members)
                        if m.event_time_column is not None}  # fmt: skip
        self.sessions = {i: SessionsKey() for i, m in enumerate(self.members)
                         if m.session_by is not None}  # fmt: skip
        self.dedup = {i: DedupKey() for i, m in enumerate(self.members)
                      if duplicates and m.key is not None and m.changes is None}  # fmt: skip
        self.tables = {i: TableKey(m) for i, m in enumerate(self.members) if m.changes}
        self.histories = {i: HistoryKey(m) for i, m in enumerate(self.members) if m.changes}
        self.join: tuple[int, int, str, str] | None = None  # followed, follower, key columns
        self.join_key: JoinKey | None = None
        self.enrich: tuple[int, str] | None = None  # the stream and its reference column
        self.enrich_key: EnrichKey | None = None
        for i, m in enumerate(self.members):
            for column in m.columns:
                src = column.source
                if not isinstance(src, Reference) or bundle is None:
                    continue
                target = bundle.member(src.dataset)
                if m.follows is not None and self.join is None:
                    self.join = (self.members.index(target), i, src.column, column.name)
                    self.join_key = JoinKey()
                elif target.static and self.enrich is None:
                    self.enrich = (i, column.name)
                    static = manifests[self.members.index(target)]
                    self.enrich_key = EnrichKey(self._static_keys(target, src.column, static))

    @property
    def any(self) -> bool:
        return bool(self.windows or self.sessions or self.dedup or self.join_key
                    or self.enrich_key or self.tables)  # fmt: skip

    def _static_keys(self, target: Dataset, column: str, manifest: Manifest) -> set[object]:
        if manifest.last is not None:
            entry = manifest.entries[0]
            table = read_landed(manifest.folder / entry.file, target, entry.header)
        else:
            peers = {m.name: m for m in self.members}
            table = Engine(target, self.seed, peers=peers).table(0, static_rows(target))
        return set(table.column(column).to_pylist())

    def _keys(self) -> dict[str, AnswerKey | WindowsKey]:
        """Every key, by a name its saved state goes under."""
        out: dict[str, AnswerKey | WindowsKey] = {}
        for kind, keys in (("windows", self.windows), ("sessions", self.sessions),
                           ("dedup", self.dedup), ("table", self.tables),
                           ("history", self.histories)):  # fmt: skip
            out.update({f"{kind}/{i}": key for i, key in keys.items()})
        if self.join_key is not None:
            out["join"] = self.join_key
        if self.enrich_key is not None:
            out["enrich"] = self.enrich_key
        return out

    def _folder_of(self, name: str) -> Path:
        _, _, i = name.partition("/")
        return self.folders[int(i)] if i else self.directory

    def _streams(self) -> list[int]:
        return [i for i, m in enumerate(self.members) if not m.static]

    def _replay(self, pending: Sequence[list[Entry]] | None = None) -> None:
        """Feed the keys what landed and they have not taken (`pending`, each folder's manifest
        lines; all of them by default), tick by tick."""
        manifests, streams = self.manifests, self._streams()
        if pending is None:
            pending = [m.entries if self.any else [] for m in manifests]
        if not self.any or not any(pending[i] for i in streams):
            self.fed = [m.size for m in manifests]
            return
        if self.bundle is None:  # --streams folders take files in turn
            entries = sorted(
                ((e, i) for i in streams for e in pending[i]),
                key=lambda pair: index_of(self.members[0].naming, pair[0].file) or 0,
            )
            ticks = [[(i, e)] for e, i in entries]
        else:
            count = min(len(pending[i]) for i in streams)
            ticks = [[(i, pending[i][k]) for i in streams] for k in range(count)]
        for k, tick in enumerate(ticks):
            tables: Tick = []
            for i, entry in tick:
                path = manifests[i].folder / entry.file
                if not path.exists():  # Spark's cleanSource may have archived it
                    self.fed = [m.size for m in manifests]  # what is gone is skipped
                    self.gone = (entry.file, sum(len(t) for t in ticks[k:]))
                    return
                tables.append(
                    (
                        i,
                        read_landed(
                            path, self.members[i], entry.header, format_of(entry.file, entry.format)
                        ),
                    )
                )
            self.add(tables)
            self.replayed += 1
        self.fed = [m.size for m in manifests]

    def _snapshot(self) -> Line:
        """What the keys hold and which landed files they have taken."""
        taken = [m.mark(n) for m, n in zip(self.manifests, self.fed, strict=True)]
        return {"version": STATE_VERSION, "seed": self.seed,
                "members": [m.name for m in self.members], "taken": taken,
                "keys": {name: {"state": key.state(), "file": key.mark()}
                         for name, key in self._keys().items()}}  # fmt: skip

    def _restore(self) -> bool:
        """Take up the state the last run saved (`STATE`), and feed the keys only the files
        landed after it: a long run goes on at the cost of a short one. False when there is
        none or it does not fit what the folder holds now (any doubt means reading every file
        again, as a run without a saved state does, and writing the keys anew)."""
        keys = self._keys()
        path = self.directory / STATE
        if not keys or path.is_symlink() or not path.is_file():
            return False
        try:
            saved = json.loads(path.read_bytes())
            if (saved["version"], saved["seed"], saved["members"]) != (
                    STATE_VERSION, self.seed, [m.name for m in self.members]):  # fmt: skip
                return False
            pending = [
                manifest.read_after(mark)
                for mark, manifest in zip(saved["taken"], self.manifests, strict=True)
            ]
            if any(p is None for p in pending):
                return False  # a manifest that no longer holds what the keys took
            if set(saved["keys"]) != set(keys):
                return False
            for name, key in keys.items():
                key.restore(saved["keys"][name]["state"])
        except (ValueError, KeyError, TypeError, IndexError, AttributeError):
            return False
        for name, key in keys.items():
            mark = saved["keys"][name]["file"]
            if mark is None or not key.resume(self._folder_of(name), mark):
                return False
        self._replay([p for p in pending if p is not None])
        return True

    def add(self, tick: Tick) -> None:
        """One tick: a file of each folder that took one (a caller that can be interrupted
        lets the keys take it whole: `signals.interrupts_deferred`)."""
        by_stream = dict(tick)
        times = {}
        for i, table in tick:
            m = self.members[i]
            if i in self.tables:
                self.tables[i].add_batch(table)
                self.histories[i].add_batch(table)
            if m.event_time_column is None:
                continue
            t = times[i] = seconds_of(table.column(m.event_time_column))
            if i in self.windows:
                self.windows[i].add_batch(t)
            if i in self.sessions:
                assert m.session_by is not None
                self.sessions[i].add_batch(strings(table.column(m.session_by)).to_pylist(), t)
            if i in self.dedup:
                assert m.key is not None
                self.dedup[i].add_batch(strings(table.column(m.key)), t)
        if self.join is not None and self.join_key is not None:
            left, right, left_col, right_col = self.join
            lt, rt = by_stream[left], by_stream[right]
            self.join_key.add_batch(strings(lt.column(left_col)).to_pylist(), times[left],
                                    strings(rt.column(right_col)).to_pylist(),
                                    times[right])  # fmt: skip
        if self.enrich is not None and self.enrich_key is not None:
            stream, column = self.enrich
            table = by_stream[stream]
            key = self.members[stream].key
            self.enrich_key.add_batch(table.column(column),
                                      table.column(key) if key is not None else None)  # fmt: skip
        for i, _ in tick:
            self.fed[i] = self.manifests[i].size  # the tick's lines are the newest

    def save(self, last: bool = False) -> None:
        """Append to each key's file what changed; now and then, and at the `last` save, also
        the keys' whole state (`STATE`), taking no more than a twentieth of the run's time."""
        for name, key in self._keys().items():
            if isinstance(key, TableKey | HistoryKey):
                key.save(self._folder_of(name), compact=last)
            else:
                key.save(self._folder_of(name))
        now = time.monotonic()
        if self.any and (last or now >= self._snapshot_due):
            data = json.dumps(self._snapshot(), separators=(",", ":")).encode()
            land(self.directory, STATE, [data], replace=True)
            self._snapshot_due = now + max(SNAPSHOT_EVERY, 20 * (time.monotonic() - now))
