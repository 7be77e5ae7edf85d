"""Early warning across a restart or a hand-over to the standby instance, over a real
database (SQLite and PostgreSQL): the suggestions are kept, an accept after the restart
announces once however many clicks and instances try, and a burst going on while the
service restarts is still seen — and suggested once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from events.topics import WARNING_ACCEPTED, WARNING_SUGGESTED
from ivr.incidents import Incident
from tests.ticketing.conftest import make_record
from ticketing.store import TicketStore
from ticketing.warning_store import WarningStore
from warning.areas import AreaMap
from warning.detector import Thresholds
from warning.service import EarlyWarning, StoreUnavailable, WarningError

ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 12, 3, 10, 0, tzinfo=ZONE).timestamp()
AREAS = AreaMap([("东区", ["1390"]), ("老城", ["0571861"])])
RULE = Thresholds(window_s=600, min_calls=6, ratio=3.0)


class Site:
    """One database and the early-warning services started over it, each with its own
    connection pool as a restarted process or the standby instance has."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.now = START
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.incidents: list[dict[str, Any]] = []
        self.stores: list[TicketStore] = []
        self.serial = 0

    async def service(self) -> EarlyWarning:
        store = await TicketStore.open(self.db_url)
        self.stores.append(store)
        service = EarlyWarning(
            areas=AREAS,
            thresholds=RULE,
            publish=lambda topic, payload: self.events.append((topic, payload)),
            create_incident=self.create,
            fetch_calls=store.calls_between,
            zone=ZONE,
            clock=lambda: self.now,
            cooldown_s=3600,
            store=WarningStore(store.engine),
        )
        await service.start()
        return service

    async def create(self, data: dict[str, Any]) -> dict[str, Any]:
        incident = Incident.from_json(data)  # what the incident desk checks first
        self.incidents.append(data)
        return incident.to_json()

    async def calls(self, service: EarlyWarning | None, prefix: str, count: int) -> None:
        """``count`` callers of ``prefix`` pressing 2 (help), 20 s apart: each is stored (the
        writer) as it ends and, with a service running, seen by it as its call.ended."""
        for _ in range(count):
            self.serial += 1
            self.now += 20
            record = make_record(
                linkedid=f"{self.now:.0f}.{self.serial}",
                caller_num=f"{prefix}{self.serial:0{11 - len(prefix)}d}",
                ivr_choice="21",
                vars={"HOTLINE_CATEGORY": "help", "HOTLINE_CHOICE": "21"},
                # Started a minute ago, ended 10 s ago: call.ended comes now.
                queue_entered_at=self.now - 60 + 4.25,
            )
            await self.stores[0].save_calls([record])
            if service is not None:
                await service.observe(record)

    def suggested(self) -> list[str]:
        return [payload["id"] for topic, payload in self.events if topic == WARNING_SUGGESTED]

    async def close(self) -> None:
        for store in self.stores:
            await store.close()


@pytest.fixture
async def site(db_url: str) -> AsyncIterator[Site]:
    opened = Site(db_url)
    try:
        yield opened
    finally:
        await opened.close()


