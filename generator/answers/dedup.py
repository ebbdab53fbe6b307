"""The answer key of `dropDuplicatesWithinWatermark([id])`: which rows are kept.

A re-sent row carries its original's event time, so it is either late (its time <= W(b-1):
dropped as late) or its original is still in Spark's state (dropped as a duplicate); the first
row of each id is kept unless late. The state this key keeps is what Spark's is: ids whose time
the watermark has not passed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from generator.answers.base import AnswerKey, isos
from generator.answers.store import Line
from generator.answers.watermark import Lateness, Watermark

DEDUP_TRUTH = "_truth_dedup.jsonl"
DEDUP_WATERMARK = 60


class DedupKey(AnswerKey):
    file_name = DEDUP_TRUTH

    def __init__(self, watermark: int = DEDUP_WATERMARK) -> None:
        super().__init__()
        self.watermark = watermark
        self.batches = 0
        self.wm = Watermark((watermark,))
        self.rule = Lateness("event")
        # Spark's state: the ids (and event times) the watermark has not passed
        self.seen_ids: pa.Array = pa.array([], pa.string())
        self.seen_times: np.ndarray = np.empty(0, dtype=np.int64)
        self.kept = 0
        self.late = 0
        self.duplicates = 0
        self.rows = 0

    def add_batch(self, ids: Sequence[str] | pa.Array, times: np.ndarray) -> None:
        """A batch as columns: the first arrival of each id neither late nor in state is kept
        (hash look-ups on Arrow arrays, no loop over rows)."""
        cut = self.wm.previous
        times = np.asarray(times, dtype=np.int64)
        late = self.rule.late(times, cut)
        self.rows += len(times)
        self.late += int(late.sum())
        column = ids if isinstance(ids, pa.Array) else pa.array(ids, pa.string())
        arrived, arrived_at = column.filter(pa.array(~late)), times[~late]
        # pc.unique keeps the order of first arrival: each row's group number, then the first
        # row of each group
        groups = pc.index_in(arrived, value_set=pc.unique(arrived)).to_numpy()
        _, first = np.unique(groups, return_index=True)
        known = pc.is_in(arrived.take(first), value_set=self.seen_ids).to_numpy(
            zero_copy_only=False)  # fmt: skip
        new = first[~known]
        kept, kept_at = arrived.take(new), arrived_at[new]
        self.duplicates += len(arrived) - len(new)
        self.kept += len(new)
        b, names = self.batches, kept.to_pylist()
        self.final += [{"id": key, "time": at, "batch": b}
                       for key, at in zip(names, isos(kept_at), strict=True)]  # fmt: skip
        self.seen_ids = pa.concat_arrays([self.seen_ids, kept])
        self.seen_times = np.concatenate([self.seen_times, kept_at])
        self.wm.saw(0, times)
        self.batches += 1
        self.wm.advance()
        if self.wm.previous > cut:  # a copy of what the watermark passed is late: forget it
            alive = self.seen_times > self.wm.previous
            self.seen_ids = self.seen_ids.filter(pa.array(alive))
            self.seen_times = self.seen_times[alive]

    def state(self) -> Line:
        return {"watermark_seconds": self.watermark, "watermark": self.wm.state(),
                "batches": self.batches, "kept": self.kept, "late": self.late,
                "duplicates": self.duplicates, "rows": self.rows,
                "seen_ids": self.seen_ids.to_pylist(),
                "seen_times": self.seen_times.tolist()}  # fmt: skip

    def restore(self, state: Line) -> None:
        if state["watermark_seconds"] != self.watermark:
            raise ValueError("the watermark delay changed")
        self.wm.restore(state["watermark"])
        self.batches, self.kept, self.late = state["batches"], state["kept"], state["late"]
        self.duplicates, self.rows = state["duplicates"], state["rows"]
        self.seen_ids = pa.array(state["seen_ids"], pa.string())
        self.seen_times = np.asarray(state["seen_times"], dtype=np.int64)
        if len(self.seen_ids) != len(self.seen_times):
            raise ValueError("the ids in state and their times differ in number")

    def summary(self) -> Line:
        return {"summary": "dedup", "rows": self.rows, "kept": self.kept,
                "duplicates": self.duplicates, "late": self.late, "batches": self.batches,
                "watermark_seconds": self.watermark}  # fmt: skip
