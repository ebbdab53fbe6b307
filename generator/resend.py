"""`--duplicates F`: an at-least-once source re-sends some events. Row k of the sequence is
re-sent with probability F, `lag` rows later (1 to MAX_LAG, drawn): the copy is the same row —
same id, same event time — placed after row k + lag. Which rows and how far depend on the seed
and k alone, so files, their sizes and resumed runs all cut the same sequence of rows and copies.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from generator.engine import BLOCK_ROWS, RESEND, Engine

MAX_LAG = 100  # rows: a copy comes a little later, at most this many rows after its original


class Resender:
    def __init__(self, engine: Engine, fraction: float) -> None:
        self.engine = engine
        self.fraction = fraction

    def _lags(self, block: int) -> np.ndarray:
        """Per row of the block: 0 (not re-sent) or how many rows later its copy comes."""
        rng = np.random.default_rng([self.engine.seed, RESEND, block])
        again = rng.random(BLOCK_ROWS) < self.fraction
        lags = rng.integers(1, MAX_LAG + 1, BLOCK_ROWS)
        out: np.ndarray = np.where(again, lags, 0)
        return out

    def rows(self, start: int, stop: int) -> tuple[pa.Table, int]:
        """Rows [start, stop) with the copies that fall among them, in order; and how many
        copies that is."""
        first = max(0, start - MAX_LAG)
        table = self.engine.table(first, stop)
        index = np.arange(first, stop)
        blocks = range(first // BLOCK_ROWS, (stop - 1) // BLOCK_ROWS + 1)
        lags = np.concatenate([self._lags(b) for b in blocks])
        lags = lags[first - blocks[0] * BLOCK_ROWS :][: stop - first]
        after = index + lags
        copies = np.flatnonzero((lags > 0) & (after >= start) & (after < stop))
        own = np.arange(start - first, stop - first)
        # order: each row at its own place, each copy just after the row it follows
        place = np.concatenate([own * 2, (after[copies] - first) * 2 + 1])
        order = np.argsort(place, kind="stable")  # copies after one row: in their own order
        taken = np.concatenate([own, copies])[order]
        return table.take(pa.array(taken)), len(copies)
