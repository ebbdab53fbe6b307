"""`_truth.jsonl`: what a correct watermark consumer must find in an event-time data set.

For each tumbling window of `window` seconds: how many events fall in it, and how many of them
Spark drops as late under `withWatermark(..., delay)` when it reads one file per micro-batch
(`maxFilesPerTrigger` 1, `availableNow`). Spark's rules, as it applies them:
- batch b runs with watermark W(b) = max(W(b-1), newest event time of batches before b - delay),
  W(0) = 0;
- a row of batch b is dropped when its window's end <= W(b-1), the previous batch's watermark;
- a window is final (append mode emits it) once its end <= the watermark, the last being the one
  of the empty batch an availableNow run ends with.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from generator.landing import land

TRUTH = "_truth.jsonl"


def _iso(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Truth:
    window: int  # seconds
    delay: int  # the watermark delay, seconds
    events: dict[int, int] = field(default_factory=dict)  # window start -> events
    late: dict[int, int] = field(default_factory=dict)  # window start -> dropped as late
    newest: int | None = None
    watermark: int = 0  # W(b) of the next batch
    previous: int = 0  # W(b-1): what the next batch's late rows are judged by
    bound: bool = False  # `late` is an upper bound (rows sent one by one), not exact

    def add_batch(self, event_times: np.ndarray) -> None:
        """One file, read as one micro-batch; event times in epoch seconds."""
        if len(event_times) == 0:
            return
        starts = (event_times // self.window) * self.window
        dropped = starts + self.window <= self.previous
        _count(self.events, starts)
        _count(self.late, starts[dropped])
        newest = int(event_times.max())
        self.newest = newest if self.newest is None else max(self.newest, newest)
        self.previous = self.watermark
        self.watermark = max(self.watermark, self.newest - self.delay)

    def add_rows(self, event_times: np.ndarray) -> None:
        """Rows sent one after another (a socket): Spark's batches are not known, so `late` is
        what a watermark judged after every single row would drop — the most Spark can drop,
        since its watermark only ever lags behind that one."""
        if len(event_times) == 0:
            return
        starts = (event_times // self.window) * self.window
        seen = np.maximum.accumulate(event_times)
        before = np.concatenate(([self.newest if self.newest is not None else -(2**62)], seen[:-1]))
        if self.newest is not None:
            before = np.maximum(before, self.newest)
        dropped = starts + self.window <= before - self.delay
        _count(self.events, starts)
        _count(self.late, starts[dropped])
        self.newest = int(seen[-1]) if self.newest is None else max(self.newest, int(seen[-1]))
        self.watermark = max(self.watermark, self.newest - self.delay)
        self.bound = True

    def lines(self) -> list[dict[str, object]]:
        late_key = "late_at_most" if self.bound else "late"
        return [
            {
                "window_start": _iso(start),
                "window_end": _iso(start + self.window),
                "events": self.events[start],
                late_key: self.late.get(start, 0),
                "expected" if not self.bound else "expected_at_least": self.events[start]
                - self.late.get(start, 0),
                "final": start + self.window <= self.watermark,
                "window_seconds": self.window,
                "watermark_seconds": self.delay,
            }
            for start in sorted(self.events)
        ]

    def save(self, folder: Path, name: str = TRUTH) -> None:
        text = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in self.lines())
        land(folder, name, [text.encode()], replace=True)


def _count(into: dict[int, int], starts: np.ndarray) -> None:
    values, counts = np.unique(starts, return_counts=True)
    for start, n in zip(values.tolist(), counts.tolist(), strict=True):
        into[start] = into.get(start, 0) + n


def load_truth(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
