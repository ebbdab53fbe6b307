"""One line per micro-batch on stderr, from a StreamingQueryListener."""

from __future__ import annotations

import sys
import threading
from typing import Any, TextIO

from pyspark.sql.streaming.listener import StreamingQueryListener

from consumer.session import UNFIT

CONSOLE = threading.Lock()  # one console table, or one line, at a time


class Listener(StreamingQueryListener):
    """A listener that knows which queries it saw start and end: the last progress event of a
    query reaches it before the query's end does, so once every query it saw start has ended,
    it has had every event (`wait_ended`; over Spark Connect events come over the wire)."""

    def __init__(self) -> None:
        self._seen: dict[str, bool] = {}  # query id -> ended
        self._changed = threading.Condition()

    def onQueryStarted(self, event: Any) -> None:
        with self._changed:
            self._seen.setdefault(str(event.id), False)

    def onQueryTerminated(self, event: Any) -> None:
        with self._changed:
            self._seen[str(event.id)] = True
            self._changed.notify_all()

    def wait_ended(self, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: all(self._seen.values()), timeout)


class BatchPrinter(Listener):
    """Prints `query batch N: rows, input rows/s, processed rows/s, duration` per batch.

    Spark hands a listener its events a little after a batch ends, while the next batch may
    already be printing its table: a console table waits for its query's line of the batch
    before it (`printed`), so each line follows its own table."""

    def __init__(self, err: TextIO | None = None) -> None:
        super().__init__()
        self._err = err if err is not None else sys.stderr
        self._printed: dict[str, int] = {}  # query name -> newest batch whose line is out

    def onQueryStarted(self, event: Any) -> None:
        super().onQueryStarted(event)
        with self._changed:  # a query started again under its name counts its batches anew
            self._printed.pop(event.name or str(event.id)[:8], None)

    def onQueryProgress(self, event: Any) -> None:
        p = event.progress
        name = p.name or str(p.id)[:8]
        unfit = p.observedMetrics.get(UNFIT)
        with CONSOLE:  # not in the middle of another query's table
            self._print_line(name, p, unfit)
        with self._changed:
            self._printed[name] = max(p.batchId, self._printed.get(name, -1))
            self._changed.notify_all()

    def _print_line(self, name: str, p: Any, unfit: Any) -> None:
        seconds = p.batchDuration / 1000
        lines = unfit["lines"] if unfit is not None else 0
        print(
            f"consumer: {name} batch {p.batchId}: {p.numInputRows} rows, "
            f"{p.inputRowsPerSecond:.1f} rows/s in, {p.processedRowsPerSecond:.1f} rows/s "
            f"processed, {seconds:.2f}s"
            + (f"; {lines} {'line does' if lines == 1 else 'lines do'} not fit the columns "
               "(NULL where a field is missing or of another type)" if lines else ""),
            file=self._err,
            flush=True,
        )  # fmt: skip

    def printed(self, name: str, batch_id: int, timeout: float) -> bool:
        """Wait (at most `timeout` seconds) until query `name`'s line of `batch_id` is out."""
        with self._changed:
            return self._changed.wait_for(lambda: self._printed.get(name, -1) >= batch_id,
                                          timeout)  # fmt: skip

    def onQueryIdle(self, event: Any) -> None:
        pass
