"""One line per micro-batch on stderr, from a StreamingQueryListener."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from pyspark.sql.streaming.listener import StreamingQueryListener


class BatchPrinter(StreamingQueryListener):
    """Prints `query batch N: rows, input rows/s, processed rows/s, duration` per batch."""

    def __init__(self, err: TextIO | None = None) -> None:
        self._err = err if err is not None else sys.stderr

    def onQueryStarted(self, event: Any) -> None:
        pass

    def onQueryProgress(self, event: Any) -> None:
        p = event.progress
        name = p.name or str(p.id)[:8]
        seconds = p.batchDuration / 1000
        print(
            f"consumer: {name} batch {p.batchId}: {p.numInputRows} rows, "
            f"{p.inputRowsPerSecond:.1f} rows/s in, {p.processedRowsPerSecond:.1f} rows/s "
            f"processed, {seconds:.2f}s",
            file=self._err,
            flush=True,
        )

    def onQueryIdle(self, event: Any) -> None:
        pass

    def onQueryTerminated(self, event: Any) -> None:
        pass
