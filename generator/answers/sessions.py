"""The answer key of `session_window(time, gap)` per user with a watermark, append mode: the
sessions Spark emits, batch by batch, and those still open when the input ends.

Spark's rules (experiments on the pinned Spark, docs/answer-keys.md): an event joins a session
while it comes before or at the session's end (event time + gap, inclusive); a row is late when
its session's end <= W(b-1); a session is emitted at the end of batch b when its end <= W(b).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from generator.answers.base import AnswerKey, iso
from generator.answers.store import Line
from generator.answers.watermark import Lateness, Watermark

SESSIONS_TRUTH = "_truth_sessions.jsonl"
SESSION_GAP = 30  # seconds without events that end a session
SESSION_WATERMARK = 10

Session = tuple[int, int, int]  # start, end, events


class SessionsKey(AnswerKey):
    file_name = SESSIONS_TRUTH

    def __init__(self, gap: int = SESSION_GAP, watermark: int = SESSION_WATERMARK) -> None:
        super().__init__()
        self.gap, self.watermark = gap, watermark
        self.batches = 0
        self.wm = Watermark((watermark,))
        self.rule = Lateness("session", gap)
        self.open: dict[str, list[int]] = defaultdict(list)  # user -> event times in state
        self.emitted = 0
        self.late = 0
        self.rows = 0

    def add_batch(self, users: list[str], times: np.ndarray) -> None:
        late = self.rule.late(times, self.wm.previous)
        self.rows += len(users)
        self.late += int(late.sum())
        for user, t in zip(np.asarray(users, dtype=object)[~late].tolist(),
                           times[~late].tolist(), strict=True):  # fmt: skip
            self.open[user].append(t)
        self.wm.saw(0, times)
        for user, (start, end, n) in self._close(self.wm.now, forget=True):
            self.final.append({"user": user, "start": iso(start), "end": iso(end), "events": n,
                               "emitted": True, "batch": self.batches})  # fmt: skip
            self.emitted += 1
        self.batches += 1
        self.wm.advance()

    def sessions(self, times: list[int]) -> list[Session]:
        """(start, end, events): events join a session while they come before or at its end."""
        out: list[Session] = []
        for t in sorted(times):
            if out and t <= out[-1][1]:
                start, end, n = out[-1]
                out[-1] = (start, max(end, t + self.gap), n + 1)
            else:
                out.append((t, t + self.gap, 1))
        return out

    def _close(self, w: int, forget: bool) -> list[tuple[str, Session]]:
        """The sessions a batch with watermark `w` emits (and, with `forget`, drops from state)."""
        closed: list[tuple[str, Session]] = []
        for user, times in list(self.open.items()):
            kept: list[int] = []
            for start, end, n in self.sessions(times):
                if end <= w:
                    closed.append((user, (start, end, n)))
                else:
                    kept += [t for t in times if start <= t < end]
            if forget:
                if kept:
                    self.open[user] = kept
                else:
                    del self.open[user]
        return closed

    def open_records(self) -> list[Line]:
        """The sessions the batch without data an availableNow run ends with emits, then those
        still open."""
        closing = []
        if self.batches and self.wm.now > self.wm.previous:
            closing = self._close(self.wm.now, forget=False)
        out: list[Line] = [{"user": u, "start": iso(s), "end": iso(e), "events": n,
                            "emitted": True, "batch": self.batches}
                           for u, (s, e, n) in closing]  # fmt: skip
        emitted = {(u, s) for u, (s, _, _) in closing}
        out += [{"user": user, "start": iso(start), "end": iso(end), "events": n,
                 "emitted": False}
                for user, times in self.open.items() for start, end, n in self.sessions(times)
                if (user, start) not in emitted]  # fmt: skip
        return out

    def state(self) -> Line:
        return {"gap": self.gap, "watermark_seconds": self.watermark,
                "watermark": self.wm.state(), "batches": self.batches, "open": self.open,
                "emitted": self.emitted, "late": self.late, "rows": self.rows}  # fmt: skip

    def restore(self, state: Line) -> None:
        if (state["gap"], state["watermark_seconds"]) != (self.gap, self.watermark):
            raise ValueError("the session gap or the watermark delay changed")
        self.wm.restore(state["watermark"])
        self.open = defaultdict(list, {str(u): [int(t) for t in times]
                                       for u, times in state["open"].items()})  # fmt: skip
        self.batches, self.emitted = state["batches"], state["emitted"]
        self.late, self.rows = state["late"], state["rows"]

    def summary(self) -> Line:
        opened = self.open_records()
        closing = sum(1 for r in opened if r["emitted"])
        return {"summary": "sessions", "emitted": self.emitted + closing,
                "open": len(opened) - closing, "rows": self.rows, "late": self.late,
                "batches": self.batches, "gap_seconds": self.gap,
                "watermark_seconds": self.watermark}  # fmt: skip
