"""Every real Asterisk capture replayed through the call tracker gives its expected.json."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from acd.ami.message import AmiMessage
from acd.calls import CallTracker, reads_digits
from acd.records import CallRecord
from tests.captures import capture_names, load_expected, load_messages

CAPTURES = capture_names()


class Recorder:
    def __init__(self) -> None:
        self.records: list[CallRecord] = []
        self.events: list[tuple[str, dict[str, Any]]] = []

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        self.events.append((topic, payload))

    def topics(self, uniqueid: str) -> list[str]:
        return [t for t, p in self.events if p.get("uniqueid") == uniqueid]


def replay(name: str) -> tuple[CallTracker, Recorder]:
    rec = Recorder()
    tracker = CallTracker(publish=rec.publish, on_record=rec.records.append)
    tracker.feed(load_messages(name))
    return tracker, rec


def by_start(records: list[CallRecord]) -> list[CallRecord]:
    return sorted(records, key=lambda r: (r.started_at or 0.0, r.leg))


def test_there_are_captures() -> None:
    assert len(CAPTURES) >= 11


@pytest.mark.parametrize("name", CAPTURES)
def test_capture_gives_expected_records(name: str) -> None:
    tracker, rec = replay(name)
    assert [r.expected_view() for r in by_start(rec.records)] == load_expected(name)
    # Each leg once, both to on_record and as call.ended; nothing left in flight.
    keys = [r.key for r in rec.records]
    assert len(keys) == len(set(keys))
    ended = [p["key"] for t, p in rec.events if t == "call.ended"]
    assert ended == keys
    assert tracker.active_calls() == []
    assert all(not r.recovered for r in rec.records)


@pytest.mark.parametrize("name", CAPTURES)
def test_record_timestamps_are_ordered(name: str) -> None:
    _, rec = replay(name)
    for r in rec.records:
        assert r.started_at is not None and r.ended_at is not None
        points = [r.started_at, r.ivr_ended_at, r.queue_entered_at, r.answered_at, r.ended_at]
        present = [p for p in points if p is not None]
        assert present == sorted(present), r.key
        assert (r.answered_at is not None) == (r.answered_by is not None)


def test_live_events_of_an_answered_call() -> None:
    _, rec = replay("ring_no_answer")
    (record,) = rec.records
    topics = rec.topics(record.uniqueid)
    assert topics[0] == "call.started"
    assert topics[-1] == "call.ended"
    order = [t for t in topics if t not in ("call.left",)]
    assert order == [
        "call.started",
        "call.ivr_finished",
        "call.queued",
        "call.ringing",
        "call.ring_no_answer",
        "call.ringing",
        "call.answered",
        "call.ended",
    ]
    ringing = [p for t, p in rec.events if t == "call.ringing"]
    assert [p["member"] for p in ringing] == ["Robot Agent 1", "Robot Agent 2"]
    assert ringing[1]["interface"] == "Local/agent2@agent-robot/n"
    assert ringing[1]["agent_channel"].startswith("Local/agent2@agent-robot-")
    assert ringing[1]["caller_name"] == "陈静"
    answered = next(p for t, p in rec.events if t == "call.answered")
    assert answered["wait_s"] == 20 and answered["member"] == "Robot Agent 2"
    ivr = next(p for t, p in rec.events if t == "call.ivr_finished")
    assert ivr["ivr_digits"] == "1" and ivr["queue"] == "hotline-general"
    assert ivr["ivr_choice"] == "1" and ivr["priority"] == 0


def test_live_events_of_a_timeout_and_an_ivr_hangup() -> None:
    _, rec = replay("queue_timeout")
    (record,) = rec.records
    topics = rec.topics(record.uniqueid)
    # app_queue reports the timeout as an abandon; the record still says timeout.
    assert topics.index("call.abandoned") < topics.index("call.ended")
    assert "call.callback_requested" in topics
    assert record.outcome == "timeout"
    # issue 8 item 1: the timeout's record asks for the callback; it is emitted with the
    # callback step's UserEvent (whose Message names the recording in the rendered dialplan;
    # the capture's dialplan had none).
    assert topics.index("call.callback_requested") < topics.index("call.ended")
    assert record.callback_requested is True
    assert record.callback_message is None
    named = ("Message", "/var/spool/asterisk/monitor/callback-1.wav")
    messages = [
        AmiMessage([*m.fields, named]) if m.get("UserEvent") == "HotlineCallbackRequest" else m
        for m in load_messages("queue_timeout")
    ]
    rec = Recorder()
    CallTracker(publish=rec.publish, on_record=rec.records.append).feed(messages)
    (record,) = rec.records
    assert record.callback_requested is True
    assert record.callback_message == "/var/spool/asterisk/monitor/callback-1.wav"
    _, rec = replay("ivr_hangup")
    for record in rec.records:
        assert rec.topics(record.uniqueid) == ["call.started", "call.ivr_finished", "call.ended"]


def test_transfer_legs_and_live_state() -> None:
    _, rec = replay("transfer")
    legs = by_start(rec.records)
    assert [(r.uniqueid, r.leg, r.outcome) for r in legs] == [
        (legs[0].uniqueid, 0, "transferred"),
        (legs[0].uniqueid, 1, "answered"),
        (legs[2].uniqueid, 0, "transferred"),
        (legs[2].uniqueid, 1, "answered"),
    ]
    # Blind transfer: where the agent sent the caller; Redirect: the queue it ended up in.
    assert [r.transferred_to for r in legs] == [
        "complaint@hotline-transfer",
        None,
        "hotline-complaint",
        None,
    ]
    queued = [p for t, p in rec.events if t == "call.queued"]
    assert [(p["queue"], p["leg"]) for p in queued] == [
        ("hotline-general", 0),
        ("hotline-complaint", 1),
    ] * 2


def test_wallboard_state_while_calls_are_in_flight() -> None:
    messages = load_messages("answered_slow")
    tracker = CallTracker()
    # Second caller joined while the first talks (queue_log: ENTERQUEUE at ...468).
    second_join = next(
        i
        for i, m in enumerate(messages)
        if m.name == "QueueCallerJoin" and m.get("CallerIDNum") == "13700137001"
    )
    tracker.feed(messages[: second_join + 1])
    stages = {c["caller_num"]: c["stage"] for c in tracker.active_calls()}
    assert stages == {"13900139001": "talking", "13700137001": "queued"}
    waiting = tracker.waiting("hotline-general")
    assert [(w["caller_name"], w["position"]) for w in waiting] == [("王五", 1)]
    members = {m["member"]: m for m in tracker.members()}
    assert members["Robot Agent 1"]["status_text"] == "inuse"


def test_member_operations_publish_agent_state() -> None:
    tracker, rec = replay("member_ops")
    changes = [
        (p["change"], p["member"], p["paused"], p["reason"])
        for t, p in rec.events
        if t == "agent.state" and p["change"] != "status"
    ]
    assert changes[:3] == [
        ("added", "Robot Agent 3", True, "login"),
        ("pause", "Robot Agent 1", True, "lunch"),
        ("pause", "Robot Agent 2", True, "培训 training"),
    ]
    assert ("removed", "Robot Agent 3", False, None) in changes
    # An unpause can still carry a reason (pitfall 10).
    assert ("pause", "Robot Agent 2", False, "back") in changes
    assert "Robot Agent 3" not in {m["member"] for m in tracker.members()}


def test_uninteresting_and_malformed_messages_are_ignored() -> None:
    rec = Recorder()
    tracker = CallTracker(publish=rec.publish, on_record=rec.records.append)
    tracker.handle(AmiMessage([]))
    tracker.handle(AmiMessage([("Response", "Success")]))
    tracker.handle(AmiMessage.of(("Event", "VarSet"), ("Variable", "MEMBERNAME"), ("Value", "x")))
    tracker.handle(AmiMessage.of(("Event", "Hangup"), ("Uniqueid", "nope")))
    tracker.handle(AmiMessage.of(("Event", "AgentComplete"), ("Queue", "q")))
    tracker.handle(AmiMessage.of(("Event", "Newchannel"), ("Timestamp", "garbage")))
    assert rec.events == [] and rec.records == []
    # The stream goes on working after the junk.
    tracker.feed(load_messages("joinempty"))
    assert [r.outcome for r in rec.records] == ["joinempty"]


def test_each_capture_twice_in_one_tracker_emits_each_leg_once() -> None:
    records: list[CallRecord] = []
    tracker = CallTracker(on_record=records.append)
    for name in CAPTURES:
        tracker.feed(load_messages(name))
    tracker.feed(load_messages("answered_fast"))  # a replayed stream: same keys
    counts = Counter(r.key for r in records)
    assert set(counts.values()) == {1}
    assert len(records) == sum(len(load_expected(n)) for n in CAPTURES)


def test_a_failing_subscriber_does_not_lose_records(caplog: pytest.LogCaptureFixture) -> None:
    records: list[CallRecord] = []

    def broken(topic: str, payload: dict[str, Any]) -> None:
        raise RuntimeError(f"bus down for {topic}")

    tracker = CallTracker(publish=broken, on_record=records.append)
    tracker.feed(load_messages("transfer"))
    assert [r.expected_view() for r in by_start(records)] == load_expected("transfer")
    assert "publishing call.ended failed" in caplog.text


def test_spying_on_the_other_half_of_a_local_agent_channel() -> None:
    messages = load_messages("spy_and_record")
    rewritten = []
    for msg in messages:
        if msg.name == "ChanSpyStart":
            # Same spy, aimed at the agent robot's ;2 half instead of the bridged ;1.
            msg = AmiMessage(
                [
                    (
                        k,
                        v[:-1] + "2"
                        if k == "SpyeeChannel"
                        else ("" if k == "SpyeeUniqueid" else v),
                    )
                    for k, v in msg.fields
                ]
            )
        rewritten.append(msg)
    records: list[CallRecord] = []
    CallTracker(on_record=records.append).feed(rewritten)
    assert [r.spied_by for r in records] == [load_expected("spy_and_record")[0]["spied_by"]]


def test_keys_pressed_while_the_ivr_does_not_listen_are_not_digits() -> None:
    messages = load_messages("answered_fast")
    stream = next(
        i
        for i, m in enumerate(messages)
        if m.name == "AGIExecStart" and (m.get("Command") or "").startswith("STREAM")
    )
    dtmf = next(m for m in messages if m.name == "DTMFEnd")
    early = AmiMessage([(k, "9" if k == "Digit" else v) for k, v in dtmf.fields])
    records: list[CallRecord] = []
    CallTracker(on_record=records.append).feed(
        [*messages[: stream + 1], early, *messages[stream + 1 :]]
    )
    assert [r.ivr_digits for r in records] == ["1"]


@pytest.mark.parametrize(
    ("command", "reads"),
    [
        ("GET DATA beep 5000 1", True),
        ("WAIT FOR DIGIT 3000", True),
        ("GET OPTION x 12", True),
        ('STREAM FILE hello-world ""', False),
        ("STREAM FILE menu 123", True),
        ("SET VARIABLE HOTLINE_QUEUE q", False),
        ("ANSWER", False),
    ],
)
def test_which_agi_commands_read_digits(command: str, reads: bool) -> None:
    assert reads_digits(command) is reads


def test_the_tracker_reads_the_channel_variables_the_contract_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Rename the contract's variables both in the stream and in the contract: the tracker must
    # follow asterisk_conf/channel_vars.py, not spellings of its own.
    import acd.calls
    from asterisk_conf.channel_vars import CHOICE, PRIORITY, QUEUE, ChannelVar

    renamed = {var.name: var.name + "_V2" for var in (QUEUE, CHOICE, PRIORITY)}
    for attr, var in (("QUEUE", QUEUE), ("CHOICE", CHOICE), ("PRIORITY", PRIORITY)):
        monkeypatch.setattr(acd.calls, attr, ChannelVar(renamed[var.name], "", ""))
    messages = [
        AmiMessage([(k, renamed.get(v, v) if k == "Variable" else v) for k, v in m.fields])
        for m in load_messages("ring_no_answer")
    ]
    rec = Recorder()
    CallTracker(publish=rec.publish, on_record=rec.records.append).feed(messages)
    ivr = next(p for t, p in rec.events if t == "call.ivr_finished")
    assert (ivr["queue"], ivr["ivr_choice"], ivr["priority"]) == ("hotline-general", "1", 0)
    assert rec.records[0].ivr_choice == "1" and rec.records[0].priority == 0


def test_who_hung_up_when_agent_complete_comes_after_the_callers_hangup() -> None:
    """Real PBX under load: app_queue's AgentComplete (a stasis subscriber) may reach AMI after
    the caller's Hangup, and the agent's Hangup before it although the caller put the phone
    down. The record still says the caller ended it (COMPLETECALLER), as queue_log does."""
    messages = load_messages("answered_fast")
    (complete,) = [i for i, m in enumerate(messages) if m.get("Event") == "AgentComplete"]
    (caller_gone,) = [
        i
        for i, m in enumerate(messages)
        if m.get("Event") == "Hangup" and m.get("Uniqueid") == "1795445274.1"
    ]
    assert complete < caller_gone
    late = messages[:complete] + messages[complete + 1 : caller_gone + 1]
    late += [messages[complete], *messages[caller_gone + 1 :]]
    rec = Recorder()
    CallTracker(publish=rec.publish, on_record=rec.records.append).feed(late)
    (record,) = rec.records
    (expected,) = load_expected("answered_fast")
    assert (record.outcome, record.hangup_by) == ("answered", "caller")
    assert record.talk_s == expected["talk_s"]
