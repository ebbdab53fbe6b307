"""`_truth.jsonl`: what a correct watermark consumer must find in an event-time data set.

For each tumbling window of `window` seconds: how many events fall in it, and how many of them
Spark drops as late under `withWatermark(..., delay)` when it reads one file per micro-batch
(`maxFilesPerTrigger` 1, `availableNow`), by the rule of `watermark.py`; a window is final
(append mode emits it) once its end <= the watermark, the last being the one of the empty batch
an availableNow run ends with.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from generator.answers import store
from generator.answers.base import iso
from generator.answers.store import KeyFile, Line, packed, unpacked
from generator.answers.watermark import Lateness, Watermark

TRUTH = "_truth.jsonl"
FOLD = ("window_start",)  # a window's line is written again when its counts change


class WindowsKey:
    def __init__(self, window: int, delay: int) -> None:
        self.window = window  # seconds
        self.delay = delay  # the watermark delay, seconds
        self.events: dict[int, int] = {}  # window start -> events
        self.late: dict[int, int] = {}  # window start -> dropped as late
        self.wm = Watermark((delay,))
        self.rule = Lateness("window", window)
        self.bound = False  # `late` is an upper bound (rows sent one by one), not exact
        self._changed: set[int] = set()
        self._file: KeyFile | None = None

    @property
    def watermark(self) -> int:
        """W(b) of the next batch."""
        return self.wm.now

    def add_batch(self, event_times: np.ndarray) -> None:
        """One file, read as one micro-batch; event times in epoch seconds."""
        if len(event_times) == 0:
            return
        self._count(event_times, self.rule.late(event_times, self.wm.previous))
        self.wm.saw(0, event_times)
        self.wm.advance()

    def add_rows(self, event_times: np.ndarray) -> None:
        """Rows sent one after another (a socket): Spark's batches are not known, so `late` is
        what a watermark judged after every single row would drop — the most Spark can drop,
        since its watermark only ever lags behind that one."""
        if len(event_times) == 0:
            return
        newest = self.wm.newest[0]
        seen = np.maximum.accumulate(event_times)
        before = np.concatenate(([newest if newest is not None else -(2**62)], seen[:-1]))
        if newest is not None:
            before = np.maximum(before, newest)
        self._count(event_times, self.rule.late(event_times, before - self.delay))
        self.wm.saw(0, event_times)
        self.wm.now = max(self.wm.now, int(self.wm.newest[0] or 0) - self.delay)
        self.bound = True

    def _count(self, times: np.ndarray, dropped: np.ndarray) -> None:
        starts = (times // self.window) * self.window
        _count(self.events, starts)
        _count(self.late, starts[dropped])
        self._changed.update(np.unique(starts).tolist())

    def _line(self, start: int) -> Line:
        late = self.late.get(start, 0)
        return {
            "window_start": iso(start),
            "window_end": iso(start + self.window),
            "events": self.events[start],
            "late_at_most" if self.bound else "late": late,
            "expected_at_least" if self.bound else "expected": self.events[start] - late,
            "final": start + self.window <= self.watermark,
            "window_seconds": self.window,
            "watermark_seconds": self.delay,
        }

    def lines(self) -> list[Line]:
        return [self._line(start) for start in sorted(self.events)]

    def state(self) -> Line:
        # as packed columns: a long run has 100,000s of windows
        return {"window": self.window, "delay": self.delay, "bound": self.bound,
                "starts": packed(self.events), "events": packed(self.events.values()),
                "late_starts": packed(self.late), "late": packed(self.late.values()),
                "watermark": self.wm.state()}  # fmt: skip

    def restore(self, state: Line) -> None:
        if (state["window"], state["delay"]) != (self.window, self.delay):
            raise ValueError("the window or the watermark delay changed")
        self.bound = bool(state["bound"])
        self.events = dict(zip(unpacked(state["starts"]), unpacked(state["events"]), strict=True))
        self.late = dict(zip(unpacked(state["late_starts"]), unpacked(state["late"]), strict=True))
        self.wm.restore(state["watermark"])

    def mark(self) -> Line | None:
        return self._file.mark() if self._file is not None else None

    def resume(self, folder: Path, mark: Line, name: str = TRUTH) -> bool:
        file = KeyFile(folder, name)
        if not file.resume(mark):
            return False
        self._file, self._changed = file, set()
        return True

    def save(self, folder: Path, name: str = TRUTH) -> None:
        """Append the windows that changed since the last save, and the watermark."""
        if self._file is None or self._file.path != folder / name:
            self._file = KeyFile(folder, name)
            self._changed = set(self.events)
        summary = {"summary": "windows", "watermark": iso(self.watermark),
                   "windows": len(self.events), "events": sum(self.events.values()),
                   "window_seconds": self.window, "watermark_seconds": self.delay}  # fmt: skip
        self._file.write([self._line(s) for s in sorted(self._changed)], summary)
        self._changed = set()


def _count(into: dict[int, int], starts: np.ndarray) -> None:
    values, counts = np.unique(starts, return_counts=True)
    for start, n in zip(values.tolist(), counts.tolist(), strict=True):
        into[start] = into.get(start, 0) + n


def load_truth(path: Path) -> list[Line]:
    """The windows of a `_truth.jsonl`, in order, each `final` as of the file's last watermark."""
    lines = store.read(path, FOLD)
    if not lines or "summary" not in lines[-1]:
        return lines
    summary = lines[-1]
    windows = sorted(lines[:-1], key=lambda w: str(w["window_start"]))
    for w in windows:
        w["final"] = str(w["window_end"]) <= str(summary["watermark"])
    return windows
