"""KPIs: today's live counters, primed from the store so a restart keeps today's figures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from acd.kpi import KpiParams, LiveKpi
from hotline.settings import Settings
from ticketing.store import TicketStore


def build_live_kpi(settings: Settings, clock: Callable[[], float]) -> LiveKpi:
    return LiveKpi(KpiParams.from_settings(settings.kpi), clock=clock)


async def load_today(kpi: LiveKpi, store: TicketStore, now: float) -> None:
    """Restart continuity: today's stored calls and exclusion windows feed the live KPIs."""
    zone = kpi.snapshot().params.zone()
    midnight = datetime.fromtimestamp(now, zone).replace(hour=0, minute=0, second=0, microsecond=0)
    tomorrow = midnight + timedelta(days=1)
    kpi.set_exclusions(await store.exclusions_between(midnight, tomorrow))
    for record in await store.calls_between(midnight, tomorrow):
        kpi.add(record)
