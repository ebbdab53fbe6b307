"""File names that sort in landing order, and the way back from a name to its file number.

`sequence`: part-000001.csv, part-000002.csv ...; `daily`: one file per trading day,
2010-12-01.csv, 2010-12-02.csv ... skipping the declared weekdays (the retail set has no Saturdays).
"""

from __future__ import annotations

import datetime as dt
import functools
import re

from generator.spec import Naming


def _trading_days(naming: Naming) -> list[int]:
    return [d for d in range(7) if d not in naming.skip_weekdays]


def _first_day(naming: Naming) -> dt.date:
    day = naming.start_date
    while day.weekday() in naming.skip_weekdays:
        day += dt.timedelta(days=1)
    return day


def day_of(naming: Naming, index: int) -> dt.date:
    """The date of file `index` (1-based): the index-th trading day from the start date."""
    first = _first_day(naming)
    per_week = len(_trading_days(naming))
    weeks, rest = divmod(index - 1, per_week)
    day = first + dt.timedelta(weeks=weeks)
    while rest:
        day += dt.timedelta(days=1)
        if day.weekday() not in naming.skip_weekdays:
            rest -= 1
    return day


def file_name(naming: Naming, index: int, extension: str = "csv") -> str:
    if naming.kind == "daily":
        return f"{day_of(naming, index).isoformat()}.{extension}"
    return f"{naming.prefix}{index:0{naming.width}d}.{extension}"


def index_of(naming: Naming, name: str) -> int | None:
    """The file number a name stands for, or None for a name this naming does not make."""
    stem = name.rsplit(".", 1)[0]
    if naming.kind == "daily":
        try:
            day = dt.date.fromisoformat(stem) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", stem) else None
        except ValueError:
            return None
        if day is None or day.weekday() in naming.skip_weekdays:
            return None
        first = _first_day(naming)
        if day < first:
            return 0  # before this run's start: the next file is the first one
        weeks, extra = divmod((day - first).days, 7)
        index = weeks * len(_trading_days(naming)) + 1
        for k in range(1, extra + 1):
            if (first + dt.timedelta(days=k)).weekday() not in naming.skip_weekdays:
                index += 1
        return index
    match = _numbered(naming.prefix).fullmatch(stem)
    return int(match.group(1)) if match else None


@functools.lru_cache(maxsize=16)
def _numbered(prefix: str) -> re.Pattern[str]:
    return re.compile(re.escape(prefix) + r"(\d+)")
