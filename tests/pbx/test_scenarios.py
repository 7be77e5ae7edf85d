"""Call scenarios through a real Asterisk 22: the project's rendered dialplan, its FastAGI IVR
and the real service (in-process), Local-channel callers pressing digits and agent robots.

One Asterisk and one service for the module; the calls run in two rounds, in parallel within
a round, then each test reads what it needs of the round's results:

- round 1, no agent logged in: every menu branch (each caller waits in its queue with its
  priority, then hangs up: abandoned), a refused join on the empty report queue, a hang-up in
  the IVR, a caller pressing 1 at a major-fault announcement (merged into the incident), and
  a caller who waits until Queue() gives up and leaves a message for a callback;
- round 2, agents: answered within 15 s with the post-call survey, ring-no-answer then another
  agent (answered after 15 s), and an agent's blind transfer to another queue;
- round 3, no agent logged in, the menu's complaint and report queues closed (night): the
  menu's other branches (6 ticket progress then the agent, 9 Cantonese, 2-3 emergency
  guidance) and the night destinations (complaint → the general queue, report → a callback
  request).

Every record is checked against Asterisk's own queue_log and CDR (tests/pbx/pbx_logs.py),
and `hotline kpi --json` against KPIs computed here from the queue_log alone.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from acd.ami.message import AmiMessage
from hotline.service import HotlineService
from hotline.settings import IvrSettings, Settings
from hotline.sim.actions import PbxActions, attach
from hotline.sim.agi_driver import FastAgiDriver
from hotline.sim.ami_server import AmiServer
from hotline.sim.model import CallerScript, FixedBehaviour, MemberConfig, PbxConfig
from hotline.sim.pbx import Pbx
from hotline.sim.scheduler import Scheduler
from hotline.sim.traffic import Simulation, TrafficModel
from ivr.menu_source import DEFAULT_MENU
from tests.pbx.asterisk import Asterisk, ami_action
from tests.pbx.conftest import HOTLINE, _env
from tests.pbx.pbx_logs import (
    LogLeg,
    caller_channels,
    cdr_rows,
    channel_var,
    cli,
    entered,
    events_of,
    hang_up,
    legs_by_call,
    lines_of,
    log_legs,
    queue_log,
    until,
)
from tests.service.helpers import service_settings

pytestmark = pytest.mark.pbx

# Queue() gives up after this many seconds (then the callback step): longer than the 15 s
# answer target plus a ring-no-answer, short enough for the test.
QUEUE_MAX_WAIT = 25
INCIDENT = "water-pbx"
# The general queue announces a waiting caller's position this often (seconds).
ANNOUNCE_EVERY = 10

# Round 1: caller number → (robot, queue, priority, choice). No agent is logged in.
BRANCHES: dict[str, tuple[str, str, int, str]] = {
    "13900000001": ("press-1", "hotline-general", 0, "1"),
    "13900000021": ("keys-21", "hotline-general", 5, "21"),
    "13900000022": ("keys-22", "hotline-general", 0, "22"),
    "13900000003": ("press-3", "hotline-complaint", 0, "3"),
    "13900000005": ("press-5", "hotline-general", 0, "5"),
    "13900000000": ("press-0", "hotline-general", 0, "0"),
}
JOINEMPTY = "13900000004"  # key 4: the report queue refuses callers when nobody is logged in
IVR_HANGUP = "13900000099"
INCIDENT_CALLER = "13910000001"  # the incident concerns numbers starting 1391
TIMEOUT = "13900000077"
# Round 2
FAST = "13900000101"  # agent1 answers in 2 s; the caller rates 2 (基本满意) after
RNA = "13900000103"  # agent8 rings unanswered, agent2 answers: after 15 s
TRANSFER = "13900000104"  # agent3 answers in the report queue, then blind-transfers
HANGS_UP = "13900000105"  # agent3 again (report queue); the caller hangs up mid-talk
# Round 3
TICKET = "13900000006"  # 6, an unknown ticket number, then 0 at the after-progress menu
CANTONESE = "13900000009"  # 9 (粤语), then 1 at the Cantonese main menu
EMERGENCY = "13900000023"  # 2 then 3: the emergency numbers, then the IVR hangs up
NIGHT_COMPLAINT = "13900000033"  # 3 at night: the general queue, still a complaint
NIGHT_REPORT = "13900000044"  # 4 at night: a callback request, the IVR hangs up


@dataclass
class World:
    ast: Asterisk
    settings: dict[str, Any]
    service: HotlineService
    # caller number → the queue_log callid (uniqueid of the hotline-side channel)
    callid: dict[str, str] = field(default_factory=dict)
    # `queue show` lines of waiting callers while round 1's callers all waited
    waiting: dict[str, str] = field(default_factory=dict)
    # AMI Getvar answers of the real PBX (Asterisk's response block), by what was asked
    getvar: dict[str, str] = field(default_factory=dict)
    # uniqueid → its records (one per queue leg), ordered by leg
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def all_day_menu(folder: Path) -> Path:
    """The shipped menu with every queue open around the clock, so the branches do not
    depend on the hour the test runs at (round 3 closes some: ``night_menu``)."""
    text = re.sub(
        r"^(workday_hours|restday_hours) = .*$",
        r'\1 = ["00:00-24:00"]',
        DEFAULT_MENU.read_text(),
        flags=re.MULTILINE,
    )
    menu = folder / "menu.toml"
    menu.write_text(text)
    return menu


def night_menu(menu: Path) -> str:
    """Write the shipped menu over ``menu`` with every queue that has a night destination
    closed all day (the general queue open): it applies from the next call on. The text it
    replaced, to put back."""
    lines, section = [], ""
    for line in DEFAULT_MENU.read_text().splitlines():
        if line.startswith("["):
            section = line
        if section.startswith("[queues.") and section != "[queues.hotline-general]":
            line = re.sub(r"^(workday_hours|restday_hours) = .*$", r"\1 = []", line)
        lines.append(line)
    return write_menu(menu, "\n".join(lines) + "\n")


def write_menu(menu: Path, text: str) -> str:
    before = menu.read_text()
    menu.write_text(text)
    return before


@pytest.fixture(scope="module")
def pbx_overrides(pbx_sounds: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("menu")
    return {
        "pbx": {
            "queue_max_wait": QUEUE_MAX_WAIT,
            "sounds_dir": str(pbx_sounds),
            # the general queue tells waiting callers their position (the others do not)
            "queues": [
                {
                    "name": "hotline-general",
                    "display_name": "综合咨询",
                    "announce_position": "yes",
                    "announce_frequency": ANNOUNCE_EVERY,
                },
                {"name": "hotline-complaint", "display_name": "投诉"},
                {
                    "name": "hotline-report",
                    "display_name": "举报",
                    "joinempty": "no",
                    "leavewhenempty": "yes",
                },
            ],
        },
        "ivr": {"menu_file": str(all_day_menu(folder))},
    }


async def place(ast: Asterisk, caller: str, robot: str) -> None:
    await cli(ast, f"channel originate Local/{caller}@robot-dial/n extension {robot}@robot-caller")


async def queued(w: World, caller: str, robot: str) -> str:
    """Place a call; its callid once it entered (or was refused by) a queue."""
    await place(w.ast, caller, robot)
    callid: str = await until(lambda: entered(w.ast, caller), 90, f"{caller} in a queue")
    w.callid[caller] = callid
    return callid


async def member(ast: Asterisk, queue: str, robot: str, n: int) -> str:
    interface = f"Local/{n}@{robot}/n"
    await cli(ast, f"devstate change Custom:agent{n} NOT_INUSE")
    await cli(
        ast,
        f"queue add member {interface} to {queue} penalty 0 as agent{n} "
        f"state_interface Custom:agent{n}",
    )
    return interface


async def ended(w: World, callid: str, events: set[str], what: str) -> None:
    await until(lambda: events & set(events_of(w.ast, callid)), 90, what)


# ---------------------------------------------------------------------------------- round 1


async def round_without_agents(w: World) -> None:
    ast = w.ast
    await w.service.ivr.desk.create(
        {
            "id": INCIDENT,
            "title": "东区停水",
            "text": "东区因管道抢修停水。",
            "prompt": f"hotline/incidents/{INCIDENT}",
            "start": (datetime.now(UTC) - timedelta(minutes=10)).isoformat(),
            "prefixes": ["1391"],
        }
    )

    async def branch(caller: str) -> None:
        await queued(w, caller, BRANCHES[caller][0])

    async def ivr_hangup() -> None:
        await place(ast, IVR_HANGUP, "wait")

        async def at_main_menu() -> str | None:
            for name, uid in (await caller_channels(ast, IVR_HANGUP)).items():
                if name.endswith(";2"):
                    path = await channel_var(ast, name, "HOTLINE_PATH")
                    if path == "welcome,main":
                        w.callid[IVR_HANGUP] = uid
                        return uid
            return None

        deadline = asyncio.get_running_loop().time() + 60
        while await at_main_menu() is None:
            assert asyncio.get_running_loop().time() < deadline, "IVR caller at the main menu"
            await asyncio.sleep(0.2)
        await hang_up(ast, IVR_HANGUP)

    async def timeout() -> None:
        callid = await queued(w, TIMEOUT, "voice-1")
        await until(lambda: "CALLBACKREQ" in events_of(ast, callid), 60, "CALLBACKREQ")
        message = ast.monitor_dir / f"callback-{callid}.wav"
        # a second of the caller's voice (8 kHz, 16 bit) in the message, then they hang up
        await until(
            lambda: message.is_file() and message.stat().st_size > 44 + 16000, 30, "a message"
        )
        await hang_up(ast, TIMEOUT)

    async def wait_then_hang_up(callers: list[str]) -> None:
        """Everyone waits: what app_queue itself says of their priority; then they give up."""
        shown = await cli(ast, "queue show")
        for caller in callers:
            for name in await caller_channels(ast, caller):
                if name.endswith(";2"):
                    w.waiting[caller] = next((x for x in shown.splitlines() if name in x), "")
        for caller in callers:
            await hang_up(ast, caller)
        for caller in callers:
            await ended(w, w.callid[caller], {"ABANDON"}, f"{caller} abandoned")

    async def branches() -> None:
        await asyncio.gather(*(branch(caller) for caller in BRANCHES))
        await wait_then_hang_up(list(BRANCHES))

    async def incident() -> None:
        # 1 at the announcement (registered), then 0 for an agent
        await queued(w, INCIDENT_CALLER, "incident")
        await wait_then_hang_up([INCIDENT_CALLER])

    await asyncio.gather(
        branches(), queued(w, JOINEMPTY, "press-4"), incident(), ivr_hangup(), timeout()
    )


# ---------------------------------------------------------------------------------- round 2


async def round_with_agents(w: World) -> None:
    ast = w.ast
    await member(ast, "hotline-general", "robot-agent", 1)
    await member(ast, "hotline-complaint", "robot-ring", 8)
    await member(ast, "hotline-complaint", "robot-agent", 2)
    await member(ast, "hotline-report", "robot-talk", 3)

    async def fast() -> None:
        callid = await queued(w, FAST, "survey-1-2")
        await ended(w, callid, {"COMPLETEAGENT", "COMPLETECALLER"}, "the fast call")
        # the survey answered, the dialplan hangs up
        await until(lambda: not cdr_rows(ast, callid) == [], 60, "the fast call's CDR")

    async def ring_no_answer() -> None:
        callid = await queued(w, RNA, "press-3")
        await ended(w, callid, {"COMPLETEAGENT", "COMPLETECALLER"}, "the RNA call")
        await hang_up(ast, RNA)  # during the survey: no rating

    async def transfer() -> None:
        callid = await queued(w, TRANSFER, "press-4")
        connect = await until(lambda: events_of(ast, callid).get("CONNECT"), 60, "agent3")
        agent_channel = await until_agent_channel(ast, callid, connect)
        # a few seconds of talk, then agent3 sends the caller to the general queue
        await until(lambda: talked(connect, 2), 30, "2 s of talk")
        answer = await asyncio.to_thread(
            ami_action,
            int(w.settings["ami"]["port"]),
            str(w.settings["ami"]["secret"]),
            {
                "Action": "BlindTransfer",
                "Channel": agent_channel,
                "Context": "hotline-transfer",
                "Exten": "general",
            },
        )
        assert "Success" in answer, answer
        await until(
            lambda: any(
                line[4] in ("COMPLETEAGENT", "COMPLETECALLER") and line[2] == "hotline-general"
                for line in lines_of(ast, callid)
            ),
            90,
            "the transferred call answered in hotline-general",
        )
        await hang_up(ast, TRANSFER)

    async def caller_hangs_up() -> None:
        await until(lambda: TRANSFER in w.callid, 90, "the transfer's caller in a queue")
        await until(
            lambda: "BLINDTRANSFER" in events_of(ast, w.callid[TRANSFER]), 90, "the transfer"
        )
        callid = await queued(w, HANGS_UP, "press-4")
        connect = await until(lambda: events_of(ast, callid).get("CONNECT"), 60, "agent3")
        await until(lambda: talked(connect, 3), 30, "3 s of talk")
        await hang_up(ast, HANGS_UP)
        await ended(w, callid, {"COMPLETECALLER"}, "the caller's hang-up")

    try:
        await asyncio.gather(fast(), ring_no_answer(), transfer(), caller_hangs_up())
    finally:
        for queue, interface in (
            ("hotline-general", "Local/1@robot-agent/n"),
            ("hotline-complaint", "Local/8@robot-ring/n"),
            ("hotline-complaint", "Local/2@robot-agent/n"),
            ("hotline-report", "Local/3@robot-talk/n"),
        ):
            await cli(ast, f"queue remove member {interface} from {queue}")


# ---------------------------------------------------------------------------------- round 3


async def hotline_side(w: World, caller: str) -> str:
    """The uniqueid of the caller's hotline-side channel (``;2``), once it exists."""

    async def found() -> str | None:
        for name, uid in (await caller_channels(w.ast, caller)).items():
            if name.endswith(";2"):
                return uid
        return None

    deadline = asyncio.get_running_loop().time() + 30
    while (uid := await found()) is None:
        assert asyncio.get_running_loop().time() < deadline, f"{caller}'s channel"
        await asyncio.sleep(0.1)
    w.callid[caller] = uid
    return uid


