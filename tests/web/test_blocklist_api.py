"""The blocklist over HTTP: supervisors add and remove numbers (with reason and expiry),
auditors read the history with who did what, other roles are refused; every change is also
in the access log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hotline.web.app import create_app
from tests.web.auth_helpers import bearer
from tests.web.fake_live import FakeLive
from ticketing.store import TicketStore


async def test_supervisors_block_and_unblock_and_auditors_see_who(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client = await aiohttp_client(create_app(FakeLive(), dict, store=store))
    sup = await bearer(store, "sup", "supervisor")
    auditor = await bearer(store, "aud", "auditor")
    added = await client.post(
        "/api/blocklist",
        json={"number": "+86 138-0013-8009", "reason": "一天内骚扰来电40次", "days": 7},
        headers=sup,
    )
    assert added.status == 201
    entry = await added.json()
    assert entry["number"] == "13800138009" and entry["active"] is True
    assert entry["added_by"] == "sup"
    expires = datetime.fromisoformat(entry["expires_at"])
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)
    # Adding the same number again replaces the active entry (one per number).
    again = await client.post(
        "/api/blocklist",
        json={"number": "13800138009", "reason": "再次骚扰", "expires_at": "2027-01-05"},
        headers=sup,
    )
    assert again.status == 201
    listed = (await (await client.get("/api/blocklist", headers=sup)).json())["entries"]
    assert [e["reason"] for e in listed] == ["再次骚扰"]
    second = listed[0]["id"]
    removed = await client.post(
        f"/api/blocklist/{second}/remove", json={"reason": "误判"}, headers=sup
    )
    assert removed.status == 200 and (await removed.json())["active"] is False
    assert (await client.post(f"/api/blocklist/{second}/remove", headers=sup)).status == 404
    assert (await (await client.get("/api/blocklist", headers=sup)).json())["entries"] == []
    history = await client.get("/api/blocklist?history=1", headers=auditor)
    entries = (await history.json())["entries"]
    assert [(e["added_by"], e["removed_by"], e["remove_reason"]) for e in entries] == [
        ("sup", "sup", "误判"),
        ("sup", "sup", "replaced by a new entry"),
    ]
    assert {e["number"] for e in entries} == {"138****8009"}  # auditors: masked
    log = await store.access_log(actor="sup")
    actions = [e["action"] for e in log if e["action"].startswith("blocklist.")]
    assert actions == ["blocklist.remove", "blocklist.add", "blocklist.add"]
    assert all("13800138009" not in str(e["detail"]) for e in log)


async def test_bad_entries_are_refused_with_the_field(
    aiohttp_client: Any, store: TicketStore
) -> None:
    client = await aiohttp_client(create_app(FakeLive(), dict, store=store))
    sup = await bearer(store, "sup", "supervisor")
    good = {"number": "13800138009", "reason": "骚扰"}
    for body, field in (
        ({**good, "number": "12"}, "number"),
        ({**good, "number": "ab"}, "number"),
        ({**good, "reason": " "}, "reason"),
        ({**good, "days": 0}, "days"),
        ({**good, "days": 400}, "days"),
        ({**good, "days": True}, "days"),
        ({**good, "expires_at": "2020-01-01"}, "expires_at"),
        ({**good, "expires_at": "2099-01-01"}, "expires_at"),
        ({**good, "colour": "red"}, "colour"),
    ):
        response = await client.post("/api/blocklist", json=body, headers=sup)
        assert response.status == 400, body
        assert (await response.json())["error"]["field"] == field, body
    bad_id = await client.post("/api/blocklist/abc/remove", headers=sup)
    assert bad_id.status == 400


async def test_only_supervisors_change_it(aiohttp_client: Any, store: TicketStore) -> None:
    client = await aiohttp_client(create_app(FakeLive(), dict, store=store))
    body = {"number": "13800138009", "reason": "骚扰"}
    assert (await client.post("/api/blocklist", json=body)).status == 401
    for role in ("agent", "qa", "auditor", "unit", "reviewer", "wallboard"):
        headers = await bearer(store, f"x-{role}", role)
        assert (await client.post("/api/blocklist", json=body, headers=headers)).status == 403
    for role in ("agent", "qa", "unit"):
        headers = await bearer(store, f"y-{role}", role)
        assert (await client.get("/api/blocklist", headers=headers)).status == 403
        assert (await client.get("/blocklist", headers=headers)).status == 403
