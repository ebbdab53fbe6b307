"""A data set as an endless run of CSV lines, handed out in slices of whole lines.

The socket server takes lines from here: one row source per stream. Batches are drawn by the
value engine and rendered to CSV in a worker thread (pyarrow and numpy release the GIL), one batch
ahead of what is being sent, and sliced at line ends without copying.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pyarrow as pa

from generator.engine import Clock, Engine
from generator.formats import body as render
from generator.spec import Dataset

# Rows drawn at a time for data sets with a fixed rows-per-file (a file of `person` is 10 rows,
# far too few to draw at once for a stream). Data sets that draw their own size (a retail day)
# keep it, so a batch is a day.
BATCH_ROWS = 65_536


class RowSource:
    """CSV lines of one data set and seed, without a header, in order, for ever."""

    def __init__(
        self, dataset: Dataset, seed: int, clock: Clock | None = None, fmt: str = "csv"
    ) -> None:
        self._format = fmt
        self._event_time = dataset.event_time_column
        self._times = np.zeros(0, dtype=np.int64)  # event seconds of the batch's lines
        self.last_times = np.zeros(0, dtype=np.int64)  # ... of the lines `take` gave last
        fixed = isinstance(dataset.rows_per_file, int)
        rows = BATCH_ROWS if fixed else None
        self._engine = Engine(dataset, seed, rows_per_file=rows, clock=clock)
        self._index = 1
        self._body: pa.Buffer | None = None
        self._ends = np.zeros(0, dtype=np.int64)  # end offset of each line of the batch
        self._pos = 0  # lines of the batch already handed out
        self._next: asyncio.Future[tuple[pa.Buffer, np.ndarray, np.ndarray]] | None = None

    def _draw(self, index: int) -> tuple[pa.Buffer, np.ndarray, np.ndarray]:
        table = self._engine.table(index)
        body = render(table, self._format)
        ends = np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == 0x0A) + 1
        times = np.zeros(0, dtype=np.int64)
        if self._event_time is not None:
            column = table.column(self._event_time).combine_chunks()
            times = column.cast(pa.int64()).to_numpy(zero_copy_only=False)
        return body, ends, times

    def _prefetch(self) -> None:
        index = self._index
        self._index += 1
        self._next = asyncio.get_running_loop().run_in_executor(None, self._draw, index)

    async def take(self, max_lines: int) -> tuple[memoryview, int]:
        """Up to `max_lines` whole lines (at least one), and how many they are."""
        if self._pos >= len(self._ends):
            if self._next is None:
                self._prefetch()
            assert self._next is not None
            self._body, self._ends, self._times = await self._next
            self._pos = 0
            self._prefetch()  # the next batch is drawn while this one is sent
        assert self._body is not None
        count = min(max_lines, len(self._ends) - self._pos)
        start = int(self._ends[self._pos - 1]) if self._pos else 0
        end = int(self._ends[self._pos + count - 1])
        if len(self._times):
            self.last_times = self._times[self._pos : self._pos + count]
        self._pos += count
        return memoryview(self._body)[start:end], count

    def close(self) -> None:
        if self._next is not None:
            self._next.cancel()
