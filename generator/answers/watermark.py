"""The watermark, and which rows it makes late: the one rule every answer key, the report's
pictures and the consumers' checks use. Spark's behaviour, as experiments on the pinned Spark
show it (docs/answer-keys.md):

- batch b runs with watermark W(b); W(0) = 0 and W(b+1) = max(W(b), newest event time seen in
  batches up to b less the delay); with several inputs the smallest of them, and 0 until every
  input has seen rows;
- a row of batch b is late, and dropped, when W(b-1) has passed it: by its event time (a join
  side, duplicates), by its window's end (a window aggregation), or by its session's end (event
  time + gap).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

By = Literal["event", "window", "session"]


@dataclass
class Watermark:
    """The global watermark over one or more inputs (the smallest: Spark's default policy)."""

    delays: tuple[int, ...]
    newest: list[int | None] = field(default_factory=list)
    now: int = 0  # W(b) of the batch being run
    previous: int = 0  # W(b-1): what the batch's late rows are judged by

    def __post_init__(self) -> None:
        self.newest = [None] * len(self.delays)

    def saw(self, side: int, times: np.ndarray) -> None:
        if len(times):
            top = int(times.max())
            old = self.newest[side]
            self.newest[side] = top if old is None else max(old, top)

    def state(self) -> dict[str, object]:
        return {"delays": list(self.delays), "newest": self.newest, "now": self.now,
                "previous": self.previous}  # fmt: skip

    def restore(self, state: dict[str, Any]) -> None:
        if tuple(state["delays"]) != self.delays:
            raise ValueError("the watermark delays changed")
        self.newest = [None if n is None else int(n) for n in state["newest"]]
        self.now, self.previous = int(state["now"]), int(state["previous"])

    def advance(self) -> None:
        """The batch is over: the next one runs with the watermark its rows moved on."""
        self.previous = self.now
        seen = [n for n in self.newest if n is not None]
        if len(seen) == len(self.newest):
            self.now = max(self.now, min(n - d for n, d in zip(seen, self.delays, strict=True)))


@dataclass(frozen=True)
class Lateness:
    """Which rows the watermark of the batch before drops: a row is late when the watermark
    has reached its event time (`by="event"`), its window's end (`"window"`, `seconds` long) or
    its session's end (`"session"`, a gap of `seconds`). A sliding window (`slide` seconds
    apart, `offset` from the epoch) drops a row when the last window holding it has ended."""

    by: By = "event"
    seconds: int = 0
    slide: int = 0  # windows start every `slide` seconds: 0, tumbling (every `seconds`)
    offset: int = 0  # window starts are offset this far from the epoch (Spark's startTime)

    def ends(self, times: np.ndarray) -> np.ndarray:
        """What the watermark is compared with, per row (epoch seconds)."""
        if self.by == "window":
            step = self.slide or self.seconds
            out: np.ndarray = (times - self.offset) // step * step + self.offset + self.seconds
            return out
        if self.by == "session":
            return times + self.seconds
        return times

    def late(self, times: np.ndarray, watermark: int | np.ndarray) -> np.ndarray:
        """Per row: dropped by a batch whose previous watermark is `watermark` (one for the
        batch, or one per row)."""
        out: np.ndarray = self.ends(np.asarray(times, dtype=np.int64)) <= watermark
        return out
