"""Option converters: text from a command line (or a Spark data source option) to a checked
value. Both command lines and the Spark data source use these, so a value means the same and is
refused with the same words everywhere. Each raises ValueError with a short reason.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from generator.errors import UsageError


class Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting: one line, one place."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def prog(name: str) -> str:
    """A command line's name in its usage: the console script's, when run as one
    (`spark-stream-generator`), else the package's (`python -m generator`)."""
    called = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return called if called.startswith("spark-stream-") else f"python -m {name}"


class OptionError(argparse.ArgumentTypeError, ValueError):
    """A value an option cannot take; argparse names the option, other callers add it."""


T = TypeVar("T")


def held(option: str, convert: Callable[[Any], T], value: Any) -> T | None:
    """A config's value held to its option's rule: the converter's, in the converter's words,
    whichever front end the value came through; the error names the option as that front end
    spells it (`--rate`, `option rowsPerSecond`). None (not given) passes."""
    if value is None:
        return None
    try:
        return convert(value)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


def _whole(text: str | int, least: int) -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise OptionError(f"not a whole number: {text!r}") from None
    if isinstance(text, float) and value != text:
        raise OptionError(f"not a whole number: {text!r}")
    if value < least:
        raise OptionError(f"must be {least} or more, not {value}")
    return value


def positive_int(text: str | int) -> int:
    return _whole(text, 1)


def non_negative_int(text: str | int) -> int:
    return _whole(text, 0)


def number(text: str | float) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise OptionError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise OptionError(f"not a finite number: {text!r}")
    return value


def non_negative_float(text: str | float) -> float:
    value = number(text)
    if value < 0:
        raise OptionError(f"must be 0 or more, not {text}")
    return value


def positive_float(text: str | float) -> float:
    value = number(text)
    if value <= 0:
        raise OptionError(f"must be more than 0, not {text}")
    return value


YEAR = 31_536_000  # seconds: the longest a clock's disorder or lateness can be
DAY = 86_400  # seconds: the longest pause between two files or lines
FILE_ROWS = 1_000_000  # the most rows one file (or one spec's rows_per_file) holds

N = TypeVar("N", int, float)


def at_most(convert: Callable[[Any], N], most: N, why: str) -> Callable[[Any], N]:
    """`convert`, and no more than `most` (`why` says the limit in words): the bounds that keep
    a value from running away with memory or time."""

    def bounded(text: Any) -> N:
        value = convert(text)
        if value > most:
            raise OptionError(f"must be at most {most:,.0f} ({why}), not {text}")
        return value

    return bounded


file_rows = at_most(positive_int, FILE_ROWS, "land more files")  # a file is drawn in memory
pause = at_most(non_negative_float, float(DAY), "a day in seconds")  # between two files (or lines)
stream_count = at_most(positive_int, 1000, "a folder each")  # --streams
clock_gap = at_most(non_negative_float, float(YEAR), "a year in seconds")  # disorder, lateness
clock_step = at_most(positive_float, float(YEAR), "a year in seconds")  # seconds from row to row
# simulated seconds per real second: about 11.6 days a second keeps a long run's clock within
# Spark's timestamps
clock_speed = at_most(positive_float, 1e6, "simulated seconds a second")


def clock_start(text: str | dt.datetime) -> dt.datetime:
    """A clock's start: an ISO time from 1900 to 2499, so that rows stay within Spark's
    timestamps (years 1-9999) for a long run."""
    value = iso_time(text)
    if not 1900 <= value.year < 2500:
        raise OptionError(f"must be from 1900 to 2499, not {value.isoformat()}")
    return value


def fraction(text: str | float) -> float:
    value = number(text)
    if not 0 <= value <= 1:
        raise OptionError(f"must be between 0 and 1, not {text}")
    return value


def port_number(text: str | int) -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise OptionError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise OptionError(f"must be 0..65535, not {value}")
    return value


def client_port(text: str | int) -> int:
    """A port to connect to: 0 picks nothing there."""
    value = port_number(text)
    if value == 0:
        raise OptionError("must be 1..65535, not 0")
    return value


def period(text: str) -> float:
    """Seconds from `90`, `90s`, `15m`, `6h` or `1d`."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    value_text, unit = (text[:-1], text[-1]) if text[-1:] in units else (text, "s")
    try:
        value = float(value_text) * units[unit]
    except ValueError:
        raise OptionError(f"not a period: {text!r} (e.g. 1d, 6h, 15m, 90)") from None
    if not value > 0:
        raise OptionError(f"must be more than 0, not {text}")
    return value


def iso_time(text: str | dt.datetime) -> dt.datetime:
    """A time, UTC unless it names an offset."""
    if isinstance(text, dt.datetime):
        value = text
    else:
        try:
            value = dt.datetime.fromisoformat(text)
        except (TypeError, ValueError):
            raise OptionError(f"not an ISO time: {text!r} (e.g. 2026-01-01T09:00:00)") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def one_of(*choices: str) -> Callable[[str], str]:
    """A converter that takes one of `choices`, and says which they are."""

    def convert(text: str) -> str:
        if text not in choices:
            raise OptionError(f"must be one of {', '.join(choices)}, not {text!r}")
        return text

    return convert


def below_one(text: str | float) -> float:
    """A fraction that cannot be all: 0 <= F < 1."""
    value = number(text)
    if not 0 <= value < 1:
        raise OptionError(f"must be a fraction below 1, not {text}")
    return value


def add_event_time_arguments(group: argparse._ArgumentGroup, start_help: str) -> None:
    """The event-time clock's options, declared once for both command lines (the generator's,
    and the consumer's `--synthetic`): the same names, converters and words. `clock.EventTime`
    holds their rules; `clock.event_time_of` turns the parsed arguments into one."""
    group.add_argument("--start", type=clock_start, metavar="ISO-TIME", help=start_help)
    group.add_argument("--speed", type=clock_speed, metavar="X", help="simulated seconds "
                       "per real second at the run's pace (default: 1)")  # fmt: skip
    group.add_argument("--disorder", type=clock_gap, metavar="SECONDS",
                       help="every event up to this much earlier than the clock: out of order "
                       "(default: 0)")  # fmt: skip
    group.add_argument("--late-fraction", type=fraction, metavar="F",
                       help="this fraction of events arrives late ... (default: 0)")  # fmt: skip
    group.add_argument("--max-lateness", type=clock_gap, metavar="SECONDS",
                       help="... up to this far behind the clock (default: 0)")  # fmt: skip


def boolean(text: str | bool) -> bool:
    if isinstance(text, bool):
        return text
    lowered = str(text).strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise OptionError(f"not true or false: {text!r}")
