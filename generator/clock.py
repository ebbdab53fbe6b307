"""Event time: the simulated clock behind `clock` columns, and the options that set it.

Row k of a run happens at `start + k * seconds_per_row`; `disorder` and late rows pull some rows
back in time. The options (`--start`, `--speed`, `--disorder`, `--late-fraction`,
`--max-lateness`, and the ground truth's window and watermark) are one `EventTime` value shared
by every command and the Spark data source: their defaults and rules are written here once.
numpy is imported only when times are drawn.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Protocol

from generator import options
from generator.errors import UsageError

if TYPE_CHECKING:
    import numpy as np


class _Declared(Protocol):
    """What the clock needs to know of a data set (the clock sits below the declarations)."""

    @property
    def name(self) -> str: ...
    @property
    def event_time_column(self) -> str | None: ...
    @property
    def changes(self) -> object: ...


TRUTH_WINDOW = 60  # seconds: the windows of _truth.jsonl
TRUTH_WATERMARK = 10  # seconds: the watermark delay _truth.jsonl judges lateness by


@dataclass(frozen=True)
class Clock:
    """The simulated clock: row k at start + k * seconds_per_row, then disorder and lateness."""

    start: int  # epoch seconds (UTC)
    seconds_per_row: float = 1.0
    disorder: float = 0.0  # every row up to this many seconds earlier than the clock
    late_fraction: float = 0.0  # this fraction of rows ...
    max_lateness: float = 0.0  # ... up to this many seconds behind the clock

    def event_times(self, first_row: int, n: int, rng: np.random.Generator) -> np.ndarray:
        import numpy as np

        t = self.start + (first_row + np.arange(n, dtype=np.float64)) * self.seconds_per_row
        if self.disorder > 0:
            t -= rng.random(n) * self.disorder
        if self.late_fraction > 0 and self.max_lateness > 0:
            late = rng.random(n) < self.late_fraction
            t -= np.where(late, (1.0 - rng.random(n)) * self.max_lateness, 0.0)
        seconds: np.ndarray = np.floor(t).astype(np.int64)
        return seconds

    @property
    def most_behind(self) -> float:
        """The furthest an event's time can fall behind its arrival."""
        return self.disorder + (self.max_lateness if self.late_fraction > 0 else 0.0)

    def lags(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """How far behind its event time each of n rows arrives: the same disorder and lateness
        as `event_times` (for rows whose event time is set, not drawn: a click's)."""
        import numpy as np

        lag = np.zeros(n)
        if self.disorder > 0:
            lag += rng.random(n) * self.disorder
        if self.late_fraction > 0 and self.max_lateness > 0:
            late = rng.random(n) < self.late_fraction
            lag += np.where(late, (1.0 - rng.random(n)) * self.max_lateness, 0.0)
        return lag


def cli_option(name: str) -> str:
    """A field's option on the command line: late_fraction -> --late-fraction."""
    return "--" + name.replace("_", "-")


@dataclass(frozen=True, kw_only=True)
class EventTime:
    """The event-time options of a run. `None` and zero mean "not given"."""

    start: dt.datetime | None = None  # default: now
    speed: float | None = None  # simulated seconds per real second (default 1)
    disorder: float = 0.0
    late_fraction: float = 0.0
    max_lateness: float = 0.0
    truth_window: int = TRUTH_WINDOW
    truth_watermark: int = TRUTH_WATERMARK

    # how the front end names an option (a field name): `--late-fraction` on a command line,
    # `option lateFraction` in the synthetic source; a module-level function (it is pickled)
    spell: Callable[[str], str] = field(default=cli_option, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.start is not None and self.start.tzinfo is None:
            object.__setattr__(self, "start", self.start.replace(tzinfo=dt.UTC))
        for name, convert in (("start", options.clock_start),
                              ("speed", options.clock_speed),
                              ("disorder", options.clock_gap),
                              ("late_fraction", options.fraction),
                              ("max_lateness", options.clock_gap),
                              ("truth_window", options.positive_int),
                              ("truth_watermark", options.non_negative_int)):  # fmt: skip
            options.held(self.spell(name), convert, getattr(self, name))
        if self.late_fraction > 0 and not self.max_lateness:
            raise UsageError(f"{self.spell('late_fraction')} needs {self.spell('max_lateness')} "
                             "(how late, in seconds)")  # fmt: skip

    def given(self) -> list[str]:
        """The options set to something other than their defaults, as command-line names."""
        default = EventTime()
        return [self.spell(f.name) for f in fields(self) if f.compare and getattr(
            self, f.name) != getattr(default, f.name)]  # fmt: skip

    def check_for(self, dataset: _Declared, delivers: bool = False) -> None:
        """Event-time options on a data set without an event-time column are a mistake. A
        change feed's clock is its commit time: late changes do not apply, and `disorder`
        means delivering changes out of commit order, which only a front end that `delivers`
        (files) does."""
        given = self.given()
        if dataset.event_time_column is None and given:
            raise UsageError(
                f"{given[0]} is for data sets with an event-time column (sensor), "
                f"not {dataset.name!r}"
            )
        if dataset.changes is None:
            return
        if self.late_fraction or self.max_lateness:
            name = self.spell("late_fraction" if self.late_fraction else "max_lateness")
            disorder = self.spell("disorder")
            raise UsageError(f"{name} does not apply to a change feed: its ts is the commit "
                             f"time; {disorder} delivers changes out of order")  # fmt: skip
        if self.disorder and not delivers:
            raise UsageError(f"{self.spell('disorder')} on a change feed delivers changes out of "
                             "commit order across files: `generator files` does it")  # fmt: skip

    def commit_clock(self, rows_per_second: float, now: dt.datetime | None = None) -> Clock:
        """A change feed's clock: commit times in order (`disorder` is the delivery's)."""
        return replace(self.clock(rows_per_second, now), disorder=0.0)

    def clock(self, rows_per_second: float, now: dt.datetime | None = None) -> Clock:
        """The clock of a run that makes `rows_per_second` rows per real second."""
        start = self.start or now or dt.datetime.now(dt.UTC)
        return Clock(
            start=int(start.timestamp()),
            seconds_per_row=(self.speed or 1.0) / rows_per_second,
            disorder=self.disorder,
            late_fraction=self.late_fraction,
            max_lateness=self.max_lateness,
        )


CLOCK_OPTIONS = ("start", "speed", "disorder", "late_fraction", "max_lateness")


def event_time_of(args: argparse.Namespace, **more: object) -> EventTime:
    """The EventTime of parsed arguments (`options.add_event_time_arguments`): the clock's
    options given, and `more` (the truth's)."""
    given = {name: getattr(args, name, None) for name in CLOCK_OPTIONS} | more
    return EventTime(**{name: value for name, value in given.items() if value is not None})
