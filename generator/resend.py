"""How rows are delivered, when not as they were made.

`--duplicates F`: an at-least-once source re-sends some events. Row k of the sequence is
re-sent with probability F, `lag` rows later (1 to MAX_LAG, drawn): the copy is the same row —
same id, same event time — placed after row k + lag. Which rows and how far depend on the seed
and k alone, so files, their sizes and resumed runs all cut the same sequence of rows and copies.

`--disorder SECONDS` on a change feed: changes are delivered out of commit order, as by a
pipeline that holds each for a while. Change k goes out `lag` rows after it was made, the lag
drawn up to the rows the clock makes in SECONDS; the delivered sequence is the changes in order
of k + lag, so a change sits up to about half that many rows before or after its place. Row k's
place depends on the lags of the rows near it only, so any range of it is drawn alone.
"""

from __future__ import annotations

import threading
from typing import Protocol

import numpy as np
import pyarrow as pa

from generator.engine import BLOCK_ROWS, DELIVERY, RESEND, Engine

MAX_LAG = 100  # rows: a copy comes a little later, at most this many rows after its original


class Rows(Protocol):
    """A sequence of rows, any range drawn alone: an engine, or its rows delivered late."""

    seed: int

    def table(self, start: int, stop: int) -> pa.Table: ...


class Disorder:
    """A change feed's rows in the order they are delivered: each held up to `seconds`."""

    def __init__(self, engine: Engine, seconds: float) -> None:
        self.engine, self.seed = engine, engine.seed
        self.reach = max(1, round(seconds / engine.clock.seconds_per_row))  # most rows held
        # the made rows delivered at places [start, start + len): ranked once for many files
        self._known: tuple[int, np.ndarray] = (0, np.zeros(0, np.int64))
        self._lock = threading.Lock()

    def _keys(self, first: int, stop: int) -> np.ndarray:
        """Row k's place in the delivery, for k in [first, stop): k plus its lag."""
        blocks = range(first // BLOCK_ROWS, (stop - 1) // BLOCK_ROWS + 1)
        lags = np.concatenate(
            [np.random.default_rng([self.seed, DELIVERY, b]).random(BLOCK_ROWS) for b in blocks]
        )[first - blocks[0] * BLOCK_ROWS :][: stop - first]
        keys: np.ndarray = np.arange(first, stop) + lags * self.reach
        return keys

    def _ranked(self, start: int, stop: int) -> np.ndarray:
        """The made rows delivered at places [start, stop), in order."""
        reach = self.reach
        first, last = max(0, start - 2 * reach), stop + 2 * reach
        keys = self._keys(first, last)
        # the rank of each row of [first, last) among all rows: exact for the rows of
        # [start - reach, stop + reach) (every row before `first` ranks before them, every
        # row after `last` after), which holds all that rank in [start, stop)
        order = np.argsort(keys, kind="stable")
        rank = np.empty(len(keys), np.int64)
        rank[order] = first + np.arange(len(keys))
        own = np.arange(first, last)
        sure = (own >= start - reach) & (own < stop + reach)
        picked = np.flatnonzero(sure & (rank >= start) & (rank < stop))
        made: np.ndarray = picked[np.argsort(rank[picked])] + first
        return made

    def table(self, start: int, stop: int) -> pa.Table:
        """Delivered rows [start, stop). The ranking costs the rows of the reach, whatever
        the file's size: it is done for a stretch of several reaches at once, and files cut
        from it (called in any order, from any thread)."""
        if stop <= start:
            return self.engine.table(0, 0)
        with self._lock:
            at, known = self._known
            if not (at <= start and stop <= at + len(known)):
                span = max(stop - start, 8 * self.reach, 4096)
                at, known = self._known = (start, self._ranked(start, start + span))
            made = known[start - at : stop - at]
        lo = int(made.min())
        return self.engine.table(lo, int(made.max()) + 1).take(pa.array(made - lo))


class Resender:
    def __init__(self, engine: Rows, fraction: float) -> None:
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
