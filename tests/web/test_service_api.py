"""The JSON service API: incidents, KPI exclusion windows, KPI figures, the access log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient

from acd.kpi import KpiParams, compute
from hotline.settings import Settings
from hotline.web.app import create_app
from tests.captures import capture_names, load_expected
from tests.web.auth_helpers import bearer
from tests.web.fake_incidents import FakeIncidents, incident_body
from tests.web.fake_live import FakeLive
from ticketing.store import TicketStore

Client = TestClient[Any, Any]


def healthy() -> dict[str, Any]:
    return {"ami": {"ok": True}}


async def _client(
    aiohttp_client: Any, store: TicketStore, incidents: FakeIncidents | None = None
) -> Client:
    app = create_app(FakeLive(), healthy, store=store, incidents=incidents, settings=Settings())
    client: Client = await aiohttp_client(app)
    return client


async def test_incidents_are_created_listed_and_ended(
    aiohttp_client: Any, store: TicketStore
) -> None:
    incidents = FakeIncidents()
    client = await _client(aiohttp_client, store, incidents)
    sup = await bearer(store, "sup", "supervisor")
    created = await client.post("/api/incidents", json=incident_body("w1"), headers=sup)
    assert created.status == 201
    assert (await created.json())["prefixes"] == ["025"]
    listed = await (await client.get("/api/incidents", headers=sup)).json()
    assert [i["id"] for i in listed["incidents"]] == ["w1"]
    ended = await client.post("/api/incidents/w1/end", headers=sup)
    assert ended.status == 200 and incidents.items["w1"]["status"] == "ended"
    again = await client.post("/api/incidents/w1/end", headers=sup)
    assert again.status == 404 and (await again.json())["error"]["field"] == "id"
    actions = [(e["action"], e["target"]) for e in reversed(await store.access_log(actor="sup"))]
    assert actions == [("incident.create", "incident:w1"), ("incident.end", "incident:w1")]


async def test_invalid_incidents_get_400_naming_the_field(
    aiohttp_client: Any, store: TicketStore
) -> None:
    incidents = FakeIncidents()
    client = await _client(aiohttp_client, store, incidents)
    sup = await bearer(store, "sup", "supervisor")
    cases: list[tuple[Any, list[str]]] = [
        ({k: v for k, v in incident_body("a").items() if k != "title"}, ["title"]),
        (incident_body("b", start="2026-11-25T08:00:00"), ["start"]),
        (incident_body("c", prefixes=["02a"]), ["prefixes"]),
        (incident_body("d", colour="red"), ["body"]),
        (["not", "an", "object"], ["body"]),
    ]
    for body, fields in cases:
        response = await client.post("/api/incidents", json=body, headers=sup)
        assert response.status == 400, body
        error = (await response.json())["error"]
        kind = "input.body" if not isinstance(body, dict) else "incident.invalid"
        assert (error["id"], error["field"]) == (kind, fields[0]), error
        assert error["message"]
    broken = await client.post(
        "/api/incidents", data=b"{not json", headers={**sup, "Content-Type": "application/json"}
    )
    assert broken.status == 400 and (await broken.json())["error"]["field"] == "body"
    assert incidents.items == {}


async def test_incident_routes_answer_503_without_a_sink(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client = await _client(aiohttp_client, store, incidents=None)
    sup = await bearer(store, "sup", "supervisor")
    assert (await client.get("/api/incidents", headers=sup)).status == 503
    response = await client.post("/api/incidents", json=incident_body("x"), headers=sup)
    assert response.status == 503


async def test_exclusion_windows_are_added_and_listed(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client = await _client(aiohttp_client, store)
    sup = await bearer(store, "sup", "supervisor")
    window = {"start": "2026-11-25T09:00:00+08:00", "end": "2026-11-25T10:00:00+08:00",
              "reason": "中继故障 trunk failure"}  # fmt: skip
    added = await client.post("/api/kpi/exclusions", json=window, headers=sup)
    assert added.status == 201
    stored = await store.exclusions_between(
        datetime(2026, 11, 25, tzinfo=UTC), datetime(2026, 11, 26, tzinfo=UTC)
    )
    assert [(s.isoformat(), e.isoformat(), r) for s, e, r in stored] == [
        ("2026-11-25T01:00:00+00:00", "2026-11-25T02:00:00+00:00", "中继故障 trunk failure")
    ]
    listed = await client.get("/api/kpi/exclusions?from=2026-11-25&to=2026-11-25", headers=sup)
    windows = (await listed.json())["exclusions"]
    assert [w["reason"] for w in windows] == ["中继故障 trunk failure"]
    log = (await store.access_log(actor="sup"))[0]
    assert log["action"] == "kpi.exclusion.add" and log["detail"]["reason"] == window["reason"]


async def test_bad_exclusion_windows_get_400_naming_the_field(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client = await _client(aiohttp_client, store)
    sup = await bearer(store, "sup", "supervisor")
    good = {"start": "2026-11-25T09:00:00+08:00", "end": "2026-11-25T10:00:00+08:00",
            "reason": "drill"}  # fmt: skip
    cases = [
        ({**good, "start": "2026-11-25T09:00:00"}, "start"),
        ({**good, "start": "yesterday"}, "start"),
        ({**good, "end": "2026-11-25T08:00:00+08:00"}, "end"),
        ({k: v for k, v in good.items() if k != "end"}, "end"),
        ({**good, "reason": "  "}, "reason"),
        ({**good, "by": "me"}, "by"),
    ]
    for body, field in cases:
        response = await client.post("/api/kpi/exclusions", json=body, headers=sup)
        assert response.status == 400, body
        assert (await response.json())["error"]["field"] == field, body
    query = await client.get("/api/kpi/exclusions?from=2026-13-01&to=2026-11-25", headers=sup)
    assert query.status == 400 and (await query.json())["error"]["field"] == "from"
    assert (
        await store.exclusions_between(
            datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
        )
        == []
    )


async def test_kpi_report_is_the_engine_over_the_stored_calls(
    aiohttp_client: Any, store: TicketStore
) -> None:
    records = [record for name in capture_names() for record in load_expected(name)]
    await store.save_calls(records)
    client = await _client(aiohttp_client, store)
    auditor = await bearer(store, "audit", "auditor")
    response = await client.get("/api/kpi?from=2026-11-01&to=2026-11-30", headers=auditor)
    assert response.status == 200, await response.text()
    body = await response.json()
    want = compute(records, KpiParams.from_settings(Settings().kpi)).to_json()
    assert body["totals"]["offered"]["value"] == want["totals"]["offered"]["value"]
    assert body["totals"]["answered"]["value"] == want["totals"]["answered"]["value"]
    assert body["totals"]["offered"]["value"] > 0
    assert body["from"] == "2026-11-01T00:00:00+08:00"
    assert body["to"] == "2026-12-01T00:00:00+08:00"
    # The captures were made on one Asterisk: stored as pbx1's calls, split per PBX on demand.
    assert body["pbx"] is None and list(body["by_pbx"]) == ["pbx1"]
    assert body["by_pbx"]["pbx1"]["offered"]["value"] == want["totals"]["offered"]["value"]
    one = await client.get("/api/kpi?from=2026-11-01&to=2026-11-30&pbx=pbx1", headers=auditor)
    assert (await one.json())["totals"]["offered"] == body["totals"]["offered"]
    other = await client.get("/api/kpi?from=2026-11-01&to=2026-11-30&pbx=pbx9", headers=auditor)
    assert (await other.json())["totals"]["offered"]["value"] == 0
    # A span that holds none of the calls holds none of their figures.
    empty = await client.get("/api/kpi?from=2026-10-01&to=2026-10-31", headers=auditor)
    assert (await empty.json())["totals"]["offered"]["value"] == 0
    for query, field in (("from=2026-11-25", "to"), ("from=2020-01-01&to=2026-11-25", "to"),
                         ("from=2026-11-26&to=2026-11-24", "to")):  # fmt: skip
        bad = await client.get(f"/api/kpi?{query}", headers=auditor)
        assert bad.status == 400 and (await bad.json())["error"]["field"] == field, query


async def test_access_log_for_auditors(aiohttp_client: Any, store: TicketStore) -> None:
    client = await _client(aiohttp_client, store)
    auditor = await bearer(store, "audit", "auditor")
    await store.log_access("wang", "supervisor", "login", "/login", None, "10.0.0.5")
    response = await client.get("/api/access-log?actor=wang", headers=auditor)
    entries = (await response.json())["entries"]
    assert [(e["actor"], e["action"], e["remote"]) for e in entries] == [
        ("wang", "login", "10.0.0.5")
    ]
    bad = await client.get("/api/access-log?limit=0", headers=auditor)
    assert bad.status == 400 and (await bad.json())["error"]["field"] == "limit"
    # The auditor's reading is recorded too.
    assert (await store.access_log(actor="audit"))[0]["action"] == "access_log.read"


async def test_a_supervisor_creates_a_kiosk_link_that_works(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client = await _client(aiohttp_client, store)
    sup = await bearer(store, "sup", "supervisor")
    created = await client.post("/api/kiosks", json={"name": "大厅 hall"}, headers=sup)
    assert created.status == 201
    body = await created.json()
    assert body["url"].endswith(f"/kiosk?token={body['token']}")
    screen = client  # the bearer header was per request: this client holds no session yet
    opened = await screen.get(f"/kiosk?token={body['token']}", allow_redirects=False)
    assert opened.status == 303
    session = await (await screen.get("/api/session")).json()
    assert session["username"] == body["username"] and session["role"] == "wallboard"
    user = await store.get_user(body["username"])
    assert user is not None and body["token"].rpartition(".")[2] not in user["password_hash"]
