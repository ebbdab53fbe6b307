"""What `generator socket` does, as one checked value: the CLI only fills it in."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from generator.clock import Clock, EventTime
from generator.datasets import standalone
from generator.errors import UsageError
from generator.formats import FORMATS, check_format
from generator.options import (
    held,
    non_negative_float,
    non_negative_int,
    one_of,
    port_number,
    positive_float,
    positive_int,
)
from generator.spec import Dataset

Fanout = Literal["broadcast", "each"]


@dataclass(frozen=True)
class SocketConfig:
    """Everything `generator socket` does, checked when built: the CLI only fills it in."""

    dataset: Dataset | str = "person"  # a built-in name, a spec file, or a declaration
    seed: int | None = None  # None: random
    port: int = 9999
    host: str = "127.0.0.1"
    fanout: Fanout = "broadcast"
    rate: float | None = None  # rows per second per stream (default 5); 0: as fast as read
    count: int | None = None  # rows per stream, then close
    duration: float | None = None  # seconds, then close
    stdin: bool = False  # forward standard input instead of generated rows
    max_queue: int = 1_000_000  # lines queued for one client before it is disconnected
    idle_timeout: float = 30.0  # seconds a client may take nothing of what waits for it
    grace: float = 5.0  # seconds to flush queues at shutdown
    quiet: bool = False
    format: str = "csv"  # or "json": JSON lines
    truth: Path | None = None  # the answer key of what was sent (event time; words: counts)
    event_time: EventTime = field(default_factory=EventTime)
    clock: Clock | None = field(init=False, default=None)  # derived: event-time data sets

    def __post_init__(self) -> None:
        dataset = standalone(self.dataset, "the socket server")
        object.__setattr__(self, "dataset", dataset)
        if self.seed is None:
            object.__setattr__(self, "seed", secrets.randbelow(2**31))
        held("--seed", non_negative_int, self.seed)
        held("PORT", port_number, self.port)
        held("--fanout", one_of("broadcast", "each"), self.fanout)
        held("--format", one_of(*FORMATS), self.format)
        check_format(self.format, dataset)
        held("--count", positive_int, self.count)
        held("--max-queue", positive_int, self.max_queue)
        held("--idle-timeout", positive_float, self.idle_timeout)
        held("--duration", positive_float, self.duration)
        if self.count is not None and self.duration is not None:
            raise UsageError("--count and --duration both bound the run: give one of them")
        held("--rate", non_negative_float, self.rate)
        if self.stdin and self.fanout == "each":
            raise UsageError("--stdin sends the same lines to every client: drop --fanout each")
        if self.stdin and self.rate is not None:
            raise UsageError("--stdin forwards lines as they come: drop --rate")
        if self.truth is not None:
            if self.fanout == "each" or self.stdin:
                raise UsageError(
                    "--truth follows the one broadcast stream: not with --fanout each or --stdin"
                )
            if dataset.event_time_column is None and dataset.text_column is None:
                raise UsageError(
                    "--truth is for data sets with an event-time column or lines of words, "
                    f"not {dataset.name!r}"
                )
            if Path(self.truth).is_dir():
                raise UsageError(f"--truth names a file, and {self.truth} is a folder")
        self.event_time.check_for(dataset)
        if dataset.event_time_column is not None:
            if self.rows_per_second == 0 and not self.stdin:
                raise UsageError(
                    f"--rate 0 sends as fast as clients read, which gives {dataset.name}'s event "
                    "time no pace: give --rate ROWS_PER_SECOND"
                )
            object.__setattr__(self, "clock", self.event_time.clock(self.rows_per_second))

    @property
    def ds(self) -> Dataset:
        assert isinstance(self.dataset, Dataset)
        return self.dataset

    @property
    def rows_per_second(self) -> float:
        return 5.0 if self.rate is None else self.rate

    @property
    def chunk_lines(self) -> int:
        # a slice of the stream handed to clients at once: small enough to fit many in a queue
        return max(1, min(8192, self.max_queue // 8))
