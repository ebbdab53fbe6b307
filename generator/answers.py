"""Answer keys for the stateful queries learners get wrong: a stream-stream join, session windows,
and duplicates dropped within the watermark. Each follows Spark's rules batch by batch for the
one way a run is deterministic — one file per micro-batch (`maxFilesPerTrigger` 1, and for a
join file b of both sides in batch b) with `availableNow` — as found by experiments on the
pinned Spark (the rules are written in the README, "Joins, sessions and duplicates"):

- batch b runs with watermark W(b); W(0) = 0 and W(b+1) = max(W(b), newest event time seen in
  batches up to b less the delay); with two inputs the smaller of the two, and 0 until both have
  seen rows;
- a row of batch b is late, and dropped, when W(b-1) has passed it: for a join and for
  duplicates when its event time <= W(b-1); for sessions when its session's end (event time +
  gap) <= W(b-1);
- at the end of batch b the state forgets what W(b) has passed (an impression when
  impressionTime < W(b) - within, a click when clickTime < W(b)), and append mode emits what
  W(b) closed (a session when its end <= W(b)); a left outer join emits an impression that
  leaves unmatched with nulls;
- when the last file is read and W has moved on, one more batch without data runs with it.

Every key is built from the landed rows, batch by batch, so it can be saved while files land.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from generator.landing import land

JOIN_TRUTH = "_truth_join.jsonl"
SESSIONS_TRUTH = "_truth_sessions.jsonl"
DEDUP_TRUTH = "_truth_dedup.jsonl"
ENRICH_TRUTH = "_truth_enrich.jsonl"

# the join in Spark's Structured Streaming guide
JOIN_LEFT_WATERMARK = 2 * 3600  # impressions: 2 hours
JOIN_RIGHT_WATERMARK = 3 * 3600  # clicks: 3 hours
JOIN_WITHIN = 3600  # a click at most 1 hour after its impression
SESSION_GAP = 30  # seconds without events that end a session
SESSION_WATERMARK = 10
DEDUP_WATERMARK = 60


def iso(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _write(folder: Path, name: str, lines: list[dict[str, object]]) -> None:
    text = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
    land(folder, name, [text.encode()], replace=True)


def load_key(path: Path) -> list[dict[str, object]]:
    """The lines of an answer key (its last line is the summary with the query's settings)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@dataclass
class _Watermark:
    """The global watermark over one or more inputs (the smaller, Spark's default policy)."""

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

    def advance(self) -> None:
        """The batch is over: the next one runs with the watermark its rows moved on."""
        self.previous = self.now
        if all(n is not None for n in self.newest):
            candidate = min(n - d for n, d in zip(self.newest, self.delays, strict=True))  # type: ignore[operator]
            self.now = max(self.now, candidate)


# --- the stream-stream join -------------------------------------------------------------------


@dataclass
class _Row:
    key: str
    time: int
    batch: int
    matched: bool = False


@dataclass
class JoinKey:
    """Impressions (left) joined to clicks (right) on key equality and
    `left time <= right time <= left time + within`, inner and left outer."""

    left_watermark: int = JOIN_LEFT_WATERMARK
    right_watermark: int = JOIN_RIGHT_WATERMARK
    within: int = JOIN_WITHIN
    batches: int = 0
    wm: _Watermark = field(init=False)
    left_state: dict[str, list[_Row]] = field(default_factory=lambda: defaultdict(list))
    right_state: dict[str, list[_Row]] = field(default_factory=lambda: defaultdict(list))
    pairs: list[tuple[str, int, int, int]] = field(default_factory=list)  # key, left, right, batch
    nulls: list[tuple[str, int, int]] = field(default_factory=list)  # key, left time, batch
    every_left: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    every_right: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    late: list[int] = field(default_factory=lambda: [0, 0])

    def __post_init__(self) -> None:
        self.wm = _Watermark((self.left_watermark, self.right_watermark))

    def _matches(self, left: int, right: int) -> bool:
        return left <= right <= left + self.within

    def add_batch(
        self, left_keys: list[str], left_times: np.ndarray, right_keys: list[str],
        right_times: np.ndarray,
    ) -> None:  # fmt: skip
        """File b of each side, read together as batch b."""
        b = self.batches
        cut = self.wm.previous
        lefts = []
        for key, t in zip(left_keys, left_times.tolist(), strict=True):
            self.every_left[key].append(t)
            if t <= cut:
                self.late[0] += 1
            else:
                lefts.append(_Row(key, t, b))
        rights = []
        for key, t in zip(right_keys, right_times.tolist(), strict=True):
            self.every_right[key].append(t)
            if t <= cut:
                self.late[1] += 1
            else:
                rights.append(_Row(key, t, b))
        new_rights: dict[str, list[_Row]] = defaultdict(list)
        for right in rights:
            new_rights[right.key].append(right)
        for left in lefts:  # new impressions against the clicks in state and in the batch
            for right in self.right_state.get(left.key, []) + new_rights.get(left.key, []):
                if self._matches(left.time, right.time):
                    self.pairs.append((left.key, left.time, right.time, b))
                    left.matched = right.matched = True
        for right in rights:  # new clicks against the impressions already in state
            for left in self.left_state.get(right.key, []):
                if self._matches(left.time, right.time):
                    self.pairs.append((left.key, left.time, right.time, b))
                    left.matched = right.matched = True
        for left in lefts:
            self.left_state[left.key].append(left)
        for right in rights:
            self.right_state[right.key].append(right)
        self.wm.saw(0, left_times)
        self.wm.saw(1, right_times)
        self._evict(self.wm.now, b, self.nulls, forget=True)
        self.batches += 1
        self.wm.advance()

    def _evict(self, w: int, batch: int, nulls: list[tuple[str, int, int]], forget: bool) -> None:
        for key, rows in list(self.left_state.items()):
            gone = [r for r in rows if r.time < w - self.within]
            nulls.extend((key, r.time, batch) for r in gone if not r.matched)
            if forget:
                kept = [r for r in rows if r.time >= w - self.within]
                if kept:
                    self.left_state[key] = kept
                else:
                    del self.left_state[key]
        if forget:
            for key, rows in list(self.right_state.items()):
                kept = [r for r in rows if r.time >= w]
                if kept:
                    self.right_state[key] = kept
                else:
                    del self.right_state[key]

    def final_nulls(self) -> list[tuple[str, int, int]]:
        """Null rows, with those of the batch without data an availableNow run ends with."""
        nulls = list(self.nulls)
        if self.batches and self.wm.now > self.wm.previous:
            self._evict(self.wm.now, self.batches, nulls, forget=False)
        return nulls

    def lines(self) -> list[dict[str, object]]:
        found = {(k, lt, rt) for k, lt, rt, _ in self.pairs}
        out: list[dict[str, object]] = [
            {"key": k, "left_time": iso(lt), "right_time": iso(rt), "appears": "must", "batch": b}
            for k, lt, rt, b in self.pairs
        ]
        may = 0
        for key, right_times in self.every_right.items():
            for lt in self.every_left.get(key, []):
                for rt in right_times:
                    if self._matches(lt, rt) and (key, lt, rt) not in found:
                        may += 1
                        out.append({"key": key, "left_time": iso(lt), "right_time": iso(rt),
                                    "appears": "may"})  # fmt: skip
        nulls = self.final_nulls()
        out += [{"key": k, "left_time": iso(t), "null_row": True, "batch": b} for k, t, b in nulls]
        out.append({
            "summary": "join",
            "must": len(self.pairs),
            "may": may,
            "null_rows": len(nulls),
            "left_rows": sum(len(v) for v in self.every_left.values()),
            "right_rows": sum(len(v) for v in self.every_right.values()),
            "late_left": self.late[0],
            "late_right": self.late[1],
            "batches": self.batches,
            "left_watermark_seconds": self.left_watermark,
            "right_watermark_seconds": self.right_watermark,
            "within_seconds": self.within,
        })  # fmt: skip
        return out

    def save(self, folder: Path) -> None:
        _write(folder, JOIN_TRUTH, self.lines())


# --- session windows --------------------------------------------------------------------------


@dataclass
class SessionsKey:
    """`session_window(time, gap)` per user with a watermark, append mode: the sessions Spark
    emits, and those still open when the input ends."""

    gap: int = SESSION_GAP
    watermark: int = SESSION_WATERMARK
    batches: int = 0
    wm: _Watermark = field(init=False)
    open: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))  # user -> times
    closed: list[tuple[str, int, int, int, int]] = field(default_factory=list)
    late: int = 0
    rows: int = 0

    def __post_init__(self) -> None:
        self.wm = _Watermark((self.watermark,))

    def add_batch(self, users: list[str], times: np.ndarray) -> None:
        b = self.batches
        cut = self.wm.previous
        for user, t in zip(users, times.tolist(), strict=True):
            self.rows += 1
            if t + self.gap <= cut:
                self.late += 1
            else:
                self.open[user].append(t)
        self.wm.saw(0, times)
        self._close(self.wm.now, b, self.closed, forget=True)
        self.batches += 1
        self.wm.advance()

    def sessions(self, times: list[int]) -> list[tuple[int, int, int]]:
        """(start, end, events): events join a session while they come before or at its end."""
        out: list[tuple[int, int, int]] = []
        for t in sorted(times):
            if out and t <= out[-1][1]:
                start, end, n = out[-1]
                out[-1] = (start, max(end, t + self.gap), n + 1)
            else:
                out.append((t, t + self.gap, 1))
        return out

    def _close(self, w: int, batch: int, into: list[tuple[str, int, int, int, int]],
               forget: bool) -> None:  # fmt: skip
        for user, times in list(self.open.items()):
            kept: list[int] = []
            for start, end, n in self.sessions(times):
                if end <= w:
                    into.append((user, start, end, n, batch))
                else:
                    kept += [t for t in times if start <= t < end]
            if forget:
                if kept:
                    self.open[user] = kept
                else:
                    del self.open[user]

    def lines(self) -> list[dict[str, object]]:
        closed = list(self.closed)
        if self.batches and self.wm.now > self.wm.previous:
            self._close(self.wm.now, self.batches, closed, forget=False)
        emitted = {(u, s) for u, s, _, _, _ in closed}
        out: list[dict[str, object]] = [
            {"user": u, "start": iso(s), "end": iso(e), "events": n, "emitted": True, "batch": b}
            for u, s, e, n, b in closed
        ]
        for user, times in self.open.items():
            for start, end, n in self.sessions(times):
                if (user, start) not in emitted:
                    out.append({"user": user, "start": iso(start), "end": iso(end), "events": n,
                                "emitted": False})  # fmt: skip
        out.append({
            "summary": "sessions",
            "emitted": len(closed),
            "open": len(out) - len(closed),
            "rows": self.rows,
            "late": self.late,
            "batches": self.batches,
            "gap_seconds": self.gap,
            "watermark_seconds": self.watermark,
        })  # fmt: skip
        return out

    def save(self, folder: Path) -> None:
        _write(folder, SESSIONS_TRUTH, self.lines())


