"""The staffing planner service: a day's plan from the stored calls of the same weekday on
recent weeks, and the agents needed in the current half hour (for the wall screen).

No transport: the call records come through ``fetch_calls`` (the store's ``calls_between``,
handed in by the wiring); the web API and the CLI call ``plan_day``.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from acd.staffing.plan import (
    SlotPlan,
    Target,
    day_bounds,
    forecast,
    history,
    plan,
    same_weekdays,
    slot_of,
)

log = logging.getLogger(__name__)

FetchCalls = Callable[[datetime, datetime], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True, slots=True)
class DayPlan:
    day: date
    target: Target
    weeks_used: list[date]
    aht_default: bool
    rows: list[SlotPlan]

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "target": self.target.to_json(),
            "weeks_used": [d.isoformat() for d in self.weeks_used],
            "aht_default": self.aht_default,
            "slots": [row.to_json() for row in self.rows],
            "peak_agents": max((row.staffing.agents for row in self.rows), default=0),
        }


class StaffingPlanner:
    def __init__(
        self,
        fetch_calls: FetchCalls,
        zone: ZoneInfo,
        *,
        target: Target | None = None,
        weeks: int = 4,
        default_aht_s: float = 240.0,
        wrap_up_s: float = 0.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if weeks < 1:
            raise ValueError("weeks must be ≥ 1")
        self._fetch = fetch_calls
        self.zone = zone
        self.target = target or Target()
        self.weeks = weeks
        self.default_aht_s = default_aht_s
        self.wrap_up_s = wrap_up_s
        self._clock = clock
        # (day, slot) → agents needed: the wall screen asks every push, the store once a slot.
        self._now: tuple[date, int, int | None] | None = None

    async def plan_day(
        self,
        day: date,
        *,
        typed: Mapping[int, float] | None = None,
        target: Target | None = None,
        aht_s: float | None = None,
    ) -> DayPlan:
        """The plan of ``day``: the forecast calls (``typed`` ones per slot override them),
        the history's AHT (``aht_s`` overrides it for every slot), for ``target``."""
        days = same_weekdays(day, self.weeks)
        records: list[dict[str, Any]] = []
        for past_day in days:
            # Each past weekday on its own: the days between are not read (a big city's
            # three weeks of calls would be loaded to use one in seven).
            records += await self._fetch(*day_bounds(past_day, self.zone))
        past = history(records, days, self.zone, self.wrap_up_s)
        expected = forecast(past, self.default_aht_s)
        aim = target or self.target
        if aht_s is not None and (aht_s <= 0 or not math.isfinite(aht_s)):
            raise ValueError("aht_s must be a finite number > 0")
        aht = [aht_s] * len(expected.aht_s) if aht_s is not None else expected.aht_s
        rows = plan(expected.calls, aht, aim, typed)
        return DayPlan(day, aim, expected.weeks_used, expected.aht_default, rows)

    def needed_now(self) -> int | None:
        """Agents needed in the current half hour, as last computed (None: not yet, or no
        call history on this weekday to forecast from)."""
        return self._now[2] if self._now is not None else None

    async def refresh_now(self) -> int | None:
        """Compute the current half hour's need once per half hour; keep the last on failure."""
        moment = datetime.fromtimestamp(self._clock() if self._clock else _time(), UTC)
        local = moment.astimezone(self.zone)
        day, slot = local.date(), slot_of(local)
        if self._now is not None and self._now[:2] == (day, slot):
            return self._now[2]
        try:
            day_plan = await self.plan_day(day)
        except Exception as error:
            log.warning("staffing: the plan for %s is unavailable (%s)", day, error)
            return self.needed_now()
        # No history and nothing typed: no forecast, which is not "nobody needed".
        needed = day_plan.rows[slot].staffing.agents if day_plan.weeks_used else None
        self._now = (day, slot, needed)
        return needed

    async def follow(self, interval_s: float) -> None:
        """Keep ``needed_now`` current until cancelled (the wall screen reads it)."""
        while True:
            await self.refresh_now()
            await asyncio.sleep(interval_s)  # a period: the half hour is checked, not awaited


def _time() -> float:
    return datetime.now(UTC).timestamp()
