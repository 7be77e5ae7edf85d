"""Queue operations from the agent desk against a real Asterisk 22 with the project's own
configuration: log in (QueueAdd with MemberName and StateInterface), pause with a reason,
ready, take a call, timed after-call work, log out — the agent state machine and Asterisk's
queue_log must agree; a refusal is Asterisk's own words."""

from __future__ import annotations

from typing import Any

import pytest

from hotline.agent_desk import AgentDesk, DeskError
from hotline.service import HotlineService
from tests.pbx.asterisk import Asterisk
from tests.pbx.test_calls import call, cli, hang_up_caller, queue_log, until
from tests.web.auth_helpers import create_token_account
from ticketing.agents import AgentDirectory

pytestmark = pytest.mark.pbx

PHONE = "Local/7@robot-agent/n"


def _lines(ast: Asterisk, agent: str) -> list[tuple[str, str, str]]:
    """(queue, event, data) of the queue_log lines naming ``agent``."""
    return [(line[2], line[4], "|".join(line[5:])) for line in queue_log(ast) if line[3] == agent]


async def _desk(service: HotlineService, skills: dict[str, int]) -> AgentDesk:
    assert service.store is not None and service.agents.desk is not None
    await create_token_account(service.store, "zhao", "agent", "赵")
    await AgentDirectory(service.store.engine).set_agent(
        "zhao",
        extension="7",
        name="赵 7",
        interface=PHONE,
        state_interface="Custom:agent7",
        skills=skills,
    )
    return service.agents.desk


def _state(desk: AgentDesk) -> Any:
    return desk.boards["pbx1"].view(PHONE)


async def test_login_pause_call_wrap_up_logout_on_asterisk(
    pbx: tuple[Asterisk, dict[str, Any]], service: HotlineService
) -> None:
    ast, _ = pbx
    await cli(ast, "devstate change Custom:agent7 NOT_INUSE")
    desk = await _desk(service, {"hotline-general": 0, "hotline-complaint": 1})
    desk.wrapups.seconds = 2
    try:
        status = await desk.login("zhao")
        assert status["state"] == "ready"
        assert {(q["queue"], q["penalty"], q["dynamic"]) for q in status["queues"]} == {
            ("hotline-general", 0, True),
            ("hotline-complaint", 1, True),
        }
        status = await desk.pause("zhao", "用餐")
        assert (status["state"], status["reason"]) == ("paused", "用餐")
        status = await desk.unpause("zhao")
        assert status["state"] == "ready"
        callid = await call(ast, "13900007777", "press-1")
        await until(lambda: _state(desk)["state"] == "talking", 30, "the agent talking")
        assert _state(desk)["call"]["uniqueid"] == callid
        await until(lambda: _state(desk)["state"] == "wrap_up", 30, "after-call work")
        await hang_up_caller(ast, "13900007777")
        await until(lambda: _state(desk)["state"] == "ready", 30, "the wrap-up running out")
        await desk.logout("zhao")
        assert _state(desk)["state"] == "logged_out"
    finally:
        for queue in ("hotline-general", "hotline-complaint"):
            await cli(ast, f"queue remove member {PHONE} from {queue}")
    events = _lines(ast, "赵 7")
    assert ("hotline-general", "ADDMEMBER", "") in events
    assert ("NONE", "PAUSEALL", "用餐") in events
    assert ("hotline-complaint", "PAUSE", "用餐") in events
    assert ("NONE", "PAUSEALL", "话后处理") in events
    assert any(e[:2] == ("hotline-general", "CONNECT") for e in events)
    assert {e for e in events if e[1] == "REMOVEMEMBER"} == {
        ("hotline-general", "REMOVEMEMBER", ""),
        ("hotline-complaint", "REMOVEMEMBER", ""),
    }
    unpauses = [e for e in events if e[1] == "UNPAUSEALL"]
    assert len(unpauses) == 2  # ready after the pause, and the wrap-up running out


async def test_asterisk_refusal_reaches_the_agent(
    pbx: tuple[Asterisk, dict[str, Any]], service: HotlineService
) -> None:
    desk = await _desk(service, {"hotline-nosuch": 0})
    with pytest.raises(DeskError) as refused:
        await desk.login("zhao")
    assert refused.value.error_id == "agent.pbx_refused"
    assert refused.value.message == (
        "log in to hotline-nosuch: Unable to add interface to queue: No such queue"
    )