async def test_a_restarted_service_shows_its_suggestions_and_accepts_once(site: Site) -> None:
    first = await site.service()
    await site.calls(first, "1390", 6)
    await site.calls(first, "0571861", 6)
    east, old_town = (s["id"] for s in sorted(first.list(), key=lambda s: s["area"] != "东区"))
    await first.dismiss(old_town, "banzhang", "计划停水")
    shown = first.list()
    assert [(s["area"], s["status"]) for s in shown] == [("东区", "open"), ("老城", "dismissed")]

    # A restart and the standby taking over: both show what the console showed.
    site.now += 60
    restarted, standby = await site.service(), await site.service()
    assert restarted.list() == shown and standby.list() == shown

    # Two clicks, on the two instances at once: one announcement.
    results = await asyncio.gather(
        restarted.accept(east, "banzhang"), standby.accept(east, "zuzhang"), return_exceptions=True
    )
    (winner,) = [r for r in results if isinstance(r, tuple)]
    (refused,) = [r for r in results if isinstance(r, Exception)]
    assert isinstance(refused, WarningError) and "accepted already" in str(refused)
    accepted, incident = winner
    assert len(site.incidents) == 1 and accepted["incident_id"] == incident["id"]
    assert [t for t, _ in site.events].count(WARNING_ACCEPTED) == 1
    # The refused instance now shows the decision the other one made.
    for service in (restarted, standby):
        (mine,) = [s for s in service.list() if s["id"] == east]
        assert (mine["status"], mine["decided_by"]) == ("accepted", accepted["decided_by"])

    # Once more after the next restart: the decided history, and no second accept.
    again = await site.service()
    assert [(s["id"], s["status"], s["incident_id"]) for s in again.list()] == [
        (old_town, "dismissed", None),  # newest first
        (east, "accepted", incident["id"]),
    ]
    with pytest.raises(WarningError, match="accepted already"):
        await again.accept(east, "banzhang")
    # A dismissed area stays quiet for its cooldown across the restart.
    await site.calls(again, "0571861", 8)
    assert len(again.list()) == 2 and len(site.suggested()) == 2


async def test_a_burst_straddling_a_restart_is_suggested_once(site: Site) -> None:
    before = await site.service()
    await site.calls(before, "1390", 4)  # under min_calls when the service stops
    await site.calls(None, "1390", 1)  # stored while no service ran (the hand-over)
    assert before.list() == []

    # The restarted service has the stored calls of the window: one more live call trips it.
    after = await site.service()
    assert after.list() == []
    await site.calls(after, "1390", 1)
    (suggestion,) = after.list()
    assert suggestion["calls"] == 6 and site.suggested() == [suggestion["id"]]
    assert datetime.fromisoformat(suggestion["first_call_at"]).timestamp() == START + 20 - 60

    # Restarted again while the burst goes on: the open suggestion grows, none is added.
    later = await site.service()
    await site.calls(later, "1390", 3)
    (grown,) = later.list()
    assert grown["id"] == suggestion["id"] and grown["calls"] == 9
    assert site.suggested() == [suggestion["id"]]

    # Its growth was written too: restarted once the window has moved past the burst (the
    # stored calls give nothing to count again), the console shows what it showed.
    await later.stop()
    site.now += RULE.window_s + 60
    assert (await site.service()).list() == [grown]


async def test_calls_of_the_window_that_trip_the_rule_are_suggested_at_start(
    site: Site,
) -> None:
    # The burst's calls were stored while no service ran (the standby not yet active).
    await site.service()
    await site.calls(None, "1390", 7)
    started = await site.service()
    (suggestion,) = started.list()
    assert suggestion["area"] == "东区" and suggestion["calls"] == 7
    assert site.suggested() == [suggestion["id"]]


class BrokenStore:
    """A store whose database is down."""

    async def add(self, data: Any) -> None:
        raise OSError("database down")

    async def decide(self, data: Any) -> dict[str, Any] | None:
        raise OSError("database down")

    async def save(self, data: Any) -> None:
        raise OSError("database down")

    async def grow(self, data: Any) -> None:
        raise OSError("database down")

    async def load(self, decided: int) -> list[dict[str, Any]]:
        raise OSError("database down")


async def test_a_store_down_loses_no_suggestion_and_decides_nothing(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="warning.service")
    service = await site.service()
    service._store = BrokenStore()
    await service._load()  # logged; the service runs on
    await site.calls(service, "1390", 8)
    await service.stop()  # its growth: not stored either, logged
    (suggestion,) = service.list()
    assert site.suggested() == [suggestion["id"]]  # on the bus though not stored
    with pytest.raises(StoreUnavailable):
        await service.accept(suggestion["id"], "banzhang")
    assert service.list()[0]["status"] == "open" and site.incidents == []
    assert "not stored yet" in caplog.text and "decision not stored" in caplog.text
    assert "its growth not stored" in caplog.text
