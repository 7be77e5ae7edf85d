"""The simulator answers a call-back's Originate (the agent's phone first) as Asterisk does:
queued at once, the phone rings, OriginateResponse Success/4 once answered (Failure/3 when
it is not, Failure/0 for an unknown phone), with the captures' event shapes."""

from __future__ import annotations

from acd.ami.message import AmiMessage
from hotline.sim.actions import PbxActions
from hotline.sim.model import FixedBehaviour, PbxConfig, sip_member
from hotline.sim.pbx import Pbx
from hotline.sim.scheduler import Scheduler
from hotline.sim.shapes import collect_shapes, shape_mismatches
from tests.captures import capture_names, load_messages

START = 1795445557.0
PHONE = "PJSIP/agent-sip1"


def _pbx(ring: float) -> tuple[Pbx, PbxActions, list[AmiMessage]]:
    events: list[AmiMessage] = []
    config = PbxConfig(
        members=[sip_member(1, ["hotline-general"], FixedBehaviour(ring, 30.0))],
        record_calls=False,
        sip=True,
    )
    pbx = Pbx(Scheduler(START), events.append, config)
    return pbx, PbxActions(pbx), events


def _originate(actions: PbxActions, channel: str) -> list[AmiMessage]:
    return actions.handle(
        AmiMessage(
            [
                ("Action", "Originate"),
                ("ActionID", "cb-1"),
                ("Channel", channel),
                ("Context", "hotline-outbound"),
                ("Exten", "913800138000"),
                ("Priority", "1"),
                ("CallerID", '"回拨" <13800138000>'),
                ("Timeout", "20000"),
                ("Async", "true"),
            ]
        )
    )


def _reference() -> dict[str, set[tuple[str, ...]]]:
    messages = [m for name in capture_names() for m in load_messages(name)]
    return collect_shapes(messages)


def test_the_phone_rings_answers_and_the_call_ends() -> None:
    pbx, actions, events = _pbx(ring=3.0)
    answer = _originate(actions, PHONE)
    assert [(m.name, m.get("Message")) for m in answer] == [
        ("Success", "Originate successfully queued")
    ]
    pbx.scheduler.run_until(START + 100)
    statuses = [m.get("Status") for m in events if m.name == "QueueMemberStatus"]
    assert statuses == ["6", "2", "1"]  # ringing, in use, free again
    response = next(m for m in events if m.name == "OriginateResponse")
    assert (response.get("Response"), response.get("Reason"), response.get("ActionID")) == (
        "Success",
        "4",
        "cb-1",
    )
    assert float(response["Timestamp"]) - START >= 3.0
    # The outbound route dialled the citizen through the trunk, who answered.
    dial_end = next(m for m in events if m.name == "DialEnd")
    assert (dial_end.get("Uniqueid"), dial_end.get("DialStatus")) == (
        response.get("Uniqueid"),
        "ANSWER",
    )
    assert dial_end.get("DestChannel", "").startswith("PJSIP/pstn-trunk-")
    assert [m.name for m in events].count("Hangup") == 2
    assert shape_mismatches(events, _reference()) == []


def test_a_phone_that_does_not_answer_and_an_unknown_one_fail() -> None:
    pbx, actions, events = _pbx(ring=99.0)
    _originate(actions, PHONE)
    _originate(actions, "PJSIP/nobody")
    pbx.scheduler.run_until(START + 100)
    responses = [
        (m.get("Response"), m.get("Reason")) for m in events if m.name == "OriginateResponse"
    ]
    assert responses == [("Failure", "0"), ("Failure", "3")]
    statuses = [m.get("Status") for m in events if m.name == "QueueMemberStatus"]
    assert statuses == ["6", "1"]
