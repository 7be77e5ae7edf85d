"""KPIs: today's live counters, primed from the store so a restart keeps today's figures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from acd.kpi import KpiParams, LiveKpi
from hotline.settings import Settings
from ticketing.store import TicketStore


def build_live_kpi(settings: Settings, clock: Callable[[], float]) -> LiveKpi:
    return LiveKpi(KpiParams.from_settings(settings.kpi), clock=clock)


def _today(kpi: LiveKpi, now: float) -> tuple[datetime, datetime]:
    zone = kpi.snapshot().params.zone()
    midnight = datetime.fromtimestamp(now, zone).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight, midnight + timedelta(days=1)


async def load_today(kpi: LiveKpi, store: TicketStore, now: float) -> None:
    """Restart continuity: today's stored calls and exclusion windows feed the live KPIs."""
    midnight, tomorrow = _today(kpi, now)
    kpi.set_exclusions(await store.exclusions_between(midnight, tomorrow))
    for record in await store.calls_between(midnight, tomorrow):
        kpi.add(record)


async def reload_exclusions(kpi: LiveKpi, store: TicketStore, now: Callable[[], float]) -> None:
    """A supervisor added or removed a window: today's live KPIs recount with the stored
    windows at once (the web calls this after each change), not at the next restart."""
    midnight, tomorrow = _today(kpi, now())
    kpi.set_exclusions(await store.exclusions_between(midnight, tomorrow))
