"""Staffing: the Erlang C planner over the stored calls, and the wall screen's "agents
needed now", recomputed in the background once per half hour."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from zoneinfo import ZoneInfo

from acd.staffing import StaffingPlanner, Target
from hotline.settings import Settings
from ticketing.store import TicketStore

# How often the current half hour is checked (a new one is computed once).
REFRESH_S = 60.0


def build_planner(
    settings: Settings, store: TicketStore, clock: Callable[[], float]
) -> StaffingPlanner:
    config = settings.staffing
    return StaffingPlanner(
        store.calls_between,
        ZoneInfo(settings.site.timezone),
        target=Target(config.service_level, config.answer_s, config.max_occupancy),
        weeks=config.weeks,
        default_aht_s=config.default_aht_s,
        wrap_up_s=settings.kpi.wrap_up_s,
        clock=clock,
    )


def start_needed_now(planner: StaffingPlanner) -> asyncio.Task[None]:
    return asyncio.create_task(planner.follow(REFRESH_S), name="staffing-needed-now")


async def stop_needed_now(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
