"""Listen / whisper / barge on a real Asterisk 22 with the project's own configuration: the
service originates the supervisor's phone (a Local-channel robot, as in the spy_and_record
capture) into ChanSpy on the agent's channel; Asterisk's ChanSpyStart and ChanSpyStop reach
the service and close the logged session when the spied call ends."""

from __future__ import annotations

from typing import Any

import pytest

from hotline.service import HotlineService
from tests.pbx.asterisk import Asterisk
from tests.pbx.test_calls import call, cli, hang_up_caller, until
from tests.web.auth_helpers import create_token_account
from ticketing.agents import AgentDirectory
from ticketing.spy_log import SpyLog

pytestmark = pytest.mark.pbx

AGENT_PHONE = "Local/8@robot-talk/n"  # answers after 1 s, talks 120 s
SUPERVISOR_PHONE = "Local/9001@robot-supervisor/n"


async def _people(service: HotlineService) -> None:
    assert service.store is not None
    directory = AgentDirectory(service.store.engine)
    await create_token_account(service.store, "qian", "agent", "钱")
    await directory.set_agent("qian", extension="8", name="钱 8", interface=AGENT_PHONE,
                              state_interface="Custom:agent8",
                              skills={"hotline-general": 0})  # fmt: skip
    await create_token_account(service.store, "wang", "supervisor", "班长 王")
    await directory.set_agent("wang", extension="9001", name="班长 王",
                              interface=SUPERVISOR_PHONE, roles=("supervisor",))  # fmt: skip
    assert service.agents.desk is not None
    await service.agents.desk.load()


@pytest.mark.parametrize(
    "mode, options", [("listen", "qEd"), ("whisper", "qwEd"), ("barge", "qBEd")]
)
async def test_spy_on_a_real_call_is_logged_from_chanspystart_to_chanspystop(
    pbx: tuple[Asterisk, dict[str, Any]], service: HotlineService, mode: str, options: str
) -> None:
    ast, _ = pbx
    await cli(ast, "devstate change Custom:agent8 NOT_INUSE")
    await _people(service)
    desk, spy_desk = service.agents.desk, service.agents.spy_desk
    assert desk is not None and spy_desk is not None and service.store is not None
    caller = {"listen": "13900008881", "whisper": "13900008882", "barge": "13900008883"}[mode]
    try:
        await desk.login("qian")
        await call(ast, caller, "press-1")
        board = desk.boards["pbx1"]
        await until(lambda: board.view(AGENT_PHONE)["state"] == "talking", 30, "agent talking")
        session = await spy_desk.start("wang", f"pbx1|{AGENT_PHONE}", mode)
        spy = service.agents.spies["pbx1"]
        # Asterisk's ChanSpyStart names the supervisor's phone channel the service originated.
        await until(
            lambda: any(s["spying"] for s in spy.active("wang")), 30, "ChanSpyStart from Asterisk"
        )
        channels = (await cli(ast, "core show channels concise")).splitlines()
        running = [c.split("!") for c in channels if c.startswith("Local/9001@robot-supervisor-")]
        chanspy = [c for c in running if c[5] == "ChanSpy"]
        assert len(chanspy) == 1, running
        assert chanspy[0][6].startswith("Local/8@robot-talk-") and chanspy[0][6].endswith(
            f";1,{options}"
        )
        # The citizen hangs up: the agent's channel goes, ChanSpy (E) stops, the row closes.
        await hang_up_caller(ast, caller)
        await until(lambda: not spy.active("wang"), 30, "ChanSpyStop from Asterisk")
        await spy.flush()
        rows = [r for r in await SpyLog(service.store.engine).recent() if r["id"] == session["id"]]
        (row,) = rows
        assert row["mode"] == mode and row["supervisor"] == "wang"
        assert row["end_reason"] == "ChanSpyStop"
        assert row["spyer_channel"].startswith("Local/9001@robot-supervisor-")
        assert row["linkedid"] == session["linkedid"] and row["linkedid"]
        assert row["ended_at"] >= row["started_at"]
    finally:
        await desk.logout("qian")


async def test_mode_keys_on_the_phone_switch_and_log_each_segment(
    pbx: tuple[Asterisk, dict[str, Any]], service: HotlineService
) -> None:
    """ChanSpy's d option on a real Asterisk: the supervisor's phone presses 5 then 6; the
    DTMFEnd events on the spyer channel switch the logged mode: listen → whisper → barge."""
    ast, _ = pbx
    await cli(ast, "devstate change Custom:agent8 NOT_INUSE")
    await _people(service)
    assert service.store is not None
    await AgentDirectory(service.store.engine).set_agent(
        "wang", extension="9002", name="班长 王", interface="Local/9002@robot-supervisor/n",
        roles=("supervisor",),
    )  # fmt: skip
    desk, spy_desk = service.agents.desk, service.agents.spy_desk
    assert desk is not None and spy_desk is not None
    caller = "13900008884"
    log = SpyLog(service.store.engine)
    try:
        await desk.login("qian")
        await call(ast, caller, "press-1")
        board = desk.boards["pbx1"]
        await until(lambda: board.view(AGENT_PHONE)["state"] == "talking", 30, "agent talking")
        await spy_desk.start("wang", f"pbx1|{AGENT_PHONE}", "listen")
        spy = service.agents.spies["pbx1"]
        await until(
            lambda: [s["mode"] for s in spy.active("wang")] == ["barge"], 30, "keys 5 and 6"
        )
        await hang_up_caller(ast, caller)
        await until(lambda: not spy.active("wang"), 30, "ChanSpyStop from Asterisk")
        await spy.flush()
        rows = [r for r in reversed(await log.recent()) if r["supervisor"] == "wang"]
        assert [(r["mode"], r["end_reason"]) for r in rows] == [
            ("listen", "switched to whisper"),
            ("whisper", "switched to barge"),
            ("barge", "ChanSpyStop"),
        ]
        assert len({r["spyer_channel"] for r in rows}) == 1
    finally:
        await desk.logout("qian")
