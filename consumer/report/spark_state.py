"""What Spark did, read back: the files each micro-batch of a file source read (the
checkpoint's source log), the watermark in force at each batch (its progress), and from them
the picture of each row's event time against the batch that read it, with the rows the
watermark dropped marked by the answer keys' own rule (`generator.answers.Lateness`)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from consumer.report.log import Picture
from generator.answers import Lateness


def files_per_batch(checkpoint: Path, source: int, progress: list[dict[str, Any]],
                    query: str | None = None) -> dict[int, list[Path]]:  # fmt: skip
    """The files each batch of a file-source query read, from the checkpoint's source log."""
    out: dict[int, list[Path]] = {}
    log = checkpoint / "sources" / str(source)
    for p in progress:
        if query is not None and p.get("name") != query:
            continue
        sources = p.get("sources") or []
        if source >= len(sources):
            continue
        start, end = _offset(sources[source].get("startOffset")), _offset(
            sources[source].get("endOffset"))  # fmt: skip
        if end is None:
            continue
        files: list[Path] = []
        for n in range((start if start is not None else -1) + 1, end + 1):
            # every 10th entry of the log is compacted: it lists all files so far, each with
            # the batch that read it
            entry = log / str(n) if (log / str(n)).exists() else log / f"{n}.compact"
            if entry.exists():
                for raw in entry.read_text().splitlines()[1:]:
                    item = json.loads(raw)
                    if item.get("batchId", n) == n:
                        files.append(Path(item["path"].removeprefix("file://")))
        out[int(p["batchId"])] = files
    return out


def _offset(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = json.loads(value)
    return int(value["logOffset"]) if isinstance(value, dict) and "logOffset" in value else None


def watermarks(progress: list[dict[str, Any]], query: str | None = None) -> dict[int, int]:
    out: dict[int, int] = {}
    for p in progress:
        if query is not None and p.get("name") != query:
            continue
        mark = (p.get("eventTime") or {}).get("watermark")
        if mark:
            when = int(dt.datetime.fromisoformat(mark.replace("Z", "+00:00")).timestamp())
            if when > 0:  # 1970-01-01: no watermark yet
                out[int(p["batchId"])] = when
    return out


def picture(title: str, batch_files: dict[int, list[Path]], marks: dict[int, int],
            times_of: Callable[[Path], list[int]], late: Lateness) -> Picture:  # fmt: skip
    """Each row read, by batch; dropped by the answer keys' rule (`Lateness`) under the
    previous batch's watermark."""
    import numpy as np

    pic = Picture(title, watermarks=marks)
    for batch in sorted(batch_files):
        previous = marks.get(batch - 1, 0)
        for path in batch_files[batch]:
            if not path.exists():
                continue
            times = times_of(path)
            pic.batches += [batch] * len(times)
            pic.times += times
            pic.dropped += late.late(np.asarray(times, dtype=np.int64), previous).tolist()
    return pic