# --- duplicates dropped within the watermark --------------------------------------------------


@dataclass
class DedupKey:
    """`dropDuplicatesWithinWatermark([id])`: the first row of each id is kept unless late; a
    re-sent row carries its original's event time, so it is either still in state (dropped as
    a duplicate) or late (dropped as late)."""

    watermark: int = DEDUP_WATERMARK
    batches: int = 0
    wm: _Watermark = field(init=False)
    seen: set[str] = field(default_factory=set)
    kept: int = 0
    late: int = 0
    duplicates: int = 0
    rows: int = 0

    def __post_init__(self) -> None:
        self.wm = _Watermark((self.watermark,))

    def add_batch(self, ids: list[str], times: np.ndarray) -> None:
        cut = self.wm.previous
        for key, t in zip(ids, times.tolist(), strict=True):
            self.rows += 1
            if t <= cut:
                self.late += 1
            elif key in self.seen:
                self.duplicates += 1
            else:
                self.seen.add(key)
                self.kept += 1
        self.wm.saw(0, times)
        self.batches += 1
        self.wm.advance()

    def lines(self) -> list[dict[str, object]]:
        return [{
            "summary": "dedup",
            "rows": self.rows,
            "kept": self.kept,
            "duplicates": self.duplicates,
            "late": self.late,
            "batches": self.batches,
            "watermark_seconds": self.watermark,
        }]  # fmt: skip

    def save(self, folder: Path) -> None:
        _write(folder, DEDUP_TRUTH, self.lines())


# --- a stream joined to a static table --------------------------------------------------------


@dataclass
class EnrichKey:
    """Orders joined to a static customers table: no state, no watermark — every order meets
    the table as it is."""

    known_keys: set[object]
    rows: int = 0
    known: int = 0

    def add_batch(self, keys: list[object]) -> None:
        self.rows += len(keys)
        self.known += sum(1 for k in keys if k in self.known_keys)

    def lines(self) -> list[dict[str, object]]:
        return [{"summary": "enrich", "rows": self.rows, "known": self.known,
                 "unknown": self.rows - self.known, "customers": len(self.known_keys)}]  # fmt: skip

    def save(self, folder: Path) -> None:
        _write(folder, ENRICH_TRUTH, self.lines())
