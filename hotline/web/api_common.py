"""Shared by the JSON service API: reading bodies and times, naming the bad field."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web


class BadInput(ValueError):
    """Invalid request input; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def response(self) -> web.Response:
        return web.json_response(
            {"error": str(self), "field": self.field, "fields": [self.field]}, status=400
        )


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)


async def json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BadInput("body", f"not valid JSON ({error})") from None
    if not isinstance(body, dict):
        raise BadInput("body", "must be a JSON object")
    return body


def instant(field: str, value: object, zone: ZoneInfo, *, end_of_day: bool = False) -> datetime:
    """An ISO 8601 time with a zone, or a date (its midnight in ``zone``; with ``end_of_day``,
    the next midnight, so that ``to=2026-11-25`` includes that whole day)."""
    if not isinstance(value, str) or not value.strip():
        raise BadInput(field, "required (ISO 8601 time with zone, or YYYY-MM-DD)")
    text = value.strip()
    if len(text) == 10:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise BadInput(field, f"not a date: {text!r}") from None
        if end_of_day:
            day += timedelta(days=1)
        return datetime.combine(day, time(), zone)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(field, f"not an ISO 8601 time: {text!r}") from None
    if parsed.tzinfo is None:
        raise BadInput(field, "needs a time zone (e.g. +08:00 or Z)")
    return parsed


def span(
    query: dict[str, Any] | Any, zone: ZoneInfo, *, max_days: int = 366
) -> tuple[datetime, datetime]:
    start = instant("from", query.get("from"), zone)
    end = instant("to", query.get("to"), zone, end_of_day=True)
    if end <= start:
        raise BadInput("to", "must be after 'from'")
    if end - start > timedelta(days=max_days):
        raise BadInput("to", f"the span may be at most {max_days} days")
    return start, end
