"""The answer key of `dropDuplicatesWithinWatermark([id])`: which rows are kept.

A re-sent row carries its original's event time, so it is either late (its time <= W(b-1):
dropped as late) or its original is still in Spark's state (dropped as a duplicate); the first
row of each id is kept unless late. The state this key keeps is what Spark's is: ids whose time
the watermark has not passed.
"""

from __future__ import annotations

import numpy as np

from generator.answers.base import AnswerKey, iso
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
        self.seen: dict[str, int] = {}  # id -> event time, while the watermark has not passed it
        self.kept = 0
        self.late = 0
        self.duplicates = 0
        self.rows = 0

    def add_batch(self, ids: list[str], times: np.ndarray) -> None:
        cut = self.wm.previous
        late = self.rule.late(times, cut)
        self.rows += len(ids)
        self.late += int(late.sum())
        for key, t in zip(np.asarray(ids, dtype=object)[~late].tolist(), times[~late].tolist(),
                          strict=True):  # fmt: skip
            if key in self.seen:
                self.duplicates += 1
            else:
                self.seen[key] = t
                self.kept += 1
                self.final.append({"id": key, "time": iso(t), "batch": self.batches})
        self.wm.saw(0, times)
        self.batches += 1
        self.wm.advance()
        if self.wm.previous > cut:  # a copy of what the watermark passed is late: forget it
            self.seen = {k: t for k, t in self.seen.items() if t > self.wm.previous}

    def summary(self) -> Line:
        return {"summary": "dedup", "rows": self.rows, "kept": self.kept,
                "duplicates": self.duplicates, "late": self.late, "batches": self.batches,
                "watermark_seconds": self.watermark}  # fmt: skip
