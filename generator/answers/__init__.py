"""Answer keys: what a correct streaming query must find in the rows the generator made, by
Spark's own rules, followed batch by batch for the one way a run is deterministic — one file per
micro-batch (`maxFilesPerTrigger` 1; for a join, file b of both sides in batch b) with
`availableNow`. One watermark rule (`watermark.py`) serves every key, the run report's pictures
and the consumers' checks. Keys are kept as files land and saved as they grow (`store.py`).
"""

from __future__ import annotations

from pathlib import Path

from generator.answers import store
from generator.answers.base import AnswerKey, iso
from generator.answers.changes import (
    HISTORY_TRUTH,
    TABLE_TRUTH,
    HistoryKey,
    TableKey,
    load_history,
    load_table,
)
from generator.answers.dedup import DEDUP_TRUTH, DEDUP_WATERMARK, DedupKey
from generator.answers.join import (
    ENRICH_TRUTH,
    JOIN_LEFT_WATERMARK,
    JOIN_RIGHT_WATERMARK,
    JOIN_TRUTH,
    JOIN_WITHIN,
    EnrichKey,
    JoinKey,
)
from generator.answers.sessions import SESSION_GAP, SESSION_WATERMARK, SESSIONS_TRUTH, SessionsKey
from generator.answers.watermark import Lateness, Watermark
from generator.answers.windows import TRUTH, WindowsKey, load_truth
from generator.answers.words import WordsKey, load_words

__all__ = [
    "DEDUP_TRUTH",
    "DEDUP_WATERMARK",
    "ENRICH_TRUTH",
    "HISTORY_TRUTH",
    "JOIN_LEFT_WATERMARK",
    "JOIN_RIGHT_WATERMARK",
    "JOIN_TRUTH",
    "JOIN_WITHIN",
    "SESSIONS_TRUTH",
    "SESSION_GAP",
    "SESSION_WATERMARK",
    "TABLE_TRUTH",
    "TRUTH",
    "AnswerKey",
    "DedupKey",
    "EnrichKey",
    "HistoryKey",
    "JoinKey",
    "Lateness",
    "SessionsKey",
    "TableKey",
    "Watermark",
    "WindowsKey",
    "WordsKey",
    "iso",
    "load_history",
    "load_key",
    "load_table",
    "load_truth",
    "load_words",
]


def load_key(path: Path) -> list[dict[str, object]]:
    """The lines of an answer key (its last line is the summary with the query's settings)."""
    return store.read(path)
