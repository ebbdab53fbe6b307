"""Drawing ahead: worker threads draw and render the next files of a run while the main thread
lands the current one. Each tick is one file, or, for a bundle, one file per stream, all cut
from one clock."""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from generator.engine import Engine, seconds_of, static_rows
from generator.files.config import FilesConfig
from generator.formats import body as render
from generator.formats import csv_header
from generator.linked import Follower
from generator.resend import Disorder, Resender, Rows
from generator.spec import Dataset


@dataclass(frozen=True)
class Made:
    """One file, drawn and rendered, ready to land."""

    index: int
    start: int  # first row in the sequence (a follower's: set when it lands)
    rows: int
    chunks: list[bytes | memoryview]
    size: int
    event_seconds: np.ndarray | None
    table: pa.Table  # its rows, for the answer keys
    copies: int = 0  # rows sent again (--duplicates)


class Maker:
    """Draws and renders the files to come in worker threads, a few ahead of the landing. Each
    tick lands one file: into the next of the `--streams` folders in turn, or, for a bundle,
    one into each stream's folder, all cut from one clock."""

    def __init__(self, config: FilesConfig, engine: Engine, index: int, row: int) -> None:
        self.config = config
        self.engine = engine
        self._index, self._row = index, row
        workers = config.workers or os.cpu_count() or 1
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="draw")
        self._ahead: deque[Future[list[tuple[int, Made]]]] = deque()
        self._depth = workers + 1
        rows: Rows = engine
        if config.ds.changes is not None and config.event_time.disorder:
            rows = Disorder(engine, config.event_time.disorder)
        self._rows = rows
        self._resend = Resender(rows, config.duplicates) if config.duplicates else None
        self._followers: dict[int, Follower] = {}
        if config.bundle is not None:
            for i, member in enumerate(config.members):
                if member.follows is not None:
                    self._followers[i] = Follower(member, engine, engine.clock)

    def _cut(self) -> tuple[int, int, int]:
        """The next file's number and its rows [start, stop)."""
        index = self._index
        if self.config.ds.daily:
            start, stop = self.engine.day(index)
        else:
            start, stop = self._row, self._row + self.config.rows
        self._index, self._row = index + 1, stop
        return index, start, stop

    def _render(self, index: int, start: int, table: pa.Table, ds: Dataset,
                copies: int = 0) -> Made:  # fmt: skip
        header = csv_header(ds.column_names) if self.config.header_of(ds) else b""
        chunks: list[bytes | memoryview] = [header] if header else []
        pieces = table.to_batches() if table.num_rows else []
        chunks += [memoryview(render(pa.Table.from_batches([p]), self.config.format))
                   for p in pieces]  # fmt: skip
        times = None
        column = ds.event_time_column
        if column is not None:
            times = seconds_of(table.column(column)) if table.num_rows else np.zeros(0, np.int64)
        return Made(index, start, table.num_rows, chunks, sum(len(c) for c in chunks), times,
                    table, copies)  # fmt: skip

    def _make(self, index: int, start: int, stop: int) -> list[tuple[int, Made]]:
        ds = self.config.ds
        if self._resend is not None:
            table, copies = self._resend.rows(start, stop)
        else:
            table, copies = self._rows.table(start, stop), 0
        made = self._render(index, start, table, ds, copies)
        if self.config.bundle is None:
            return [((index - 1) % self.config.streams, made)]
        out = []
        clock = self.engine.clock
        t0 = None if start == 0 else clock.start + start * clock.seconds_per_row
        t1 = clock.start + stop * clock.seconds_per_row
        for i, member in enumerate(self.config.members):
            if member is ds:
                out.append((i, made))
            elif i in self._followers:
                out.append((i, self._render(index, -1, self._followers[i].between(t0, t1),
                                            member)))  # fmt: skip
        return out

    def static(self, member: Dataset) -> Made:
        """A static table of the bundle, whole, as its one file."""
        peers = {m.name: m for m in self.config.members}
        table = Engine(member, self.engine.seed, peers=peers).table(0, static_rows(member))
        return self._render(1, 0, table, member)

    def next(self) -> list[tuple[int, Made]]:
        while len(self._ahead) < self._depth:
            self._ahead.append(self._pool.submit(self._make, *self._cut()))
        return self._ahead.popleft().result()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
