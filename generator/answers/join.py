"""The answer keys of the two joins of Spark's guide: a stream-stream join (impressions and
clicks, each with its watermark, a click at most `within` after its impression) and a stream
joined to a static table (orders and their customers).

The join's state, as Spark keeps it (experiments on the pinned Spark, docs/answer-keys.md): a
batch's new rows meet the other side's state and each other; at the end of batch b the state
forgets an impression when impressionTime < W(b) - within and a click when clickTime < W(b); a
left outer join emits an impression that leaves unmatched with nulls then.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from generator.answers.base import AnswerKey, iso
from generator.answers.store import Line
from generator.answers.watermark import Lateness, Watermark

JOIN_TRUTH = "_truth_join.jsonl"
ENRICH_TRUTH = "_truth_enrich.jsonl"

# the join in Spark's Structured Streaming guide
JOIN_LEFT_WATERMARK = 2 * 3600  # impressions: 2 hours
JOIN_RIGHT_WATERMARK = 3 * 3600  # clicks: 3 hours
JOIN_WITHIN = 3600  # a click at most 1 hour after its impression
# how far behind the watermark a row's event time may be and still be paired as "may": rows are
# remembered for that (and `within`) past the watermark, so the key's state stays bounded
MAY_HORIZON = 6 * 3600


@dataclass
class _Row:
    key: str
    time: int
    matched: bool = False


def strings(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A key column as text, as the key files write it."""
    text = values.cast(pa.string()).fill_null("None")
    return text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text


