"""Early warning: the burst watcher on the call events, its suggestions on the bus (hence
MQTT), the stored calls as its baseline and its last window, the incident desk as its
one-click announcement and the database as where its suggestions outlive a restart."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from hotline.bus import Bus
from hotline.incident_desk import IncidentDesk
from hotline.settings import Settings
from ticketing.store import TicketStore
from ticketing.warning_store import WarningStore
from warning.areas import AreaMap
from warning.detector import Thresholds
from warning.service import EarlyWarning


async def start_warning(
    settings: Settings,
    bus: Bus,
    store: TicketStore | None,
    incidents: IncidentDesk | None,
    clock: Callable[[], float],
) -> EarlyWarning | None:
    config = settings.warning
    if not config.enabled:
        return None
    service = EarlyWarning(
        areas=AreaMap(
            [(area.name, area.prefixes) for area in config.areas],
            prefix_digits=config.prefix_digits,
        ),
        thresholds=Thresholds(config.window_minutes * 60, config.min_calls, config.ratio),
        publish=bus.publish,
        create_incident=incidents.create if incidents is not None else None,
        fetch_calls=store.calls_between if store is not None else None,
        zone=ZoneInfo(settings.site.timezone),
        clock=clock,
        baseline_weeks=config.baseline_weeks,
        cooldown_s=config.cooldown_minutes * 60,
        store=WarningStore(store.engine) if store is not None else None,
    )
    # Before the subscription: the kept suggestions and the last window come first.
    await service.start()
    service.subscribe(bus)
    return service
