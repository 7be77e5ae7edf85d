"""Small call-record dicts for the KPI tests, in the JSON form of CallRecord.to_json()."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
_ids = itertools.count(1)


def local(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> float:
    """Epoch seconds of a wall-clock moment in Asia/Shanghai."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI).timestamp()


# 23 November 2026, 10:00 in Shanghai (02:00 UTC).
MORNING = local(2026, 11, 23, 10)


def record(
    outcome: str,
    wait_s: int | None = None,
    talk_s: int | None = None,
    *,
    at: float | None = MORNING,
    queue: str | None = "hotline-general",
    agent: str | None = None,
    uniqueid: str | None = None,
    leg: int = 0,
    rings: tuple[str, ...] = (),
) -> dict[str, Any]:
    uniqueid = uniqueid or f"1795440000.{next(_ids)}"
    answered = outcome in ("answered", "transferred")
    in_queue = outcome != "ivr_hangup"
    return {
        "linkedid": uniqueid,
        "uniqueid": uniqueid,
        "leg": leg,
        "queue": queue if in_queue else None,
        "outcome": outcome,
        "wait_s": wait_s if in_queue else None,
        "talk_s": talk_s,
        "answered_by": (agent or "Agent 1") if answered else None,
        "ring_no_answer": list(rings),
        "started_at": None if at is None else at - 20,
        "queue_entered_at": at if in_queue else None,
        "answered_at": None if at is None or not answered else at + (wait_s or 0),
        "ended_at": None,
        "key": f"{uniqueid}#{leg}",
    }
