"""Member actions over a real AMI link to the simulated PBX: every action waits for its
answer; a refusal, a silence and a link that is down are each one clear line. And the agent
board is resynchronised by QueueStatus after a reconnect."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from acd.agents.actions import AgentActionFailed, Member, MemberActions, Skill
from acd.agents.board import AgentBoard
from acd.ami.message import AmiMessage
from acd.feed import AmiEndpoint, AmiFeed, PbxLogs
from hotline.sim.actions import PbxActions, attach
from hotline.sim.ami_server import AmiServer
from hotline.sim.traffic import Simulation, TrafficModel
from tests.service.helpers import wait_for

PHONE = Member("PJSIP/1001", "李 1001")


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[tuple[AmiServer, Simulation, AmiFeed]]:
    async with AmiServer(secret="s") as server:
        sim = Simulation(TrafficModel(peak_calls_per_hour=0.0, agents=[]), seed=1)
        pump = attach(sim.pbx, server)
        published: list[dict[str, Any]] = []
        feed = AmiFeed(
            AmiEndpoint(
                "127.0.0.1",
                server.port,
                "hotline",
                "s",
                reconnect_min=0.05,
                reconnect_max=0.1,
                action_timeout=0.5,
            ),
            PbxLogs(tmp_path / "queue_log", tmp_path / "Master.csv"),
            publish=None,
            on_record=None,
            entry_contexts=["hotline-ivr"],
            agents=AgentBoard(lambda topic, payload: published.append(payload)),
        )
        await feed.start(last_stored_end=None)
        assert feed.link is not None
        await feed.link.wait_connected(timeout=5)
        try:
            yield server, sim, feed
        finally:
            await feed.stop()
            await pump.close()
            sim.close()


def _actions(feed: AmiFeed) -> MemberActions:
    return MemberActions(lambda: feed.link, timeout=0.5)


async def _board_says(feed: AmiFeed, state: str) -> None:
    board = feed.agents
    assert board is not None
    await wait_for(lambda: board.view(PHONE.interface)["state"] == state, 5)


async def test_login_pause_logout_and_refusals(
    rig: tuple[AmiServer, Simulation, AmiFeed],
) -> None:
    _, sim, feed = rig
    actions = _actions(feed)
    await actions.login(PHONE, [Skill("hotline-general", 0), Skill("hotline-complaint", 2)])
    await _board_says(feed, "ready")
    # A second login is no error (QueueAdd answers "Already there").
    await actions.login(PHONE, [Skill("hotline-general", 0)])
    await actions.pause(PHONE, "培训")
    await _board_says(feed, "paused")
    assert {m.paused_reason for _, m in sim.pbx.members_of("PJSIP/1001")} == {"培训"}
    with pytest.raises(AgentActionFailed) as refused:
        await actions.login(PHONE, [Skill("hotline-nosuch", 0)])
    assert refused.value.kind == "refused"
    assert str(refused.value) == (
        "log in to hotline-nosuch: Unable to add interface to queue: No such queue"
    )
    with pytest.raises(AgentActionFailed, match="ready: Interface not found"):
        await actions.unpause(Member("PJSIP/9999", "nobody"))
    await actions.logout(PHONE, ["hotline-general", "hotline-complaint", "hotline-report"])
    await _board_says(feed, "logged_out")


async def test_a_silent_pbx_is_a_timeout_and_a_lost_link_is_unavailable(
    rig: tuple[AmiServer, Simulation, AmiFeed],
) -> None:
    server, _, feed = rig
    never = asyncio.Event()

    async def silent(msg: AmiMessage) -> list[AmiMessage]:
        await never.wait()
        return []

    server.register_action("QueuePause", silent)
    actions = _actions(feed)
    with pytest.raises(AgentActionFailed) as silence:
        await actions.pause(PHONE, "小休")
    assert silence.value.kind == "timeout"
    assert str(silence.value) == "pause (小休): no answer from the PBX within 0.5 s"
    offline = MemberActions(lambda: None)
    with pytest.raises(AgentActionFailed) as down:
        await offline.pause(PHONE, "小休")
    assert (down.value.kind, str(down.value)) == (
        "unavailable",
        "pause (小休): the PBX is not connected",
    )
    never.set()


async def test_queue_status_after_a_reconnect_resynchronises_the_board(
    rig: tuple[AmiServer, Simulation, AmiFeed],
) -> None:
    server, sim, feed = rig
    actions = _actions(feed)
    await actions.login(PHONE, [Skill("hotline-general", 0)])
    await _board_says(feed, "ready")
    assert feed.link is not None
    # While nobody listens, the agent is paused (by another AMI client): no event reaches us.
    server.drop_clients()
    await feed.link.wait_until(lambda: not feed.link.connected, 5)  # type: ignore[union-attr]
    sim_actions = PbxActions(sim.pbx)
    sim.pbx.emit = lambda msg: None  # the events of the outage are lost
    answer = sim_actions.handle(
        AmiMessage.of(
            ("Action", "QueuePause"),
            ("Interface", "PJSIP/1001"),
            ("Paused", "true"),
            ("Reason", "会议"),
        )
    )
    assert answer[0].name == "Success"
    attach(sim.pbx, server)
    await feed.link.wait_connected(timeout=5)
    await _board_says(feed, "paused")
    assert feed.agents is not None
    assert feed.agents.view("PJSIP/1001")["reason"] == "会议"
