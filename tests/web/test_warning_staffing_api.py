"""The early-warning and staffing routes over a real store: list, accept (the incident is
made), dismiss (logged in the access log), refusals; the staffing plan, forecast and typed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient

from acd.staffing import StaffingPlanner, Target
from hotline.web.app import create_app
from tests.web.auth_helpers import bearer
from tests.web.fake_incidents import FakeIncidents
from tests.web.fake_live import FakeLive
from ticketing.store import TicketStore
from warning.areas import AreaMap
from warning.detector import Thresholds
from warning.service import EarlyWarning

Client = TestClient[Any, Any]
ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 3, 9, 10, tzinfo=ZONE).timestamp()


def service(incidents: FakeIncidents) -> EarlyWarning:
    return EarlyWarning(
        areas=AreaMap([("东区", ["1390"])]),
        thresholds=Thresholds(window_s=600, min_calls=3, ratio=2),
        publish=lambda topic, payload: None,
        create_incident=incidents.create,
        fetch_calls=None,
        zone=ZONE,
        clock=lambda: NOW,
    )


async def burst(warning: EarlyWarning, prefix: str = "1390") -> str:
    for n in range(3):
        await warning.observe(
            {
                "linkedid": f"{prefix}-{n}",
                "pbx": "pbx1",
                "caller_num": f"{prefix}000{n:04d}",
                "started_at": NOW - 60 + n,
                "ivr_choice": "1",
                "vars": {"HOTLINE_CATEGORY": "consultation"},
            }
        )
    return str(warning.list()[0]["id"])


async def test_accept_announces_and_dismiss_is_logged(
    aiohttp_client: Any, store: TicketStore
) -> None:
    incidents = FakeIncidents()
    warning = service(incidents)
    client: Client = await aiohttp_client(
        create_app(FakeLive(), dict, store=store, incidents=incidents, warning=warning)
    )
    boss = await bearer(store, "banzhang", "supervisor")
    agent = await bearer(store, "agent1", "agent")
    first = await burst(warning)
    listed = await (await client.get("/api/warnings", headers=boss)).json()
    assert [s["id"] for s in listed["suggestions"]] == [first]
    assert listed["rule"] == {"window_s": 600, "min_calls": 3, "ratio": 2, "baseline_weeks": 4}
    assert (await client.post(f"/api/warnings/{first}/accept", headers=agent)).status == 403

    answer = await client.post(f"/api/warnings/{first}/accept", headers=boss)
    assert answer.status == 201
    body = await answer.json()
    assert body["suggestion"]["status"] == "accepted"
    assert incidents.items[first]["prefixes"] == ["1390"]
    again = await client.post(f"/api/warnings/{first}/accept", headers=boss, json={})
    assert again.status == 409
    assert (await again.json())["error"]["id"] == "warning.decided"
    missing = await client.post("/api/warnings/nope/dismiss", headers=boss)
    assert missing.status == 404 and (await missing.json())["error"]["id"] == "warning.not_found"

    second = await burst(warning, "0571")  # another area (by its number prefix)
    bad = await client.post(f"/api/warnings/{second}/dismiss", headers=boss, json={"x": 1})
    assert bad.status == 400
    reason = {"reason": "计划检修，已有公告"}
    dismissed = await client.post(f"/api/warnings/{second}/dismiss", headers=boss, json=reason)
    assert dismissed.status == 200
    assert (await dismissed.json())["decided_by"] == "banzhang"
    log = {entry["action"]: entry for entry in await store.access_log(actor="banzhang")}
    assert log["warning.accept"]["target"] == f"warning:{first}"
    assert log["warning.dismiss"]["detail"]["reason"] == "计划检修，已有公告"


async def test_staffing_plan_forecast_and_typed(aiohttp_client: Any, store: TicketStore) -> None:
    nine = datetime(2026, 11, 26, 9, 5, tzinfo=ZONE).timestamp()
    history = [
        {"queue_entered_at": nine + n, "outcome": "answered", "talk_s": 180} for n in range(100)
    ]

    async def fetch(start: datetime, end: datetime) -> list[dict[str, Any]]:
        return [r for r in history if start.timestamp() <= r["queue_entered_at"] < end.timestamp()]

    planner = StaffingPlanner(fetch, ZONE, target=Target(0.8, 20), clock=lambda: NOW)
    await planner.refresh_now()
    client: Client = await aiohttp_client(
        create_app(FakeLive(), dict, store=store, staffing=planner)
    )
    viewer = await bearer(store, "auditor1", "auditor")
    got = await client.get("/api/staffing?date=2026-12-03", headers=viewer)
    assert got.status == 200
    plan = await got.json()
    assert plan["weeks_used"] == ["2026-11-26"] and plan["peak_agents"] == 14
    row = plan["slots"][18]
    assert (row["start"], row["calls"], row["aht_s"], row["agents"]) == ("09:00", 100, 180, 14)
    assert row["service_level"] > 0.8 and not row["typed"]
    typed = await client.post(
        "/api/staffing/plan",
        headers=viewer,
        json={"date": "2026-12-03", "calls": {"19": 200}, "service_level": 0.9, "answer_s": 15},
    )
    assert typed.status == 200
    slots = (await typed.json())["slots"]
    assert slots[19]["typed"] and slots[19]["calls"] == 200
    assert slots[19]["agents"] > slots[18]["agents"] >= 14
    for body, field in (
        ({"date": "2026-02-30"}, "date"),
        ({"date": "2026-12-03", "calls": {"48": 1}}, "calls"),
        ({"date": "2026-12-03", "calls": {"3": -1}}, "calls.3"),
        ({"date": "2026-12-03", "service_level": 1}, "service_level"),
        ({"date": "2026-12-03", "calls": {"3": 100_000}, "aht_s": 3600}, "calls"),
        ({"date": "2026-12-03", "what": 1}, "what"),
    ):
        refused = await client.post("/api/staffing/plan", headers=viewer, json=body)
        assert refused.status == 400, body
        assert (await refused.json())["error"]["field"] == field, body
    # The wall screen: logged in now against the need of this half hour.
    wall = await (await client.get("/api/wallboard", headers=viewer)).json()
    (tile,) = [t for t in wall["wall"]["tiles"] if t["name"] == "staffing"]
    assert tile["needed"] == 14 and tile["level"] == "red"
    assert date.fromisoformat(plan["date"]) == date(2026, 12, 3)
