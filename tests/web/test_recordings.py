"""Recordings over HTTP: the call search, audited playback with Range requests, and every way
of reaching a file that must fail (other roles, another agent's call, guessed file names,
path traversal in the URL and in the stored path, symlinks out of the directory)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from yarl import URL

from hotline.web.app import create_app
from tests.web.auth_helpers import bearer
from tests.web.fake_live import FakeLive
from tests.web.recording_helpers import LI_CALLER, WANG_CALLER, Recorded, recorded_store
from ticketing.store import TicketStore

Client = TestClient[Any, Any]
SEARCH = "/api/recordings?from=2026-11-25&to=2026-11-25"


async def _client(aiohttp_client: Any, store: TicketStore, rec: Recorded) -> Client:
    app = create_app(FakeLive(), dict, store=store, settings=rec.settings)
    return await aiohttp_client(app)


async def _log(store: TicketStore, action: str) -> list[dict[str, Any]]:
    return [entry for entry in await store.access_log() if entry["action"] == action]


async def test_supervisors_and_qa_search_calls_by_every_filter(
    aiohttp_client: Any, store: TicketStore, tmp_path: Path
) -> None:
    rec = await recorded_store(store, tmp_path)
    client = await _client(aiohttp_client, store, rec)
    for user in ("sup", "qa1"):
        headers = await bearer(store, f"{user}-token", "supervisor" if user == "sup" else "qa")
        response = await client.get(SEARCH, headers=headers)
        assert response.status == 200
        body = await response.json()
        assert len(body["calls"]) == 6 and body["truncated"] is False
        text = await response.text()
        # File paths never shown: a recording is reached by its call's id. Supervisors see
        # the number (they may call back), QA staff masked (hotline.web.caller_mask).
        if user == "sup":
            assert WANG_CALLER in text
        else:
            assert WANG_CALLER not in text and "138****5678" in text
        assert "monitor" not in text and "passwd" not in text and ".wav" not in text
        wang = next(call for call in body["calls"] if call["id"] == rec.wang_call)
        assert wang["audio_url"] == f"/api/recordings/calls/{rec.wang_call}/audio"
        assert wang["ticket"] is not None and wang["ticket"].startswith("12345-")
    sup = await bearer(store, "sup2", "supervisor")

    async def ids(query: str) -> set[int]:
        response = await client.get(SEARCH + query, headers=sup)
        assert response.status == 200, await response.text()
        return {call["id"] for call in (await response.json())["calls"]}

    assert await ids("&agent=wang") == {rec.wang_call}  # by username
    assert await ids("&agent=王芳") == {rec.wang_call}  # by the agent's name
    assert await ids("&queue=hotline-complaint") == {rec.li_call}
    assert await ids(f"&number={LI_CALLER[-4:]}") == {rec.li_call}
    assert await ids("&min_talk_s=30") == {rec.wang_call}
    assert await ids("&max_talk_s=15") == {rec.outside_call, rec.dotdot_call, rec.link_call,
                                            rec.gone_call}  # fmt: skip
    assert await ids("&outcome=abandoned") == set()
    assert await ids("&blocked=1") == {rec.gone_call}  # a blocklisted nuisance caller
    blocked = await client.get(SEARCH + "&blocked=1", headers=sup)
    assert (await blocked.json())["calls"][0]["blocked"] == "17"
    assert (await ids("&limit=2")).__len__() == 2
    none = await client.get("/api/recordings?from=2026-11-26&to=2026-11-26", headers=sup)
    assert (await none.json())["calls"] == []
    wang_ticket = (await (await client.get(SEARCH + "&agent=wang", headers=sup)).json())["calls"]
    assert await ids(f"&ticket={wang_ticket[0]['ticket']}") == {rec.wang_call}
    for bad, field in (("&outcome=lost", "outcome"), ("&min_talk_s=-1", "min_talk_s"),
                       ("&limit=0", "limit")):  # fmt: skip
        response = await client.get(SEARCH + bad, headers=sup)
        assert response.status == 400 and (await response.json())["error"]["field"] == field
    assert (await client.get("/api/recordings?from=x&to=y", headers=sup)).status == 400
    assert await _log(store, "recording.search")


async def test_other_roles_cannot_search_or_open_the_console(
    aiohttp_client: Any, store: TicketStore, tmp_path: Path
) -> None:
    rec = await recorded_store(store, tmp_path)
    client = await _client(aiohttp_client, store, rec)
    assert (await client.get(SEARCH)).status == 401
    for role in ("agent", "admin", "auditor", "unit", "reviewer", "wallboard"):
        headers = await bearer(store, f"x-{role}", role)
        assert (await client.get(SEARCH, headers=headers)).status == 403, role
        assert (await client.get("/recordings", headers=headers)).status == 403, role
        audio = await client.get(f"/api/recordings/calls/{rec.wang_call}/audio", headers=headers)
        # Other roles are refused by the route table (403 for every id); an agent, who may
        # reach the route, hears of a call it may not play what it would of a missing one.
        assert audio.status == (404 if role == "agent" else 403), role
        assert b"RIFF" not in await audio.read(), role
    page = await client.get("/recordings", headers=await bearer(store, "sup-page", "supervisor"))
    assert page.status == 200 and "console_recordings.js" in await page.text()


async def test_playback_answers_ranges_and_every_fetch_is_logged(
    aiohttp_client: Any, store: TicketStore, tmp_path: Path
) -> None:
    rec = await recorded_store(store, tmp_path)
    client = await _client(aiohttp_client, store, rec)
    sup = await bearer(store, "sup-token", "supervisor")
    url = f"/api/recordings/calls/{rec.wang_call}/audio"
    size = rec.wang_file.stat().st_size
    whole = await client.get(url, headers=sup)
    assert whole.status == 200
    assert whole.headers["Content-Type"] == "audio/wav"
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert "no-store" in whole.headers["Cache-Control"]
    assert await whole.read() == rec.wang_file.read_bytes()
    part = await client.get(url, headers={**sup, "Range": "bytes=1000-1999"})
    assert part.status == 206
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{size}"
    assert await part.read() == rec.wang_file.read_bytes()[1000:2000]
    tail = await client.get(url, headers={**sup, "Range": "bytes=-100"})
    assert tail.status == 206 and len(await tail.read()) == 100
    beyond = await client.get(url, headers={**sup, "Range": f"bytes={size + 10}-"})
    assert beyond.status == 416
    download = await client.get(url + "?download=1", headers=sup)
    assert download.status == 200
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert f"call-{rec.wang_call}.wav" in download.headers["Content-Disposition"]
    plays = await _log(store, "recording.play")
    assert len(plays) == 4  # each fetch, the refused range too
    assert {entry["target"] for entry in plays} == {f"call:{rec.wang_call}"}
    assert {entry["actor"] for entry in plays} == {"sup-token"}
    assert {entry["detail"]["range"] for entry in plays} == {
        None, "bytes=1000-1999", "bytes=-100", f"bytes={size + 10}-"
    }  # fmt: skip
    downloads = await _log(store, "recording.download")
    assert len(downloads) == 1 and downloads[0]["detail"]["ticket"].startswith("12345-")
    # The auditor reads it all through the access log route.
    auditor = await bearer(store, "aud-token", "auditor")
    entries = (await (await client.get("/api/access-log", headers=auditor)).json())["entries"]
    assert sum(entry["action"] == "recording.play" for entry in entries) == 4


async def test_no_audit_entry_means_no_audio(
    aiohttp_client: Any, store: TicketStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = await recorded_store(store, tmp_path)
    client = await _client(aiohttp_client, store, rec)
    sup = await bearer(store, "sup-token", "supervisor")

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("the database is gone")

    monkeypatch.setattr(store, "log_access", broken)
    response = await client.get(f"/api/recordings/calls/{rec.wang_call}/audio", headers=sup)
    assert response.status == 500
    assert response.headers["Content-Type"].startswith("application/json")
    assert b"RIFF" not in await response.read()


async def test_agents_hear_nothing_unless_the_setting_allows_and_then_only_their_own(
    aiohttp_client: Any, store: TicketStore, tmp_path: Path
) -> None:
    closed = await recorded_store(store, tmp_path)
    client = await _client(aiohttp_client, store, closed)
    wang = closed.headers["wang"]  # the agent wang's own account
    own = f"/api/recordings/calls/{closed.wang_call}/audio"
    refused = await client.get(own, headers=wang)
    assert refused.status == 404
    assert (await refused.json())["error"]["id"] == "recording.not_found"
    # An id that does not exist gets the very same answer: nothing tells them apart.
    missing = await client.get("/api/recordings/calls/99999/audio", headers=wang)
    assert missing.status == 404 and await missing.json() == await refused.json()
    entries = await _log(store, "recording.refused")
    assert [(e["actor"], e["target"]) for e in entries] == [("wang", f"call:{closed.wang_call}")]
    assert await _log(store, "recording.play") == []


async def test_with_the_setting_an_agent_plays_only_calls_they_answered(
    aiohttp_client: Any, store: TicketStore, tmp_path: Path
) -> None:
    rec = await recorded_store(store, tmp_path, agents_hear_own=True)
    client = await _client(aiohttp_client, store, rec)
    wang = rec.headers["wang"]
    own = await client.get(f"/api/recordings/calls/{rec.wang_call}/audio", headers=wang)
    assert own.status == 200 and (await own.read())[:4] == b"RIFF"
    # Another agent's call answers exactly like one that does not exist: an agent cannot
    # tell which ids have recordings (the refusal is audited all the same).
    other = await client.get(f"/api/recordings/calls/{rec.li_call}/audio", headers=wang)
    missing = await client.get("/api/recordings/calls/99999/audio", headers=wang)
    assert other.status == missing.status == 404
    assert await other.json() == await missing.json()
    assert (await other.json())["error"]["id"] == "recording.not_found"
    # An agent without a phone owns no call.
    stray = await bearer(store, "stray", "agent")
    assert (
        await client.get(f"/api/recordings/calls/{rec.wang_call}/audio", headers=stray)
    ).status == 404
    assert [e["actor"] for e in await _log(store, "recording.play")] == ["wang"]
    assert {e["actor"] for e in await _log(store, "recording.refused")} == {"wang", "stray"}
    # Search stays a supervisor's and QA's tool.
    assert (await client.get(SEARCH, headers=wang)).status == 403


async def test_guessed_names_and_traversal_in_the_url_reach_nothing(
    aiohttp_client: Any, store: TicketStore, tmp_path: Path
) -> None:
    rec = await recorded_store(store, tmp_path)
    client = await _client(aiohttp_client, store, rec)
    sup = await bearer(store, "sup-token", "supervisor")
    name = rec.wang_file.name
    guesses = [
        f"/api/recordings/{name}",
        f"/api/recordings/calls/{name}/audio",
        f"/api/recordings/calls/{name}",
        f"/recordings/{name}",
        f"/static/{name}",
        f"/static/..%2fmonitor%2f{name}",
        f"/monitor/{name}",
        "/api/recordings/calls/%2e%2e/audio",
        "/api/recordings/calls/..%2f..%2fetc%2fpasswd/audio",
        "/api/recordings/calls/%2e%2e%2f%2e%2e%2fetc%2fpasswd/audio",
        "/api/recordings/calls/%2Fetc%2Fpasswd/audio",
        "/api/recordings/calls/1%2e/audio",
        "/api/recordings/calls/-1/audio",
        "/api/recordings/calls/0/audio",
        "/api/recordings/calls/１/audio",  # a full-width digit
        "/api/recordings/calls/99999/audio",
        "/api/recordings/callbacks/99999/audio",
        f"/api/recordings/calls/{rec.wang_call}/audio/../../../../etc/passwd",
    ]
    for path in guesses:
        # Sent as written: the client must not tidy %2e%2e or .. away before the server.
        response = await client.get(URL(path, encoded=True), headers=sup)
        assert response.status in (400, 404), (path, response.status)
        assert b"RIFF" not in await response.read(), path
        assert b"root:" not in await response.read(), path
    raw = await client.get(URL("/api/recordings/calls/%2e%2e/audio", encoded=True), headers=sup)
    assert (await raw.json())["error"]["field"] == "id"
    assert await _log(store, "recording.play") == []


async def test_a_stored_path_outside_the_directory_is_refused_and_logged(
    aiohttp_client: Any, store: TicketStore, tmp_path: Path
) -> None:
    rec = await recorded_store(store, tmp_path)
    client = await _client(aiohttp_client, store, rec)
    sup = await bearer(store, "sup-token", "supervisor")
    for call in (rec.outside_call, rec.dotdot_call, rec.link_call):
        response = await client.get(f"/api/recordings/calls/{call}/audio", headers=sup)
        assert response.status == 403, call
        assert (await response.json())["error"]["id"] == "recording.refused"
    gone = await client.get(f"/api/recordings/calls/{rec.gone_call}/audio", headers=sup)
    assert gone.status == 404 and (await gone.json())["error"]["id"] == "recording.gone"
    refused = await _log(store, "recording.refused")
    assert {entry["target"] for entry in refused} == {
        f"call:{rec.outside_call}", f"call:{rec.dotdot_call}", f"call:{rec.link_call}"
    }  # fmt: skip
    assert await _log(store, "recording.play") == []


async def test_call_back_messages_play_by_entry_id_for_the_call_back_list(
    aiohttp_client: Any, store: TicketStore, tmp_path: Path
) -> None:
    rec = await recorded_store(store, tmp_path)
    client = await _client(aiohttp_client, store, rec)
    url = f"/api/recordings/callbacks/{rec.callback}/audio"
    for role in ("agent", "supervisor", "qa"):
        headers = await bearer(store, f"cb-{role}", role)
        response = await client.get(url, headers={**headers, "Range": "bytes=0-43"})
        assert response.status == 206, role
        assert (await response.read())[:4] == b"RIFF"
    for role in ("admin", "auditor", "unit"):
        headers = await bearer(store, f"cb-{role}", role)
        assert (await client.get(url, headers=headers)).status == 403, role
    plays = await _log(store, "recording.play")
    assert {entry["target"] for entry in plays} == {f"callback:{rec.callback}"}
    assert len(plays) == 3