class JoinKey(AnswerKey):
    """Impressions (left) joined to clicks (right) on key equality and
    `left time <= right time <= left time + within`, inner and left outer. Every matching pair
    `must` appear (Spark's rules join it) or `may` (a side was late or already forgotten), and
    each unmatched impression leaves a null row at the batch that forgets it."""

    file_name = JOIN_TRUTH

    def __init__(
        self,
        left_watermark: int = JOIN_LEFT_WATERMARK,
        right_watermark: int = JOIN_RIGHT_WATERMARK,
        within: int = JOIN_WITHIN,
    ) -> None:
        super().__init__()
        self.left_watermark, self.right_watermark = left_watermark, right_watermark
        self.within = within
        self.batches = 0
        self.wm = Watermark((left_watermark, right_watermark))
        self.rule = Lateness("event")
        self.left_state: dict[str, list[_Row]] = defaultdict(list)
        self.right_state: dict[str, list[_Row]] = defaultdict(list)
        self.every_left: dict[str, list[int]] = defaultdict(list)  # rows within MAY_HORIZON
        self.every_right: dict[str, list[int]] = defaultdict(list)
        self.must: set[tuple[str, int, int]] = set()
        self.forgot = 0  # the event time before which every_* and must were last cut
        self.counts = {"must": 0, "may": 0, "null_rows": 0, "left_rows": 0, "right_rows": 0,
                       "late_left": 0, "late_right": 0}  # fmt: skip

    def _matches(self, left: int, right: int) -> bool:
        return left <= right <= left + self.within

    def add_batch(self, left_keys: list[str], left_times: np.ndarray, right_keys: list[str],
                  right_times: np.ndarray) -> None:  # fmt: skip
        """File b of each side, read together as batch b."""
        b, cut = self.batches, self.wm.previous
        lefts, rights = self._arrive(left_keys, left_times, cut, "left"), self._arrive(
            right_keys, right_times, cut, "right")  # fmt: skip
        found: list[tuple[_Row, _Row]] = []
        new_rights: dict[str, list[_Row]] = defaultdict(list)
        for right in rights:
            new_rights[right.key].append(right)
        for left in lefts:  # new impressions against the clicks in state and in the batch
            found += [(left, r) for r in self.right_state.get(left.key, []) +
                      new_rights.get(left.key, []) if self._matches(left.time, r.time)]  # fmt: skip
        for right in rights:  # new clicks against the impressions already in state
            found += [(lt, right) for lt in self.left_state.get(right.key, [])
                      if self._matches(lt.time, right.time)]  # fmt: skip
        for left, right in found:
            left.matched = right.matched = True
            self.must.add((left.key, left.time, right.time))
            line = {"key": left.key, "left_time": iso(left.time), "right_time": iso(right.time),
                    "appears": "must", "batch": b}  # fmt: skip
            self._record(line, "must")
        self._may(left_keys, left_times, right_keys, right_times)
        for left in lefts:
            self.left_state[left.key].append(left)
        for right in rights:
            self.right_state[right.key].append(right)
        self.wm.saw(0, left_times)
        self.wm.saw(1, right_times)
        for key, t in self._evict(self.wm.now, forget=True):
            self._record({"key": key, "left_time": iso(t), "null_row": True, "batch": b},
                         "null_rows")  # fmt: skip
        self.batches += 1
        self.wm.advance()
        self._forget(self.wm.now - self.within - MAY_HORIZON)

    def _forget(self, before: int) -> None:
        """Drop the rows (and the pairs found) of event time before `before` from what "may"
        pairs are looked for in: a row arriving that late pairs with nothing forgotten. Done
        each time the cut moves on by `within`, so a tick costs what the horizon holds."""
        if before < self.forgot + self.within:
            return
        self.forgot = before
        for every in (self.every_left, self.every_right):
            for key, times in list(every.items()):
                kept = [t for t in times if t >= before]
                if not kept:
                    del every[key]
                elif len(kept) < len(times):
                    every[key] = kept
        self.must = {pair for pair in self.must if max(pair[1], pair[2]) >= before}

    def _arrive(self, keys: list[str], times: np.ndarray, cut: int, side: str) -> list[_Row]:
        """A side's rows of the batch: every one remembered, those not late joined."""
        every = self.every_left if side == "left" else self.every_right
        late = self.rule.late(times, cut)
        self.counts[f"{side}_rows"] += len(keys)
        self.counts[f"late_{side}"] += int(late.sum())
        kept = []
        for key, t, dropped in zip(keys, times.tolist(), late.tolist(), strict=True):
            every[key].append(t)
            if not dropped:
                kept.append(_Row(key, t))
        return kept

    def _may(self, left_keys: list[str], left_times: np.ndarray, right_keys: list[str],
             right_times: np.ndarray) -> None:  # fmt: skip
        """Pairs the condition matches that Spark's rules do not join: each is known once both
        of its rows have arrived, that is in this batch."""
        new_left: dict[str, list[int]] = defaultdict(list)
        for key, t in zip(left_keys, left_times.tolist(), strict=True):
            new_left[key].append(t)
        new_right: dict[str, list[int]] = defaultdict(list)
        for key, t in zip(right_keys, right_times.tolist(), strict=True):
            new_right[key].append(t)
        # this batch's impressions against every click (this batch's too), then this batch's
        # clicks against the impressions of earlier batches (the last ones are this batch's)
        pairs = [(k, lt, rt) for k, lts in new_left.items() for lt in lts
                 for rt in self.every_right.get(k, [])]  # fmt: skip
        for k, rts in new_right.items():
            earlier = self.every_left.get(k, [])[: -len(new_left.get(k, [])) or None]
            pairs += [(k, lt, rt) for rt in rts for lt in earlier]
        for k, lt, rt in pairs:
            if self._matches(lt, rt) and (k, lt, rt) not in self.must:
                self._record({"key": k, "left_time": iso(lt), "right_time": iso(rt),
                              "appears": "may"}, "may")  # fmt: skip

    def _record(self, line: Line, count: str) -> None:
        self.final.append(line)
        self.counts[count] += 1

    def _evict(self, w: int, forget: bool) -> list[tuple[str, int]]:
        """What the state forgets at the end of a batch run with watermark `w`: the impressions
        that leave unmatched (a left outer join's null rows)."""
        gone: list[tuple[str, int]] = []
        for key, rows in list(self.left_state.items()):
            gone += [(key, r.time) for r in rows if r.time < w - self.within and not r.matched]
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
        return gone

    def _closing(self) -> list[tuple[str, int]]:
        """Null rows of the batch without data an availableNow run ends with (the watermark
        moved after the last file): none, if more files come first."""
        if self.batches and self.wm.now > self.wm.previous:
            return self._evict(self.wm.now, forget=False)
        return []

    def open_records(self) -> list[Line]:
        return [{"key": k, "left_time": iso(t), "null_row": True, "batch": self.batches}
                for k, t in self._closing()]  # fmt: skip

    def state(self) -> Line:
        def rows(state: dict[str, list[_Row]]) -> dict[str, list[tuple[int, bool]]]:
            return {k: [(r.time, r.matched) for r in rs] for k, rs in state.items()}

        return {"settings": [self.left_watermark, self.right_watermark, self.within],
                "watermark": self.wm.state(), "batches": self.batches, "counts": self.counts,
                "left_state": rows(self.left_state), "right_state": rows(self.right_state),
                "every_left": self.every_left, "every_right": self.every_right,
                "must": sorted(self.must), "forgot": self.forgot}  # fmt: skip

    def restore(self, state: Line) -> None:
        if state["settings"] != [self.left_watermark, self.right_watermark, self.within]:
            raise ValueError("the join's watermarks or time bound changed")

        def rows(saved: dict[str, list[list[Any]]]) -> defaultdict[str, list[_Row]]:
            return defaultdict(list, {k: [_Row(k, int(t), bool(m)) for t, m in rs]
                                      for k, rs in saved.items()})  # fmt: skip

        def times(saved: dict[str, list[int]]) -> defaultdict[str, list[int]]:
            return defaultdict(list, {k: [int(t) for t in ts] for k, ts in saved.items()})

        self.wm.restore(state["watermark"])
        self.batches = state["batches"]
        if set(state["counts"]) != set(self.counts):
            raise ValueError("the join's counts are not the ones this version keeps")
        self.counts = {k: int(v) for k, v in state["counts"].items()}
        self.left_state, self.right_state = rows(state["left_state"]), rows(state["right_state"])
        self.every_left, self.every_right = times(state["every_left"]), times(state["every_right"])
        self.must = {(str(k), int(lt), int(rt)) for k, lt, rt in state["must"]}
        self.forgot = int(state["forgot"])

    def summary(self) -> Line:
        return {"summary": "join", **self.counts,
                "null_rows": self.counts["null_rows"] + len(self._closing()),
                "batches": self.batches, "left_watermark_seconds": self.left_watermark,
                "right_watermark_seconds": self.right_watermark,
                "within_seconds": self.within}  # fmt: skip


