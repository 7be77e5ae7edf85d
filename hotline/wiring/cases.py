"""Cases: the deadline policy and working time the workflow runs on, and the chase
scheduler, from the settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from hotline.bus import Bus
from hotline.settings import Settings
from ticketing.store import TicketStore
from ticketing.workflow.chase_scheduler import ChaseScheduler
from ticketing.workflow.deadlines import CaseTimers, policy
from working_days import BusinessHours, WorkingCalendar, WorkingTime


def case_timers(settings: Settings, calendar: WorkingCalendar | None = None) -> CaseTimers:
    """The case deadlines of ``[cases]``: the preset, its per-category limits, the business
    hours in the site's time zone, on the shared Chinese working-day calendar."""
    cases = settings.cases
    hours = BusinessHours(cases.business_opens, cases.business_closes, settings.site.timezone)
    return CaseTimers(
        WorkingTime(calendar or WorkingCalendar(), hours),
        policy(cases.deadline_preset, cases.deadlines),
    )


def start_chaser(
    store: TicketStore, bus: Bus, settings: Settings, clock: Callable[[], float]
) -> ChaseScheduler:
    """The chase sweep every ``cases.chase_interval_s``, its notices on the bus (MQTT too)."""
    cases = settings.cases
    scheduler = ChaseScheduler(
        store,
        bus.publish,
        interval=cases.chase_interval_s,
        due_soon=timedelta(hours=cases.due_soon_hours),
        clock=lambda: datetime.fromtimestamp(clock(), UTC),
    )
    scheduler.start()
    return scheduler
