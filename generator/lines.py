"""A data set as an endless run of lines (CSV or JSON), handed out in slices of whole lines.

The socket server takes lines from here: the seed's one sequence of rows, from row 0, the same
rows `generator files` lands. Chunks are drawn by the value engine and rendered in a worker
thread (pyarrow and numpy release the GIL), one chunk ahead of what is being sent, and sliced at
line ends without copying.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pyarrow as pa

from generator.clock import Clock
from generator.engine import Engine
from generator.formats import body as render
from generator.spec import Dataset

CHUNK_ROWS = 65_536  # rows drawn and rendered at a time


class RowSource:
    """Lines of one data set and seed, without a header, in order, for ever."""

    def __init__(
        self, dataset: Dataset, seed: int, clock: Clock | None = None, fmt: str = "csv",
        engine: Engine | None = None,
    ) -> None:  # fmt: skip
        self._format = fmt
        self._event_time = dataset.event_time_column
        self._times = np.zeros(0, dtype=np.int64)  # event seconds of the chunk's lines
        self.last_times = np.zeros(0, dtype=np.int64)  # ... of the lines `take` gave last
        self._text = dataset.text_column
        self._texts: pa.Array = pa.array([], pa.string())  # the chunk's lines of words
        self.last_texts: pa.Array = self._texts  # ... of the lines `take` gave last
        # an engine may be shared (it is thread-safe): its pools and segments made once
        self._engine = engine if engine is not None else Engine(dataset, seed, clock=clock)
        self._row = 0  # the next row to draw
        self._body: bytes = b""
        self._ends = np.zeros(0, dtype=np.int64)  # end offset of each line of the chunk
        self._pos = 0  # lines of the chunk already handed out
        self._next: asyncio.Future[tuple[bytes, np.ndarray, np.ndarray, pa.Array]] | None = None

    def _draw(self, start: int) -> tuple[bytes, np.ndarray, np.ndarray, pa.Array]:
        pieces = self._engine.pieces(start, start + CHUNK_ROWS)
        body = b"".join(render(p, self._format) for p in pieces)
        ends = np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == 0x0A) + 1
        times = np.zeros(0, dtype=np.int64)
        if self._event_time is not None:
            times = np.concatenate([
                p.column(self._event_time).combine_chunks().cast(pa.int64())
                .to_numpy(zero_copy_only=False) for p in pieces
            ])  # fmt: skip
        texts = pa.array([], pa.string())
        if self._text is not None:
            texts = pa.concat_arrays([p.column(self._text).combine_chunks() for p in pieces])
        return body, ends, times, texts

    def _prefetch(self) -> None:
        start = self._row
        self._row += CHUNK_ROWS
        self._next = asyncio.get_running_loop().run_in_executor(None, self._draw, start)

    async def take(self, max_lines: int) -> tuple[memoryview, int]:
        """Up to `max_lines` whole lines (at least one), and how many they are."""
        if self._pos >= len(self._ends):
            if self._next is None:
                self._prefetch()
            assert self._next is not None
            self._body, self._ends, self._times, self._texts = await self._next
            self._pos = 0
            self._prefetch()  # the next chunk is drawn while this one is sent
        count = min(max_lines, len(self._ends) - self._pos)
        start = int(self._ends[self._pos - 1]) if self._pos else 0
        end = int(self._ends[self._pos + count - 1])
        if len(self._times):
            self.last_times = self._times[self._pos : self._pos + count]
        if len(self._texts):
            self.last_texts = self._texts.slice(self._pos, count)
        self._pos += count
        return memoryview(self._body)[start:end], count

    def close(self) -> None:
        if self._next is not None:
            self._next.cancel()
