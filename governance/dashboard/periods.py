"""Periods of a dashboard: a date range in local time (Asia/Shanghai), and the last twelve
weeks or months for a trend."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone

TREND_PERIODS = 12


@dataclass(frozen=True)
class Period:
    """``start`` inclusive and ``end`` exclusive, as aware datetimes at local midnight."""

    first_day: datetime.date
    last_day: datetime.date

    @property
    def start(self) -> datetime.datetime:
        return _midnight(self.first_day)

    @property
    def end(self) -> datetime.datetime:
        return _midnight(self.last_day + datetime.timedelta(days=1))


def _midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def this_month(today: datetime.date | None = None) -> Period:
    today = today or timezone.localdate()
    first = today.replace(day=1)
    return Period(first, _month_end(first))


def _month_end(first: datetime.date) -> datetime.date:
    following = (first.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return following - datetime.timedelta(days=1)


def trend_buckets(unit: str, today: datetime.date | None = None) -> list[Period]:
    """The last twelve months (or ISO weeks), oldest first, the current one included."""
    today = today or timezone.localdate()
    if unit == "week":
        monday = today - datetime.timedelta(days=today.weekday())
        return [
            Period(
                monday - datetime.timedelta(weeks=n),
                monday - datetime.timedelta(weeks=n) + datetime.timedelta(days=6),
            )
            for n in range(TREND_PERIODS - 1, -1, -1)
        ]
    months = []
    first = today.replace(day=1)
    for _ in range(TREND_PERIODS):
        months.append(Period(first, _month_end(first)))
        first = (first - datetime.timedelta(days=1)).replace(day=1)
    return list(reversed(months))