class EnrichKey(AnswerKey):
    """Orders joined to a static customers table: no state, no watermark — every order meets
    the table as it is. Lists each order (its key, if the data set has one) and whether its
    customer is known."""

    file_name = ENRICH_TRUTH

    def __init__(self, known_keys: set[object]) -> None:
        super().__init__()
        self.known_keys = known_keys
        self._known = pa.array(sorted(known_keys, key=str)) if known_keys else None
        self.rows = 0
        self.known = 0

    def add_batch(self, references: pa.Array | pa.ChunkedArray,
                  ids: pa.Array | pa.ChunkedArray | None = None) -> None:  # fmt: skip
        import pyarrow.compute as pc

        if self._known is None:
            known = np.zeros(len(references), dtype=bool)
        else:
            found = pc.is_in(references, value_set=self._known.cast(references.type))
            known = np.asarray(found.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
        self.rows += len(references)
        self.known += int(known.sum())
        refs = references.to_pylist()
        keys = strings(ids).to_pylist() if ids is not None else [None] * len(refs)
        self.final += [{"key": k, "reference": r, "known": bool(kn)} if k is not None else
                       {"reference": r, "known": bool(kn)}
                       for k, r, kn in zip(keys, refs, known.tolist(), strict=True)]  # fmt: skip

    def state(self) -> Line:
        return {"customers": len(self.known_keys), "rows": self.rows, "known": self.known}

    def restore(self, state: Line) -> None:
        if state["customers"] != len(self.known_keys):
            raise ValueError("the static table changed")
        self.rows, self.known = int(state["rows"]), int(state["known"])

    def summary(self) -> Line:
        return {"summary": "enrich", "rows": self.rows, "known": self.known,
                "unknown": self.rows - self.known, "customers": len(self.known_keys)}  # fmt: skip
