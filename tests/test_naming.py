from __future__ import annotations

import datetime as dt

from generator import RETAIL
from generator.naming import day_of, file_name, index_of
from generator.spec import Naming


def test_sequence_names_sort_in_landing_order() -> None:
    naming = Naming()
    names = [file_name(naming, i) for i in (1, 2, 10, 999_999)]
    assert names == ["part-000001.csv", "part-000002.csv", "part-000010.csv", "part-999999.csv"]
    assert sorted(names) == names
    assert [index_of(naming, n) for n in names] == [1, 2, 10, 999_999]
    assert index_of(naming, ".part-000001.csv.tmp") is None
    assert index_of(naming, "notes.txt") is None


def test_daily_names_skip_saturdays_like_the_real_set() -> None:
    naming = RETAIL.naming
    days = [day_of(naming, i) for i in range(1, 8)]
    # 2010-12-01 is a Wednesday; the real set has 12-01 .. 12-03, 12-05 .. 12-07
    assert [d.isoformat() for d in days] == [
        "2010-12-01", "2010-12-02", "2010-12-03", "2010-12-05",
        "2010-12-06", "2010-12-07", "2010-12-08",
    ]  # fmt: skip
    assert all(d.weekday() != 5 for d in (day_of(naming, i) for i in range(1, 400)))
    for i in range(1, 400):
        assert index_of(naming, file_name(naming, i)) == i
    assert index_of(naming, "2010-12-04.csv") is None  # a Saturday is never one of ours
    assert index_of(naming, "2009-01-01.csv") == 0


def test_daily_start_on_a_skipped_day_moves_to_the_next_trading_day() -> None:
    naming = Naming(kind="daily", start_date=dt.date(2010, 12, 4), skip_weekdays=(5,))
    assert day_of(naming, 1) == dt.date(2010, 12, 5)
