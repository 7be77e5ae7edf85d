"""The periods reports cover: a day (日报), a week Monday to Sunday (周报), a month (月度简报) or
any range, in the hotline's local time, and the period before it (hot topics' change)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

Kind = Literal["daily", "weekly", "monthly", "range"]
KINDS: Final = ("daily", "weekly", "monthly", "range")
TITLES: Final = {
    "daily": "日报 daily log",
    "weekly": "周报 weekly report",
    "monthly": "月度简报 monthly briefing",
    "range": "报表 report",
}


@dataclass(frozen=True, slots=True)
class Period:
    kind: Kind
    label: str  # 2026-11-23, 2026-W48, 2026-11, or 2026-11-01..2026-11-15
    start: datetime  # aware, local midnight
    end: datetime  # exclusive
    previous_start: datetime
    previous_end: datetime

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    @property
    def days(self) -> int:
        return (self.end.date() - self.start.date()).days


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone)


def daily(day: date, zone: ZoneInfo) -> Period:
    return Period("daily", day.isoformat(), _midnight(day, zone),
                  _midnight(day + timedelta(days=1), zone),
                  _midnight(day - timedelta(days=1), zone), _midnight(day, zone))  # fmt: skip


def weekly(day: date, zone: ZoneInfo) -> Period:
    """The week (Monday to Sunday) that holds ``day``."""
    monday = day - timedelta(days=day.weekday())
    year, week, _ = monday.isocalendar()
    return Period("weekly", f"{year}-W{week:02d}", _midnight(monday, zone),
                  _midnight(monday + timedelta(days=7), zone),
                  _midnight(monday - timedelta(days=7), zone), _midnight(monday, zone))  # fmt: skip


def _month_start(year: int, month: int) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def monthly(year: int, month: int, zone: ZoneInfo) -> Period:
    if not 1 <= month <= 12:
        raise ValueError("a month is 1 to 12")
    first = _month_start(year, month)
    after, before = _month_start(year, month + 1), _month_start(year, month - 1)
    label = f"{year:04d}-{month:02d}"
    start, end = _midnight(first, zone), _midnight(after, zone)
    return Period("monthly", label, start, end, _midnight(before, zone), start)


def parse_month(text: str) -> tuple[int, int]:
    """``YYYY-MM`` → (year, month); ValueError with the reason otherwise."""
    year, sep, month = text.partition("-")
    if not sep or len(year) != 4 or len(month) != 2 or not (year + month).isdigit():
        raise ValueError(f"{text!r} is not a month as YYYY-MM")
    if not 1970 <= int(year) < 2200 or not 1 <= int(month) <= 12:
        raise ValueError(f"{text!r} is not a month between 1970-01 and 2199-12")
    return int(year), int(month)


def span(start: datetime, end: datetime) -> Period:
    """Any range; the period before it has the same length."""
    length = end - start
    label = f"{start.date().isoformat()}..{(end - timedelta(microseconds=1)).date().isoformat()}"
    return Period("range", label, start, end, start - length, start)


def of(kind: str, zone: ZoneInfo, day: date | None = None, month: str | None = None) -> Period:
    """The period of a kind: daily and weekly from a date, monthly from ``YYYY-MM`` (or the
    date's month); ValueError with the reason when something is missing or wrong."""
    if kind == "monthly":
        if month is not None:
            return monthly(*parse_month(month), zone)
        if day is not None:
            return monthly(day.year, day.month, zone)
        raise ValueError("a monthly report needs a month (YYYY-MM)")
    if day is None:
        raise ValueError(f"a {kind} report needs a date (YYYY-MM-DD)")
    if kind == "daily":
        return daily(day, zone)
    if kind == "weekly":
        return weekly(day, zone)
    raise ValueError(f"unknown report kind {kind!r}: daily, weekly or monthly")
