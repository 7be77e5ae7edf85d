"""QA over HTTP: the scorecard, a seeded spot-check sample per agent, scoring item by item
with comments, the monthly 100-point score, and agents reading only their own scores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hotline.settings import QaSettings
from hotline.web.app import create_app
from tests.web.auth_helpers import bearer
from tests.web.fake_live import FakeLive
from tests.web.recording_helpers import Recorded, recorded_store
from ticketing.store import TicketStore

MONTH = "month=2026-11"


def full_marks(**taken: tuple[int, str | None]) -> list[dict[str, Any]]:
    """Every default scorecard item at full points, except ``taken`` (points, comment)."""
    items = []
    for item in QaSettings().scorecard:
        points, comment = taken.get(item.id, (item.points, None))
        entry: dict[str, Any] = {"id": item.id, "points": points}
        if comment is not None:
            entry["comment"] = comment
        items.append(entry)
    return items


async def _client(aiohttp_client: Any, store: TicketStore, rec: Recorded) -> Any:
    return await aiohttp_client(create_app(FakeLive(), dict, store=store, settings=rec.settings))


async def test_the_sample_is_per_agent_and_reproducible(
    aiohttp_client: Any, store: TicketStore, tmp_path: Path
) -> None:
    rec = await recorded_store(store, tmp_path)
    client = await _client(aiohttp_client, store, rec)
    qa = rec.headers["qa1"]
    first = await client.get(f"/api/qa/sample?{MONTH}&per_agent=2", headers=qa)
    assert first.status == 200
    calls = (await first.json())["calls"]
    by_agent: dict[str, list[int]] = {}
    for call in calls:
        by_agent.setdefault(call["agent"], []).append(call["call_id"])
        assert call["audio_url"] == f"/api/recordings/calls/{call['call_id']}/audio"
    # wang took one recorded call, li five: at most two each, named by their usernames.
    assert by_agent["wang"] == [rec.wang_call]
    assert len(by_agent["li"]) == 2
    li_calls = {rec.li_call, rec.outside_call, rec.dotdot_call, rec.link_call, rec.gone_call}
    assert set(by_agent["li"]) <= li_calls
    # The same seed, agent and month draw the same calls, in another app instance too.
    other = await _client(aiohttp_client, store, rec)
    again = await other.get(f"/api/qa/sample?{MONTH}&per_agent=2", headers=qa)
    assert (await again.json())["calls"] == calls
    # Another month has nothing; a bad month is refused.
    empty = await client.get("/api/qa/sample?month=2026-10", headers=qa)
    assert (await empty.json())["calls"] == []
    bad = await client.get("/api/qa/sample?month=2026-13", headers=qa)
    assert bad.status == 400 and (await bad.json())["error"]["field"] == "month"


async def test_scoring_item_by_item_and_the_monthly_score(
    aiohttp_client: Any, store: TicketStore, tmp_path: Path
) -> None:
    rec = await recorded_store(store, tmp_path)
    client = await _client(aiohttp_client, store, rec)
    qa = rec.headers["qa1"]
    card = await (await client.get("/api/qa/scorecard", headers=qa)).json()
    assert sum(item["points"] for item in card["items"]) == 100
    assert "不知道" in next(i for i in card["items"] if i["id"] == "dont_know")["phrases"]

    scored = await client.post(
        "/api/qa/scores",
        json={
            "call_id": rec.li_call,
            "items": full_marks(dont_know=(0, "说了两次“不知道”"), accuracy=(25, "政策解释不全")),
            "comment": "整体尚可",
        },
        headers=qa,
    )
    assert scored.status == 201, await scored.text()
    body = await scored.json()
    assert body["total"] == 85 and body["agent"] == "li" and body["reviewer"] == "qa1"
    dont_know = next(item for item in body["items"] if item["id"] == "dont_know")
    assert (dont_know["awarded"], dont_know["comment"]) == (0, "说了两次“不知道”")
    second = await client.post(
        "/api/qa/scores",
        json={"call_id": rec.outside_call, "items": full_marks()},
        headers=rec.headers["sup"],
    )
    assert second.status == 201 and (await second.json())["total"] == 100
    again = await client.post(
        "/api/qa/scores", json={"call_id": rec.li_call, "items": full_marks()}, headers=qa
    )
    assert again.status == 409 and (await again.json())["error"]["id"] == "qa.scored"

    monthly = await (await client.get(f"/api/qa/monthly?{MONTH}", headers=qa)).json()
    assert monthly["agents"] == [
        {"agent": "li", "calls": 2, "score": 92.5, "marked_down": {"accuracy": 1, "dont_know": 1}}
    ]
    scores = await (await client.get(f"/api/qa/scores?{MONTH}&agent=li", headers=qa)).json()
    assert [s["call_id"] for s in scores["scores"]] == [rec.outside_call, rec.li_call]
    sample = await (await client.get(f"/api/qa/sample?{MONTH}&per_agent=5", headers=qa)).json()
    marked = {c["call_id"]: c["score"] for c in sample["calls"] if c["scored"]}
    assert marked == {rec.li_call: 85, rec.outside_call: 100}
    audit = [e for e in await store.access_log() if e["action"] == "qa.score"]
    assert {e["target"] for e in audit} == {f"call:{rec.li_call}", f"call:{rec.outside_call}"}


async def test_scores_that_do_not_fit_the_scorecard_are_refused(
    aiohttp_client: Any, store: TicketStore, tmp_path: Path
) -> None:
    rec = await recorded_store(store, tmp_path)
    client = await _client(aiohttp_client, store, rec)
    qa = rec.headers["qa1"]
    cases: list[tuple[dict[str, Any], str, int]] = [
        ({"items": full_marks()[1:]}, "not scored: greeting", 400),
        ({"items": [*full_marks(), {"id": "greeting", "points": 1}]}, "twice", 400),
        ({"items": [*full_marks(), {"id": "smile", "points": 1}]}, "no scorecard item", 400),
        ({"items": full_marks(talk_over=(3, "抢话"))}, "0 or 5", 400),
        ({"items": full_marks(accuracy=(31, None))}, "0 to 30", 400),
        ({"items": full_marks(accuracy=(20, None))}, "say why", 400),
        ({"items": full_marks(accuracy=(20, " "))}, "say why", 400),
        ({"items": full_marks(attitude=(True, None))}, "integer", 400),  # type: ignore[arg-type]
        ({"items": "all good"}, "list", 400),
        ({"items": full_marks(), "call_id": 99999}, "no such call", 404),
        ({"items": full_marks(), "call_id": "1"}, "call id", 400),
        ({"items": full_marks(), "grade": "A"}, "unknown field", 400),
    ]
    for extra, message, status in cases:
        body = {"call_id": rec.li_call, **extra}
        response = await client.post("/api/qa/scores", json=body, headers=qa)
        assert response.status == status, (extra, await response.text())
        assert message in (await response.json())["error"]["message"], extra
    assert [e for e in await store.access_log(actor="qa1") if e["action"] == "qa.score"] == []


async def test_agents_see_their_own_scores_only(
    aiohttp_client: Any, store: TicketStore, tmp_path: Path
) -> None:
    rec = await recorded_store(store, tmp_path)
    client = await _client(aiohttp_client, store, rec)
    qa = rec.headers["qa1"]
    await client.post(
        "/api/qa/scores",
        json={"call_id": rec.li_call, "items": full_marks(talk_over=(0, "两次打断来电人"))},
        headers=qa,
    )
    mine = await (await client.get(f"/api/qa/mine?{MONTH}", headers=rec.headers["li"])).json()
    assert mine["agent"] == "li" and mine["score"]["score"] == 95.0
    assert [s["call_id"] for s in mine["scores"]] == [rec.li_call]
    assert mine["scores"][0]["audio_url"] is None  # recordings.agents_hear_own is off
    wang = await (await client.get(f"/api/qa/mine?{MONTH}", headers=rec.headers["wang"])).json()
    assert wang["scores"] == [] and wang["score"] is None
    for path in (f"/api/qa/scores?{MONTH}", f"/api/qa/monthly?{MONTH}", f"/api/qa/sample?{MONTH}"):
        assert (await client.get(path, headers=rec.headers["wang"])).status == 403, path
    refused = await client.post(
        "/api/qa/scores", json={"call_id": rec.wang_call, "items": full_marks()},
        headers=rec.headers["wang"],
    )  # fmt: skip
    assert refused.status == 403
    assert (await client.get("/api/qa/mine", headers=qa)).status == 403
    for role in ("admin", "auditor", "unit"):
        headers = await bearer(store, f"z-{role}", role)
        assert (await client.get("/api/qa/scorecard", headers=headers)).status == 403, role
