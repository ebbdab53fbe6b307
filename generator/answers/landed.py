"""The answer keys of a `generator files` run, fed one tick at a time (a tick is one micro-batch
of the query that reads one file per trigger) and rebuilt from what landed before when a run goes
on: `_truth.jsonl` (windows) per event-time folder; `_truth_sessions.jsonl` where the data set
has sessions; `_truth_dedup.jsonl` with --duplicates; and for a bundle `_truth_join.jsonl` (a
stream and its follower) or `_truth_enrich.jsonl` (a stream and a static table)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa

from generator.answers.dedup import DedupKey
from generator.answers.join import EnrichKey, JoinKey, strings
from generator.answers.sessions import SessionsKey
from generator.answers.windows import WindowsKey
from generator.clock import EventTime
from generator.engine import Engine, seconds_of, static_rows
from generator.manifest import Manifest, read_landed
from generator.naming import index_of
from generator.spec import Bundle, Dataset, Reference

Tick = list[tuple[int, pa.Table]]  # (folder, the rows landed there) for each file of a tick


class Keys:
    def __init__(self, members: Sequence[Dataset], folders: Sequence[Path], directory: Path,
                 bundle: Bundle | None, event_time: EventTime, duplicates: float, seed: int,
                 manifests: Sequence[Manifest]) -> None:  # fmt: skip
        self.members, self.folders, self.directory = list(members), list(folders), directory
        self.bundle, self.seed = bundle, seed
        et = event_time
        self.windows = {i: WindowsKey(et.truth_window, et.truth_watermark)
                        for i, m in enumerate(self.members)
                        if m.event_time_column is not None}  # fmt: skip
        self.sessions = {i: SessionsKey() for i, m in enumerate(self.members)
                         if m.session_by is not None}  # fmt: skip
        self.dedup = {i: DedupKey() for i, m in enumerate(self.members)
                      if duplicates and m.key is not None}  # fmt: skip
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
        self._replay(manifests)

    @property
    def any(self) -> bool:
        return bool(self.windows or self.sessions or self.dedup or self.join_key
                    or self.enrich_key)  # fmt: skip

    def _static_keys(self, target: Dataset, column: str, manifest: Manifest) -> set[object]:
        if manifest.entries:
            entry = manifest.entries[0]
            table = read_landed(manifest.folder / entry.file, target, entry.header)
        else:
            peers = {m.name: m for m in self.members}
            table = Engine(target, self.seed, peers=peers).table(0, static_rows(target))
        return set(table.column(column).to_pylist())

    def _replay(self, manifests: Sequence[Manifest]) -> None:
        """Feed the keys what landed in earlier runs, tick by tick."""
        streams = [i for i, m in enumerate(self.members) if not m.static]
        if not self.any or not any(manifests[i].entries for i in streams):
            return
        if self.bundle is None:  # --streams folders take files in turn
            entries = sorted(
                ((e, i) for i in streams for e in manifests[i].entries),
                key=lambda pair: index_of(self.members[0].naming, pair[0].file) or 0,
            )
            ticks = [[(i, e)] for e, i in entries]
        else:
            count = min(len(manifests[i].entries) for i in streams)
            ticks = [[(i, manifests[i].entries[k]) for i in streams] for k in range(count)]
        for tick in ticks:
            tables: Tick = []
            for i, entry in tick:
                path = manifests[i].folder / entry.file
                if not path.exists():  # Spark's cleanSource may have archived it
                    return
                tables.append((i, read_landed(path, self.members[i], entry.header)))
            self.add(tables)

    def add(self, tick: Tick) -> None:
        by_stream = dict(tick)
        times = {}
        for i, table in tick:
            m = self.members[i]
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

    def save(self) -> None:
        for i, windows in self.windows.items():
            windows.save(self.folders[i])
        for i, key in self.sessions.items():
            key.save(self.folders[i])
        for i, dedup in self.dedup.items():
            dedup.save(self.folders[i])
        if self.join_key is not None:
            self.join_key.save(self.directory)
        if self.enrich_key is not None:
            self.enrich_key.save(self.directory)
