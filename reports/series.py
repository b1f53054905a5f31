"""Collections and invoicing series (issue 20) by day, ISO week, month or quarter.

From reports_dailyflow (kept exact by triggers): collected = payments by day received, reversed
payments not counted; invoiced = issued invoices' totals by issue day, voided ones not. Every
bucket between the first and the last day is listed, empty ones as zero; a week is an ISO week
(Monday to Sunday, labelled 2025-W01), a bucket cut by the range holds only the days inside it.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from reports.asof import ZERO
from reports.dso import add_months
from reports.models import DailyFlow

GRAINS = ("day", "week", "month", "quarter")
MAX_BUCKETS = 4000


@dataclass
class Point:
    start: date
    end: date
    label: str
    invoiced: Decimal = ZERO
    collected: Decimal = ZERO


def bucket_start(grain: str, day: date) -> date:
    if grain == "day":
        return day
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def next_start(grain: str, start: date) -> date:
    if grain == "day":
        return start + timedelta(days=1)
    if grain == "week":
        return start + timedelta(days=7)
    return add_months(start, 1 if grain == "month" else 3)


def label(grain: str, start: date) -> str:
    if grain == "day":
        return start.isoformat()
    if grain == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if grain == "month":
        return start.strftime("%Y-%m")
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"


def series(org, currency: str, grain: str, first: date, last: date) -> list[Point]:
    if grain not in GRAINS:
        raise ValueError(grain)
    points: dict[date, Point] = {}
    start = bucket_start(grain, first)
    while start <= last:
        nxt = next_start(grain, start)
        points[start] = Point(max(start, first), min(nxt - timedelta(days=1), last), label(grain, start))
        if len(points) > MAX_BUCKETS:
            raise ValueError("too many buckets")
        start = nxt
    for day, invoiced, collected in DailyFlow.objects.filter(
            organization=org, currency=currency, day__gte=first, day__lte=last).values_list("day", "invoiced",
                                                                                          "collected"):
        p = points[bucket_start(grain, day)]
        p.invoiced += invoiced
        p.collected += collected
    return list(points.values())
