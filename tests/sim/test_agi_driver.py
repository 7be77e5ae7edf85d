"""The simulated PBX with its IVR run by a real FastAGI server over loopback."""

from __future__ import annotations

import asyncio
import socket

from acd.ami.message import AmiMessage
from acd.calls import CallTracker
from acd.records import CallRecord
from hotline.sim.agi_driver import FastAgiDriver
from hotline.sim.model import CallerScript
from hotline.sim.shapes import collect_shapes, shape_mismatches
from hotline.sim.traffic import AgentProfile, Simulation, TrafficModel
from tests.captures import capture_names, load_messages
from tests.sim.test_agi_client import ivr_server

SPEED = 40.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def _run(sim: Simulation, scripts: list[CallerScript]) -> None:
    ended = asyncio.Event()
    sim.pbx.on_call_end.append(lambda truth: ended.set() if sim.pbx.active_calls() == 0 else None)
    stop = asyncio.Event()
    runner = asyncio.create_task(sim.run_realtime(speed=SPEED, stop_event=stop, max_sleep=0.01))
    for script in scripts:
        sim.place_call(script)
    try:
        await asyncio.wait_for(ended.wait(), timeout=20)
    finally:
        stop.set()
        await runner


def _sim(events: list[AmiMessage]) -> Simulation:
    agents = [
        AgentProfile(
            1,
            ["hotline-general", "hotline-complaint"],
            ring_min=1,
            ring_max=1,
            talk_mean=20,
            talk_min=20,
            no_answer=0.0,
        )
    ]
    return Simulation(
        TrafficModel(peak_calls_per_hour=0.0, agents=agents), seed=1, emit=events.append
    )


async def test_calls_go_through_a_real_fastagi_server() -> None:
    events: list[AmiMessage] = []
    sim = _sim(events)
    async with ivr_server() as port:
        driver = FastAgiDriver("127.0.0.1", port, speed=SPEED)
        sim.pbx.ivr_driver = driver
        await _run(
            sim,
            [
                CallerScript("13800138001", "张三", "2", talk_limit=5),
                CallerScript("13800138002", "李四", None, ivr_hangup_after=1.0),
            ],
        )
        await driver.close()
    first, second = sim.truths
    assert (first.outcome, first.queue, first.ivr_digits) == ("answered", "hotline-complaint", "2")
    assert (second.outcome, second.queue, second.hangup_by) == ("ivr_hangup", None, "caller")
    varsets = [
        (m.get("Uniqueid"), m.get("Variable"), m.get("Value"))
        for m in events
        if m.name == "VarSet" and (m.get("Variable") or "").startswith(("HOTLINE_", "AGISTATUS"))
    ]
    assert (first.uniqueid, "HOTLINE_QUEUE", "hotline-complaint") in varsets
    assert (first.uniqueid, "AGISTATUS", "SUCCESS") in varsets
    assert (second.uniqueid, "AGISTATUS", "HANGUP") in varsets
    reference = collect_shapes(m for n in capture_names() for m in load_messages(n))
    assert shape_mismatches(events, reference) == []

    records: list[CallRecord] = []
    CallTracker(on_record=records.append).feed(events)
    by_uid = {r.uniqueid: r.to_json() for r in records}
    for truth in sim.truths:
        got = by_uid[truth.uniqueid]
        assert (got["outcome"], got["queue"], got["ivr_digits"], got["answered_by"]) == (
            truth.outcome,
            truth.queue,
            truth.ivr_digits,
            truth.answered_by,
        )


async def test_unreachable_ivr_falls_back_to_the_default_queue() -> None:
    events: list[AmiMessage] = []
    sim = _sim(events)
    driver = FastAgiDriver("127.0.0.1", _free_port(), speed=SPEED)
    sim.pbx.ivr_driver = driver
    await _run(sim, [CallerScript("13800138003", "王五", "2", talk_limit=5)])
    (truth,) = sim.truths
    assert truth.outcome == "answered"
    assert truth.queue == "hotline-general"  # ExecIf(HOTLINE_QUEUE = "") -> general
    statuses = [
        m.get("Value") for m in events if m.name == "VarSet" and m.get("Variable") == "AGISTATUS"
    ]
    assert statuses == ["FAILURE"]


async def test_a_hang_up_while_the_server_works_ends_the_call_in_the_ivr() -> None:
    """Seen on the real PBX: a caller who hangs up while the FastAGI server is still working
    on its next command (no command fails, Asterisk sends the asynchronous HANGUP line) ends
    in the IVR: AGI() returns AGISTATUS=HANGUP and the dialplan goes no further."""

    async def slow_ivr(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()).strip():
            pass  # the agi_* environment
        await asyncio.sleep(0.5)  # 20 simulated seconds of thinking
        writer.write(b"ANSWER\n")
        await writer.drain()
        await reader.readline()
        writer.close()

    events: list[AmiMessage] = []
    sim = _sim(events)
    server = await asyncio.start_server(slow_ivr, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        driver = FastAgiDriver("127.0.0.1", port, speed=SPEED)
        sim.pbx.ivr_driver = driver
        await _run(sim, [CallerScript("13800138003", "王五", None, ivr_hangup_after=2.0)])
        await driver.close()
    finally:
        server.close()
        await server.wait_closed()
    (truth,) = sim.truths
    assert (truth.outcome, truth.queue, truth.hangup_by) == ("ivr_hangup", None, "caller")
    assert not [m for m in events if m.name == "QueueCallerJoin"]
    assert ("AGISTATUS", "HANGUP") in [(m.get("Variable"), m.get("Value")) for m in events]


async def test_the_ivr_hanging_up_is_not_the_caller_hanging_up() -> None:
    """Seen on the real PBX (emergency guidance, a night callback): the IVR ends the call with
    AGI HANGUP; the simulator's truth and the tracker's record say the IVR hung up."""

    async def hanging_up_ivr(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()).strip():
            pass  # the agi_* environment
        for command in (b"ANSWER\n", b"HANGUP\n"):
            writer.write(command)
            await writer.drain()
            await reader.readline()
        writer.close()

    events: list[AmiMessage] = []
    sim = _sim(events)
    server = await asyncio.start_server(hanging_up_ivr, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        driver = FastAgiDriver("127.0.0.1", port, speed=SPEED)
        sim.pbx.ivr_driver = driver
        await _run(sim, [CallerScript("13800138004", "赵六", None)])
        await driver.close()
    finally:
        server.close()
        await server.wait_closed()
    (truth,) = sim.truths
    assert (truth.outcome, truth.queue, truth.hangup_by) == ("ivr_hangup", None, "ivr")
    records: list[CallRecord] = []
    CallTracker(on_record=records.append).feed(events)
    (record,) = records
    assert (record.outcome, record.hangup_by) == ("ivr_hangup", "ivr")