async def gone(w: World, caller: str) -> None:
    """The IVR ended the call itself: no channel of the caller is left."""
    deadline = asyncio.get_running_loop().time() + 90
    while await caller_channels(w.ast, caller):
        assert asyncio.get_running_loop().time() < deadline, f"{caller} hung up by the IVR"
        await asyncio.sleep(0.2)


async def round_at_night(w: World) -> None:
    menu = Path(w.settings["ivr"]["menu_file"])
    day = night_menu(menu)
    try:

        async def waits(caller: str, robot: str) -> None:
            await queued(w, caller, robot)

        async def ivr_ends(caller: str, robot: str) -> None:
            await place(w.ast, caller, robot)
            await hotline_side(w, caller)
            await gone(w, caller)

        waiting = {TICKET: "ticket-4242", CANTONESE: "keys-91", NIGHT_COMPLAINT: "press-3"}
        await asyncio.gather(
            *(waits(caller, robot) for caller, robot in waiting.items()),
            ivr_ends(EMERGENCY, "keys-23"),
            ivr_ends(NIGHT_REPORT, "press-4"),
        )
        # what the service asks a live call after a reconnect, asked while one waits
        channel = next(
            name for name in await caller_channels(w.ast, CANTONESE) if name.endswith(";2")
        )
        for variable in ("HOTLINE_LANGUAGE", "HOTLINE_UNSET"):
            w.getvar[variable] = await getvar(w, {"Channel": channel, "Variable": variable})
        w.getvar["uniqueid"] = await getvar(
            w, {"Channel": w.callid[CANTONESE], "Variable": "HOTLINE_QUEUE"}
        )
        for caller in waiting:
            await hang_up(w.ast, caller)
        for caller in waiting:
            await ended(w, w.callid[caller], {"ABANDON"}, f"{caller} abandoned")
    finally:
        write_menu(menu, day)


