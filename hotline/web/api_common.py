"""Shared by the JSON service API: reading bodies, times, numbers and text, naming the bad
field (hotline.web.errors.BadInput) before anything reaches the store."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from hotline.web.errors import BadInput

# Times the store can hold on both dialects once moved to UTC: far from datetime's edges
# (0001-01-01 in +14:00 is before year 1 in UTC; 9999-12-31 "to" is the next midnight).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
MAX_JSON_DEPTH = 32
_DIGITS = re.compile(r"[0-9]{1,9}", re.ASCII)


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)


def _depth(value: Any, limit: int) -> bool:
    """True when ``value`` nests no deeper than ``limit`` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            if level > limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return True


async def json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BadInput("body", f"not valid JSON ({error})", "input.body") from None
    except RecursionError:
        raise BadInput("body", "nested too deeply", "input.body") from None
    if not isinstance(body, dict):
        raise BadInput("body", "must be a JSON object", "input.body")
    if not _depth(body, MAX_JSON_DEPTH):
        raise BadInput("body", f"nested deeper than {MAX_JSON_DEPTH} levels", "input.body")
    return body


def text(field: str, value: object, *, max_length: int, required: bool = True) -> str | None:
    """A string without control characters (PostgreSQL refuses NUL; none belongs in a name,
    reason or filter), stripped; None when not ``required`` and empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BadInput(field, "required", "input.required")
        return None
    if not isinstance(value, str):
        raise BadInput(field, "must be a string", "input.text")
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise BadInput(field, "must not contain control characters", "input.text")
    if len(value) > max_length:
        raise BadInput(field, f"at most {max_length} characters", "input.text")
    return value.strip()


def integer(field: str, value: str | None, default: int, low: int, high: int) -> int:
    """A decimal integer in ``[low, high]`` (ASCII digits only: ``"²".isdigit()`` is True)."""
    if value is None:
        return default
    if not _DIGITS.fullmatch(value) or not low <= int(value) <= high:
        raise BadInput(field, f"an integer from {low} to {high}", "input.out_of_range")
    return int(value)


def _in_range(field: str, moment: datetime) -> datetime:
    if not EARLIEST <= moment <= LATEST:
        raise BadInput(
            field,
            f"must be between {EARLIEST.date()} and {LATEST.date()}",
            "input.out_of_range",
        )
    return moment


def instant(field: str, value: object, zone: ZoneInfo, *, end_of_day: bool = False) -> datetime:
    """An ISO 8601 time with a zone, or a date (its midnight in ``zone``; with ``end_of_day``,
    the next midnight, so that ``to=2026-11-25`` includes that whole day)."""
    if not isinstance(value, str) or not value.strip():
        raise BadInput(field, "required (ISO 8601 time with zone, or YYYY-MM-DD)")
    stripped = value.strip()
    if len(stripped) == 10:
        try:
            day = date.fromisoformat(stripped)
        except ValueError:
            raise BadInput(field, f"not a date: {stripped!r}", "input.time") from None
        if not EARLIEST.year <= day.year < LATEST.year:
            _in_range(field, LATEST + timedelta(days=1))
        if end_of_day:
            day += timedelta(days=1)
        return _in_range(field, datetime.combine(day, time(), zone))
    try:
        parsed = datetime.fromisoformat(stripped)
    except ValueError:
        raise BadInput(field, f"not an ISO 8601 time: {stripped!r}", "input.time") from None
    if parsed.tzinfo is None:
        raise BadInput(field, "needs a time zone (e.g. +08:00 or Z)", "input.time")
    try:
        return _in_range(field, parsed)
    except OverflowError:  # the offset takes it past datetime's range
        raise BadInput(field, "out of range", "input.out_of_range") from None


def span(
    query: dict[str, Any] | Any, zone: ZoneInfo, *, max_days: int = 366
) -> tuple[datetime, datetime]:
    start = instant("from", query.get("from"), zone)
    end = instant("to", query.get("to"), zone, end_of_day=True)
    if end <= start:
        raise BadInput("to", "must be after 'from'", "input.span")
    if end - start > timedelta(days=max_days):
        raise BadInput("to", f"the span may be at most {max_days} days", "input.span")
    return start, end
