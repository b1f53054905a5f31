"""Property tests of the recurring billing dates (invoicing.recurring.occurrence / schedule_dates):
over random frequencies, intervals, start dates and days of the month, no period is ever skipped
or repeated, every date is the schedule's day (or the month's last day when it has no such day),
and the first date is the first one on or after the start."""

import calendar
from datetime import date, timedelta
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from invoicing.models_recurring import LAST_DAY, Frequency
from invoicing.recurring import MONTHS, occurrence, schedule_dates

frequencies = st.sampled_from(list(Frequency.values))
starts = st.dates(min_value=date(1990, 1, 1), max_value=date(2200, 12, 31))


def month_index(d: date) -> int:
    return d.year * 12 + d.month - 1


def expected_day(d: date, day_of_month: int) -> int:
    last = calendar.monthrange(d.year, d.month)[1]
    return last if day_of_month == LAST_DAY else min(day_of_month, last)


@given(frequencies, st.integers(1, 24), starts, st.integers(0, 31))
def test_dates_never_skip_or_repeat_a_period(frequency, interval, start, day_of_month):
    dates = [occurrence(frequency, interval, start, day_of_month, k) for k in range(40)]
    assert dates[0] >= start
    assert all(a < b for a, b in zip(dates, dates[1:], strict=False))
    if frequency == Frequency.WEEKLY:
        assert dates[0] == start
        assert all((b - a) == timedelta(weeks=interval) for a, b in zip(dates, dates[1:], strict=False))
        return
    step = MONTHS[frequency] * interval
    # one date per period, each exactly one step of months after the previous: none skipped or doubled
    assert all(month_index(b) - month_index(a) == step for a, b in zip(dates, dates[1:], strict=False))
    assert all(d.day == expected_day(d, day_of_month) for d in dates)
    # nothing earlier would have done: the same day one step before the first is before the start
    before = month_index(dates[0]) - step
    year, month0 = divmod(before, 12)
    earlier = date(year, month0 + 1, expected_day(date(year, month0 + 1, 1), day_of_month))
    assert earlier < start or month_index(dates[0]) == month_index(start)


@given(frequencies, st.integers(1, 6), starts, st.integers(0, 31), st.integers(1, 30),
       st.one_of(st.none(), st.integers(0, 2000)))
def test_schedule_dates_respect_the_count_and_the_end_and_periods_tile(frequency, interval, start, day, count, days):
    end = start + timedelta(days=days) if days is not None else None
    schedule = SimpleNamespace(frequency=frequency, interval=interval, start_date=start, day_of_month=day,
                               max_count=count, end_date=end)
    runs = list(schedule_dates(schedule))
    assert len(runs) <= count
    assert [k for k, _d, _e in runs] == list(range(len(runs)))
    if end is not None:
        assert all(d <= end for _k, d, _e in runs)
        nxt = occurrence(frequency, interval, start, day, len(runs))
        assert len(runs) == count or nxt > end  # stopped for a reason
    else:
        assert len(runs) == count
    # each period ends the day before the next begins: together they cover the time without overlap
    for (_k, d, e), (_k2, d2, _e2) in zip(runs, runs[1:], strict=False):
        assert e + timedelta(days=1) == d2 and d <= e


def test_the_31st_bills_on_the_last_day_of_shorter_months_and_returns_to_the_31st():
    dates = [occurrence(Frequency.MONTHLY, 1, date(2024, 1, 31), 31, k) for k in range(5)]
    assert dates == [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30), date(2024, 5, 31)]
    assert occurrence(Frequency.YEARLY, 1, date(2024, 2, 29), 29, 1) == date(2025, 2, 28)
    assert occurrence(Frequency.YEARLY, 1, date(2024, 2, 29), 29, 4) == date(2028, 2, 29)
    assert occurrence(Frequency.MONTHLY, 1, date(2024, 1, 20), 5, 0) == date(2024, 2, 5)  # first on or after
    assert occurrence(Frequency.QUARTERLY, 1, date(2024, 1, 1), LAST_DAY, 1) == date(2024, 4, 30)
