"""Listen / whisper / barge on the simulated PBX over real AMI TCP: the supervisor's phone is
originated into ChanSpy with the mode's options on the agent's channel, the use is logged
(who, whom, which call, mode, start, end from ChanSpyStop), an agent gets 403, a supervisor
without a phone a clear 409."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from hotline.web.auth_accounts import create_token_account
from tests.service.helpers import wait_for
from tests.service.spy_rig import AGENT_ID, SUPERVISOR_PHONE, spy_rig, tie_supervisor_phone
from ticketing.spy_log import SpyLog


async def _post(
    http: aiohttp.ClientSession, url: str, token: str, body: Any
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"}
    async with http.post(url + "/api/spy", json=body, headers=headers) as response:
        return response.status, await response.json()


async def test_listen_originates_chanspy_and_logs_start_and_end(tmp_path: Path) -> None:
    async with spy_rig(tmp_path) as r:
        store = r.service.store
        assert store is not None
        boss = await create_token_account(store, "wang", "supervisor", "班长 王")
        agent = await create_token_account(store, "li", "agent", "李")
        nophone = await create_token_account(store, "zhao", "supervisor", "赵")
        await tie_supervisor_phone(r.service, "wang")
        log = SpyLog(store.engine)
        async with aiohttp.ClientSession() as http:
            # Nobody in a call yet: a clear refusal, nothing originated.
            status, body = await _post(http, r.url, boss, {"agent": AGENT_ID, "mode": "listen"})
            assert (status, body["error"]["id"]) == (409, "spy.not_in_call")
            call = await r.call_answered(talk_s=40.0)
            # An agent cannot spy; a supervisor without a phone is told how to get one.
            status, body = await _post(http, r.url, agent, {"agent": AGENT_ID, "mode": "listen"})
            assert (status, body["error"]["id"]) == (403, "auth.role")
            status, body = await _post(http, r.url, nophone, {"agent": AGENT_ID, "mode": "listen"})
            assert (status, body["error"]["id"]) == (409, "spy.no_phone")
            assert r.originates == []

            status, body = await _post(http, r.url, boss, {"agent": AGENT_ID, "mode": "listen"})
            assert status == 200, body
            assert body["mode"] == "listen" and body["linkedid"] == call["linkedid"]
            assert body["keys"] == {"4": "listen", "5": "whisper", "6": "barge"}
        (originate,) = r.originates
        assert originate["Channel"] == SUPERVISOR_PHONE
        assert originate["Application"] == "ChanSpy"
        assert originate["Data"] == f"{call['agent_channel']},qEd"
        assert call["agent_channel"].startswith("Local/agent1@agent-robot-")
        assert "监听" in originate["CallerID"] and "<9001>" in originate["CallerID"]

        spy = r.service.agents.spies["pbx1"]

        async def rows() -> list[dict[str, Any]]:
            await spy.flush()
            return await log.recent()

        # The phone answers, ChanSpy runs; the caller hangs up: ChanSpyStop ends the row.
        await wait_for(lambda: any(s["spying"] for s in spy.active("wang")), timeout=10)
        (row,) = await rows()
        assert row["supervisor"] == "wang" and row["mode"] == "listen"
        assert row["agent_interface"] == "Local/agent1@agent-robot/n"
        assert row["linkedid"] == call["linkedid"] and row["ended_at"] is None
        assert row["spyer_channel"].startswith("Local/sup1@supervisor-robot-")
        await wait_for(lambda: not spy.active("wang"), timeout=15)
        (row,) = await rows()
        assert row["end_reason"] == "ChanSpyStop"
        assert row["ended_at"] >= row["started_at"]
        # The access log has it too.
        access = await store.access_log(limit=20)
        assert any(entry["action"] == "spy.listen" for entry in access)


async def test_whisper_and_barge_use_their_options_one_spy_call_at_a_time(
    tmp_path: Path,
) -> None:
    async with spy_rig(tmp_path) as r:
        store = r.service.store
        assert store is not None
        boss = await create_token_account(store, "wang", "supervisor", "班长 王")
        await tie_supervisor_phone(r.service, "wang")
        call = await r.call_answered(talk_s=60.0)
        spy = r.service.agents.spies["pbx1"]
        headers = {"Authorization": f"Bearer {boss}"}
        async with aiohttp.ClientSession() as http:
            status, body = await _post(http, r.url, boss, {"agent": AGENT_ID, "mode": "whisper"})
            assert status == 200, body
            await wait_for(lambda: any(s["spying"] for s in spy.active("wang")), timeout=10)
            # On a spy call already: the modes switch on the phone, no second Originate.
            status, body = await _post(http, r.url, boss, {"agent": AGENT_ID, "mode": "barge"})
            assert (status, body["error"]["id"]) == (409, "spy.in_session")
            assert "5" in body["error"]["message"] and len(r.originates) == 1
            # Stop (AMI Hangup of the supervisor's phone), then barge.
            async with http.post(r.url + "/api/spy/stop", headers=headers) as response:
                assert response.status == 200 and (await response.json())["stopped"] == 1
            await wait_for(lambda: not spy.active("wang"), timeout=10)
            status, body = await _post(http, r.url, boss, {"agent": AGENT_ID, "mode": "barge"})
            assert status == 200, body
        assert [o["Data"] for o in r.originates] == [
            f"{call['agent_channel']},qwEd",
            f"{call['agent_channel']},qBEd",
        ]
        await spy.flush()
        rows = await SpyLog(store.engine).recent()
        assert [(row["mode"], row["end_reason"]) for row in reversed(rows)] == [
            ("whisper", "ChanSpyStop"),
            ("barge", None),
        ]
