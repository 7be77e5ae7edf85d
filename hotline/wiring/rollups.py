"""Report rollups: the refresher that keeps them built, with the KPI thresholds of the
settings (the call counts depend on them)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from acd.kpi import KpiParams
from hotline.reports.build import thresholds
from hotline.settings import Settings
from ticketing.reports import Thresholds
from ticketing.rollup.refresher import RollupRefresher
from ticketing.store import TicketStore


def report_thresholds(settings: Settings) -> Thresholds:
    """The thresholds the reports count calls with (answered within, short abandons)."""
    return thresholds(KpiParams.from_settings(settings.kpi, timezone=settings.site.timezone))


def start_refresher(
    store: TicketStore, settings: Settings, clock: Callable[[], float]
) -> RollupRefresher | None:
    """The refresh pass every ``reports.rollup_interval_s`` on the service's clock; None when
    the setting is 0 (reports read raw rows where nothing is built)."""
    interval = settings.reports.rollup_interval_s
    if interval == 0:
        return None
    refresher = RollupRefresher(
        store.engine,
        report_thresholds(settings),
        interval=interval,
        clock=lambda: datetime.fromtimestamp(clock(), UTC),
    )
    refresher.start()
    return refresher