async def getvar(w: World, fields: dict[str, str]) -> str:
    return await asyncio.to_thread(
        ami_action,
        int(w.settings["ami"]["port"]),
        str(w.settings["ami"]["secret"]),
        {"Action": "Getvar", **fields},
    )


def talked(connect: list[str], seconds: int) -> bool:
    return datetime.now(UTC).timestamp() >= int(connect[0]) + seconds


async def until_agent_channel(ast: Asterisk, callid: str, connect: list[str]) -> str:
    """The member channel (``;1`` of the agent robot) bridged with the caller: CONNECT names
    its uniqueid."""
    member_uid = connect[6]
    deadline = asyncio.get_running_loop().time() + 20
    while asyncio.get_running_loop().time() < deadline:
        for line in (await cli(ast, "core show channels concise")).splitlines():
            parts = line.split("!")
            if len(parts) > 13 and parts[13] == member_uid:
                return parts[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no member channel {member_uid} for {callid}")


# ---------------------------------------------------------------------------------- the world


async def stored_records(service: HotlineService) -> dict[str, list[dict[str, Any]]]:
    assert service.store is not None and service.writer is not None
    await service.writer.flush(timeout=10)
    records = await service.store.calls_between(
        datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    )
    by_call: dict[str, list[dict[str, Any]]] = {}
    for record in sorted(records, key=lambda r: (r["uniqueid"], r["leg"])):
        by_call.setdefault(record["uniqueid"], []).append(record)
    return by_call


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(pbx: tuple[Asterisk, dict[str, Any]]) -> AsyncIterator[World]:
    ast, settings = pbx
    service = HotlineService(Settings.model_validate(settings))
    await service.start(web_enabled=False)
    try:
        assert service.link is not None
        await service.link.wait_connected(timeout=20)
        w = World(ast, settings, service)
        await round_without_agents(w)
        await round_with_agents(w)
        await round_at_night(w)
        wanted = set(w.callid.values())

        async def all_stored() -> bool:
            w.records = await stored_records(service)
            return wanted <= set(w.records)

        deadline = asyncio.get_running_loop().time() + 60
        while not await all_stored():
            missing = wanted - set(w.records)
            assert asyncio.get_running_loop().time() < deadline, f"no records for {missing}"
            await asyncio.sleep(0.2)
        # the transferred call's second leg and the survey land a little later
        deadline = asyncio.get_running_loop().time() + 60
        while (
            len(w.records[w.callid[TRANSFER]]) < 2 or w.records[w.callid[FAST]][0]["survey"] is None
        ):
            assert asyncio.get_running_loop().time() < deadline, "transfer leg 2 and survey"
            await asyncio.sleep(0.2)
            w.records = await stored_records(service)
        yield w
    finally:
        await service.stop()


def record(w: World, caller: str, leg: int = 0) -> dict[str, Any]:
    return w.records[w.callid[caller]][leg]


# ---------------------------------------------------------------------------------- the tests


def expected_from_asterisk(w: World, callid: str) -> list[dict[str, Any]]:
    """What Asterisk's queue_log, CDR and monitor folder say of one call, leg by leg, in the
    record's field names."""
    ast = w.ast
    cdr = cdr_rows(ast, callid)
    assert cdr, f"no CDR for {callid}"
    linkedid, caller = cdr[0]["linkedid"], cdr[0]["src"]
    recording = ast.monitor_dir / f"hotline-{callid}.wav"
    legs = log_legs(lines_of(ast, callid)) or [None]
    out = []
    for found in legs:
        expected: dict[str, Any] = {"linkedid": linkedid, "caller_num": caller}
        if found is None:
            expected.update(outcome="ivr_hangup", queue=None, wait_s=None, recording=None)
        else:
            expected.update(
                queue=found.queue,
                outcome=found.outcome,
                wait_s=found.wait_s,
                talk_s=found.talk_s,
                answered_by=found.agent,
                ring_no_answer=found.ring_no_answer,
                hangup_by=found.hangup_by,
                # MixMonitor runs from the IVR's end, before Queue()
                recording=str(recording),
            )
        out.append(expected)
    return out


def test_every_record_equals_queue_log_and_cdr(world: World) -> None:
    w = world
    assert set(w.callid.values()) <= set(w.records)
    for caller, callid in w.callid.items():
        records = w.records[callid]
        expected = expected_from_asterisk(w, callid)
        assert len(records) == len(expected), (caller, records, expected)
        for got, want in zip(records, expected, strict=True):
            for name, value in want.items():
                if name in ("wait_s", "talk_s") and value is not None:
                    assert got[name] is not None and abs(got[name] - value) <= 1, (
                        caller,
                        name,
                        got[name],
                        value,
                    )
                else:
                    assert got[name] == value, (caller, name, got[name], value)


def test_menu_branches_reach_their_queue_with_their_priority(world: World) -> None:
    w = world
    for caller, (_, queue, priority, choice) in BRANCHES.items():
        got = record(w, caller)
        enter = events_of(w.ast, w.callid[caller])["ENTERQUEUE"]
        assert (got["queue"], enter[2]) == (queue, queue), caller
        assert (got["priority"], got["ivr_choice"]) == (priority, choice), caller
        # app_queue's own view of the waiting caller: "(wait: 0:07, prio: 5)"
        assert f"prio: {priority})" in w.waiting[caller], (caller, w.waiting[caller])
        assert got["outcome"] == "abandoned" and got["hangup_by"] == "caller"
    assert record(w, "13900000021")["ivr_path"] == ["welcome", "main", "help"]


def test_join_refused_on_an_empty_skill_queue(world: World) -> None:
    w = world
    got = record(w, JOINEMPTY)
    log = events_of(w.ast, w.callid[JOINEMPTY])
    assert set(log) == {"ENTERQUEUE", "EXITEMPTY"}
    assert (got["outcome"], got["queue"], got["wait_s"]) == ("joinempty", "hotline-report", 0)
    assert got["hangup_by"] is None and got["recording_audio"] is False


def test_hang_up_in_the_ivr(world: World) -> None:
    w = world
    got = record(w, IVR_HANGUP)
    assert lines_of(w.ast, w.callid[IVR_HANGUP]) == []
    assert (got["outcome"], got["queue"], got["hangup_by"]) == ("ivr_hangup", None, "caller")
    assert got["ivr_path"] == ["welcome", "main"]
    (cdr,) = [row for row in cdr_rows(w.ast, w.callid[IVR_HANGUP])]
    assert cdr["lastapp"] == "AGI" and got["linkedid"] == cdr["linkedid"]


@pytest.mark.asyncio(loop_scope="module")
async def test_incident_caller_pressing_1_is_merged(world: World) -> None:
    w = world
    got = record(w, INCIDENT_CALLER)
    assert got["incident_id"] == INCIDENT
    # 0 after the registration: to an agent
    assert (got["queue"], got["ivr_choice"], got["ivr_digits"]) == ("hotline-general", "0", "10")
    assert w.service.store is not None
    (incident,) = await w.service.store.incidents()
    assert incident["id"] == INCIDENT and incident["merged_callers"] == 1
    events = await w.service.store.ticket_events_for(incident["ticket_number"])
    merged = {e["data"]["linkedid"] for e in events if e["kind"] == "merged"}
    assert merged == {got["linkedid"]}
    for caller in BRANCHES:  # numbers the incident does not concern
        assert record(w, caller)["incident_id"] is None


def test_queue_timeout_leaves_a_callback_request_with_its_message(world: World) -> None:
    w = world
    callid = w.callid[TIMEOUT]
    got = record(w, TIMEOUT)
    log = events_of(w.ast, callid)
    assert {"EXITWITHTIMEOUT", "CALLBACKREQ"} <= set(log)
    assert got["outcome"] == "timeout" and got["hangup_by"] is None
    assert abs(got["wait_s"] - int(log["EXITWITHTIMEOUT"][7])) <= 1
    # issue 8 item 1: somebody must call back, and can hear what the caller said
    message = w.ast.monitor_dir / f"callback-{callid}.wav"
    assert message.stat().st_size > 44
    assert got["callback_requested"] is True
    assert got["callback_message"] == str(message)


def test_answered_within_15_s_with_the_survey(world: World) -> None:
    w = world
    got = record(w, FAST)
    assert got["outcome"] == "answered" and got["answered_by"] == "agent1"
    assert got["member_interface"] == "Local/1@robot-agent/n"
    assert got["wait_s"] <= 15
    assert got["hangup_by"] == "agent"
    assert got["survey"] == "basically_satisfied"


def test_ring_no_answer_then_another_agent_after_15_s(world: World) -> None:
    w = world
    got = record(w, RNA)
    assert got["ring_no_answer"] == ["agent8"]
    assert got["answered_by"] == "agent2" and got["queue"] == "hotline-complaint"
    assert got["wait_s"] > 15
    assert got["survey"] is None


def test_ticket_progress_then_an_agent(world: World) -> None:
    w = world
    got = record(w, TICKET)
    assert (got["queue"], got["ivr_choice"], got["priority"]) == ("hotline-general", "0", 0)
    assert got["ivr_path"] == ["welcome", "main", "after-progress"]
    # every key the IVR took, the ticket number typed at its prompt included
    assert got["ivr_digits"] == "64242#0"
    assert (got["outcome"], got["hangup_by"]) == ("abandoned", "caller")


def test_cantonese_menu(world: World) -> None:
    w = world
    got = record(w, CANTONESE)
    assert (got["queue"], got["ivr_choice"], got["language"]) == ("hotline-general", "1", "yue")
    assert got["ivr_path"] == ["welcome", "main", "main"]
    assert got["ivr_digits"] == "91"
    assert got["vars"].get("HOTLINE_CATEGORY") == "consultation"


def test_emergency_guidance_ends_in_the_ivr(world: World) -> None:
    w = world
    got = record(w, EMERGENCY)
    assert lines_of(w.ast, w.callid[EMERGENCY]) == []
    assert (got["outcome"], got["queue"], got["ivr_choice"]) == (
        "ivr_hangup",
        None,
        "emergency-all",
    )
    assert got["ivr_path"] == ["welcome", "main", "help"] and got["ivr_digits"] == "23"
    # the IVR put the phone down after the guidance, not the caller
    assert got["hangup_by"] == "ivr"
    (cdr,) = cdr_rows(w.ast, w.callid[EMERGENCY])
    assert cdr["lastapp"] == "AGI"


def test_night_complaint_goes_to_the_general_queue(world: World) -> None:
    w = world
    got = record(w, NIGHT_COMPLAINT)
    enter = events_of(w.ast, w.callid[NIGHT_COMPLAINT])["ENTERQUEUE"]
    assert (got["queue"], enter[2]) == ("hotline-general", "hotline-general")
    # still a complaint: the ticket is filed as one
    assert (got["ivr_choice"], got["vars"].get("HOTLINE_CATEGORY")) == ("3", "complaint")
    assert got["outcome"] == "abandoned"


def test_night_report_leaves_a_callback_request(world: World) -> None:
    w = world
    got = record(w, NIGHT_REPORT)
    assert lines_of(w.ast, w.callid[NIGHT_REPORT]) == []
    assert got["callback_requested"] is True
    assert (got["outcome"], got["ivr_choice"], got["hangup_by"]) == ("ivr_hangup", "4", "ivr")
    assert got["vars"].get("HOTLINE_CATEGORY") == "report"
    assert got["ivr_path"] == ["welcome", "main"]


@pytest.mark.asyncio(loop_scope="module")
async def test_the_simulator_answers_getvar_as_asterisk_does(world: World) -> None:
    """The service asks live calls for their variables after a reconnect (AMI Getvar): the
    simulator's answers are the real PBX's, block for block."""
    w = world
    sim = Pbx(Scheduler(0.0), lambda _: None, PbxConfig())
    _, ch = sim._local_pair("12345", "hotline-ivr", None)
    sim.varset(ch, "HOTLINE_LANGUAGE", "yue")
    sim.varset(ch, "HOTLINE_QUEUE", "hotline-general")
    actions = PbxActions(sim)

    def simulated(fields: dict[str, str]) -> str:
        (answer,) = actions.handle(AmiMessage.of(("Action", "Getvar"), *fields.items()))
        return "\n".join(f"{k}: {'act' if k == 'ActionID' else v}" for k, v in answer.fields)

    for variable in ("HOTLINE_LANGUAGE", "HOTLINE_UNSET"):
        assert simulated({"Channel": ch.name, "Variable": variable}) == w.getvar[variable]
    assert simulated({"Channel": ch.uniqueid, "Variable": "HOTLINE_QUEUE"}) == w.getvar["uniqueid"]
    for fields in (
        {"Channel": "Local/nobody@nowhere-00000000;2", "Variable": "HOTLINE_QUEUE"},
        {"Channel": "Local/nobody@nowhere-00000000;2"},
        {"Variable": "HOTLINE_UNSET"},
    ):
        assert simulated(fields) == await getvar(w, fields), fields


def announcements(w: World, callid: str) -> list[list[str]]:
    """What app_queue said to one caller, announcement by announcement, from Asterisk's own
    verbose log: ``<channel> Playing 'sound.format' (language 'zh')``; each sound with the
    channel's language (``sound@zh``)."""
    channel = next(row["channel"] for row in cdr_rows(w.ast, callid))
    said: list[list[str]] = []
    for line in (w.ast.root / "log" / "messages.log").read_text().splitlines():
        found = re.search(
            rf"<{re.escape(channel)}> Playing '([^.']+)\.[^']*' \(language '([^']*)'\)", line
        )
        if found is None:
            continue
        sound = found.group(1)
        if found.group(2) != "zh":
            said.append([f"{sound}@{found.group(2)}"])
            continue
        if sound in ("hotline/queue-youarenext", "hotline/queue-thereare"):
            said.append([sound])
        elif said and (sound.startswith("digits/") or sound == "hotline/queue-callswaiting"):
            said[-1].append(sound)
    return said


def test_the_general_queue_tells_its_callers_their_position(world: World) -> None:
    """queues.conf's announce-position with the hotline's own sounds: the caller who waits
    25 s for a callback hears where they are, in Chinese: the channel speaks the menu's
    language (Set(CHANNEL(language)) after Answer), so the numbers are the hotline's digits/N
    and Asterisk's Chinese number rules, not its English sounds; no file is missing."""
    w = world
    queues = (w.ast.root / "etc" / "hotline" / "queues.conf").read_text()
    general = queues.split("[hotline-general]", 1)[1].split("\n[", 1)[0]
    assert "announce-position = yes" in general
    assert f"announce-frequency = {ANNOUNCE_EVERY}" in general
    assert "queue-thereare = hotline/queue-thereare" in general
    said = announcements(w, w.callid[TIMEOUT])
    assert said, "no position announcement"
    for announcement in said:
        if announcement[0] == "hotline/queue-thereare":
            # 您前面还有 N 位来电在等待: N as Asterisk's Chinese number files
            _, *number, tail = announcement
            assert tail == "hotline/queue-callswaiting" and number, announcement
            assert all(part.startswith("digits/") for part in number), announcement
        else:
            assert announcement == ["hotline/queue-youarenext"]
    log = (w.ast.root / "log" / "messages.log").read_text()
    missing = [line for line in log.splitlines() if "does not exist" in line]
    assert not [line for line in missing if "queue-" in line or "digits/" in line], missing


def test_caller_hanging_up_mid_talk(world: World) -> None:
    w = world
    got = record(w, HANGS_UP)
    complete = events_of(w.ast, w.callid[HANGS_UP])["COMPLETECALLER"]
    assert (got["outcome"], got["hangup_by"], got["answered_by"]) == (
        "answered",
        "caller",
        "agent3",
    )
    assert got["talk_s"] == int(complete[6])


def test_blind_transfer_makes_two_legs(world: World) -> None:
    w = world
    first, second = w.records[w.callid[TRANSFER]]
    assert (first["queue"], first["outcome"], first["answered_by"]) == (
        "hotline-report",
        "transferred",
        "agent3",
    )
    assert (second["queue"], second["outcome"], second["answered_by"]) == (
        "hotline-general",
        "answered",
        "agent1",
    )
    assert first["linkedid"] == second["linkedid"]


def audio_bytes(path: str | None) -> int:
    wav = Path(path) if path else None
    return wav.stat().st_size - 44 if wav is not None and wav.is_file() else -1


def test_a_recording_with_audio_per_answered_call(world: World) -> None:
    w = world
    for records in w.records.values():
        answered = any(r["answered_by"] for r in records)
        for got in records:
            if answered:
                assert audio_bytes(got["recording"]) > 0, got
            elif got["recording"] is not None:
                # MixMonitor ran but nobody was bridged: a header only, and the record says so
                assert audio_bytes(got["recording"]) == 0
                assert got["recording_audio"] is False, got


# ------------------------------------------------------------------------------- the KPIs


def queue_log_kpis(
    lines: list[list[str]], threshold_s: int, short_abandon_s: int
) -> dict[str, float | int | None]:
    """The hotline-wide KPIs from the queue_log alone (a call = a queue_log callid; it is
    answered if any leg was; otherwise its last leg's outcome counts)."""
    calls = legs_by_call(lines)
    offered = answered = within = abandoned = short = timeouts = rejected = transfers = 0
    rings = 0
    answered_wait = talk = 0.0
    waits: list[int] = []
    for legs in calls.values():
        offered += 1
        first_answer: LogLeg | None = next((leg for leg in legs if leg.agent), None)
        for leg in legs:
            rings += len(leg.ring_no_answer)
            if leg.agent and leg.talk_s is not None:
                talk += leg.talk_s
            transfers += leg.outcome == "transferred"
        if first_answer is not None:
            assert first_answer.wait_s is not None
            answered += 1
            within += first_answer.wait_s <= threshold_s
            answered_wait += first_answer.wait_s
            waits.append(first_answer.wait_s)
            continue
        last = legs[-1]
        assert last.wait_s is not None
        waits.append(last.wait_s)
        if last.outcome == "abandoned":
            abandoned += 1
            short += last.wait_s <= short_abandon_s
        timeouts += last.outcome == "timeout"
        rejected += last.outcome == "joinempty"
    return {
        "offered": offered,
        "answered": answered,
        "answered_within": within,
        "answer_timeliness": within / answered if answered else None,
        "connect_rate": answered / offered if offered else None,
        "abandoned": abandoned,
        "short_abandons": short,
        "abandon_rate": (abandoned - short) / offered if offered else None,
        "timeouts": timeouts,
        "join_rejections": rejected,
        "transfers": transfers,
        "asa": answered_wait / answered if answered else None,
        "aht": talk / answered if answered else None,
        "longest_wait": max(waits) if waits else None,
        "ring_no_answer": rings,
    }


def test_kpi_json_equals_the_kpis_of_queue_log(world: World) -> None:
    w = world
    lines = queue_log(w.ast)
    zone = ZoneInfo("Asia/Shanghai")
    days = {datetime.fromtimestamp(int(line[0]), zone).date() for line in lines}
    first, last = min(days), max(days) + timedelta(days=1)
    result = subprocess.run(
        [str(HOTLINE), "kpi", "--from", first.isoformat(), "--to", last.isoformat(), "--json"],
        capture_output=True,
        text=True,
        env=_env(w.settings),
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    totals = report["totals"]
    want = queue_log_kpis(lines, threshold_s=15, short_abandon_s=5)
    got = {name: totals[name]["value"] for name in want}
    for name, value in want.items():
        if isinstance(value, float):
            assert got[name] == pytest.approx(value, abs=1e-9), (name, got[name], value)
        else:
            assert got[name] == value, (name, got[name], value)


# ------------------------------------------------------------- the simulator on the same calls

# A working-day morning: every queue of the shipped menu is open, like the all-day menu here.
SIM_START = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
SIM_SPEED = 4.0


def sim_member(n: int, queue: str, ring: float, talk: float, robot: str) -> MemberConfig:
    """The simulator's twin of a robot member the real rounds add (same name, interface)."""
    return MemberConfig(
        name=f"agent{n}",
        interface=f"Local/{n}@{robot}/n",
        state_interface=f"Custom:agent{n}",
        queues=[queue],
        behaviour=FixedBehaviour(ring=ring, talk=talk),
    )


def sim_rounds(
    recordings: Path, patience: dict[str, float]
) -> list[tuple[PbxConfig, list[CallerScript]]]:
    """The real rounds' calls as simulator scripts: the same keys, the same members (ring and
    talk times of the robots), the same Queue() limit and recordings folder."""

    def config(members: list[MemberConfig]) -> PbxConfig:
        return PbxConfig(
            members=members,
            queue_max_wait=QUEUE_MAX_WAIT,
            recordings_dir=str(recordings),
            callback_message_event=True,
        )

    def caller(number: str, key: str | None, **how: Any) -> CallerScript:
        # like the robots, the key comes at the main menu, not during the welcome prompts
        # (the simulated prompts last 1 s; a key due later waits for GET DATA)
        return CallerScript(number, "robot", key, dtmf_delay=1.0, **how)

    without_agents = [
        *(
            caller(number, robot[-1], patience=patience[number])
            for number, (robot, *_) in BRANCHES.items()
            if robot.startswith("press-")
        ),
        caller(JOINEMPTY, "4"),
        caller(IVR_HANGUP, None, ivr_hangup_after=4.0),
        caller(TIMEOUT, "1"),
    ]
    with_agents = [
        caller(FAST, "1", survey="2"),
        caller(RNA, "3"),
        caller(HANGS_UP, "4", talk_limit=3.0),
    ]
    members = [
        sim_member(1, "hotline-general", 2, 3, "robot-agent"),
        sim_member(8, "hotline-complaint", 99, 0, "robot-ring"),
        sim_member(2, "hotline-complaint", 2, 3, "robot-agent"),
        sim_member(3, "hotline-report", 1, 120, "robot-talk"),
    ]
    return [(config([]), without_agents), (config(members), with_agents)]


async def simulate(
    folder: Path, menu: Path, config: PbxConfig, scripts: list[CallerScript]
) -> dict[str, list[dict[str, Any]]]:
    """The scripts through the simulator, the real service and its real FastAGI IVR; the
    stored records by caller number."""
    async with AmiServer(secret="hotline-secret") as server:
        sim = Simulation(
            TrafficModel(peak_calls_per_hour=0.0, agents=[]),
            queue_log_path=folder / "queue_log",
            start=SIM_START,
            pbx_config=config,
        )
        pump = attach(sim.pbx, server)
        settings = service_settings(folder, server.port).model_copy(
            update={"ivr": IvrSettings(port=0, menu_file=menu)}
        )
        service = HotlineService(settings, now=lambda: sim.now)
        await service.start(web_enabled=False)
        try:
            assert service.link is not None and service.ivr.port is not None
            await service.link.wait_connected(timeout=10)
            driver = FastAgiDriver("127.0.0.1", service.ivr.port, speed=SIM_SPEED)
            sim.pbx.ivr_driver = driver
            done = asyncio.Event()
            sim.pbx.on_call_end.append(
                lambda _: done.set() if sim.pbx.active_calls() == 0 else None
            )
            stop = asyncio.Event()
            runner = asyncio.create_task(sim.run_realtime(SIM_SPEED, stop, max_sleep=0.01))
            for script in scripts:
                sim.place_call(script)
            try:
                await asyncio.wait_for(done.wait(), timeout=60)
            finally:
                stop.set()
                await runner
                await driver.close()
            await until(lambda: not service.tracker.active_calls(), 20, "the tracker idle")
            records = await stored_records(service)
        finally:
            await service.stop()
            await pump.close()
            sim.close()
    return {legs[0]["caller_num"]: legs for legs in records.values()}


# Compared as they are; waits and talk times within a second (Asterisk counts whole seconds
# of its own clock); ids and timestamps differ by nature.
SAME = (
    "caller_num ivr_digits ivr_choice ivr_path priority queue outcome answered_by "
    "member_interface ring_no_answer hangup_by callback_requested recording_audio language "
    "incident_id survey transferred_to"
).split()


def comparable(legs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for leg in legs:
        view = {name: leg[name] for name in SAME}
        uid = leg["uniqueid"]
        for name in ("recording", "callback_message"):
            view[name] = leg[name] and leg[name].replace(uid, "<uniqueid>")
        view["wait_s"], view["talk_s"] = leg["wait_s"], leg["talk_s"]
        out.append(view)
    return out


@pytest.mark.asyncio(loop_scope="module")
async def test_the_simulator_makes_the_records_the_real_pbx_makes(
    world: World, tmp_path: Path
) -> None:
    w = world
    menu = Path(w.settings["ivr"]["menu_file"])
    recordings = w.ast.monitor_dir
    # an abandoning caller's patience is what the real one showed (queue_log's waittime)
    patience = {
        caller: int(events_of(w.ast, w.callid[caller])["ABANDON"][7]) + 0.5 for caller in BRANCHES
    }
    differences = []
    for n, (config, scripts) in enumerate(sim_rounds(recordings, patience)):
        folder = tmp_path / f"round{n}"
        folder.mkdir()
        simulated = await simulate(folder, menu, config, scripts)
        for script in scripts:
            number = script.caller_num
            real = comparable(w.records[w.callid[number]])
            sim = comparable(simulated[number])
            if len(sim) != len(real):
                differences.append((number, "legs", sim, real))
                continue
            for got, want in zip(sim, real, strict=True):
                for name in ("wait_s", "talk_s"):
                    s_value, r_value = got.pop(name), want.pop(name)
                    if (s_value is None) != (r_value is None) or (
                        abs((s_value or 0) - (r_value or 0)) > 1
                    ):
                        differences.append((number, name, s_value, r_value))
                for name in got:
                    if got[name] != want[name]:
                        differences.append((number, name, got[name], want[name]))
    assert differences == [], differences
