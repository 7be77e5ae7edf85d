"""The simulator behind the real AmiServer, and its events through the real CallTracker.

The strongest check of the simulator: the tracker (written against the real captures) turns
the simulated stream into exactly the calls the simulator says it made.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from acd.ami.framing import AmiFramer
from acd.ami.message import AmiMessage
from acd.calls import CallTracker
from acd.records import CallRecord
from hotline.sim.actions import attach
from hotline.sim.ami_server import AmiServer
from hotline.sim.model import CallerScript
from hotline.sim.traffic import AgentProfile, Simulation, TrafficModel


def _compare(records: list[CallRecord], sim: Simulation) -> list[str]:
    # One record per call and queue leg: a transferred call has two with the same uniqueid.
    truth: dict[tuple[str, str | None], dict[str, Any]] = {
        (t.uniqueid, t.queue): t.to_expected() for t in sim.truths
    }
    problems = []
    seen = set()
    for record in records:
        got: dict[str, Any] = record.to_json()
        key = (got["uniqueid"], got["queue"])
        want = truth.get(key)
        if want is None:
            problems.append(f"tracker invented {key}")
            continue
        seen.add(key)
        for key, value in want.items():
            if key == "queue_entered_at":
                if (value is None) != (got.get(key) is None) or (
                    value is not None and abs(value - got[key]) > 1e-5
                ):
                    problems.append(f"{got['uniqueid']} {key}: {got.get(key)} != {value}")
            elif got.get(key) != value:
                problems.append(f"{got['uniqueid']} {key}: {got.get(key)!r} != {value!r}")
    problems.extend(f"tracker missed {uid}" for uid in truth.keys() - seen)
    return problems


@pytest.mark.parametrize(("seed", "sip"), [(1, False), (2, False), (3, True)])
def test_tracker_records_equal_the_simulator_truth(seed: int, sip: bool) -> None:
    model = TrafficModel(
        peak_calls_per_hour=400,
        ivr_hangup=0.08,
        transfer_share=0.4,
        sip=sip,
        agents=[
            AgentProfile(1, ["hotline-general"], no_answer=0.3),
            AgentProfile(2, ["hotline-general", "hotline-complaint"]),
            AgentProfile(3, ["hotline-complaint"], no_answer=0.1),
        ],
    )
    sim = Simulation(model, seed=seed)
    records: list[CallRecord] = []
    tracker = CallTracker(on_record=records.append)
    events = list(sim.generate(250))
    # Both transfer kinds happen: BlindTransfer, and Redirect (AgentComplete without channel).
    assert any(m.name == "BlindTransfer" for m in events)
    assert any(m.name == "AgentComplete" and "Channel" not in m for m in events)
    tracker.feed(events)
    assert len(records) == len(sim.truths) >= 250
    assert _compare(records, sim) == []
    outcomes = {r.outcome for r in records}
    assert {"answered", "abandoned", "timeout", "transferred"} <= outcomes


async def _read_until(
    reader: asyncio.StreamReader, framer: AmiFramer, done: Any
) -> list[AmiMessage]:
    got: list[AmiMessage] = []
    while not done(got):
        data = await reader.read(65536)
        if not data:
            break
        got.extend(framer.feed(data))
    return got


async def test_simulator_served_over_ami() -> None:
    sim = Simulation(
        TrafficModel(
            peak_calls_per_hour=0.0,
            agents=[AgentProfile(1, ["hotline-general"], ring_min=2, ring_max=2, no_answer=0.0)],
        ),
        seed=1,
    )
    async with AmiServer(secret="s3cret", badauth_delay=0.0) as server:
        pump = attach(sim.pbx, server)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        framer = AmiFramer()
        try:
            async with asyncio.timeout(10):
                writer.write(
                    b"Action: Login\r\nActionID: a1\r\nUsername: hotline\r\nSecret: s3cret\r\n\r\n"
                )
                await _read_until(
                    reader, framer, lambda got: any(m.get("ActionID") == "a1" for m in got)
                )
                writer.write(b"Action: QueueSummary\r\nActionID: a2\r\n\r\n")
                summary = await _read_until(
                    reader, framer, lambda got: any(m.name == "QueueSummaryComplete" for m in got)
                )
                general = next(m for m in summary if m.get("Queue") == "hotline-general")
                assert general.get("ActionID") == "a2"
                assert general.get("LoggedIn") == "1"

                sim.place_call(CallerScript("13800138001", "张三", "1", talk_limit=30))
                sim.run_for(120)
                await pump.flush()
                events = await _read_until(
                    reader, framer, lambda got: sum(1 for m in got if m.name == "Hangup") >= 4
                )
        finally:
            writer.close()
            await pump.close()
    names = [m.name for m in events]
    assert names.count("AgentConnect") == 1
    assert names.index("QueueCallerLeave") < names.index("AgentConnect")
    tracker_records: list[CallRecord] = []
    tracker = CallTracker(on_record=tracker_records.append)
    tracker.feed(events)
    assert _compare(tracker_records, sim) == []
    assert tracker_records[0].caller_name == "张三"


async def test_pump_survives_a_failing_broadcast(caplog: pytest.LogCaptureFixture) -> None:
    from hotline.sim.actions import EventPump

    class Flaky:
        def __init__(self) -> None:
            self.sent: list[AmiMessage] = []

        def register_action(self, name: str, handler: Any) -> None:
            return None

        async def broadcast(self, msg: AmiMessage) -> None:
            if msg.get("n") == "2":
                raise ConnectionResetError("client vanished")
            self.sent.append(msg)

    server = Flaky()
    pump = EventPump(server)
    pump.start()
    for n in range(4):
        pump.emit(AmiMessage.of(("Event", "Test"), ("n", str(n))))
    await asyncio.wait_for(pump.flush(), timeout=5)
    await pump.close()
    assert [m.get("n") for m in server.sent] == ["0", "1", "3"]
    assert pump.failed == 1
    assert "could not broadcast" in caplog.text
