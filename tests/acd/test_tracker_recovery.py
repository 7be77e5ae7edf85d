"""AMI outage at every event boundary of every capture: resync from CoreShowChannels,
QueueStatus, queue_log and cdr_csv must emit every knowable call exactly once, with the right
result (a caller who hangs up in the IVR inside the outage is known from cdr_csv alone).

The PBX's answers at reconnect are derived from the capture itself: channels created and not
hung up, callers joined and not left, members' last state, and the queue_log lines written
and cdr_csv lines written up to that moment (by their whole-second time: lines of the
reconnect's second are included, so a leg may be closed from queue_log a moment before its own
AMI event would have).

Compared: queue, outcome, wait_s, answered_by, talk_s, hangup_by, ring_no_answer, caller_num.
A call whose CDR was written by the reconnect also has its linkedid and caller name from it.
Not compared, as they cannot be known across an outage: linkedid of a call that began and
ended inside it without a CDR yet (queue_log has no linkedid: the callid stands in), spied_by,
recording,
ivr_digits and caller_name when the IVR happened during the outage, member_interface when
the answer was missed (taken from the member list), queue_entered_at precision (whole
seconds from queue_log).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from acd.ami.message import AmiMessage
from acd.calls import CallTracker
from acd.cdr_csv import CdrEntry, read_cdr_csv
from acd.queue_log import QueueLogEntry, legs_from_queue_log, read_queue_log
from acd.records import CallRecord
from acd.tracker.traces import recordings_in
from asterisk_conf.channel_vars import cdr_userfield
from tests.captures import CAPTURES, capture_names, load_expected, load_messages

COMPARED = (
    "queue",
    "outcome",
    "wait_s",
    "answered_by",
    "talk_s",
    "hangup_by",
    "ring_no_answer",
    "caller_num",
)
# Outage lengths in events; None = the connection never comes back until the capture ends.
GAPS = (1, 40, None)
MEMBER_EVENTS = ("QueueMemberAdded", "QueueMemberStatus", "QueueMemberPause", "QueueMemberPenalty")


@dataclass
class PbxState:
    """What the PBX would answer at one moment of the capture."""

    moment: float
    channels: dict[str, dict[str, str]] = field(default_factory=dict)
    entries: dict[str, dict[str, str]] = field(default_factory=dict)
    members: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    def core_show_channels(self) -> list[AmiMessage]:
        out = []
        for chan in self.channels.values():
            seconds = max(0, int(self.moment - float(chan["created"])))
            duration = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
            out.append(
                AmiMessage(
                    [
                        ("Event", "CoreShowChannel"),
                        ("ActionID", "resync-1"),
                        ("Channel", chan["Channel"]),
                        ("CallerIDNum", chan["CallerIDNum"]),
                        ("CallerIDName", chan["CallerIDName"]),
                        ("Context", chan["Context"]),
                        ("Exten", chan["Exten"]),
                        ("Uniqueid", chan["Uniqueid"]),
                        ("Linkedid", chan["Linkedid"]),
                        ("Application", chan["Application"]),
                        ("ApplicationData", chan["AppData"]),
                        ("Duration", duration),
                        ("BridgeId", ""),
                    ]
                )
            )
        out.append(
            AmiMessage(
                [
                    ("Event", "CoreShowChannelsComplete"),
                    ("ActionID", "resync-1"),
                    ("EventList", "Complete"),
                    ("ListItems", str(len(out))),
                ]
            )
        )
        return out

    def queue_status(self) -> list[AmiMessage]:
        out = []
        for (queue, interface), m in sorted(self.members.items()):
            out.append(
                AmiMessage(
                    [
                        ("Event", "QueueMember"),
                        ("Queue", queue),
                        ("Name", m["MemberName"]),
                        ("Location", interface),
                        ("StateInterface", m.get("StateInterface", "")),
                        ("Membership", m.get("Membership", "")),
                        ("Penalty", m.get("Penalty", "0")),
                        ("CallsTaken", m.get("CallsTaken", "0")),
                        ("InCall", m.get("InCall", "0")),
                        ("Status", m.get("Status", "0")),
                        ("Paused", m.get("Paused", "0")),
                        ("PausedReason", m.get("PausedReason", "")),
                        ("ActionID", "resync-2"),
                    ]
                )
            )
        for uid, entry in self.entries.items():
            out.append(
                AmiMessage(
                    [
                        ("Event", "QueueEntry"),
                        ("Queue", entry["Queue"]),
                        ("Position", entry["Position"]),
                        ("Channel", entry["Channel"]),
                        ("Uniqueid", uid),
                        ("CallerIDNum", entry.get("CallerIDNum", "")),
                        ("Wait", str(max(0, int(self.moment - float(entry["Timestamp"]))))),
                        ("ActionID", "resync-2"),
                    ]
                )
            )
        out.append(AmiMessage([("Event", "QueueStatusComplete"), ("ActionID", "resync-2")]))
        return out


def pbx_states(messages: list[AmiMessage]) -> list[PbxState]:
    """states[j] = the PBX after messages[:j]."""
    state = PbxState(moment=0.0)
    states = [state]
    for msg in messages:
        h = dict(msg.fields)
        state = PbxState(
            moment=float(h["Timestamp"]) if "Timestamp" in h else state.moment,
            channels={k: dict(v) for k, v in state.channels.items()},
            entries={k: dict(v) for k, v in state.entries.items()},
            members=dict(state.members),
        )
        name, uid = msg.name, h.get("Uniqueid", "")
        if name == "Newchannel":
            state.channels[uid] = {
                **h,
                "created": repr(state.moment),
                "Application": "",
                "AppData": "",
            }
        elif name == "NewCallerid" and uid in state.channels:
            state.channels[uid].update(CallerIDNum=h["CallerIDNum"], CallerIDName=h["CallerIDName"])
        elif name == "Newexten" and uid in state.channels:
            state.channels[uid].update(
                Context=h["Context"],
                Exten=h["Exten"],
                Application=h["Application"],
                AppData=h["AppData"],
            )
        elif name == "Hangup":
            state.channels.pop(uid, None)
        elif name == "QueueCallerJoin":
            state.entries[uid] = h
        elif name == "QueueCallerLeave":
            left = state.entries.pop(uid, None)
            for other in state.entries.values():
                if (
                    left
                    and other["Queue"] == left["Queue"]
                    and int(other["Position"]) > int(h["Position"])
                ):
                    other["Position"] = str(int(other["Position"]) - 1)
        elif name in MEMBER_EVENTS:
            state.members[(h["Queue"], h["Interface"])] = h
        elif name == "QueueMemberRemoved":
            state.members.pop((h["Queue"], h["Interface"]), None)
        states.append(state)
    return states


@dataclass
class Capture:
    messages: list[AmiMessage]
    states: list[PbxState]
    queue_log: list[QueueLogEntry]
    cdr: list[CdrEntry]
    expected: dict[tuple[str, int], dict[str, object]]
    emitted_at: dict[str, int]  # record key → index of the event that closes it live
    log_end: dict[tuple[str, int], int]  # (callid, leg) → queue_log time that closes it
    born_at: dict[str, int]  # uniqueid → index of its Newchannel


def load_capture(name: str) -> Capture:
    messages = load_messages(name)
    queue_log = read_queue_log(CAPTURES / name / "queue_log")
    records: list[CallRecord] = []
    emitted_at: dict[str, int] = {}
    tracker = CallTracker(on_record=records.append)
    for index, msg in enumerate(messages):
        tracker.handle(msg)
        for record in records[len(emitted_at) :]:
            emitted_at[record.key] = index
    expected: dict[tuple[str, int], dict[str, object]] = {}
    counts: Counter[str] = Counter()
    for e in load_expected(name):
        uid = str(e["uniqueid"])
        expected[(uid, counts[uid])] = e
        counts[uid] += 1
    born_at: dict[str, int] = {}
    for index, msg in enumerate(messages):
        if msg.name == "Newchannel":
            born_at.setdefault(msg.get("Uniqueid") or "", index)
    log_end = {(leg.callid, leg.leg): leg.ended_at or 0 for leg in legs_from_queue_log(queue_log)}
    cdr = read_cdr_csv(CAPTURES / name / "cdr.csv")
    return Capture(
        messages, pbx_states(messages), queue_log, cdr, expected, emitted_at, log_end, born_at
    )


def run_outage(cap: Capture, k: int, j: int) -> None:
    records: list[CallRecord] = []
    tracker = CallTracker(on_record=records.append)
    tracker.feed(cap.messages[:k])
    known = set(tracker.calls) | {r.uniqueid for r in records}
    tracker.connection_lost()
    state = cap.states[j]
    written = [e for e in cap.queue_log if e.time <= int(state.moment)]
    cdr = [e for e in cap.cdr if e.end <= int(state.moment)]
    tracker.resync(state.core_show_channels(), state.queue_status(), written, cdr, now=state.moment)
    where = f"outage over events [{k}, {j})"
    # Right after the catch-up the live state is the PBX's.
    assert set(tracker.calls) <= set(state.channels), where
    assert {(m["queue"], m["interface"]) for m in tracker.members()} == set(state.members), where
    waiting = {
        c["uniqueid"]
        for q in {e["Queue"] for e in state.entries.values()}
        for c in tracker.waiting(q)
    }
    assert waiting <= set(state.entries), where
    tracker.feed(cap.messages[j:])

    keys = Counter(r.key for r in records)
    assert max(keys.values(), default=1) == 1, f"{where}: emitted twice: {keys}"
    in_log = {e.callid for e in written} | {e.uniqueid for e in cdr}
    knowable = {
        key
        for key in cap.expected
        if key[0] in known
        or key[0] in state.channels
        or key[0] in in_log
        or cap.born_at.get(key[0], 0) >= j
    }
    got = {(r.uniqueid, r.leg): r for r in records}
    assert set(got) == knowable, where
    with_cdr = {e.uniqueid for e in cdr}
    for key, record in got.items():
        expected = cap.expected[key]
        assert {f: getattr(record, f) for f in COMPARED} == {f: expected[f] for f in COMPARED}, (
            f"{where}: {key}"
        )
        if key[0] in with_cdr:
            assert record.linkedid == expected["linkedid"], f"{where}: {key}"
            assert record.caller_name == expected["caller_name"], f"{where}: {key}"
        closed_live_at = cap.emitted_at[record.key]
        end_missed = k <= closed_live_at < j
        log_knew_end = cap.log_end.get(key, 10**12) <= int(state.moment)
        if end_missed:
            assert record.recovered, f"{where}: {key} should be recovered"
        elif not log_knew_end:
            assert not record.recovered, f"{where}: {key} should not be recovered"
    assert tracker.active_calls() == [], where


@pytest.mark.parametrize("name", capture_names())
def test_outage_at_every_event_boundary(name: str) -> None:
    cap = load_capture(name)
    n = len(cap.messages)
    for gap in GAPS:
        for k in range(n + 1):
            run_outage(cap, k, n if gap is None else min(n, k + gap))


def test_resync_closes_a_vanished_call_from_queue_log() -> None:
    cap = load_capture("abandoned")
    # Lose the link right after the caller joined; come back after everything ended.
    k = next(i for i, m in enumerate(cap.messages) if m.name == "QueueCallerJoin") + 1
    records: list[CallRecord] = []
    published: list[tuple[str, dict[str, object]]] = []
    tracker = CallTracker(publish=lambda t, p: published.append((t, p)), on_record=records.append)
    tracker.feed(cap.messages[:k])
    assert [c["stage"] for c in tracker.active_calls()] == ["queued"]
    tracker.connection_lost()
    end = cap.states[-1]
    closed = tracker.resync(end.core_show_channels(), end.queue_status(), cap.queue_log)
    assert closed == records and len(records) == 1
    (record,) = records
    assert record.recovered and record.outcome == "abandoned" and record.wait_s == 12
    assert record.caller_name == "王芳" and record.recording is not None
    assert ("call.ended", record.to_json()) in published
    assert tracker.active_calls() == []
    # Same answers again (a second reconnect): nothing new.
    assert tracker.resync(end.core_show_channels(), end.queue_status(), cap.queue_log) == []


def test_resync_announces_what_happened_while_away() -> None:
    cap = load_capture("answered_fast")
    msgs = cap.messages
    k = next(i for i, m in enumerate(msgs) if m.name == "QueueCallerJoin")
    j = next(i for i, m in enumerate(msgs) if m.name == "AgentConnect") + 1
    published: list[tuple[str, dict[str, object]]] = []
    records: list[CallRecord] = []
    tracker = CallTracker(publish=lambda t, p: published.append((t, p)), on_record=records.append)
    tracker.feed(msgs[:k])
    tracker.connection_lost()
    state = cap.states[j]
    written = [e for e in cap.queue_log if e.time <= int(state.moment)]
    assert tracker.resync(state.core_show_channels(), state.queue_status(), written) == []
    after = [(t, p) for t, p in published if p.get("recovered")]
    assert [t for t, _ in after] == ["call.queued", "call.answered"]
    assert after[1][1]["member"] == "Robot Agent 1" and after[1][1]["wait_s"] == 3
    assert after[1][1]["interface"] == "Local/agent1@agent-robot/n"  # from the member list
    (active,) = tracker.active_calls()
    assert active["stage"] == "talking" and active["caller_name"] == "张三"
    tracker.feed(msgs[j:])
    (record,) = records
    # The end was seen live: AgentComplete's talk time, not a recovered record.
    assert not record.recovered and record.talk_s == 9 and record.hangup_by == "caller"


def test_calls_entirely_inside_an_outage_come_from_queue_log() -> None:
    cap = load_capture("transfer")
    msgs = cap.messages
    # Lose the link once c1 is over, before c2 exists; never come back until the end.
    k = (
        next(
            i
            for i, m in enumerate(msgs)
            if m.name == "Hangup" and m.get("Uniqueid") == "1795445593.1"
        )
        + 1
    )
    records: list[CallRecord] = []
    tracker = CallTracker(on_record=records.append)
    tracker.feed(msgs[:k])
    assert len(records) == 2
    tracker.connection_lost()
    end = cap.states[-1]
    closed = tracker.resync(end.core_show_channels(), end.queue_status(), cap.queue_log)
    assert [(r.uniqueid, r.leg, r.queue, r.outcome, r.talk_s, r.recovered) for r in closed] == [
        ("1795445619.7", 0, "hotline-general", "transferred", 5, True),
        ("1795445619.7", 1, "hotline-complaint", "answered", 12, True),
    ]
    assert closed[0].caller_num == "13800138003" and closed[0].caller_name is None


def test_resync_tolerates_odd_answers() -> None:
    cap = load_capture("answered_fast")
    k = next(i for i, m in enumerate(cap.messages) if m.name == "AgentConnect") + 1
    records: list[CallRecord] = []
    tracker = CallTracker(on_record=records.append)
    tracker.feed(cap.messages[:k])
    tracker.connection_lost()
    state = cap.states[k]
    junk = [
        AmiMessage([("Event", "CoreShowChannel"), ("Channel", "no uniqueid")]),
        AmiMessage([("Response", "Error")]),
        AmiMessage([]),
    ]
    tracker.resync(state.core_show_channels() + junk, junk + state.queue_status(), [])
    assert records == [] and [c["stage"] for c in tracker.active_calls()] == ["talking"]
    tracker.feed(cap.messages[k:])
    assert [r.expected_view() for r in records] == load_expected("answered_fast")


def test_an_error_answer_does_not_close_live_calls(caplog: pytest.LogCaptureFixture) -> None:
    cap = load_capture("answered_slow")
    k = next(i for i, m in enumerate(cap.messages) if m.name == "AgentConnect") + 1
    records: list[CallRecord] = []
    tracker = CallTracker(on_record=records.append)
    tracker.feed(cap.messages[:k])
    before = tracker.active_calls()
    tracker.connection_lost()
    error = [AmiMessage([("Response", "Error"), ("Message", "Permission denied")])]
    assert tracker.resync(error, error, []) == []
    assert "CoreShowChannels" in caplog.text and "QueueStatus" in caplog.text
    assert tracker.active_calls() == before
    tracker.feed(cap.messages[k:])
    assert [r.expected_view() for r in records] == load_expected("answered_slow")


def test_an_ivr_hangup_inside_an_outage_comes_from_cdr_csv() -> None:
    cap = load_capture("ivr_hangup")
    msgs = cap.messages
    second = "1795445412.3"  # 周强's hotline-side channel
    # Lose the link before the second caller exists; come back after both hung up.
    k = cap.born_at["1795445412.2"]
    records: list[CallRecord] = []
    tracker = CallTracker(on_record=records.append)
    tracker.feed(msgs[:k])
    tracker.connection_lost()
    end = cap.states[-1]
    # queue_log alone knows nothing of it: the first call, seen live, is all there is.
    assert tracker.resync(end.core_show_channels(), end.queue_status(), cap.queue_log) == []
    assert [r.uniqueid for r in records] == ["1795445409.1"]
    tracker.connection_lost()
    closed = tracker.resync(end.core_show_channels(), end.queue_status(), [], cap.cdr)
    (record,) = closed
    assert record.uniqueid == second
    assert record.expected_view() == load_expected("ivr_hangup")[1]
    assert record.recovered and record.hangup_by == "caller"
    assert (record.started_at, record.ended_at) == (1795445412.0, 1795445418.0)
    # A second reconnect with the same lines: neither call again, nor the ;1 halves.
    tracker.connection_lost()
    assert tracker.resync(end.core_show_channels(), end.queue_status(), [], cap.cdr) == []
    assert len(records) == 2


def test_cdr_csv_does_not_emit_calls_that_reached_a_queue_or_were_seen_live() -> None:
    for name in ("queue_timeout", "transfer", "joinempty", "sip_call", "answered_slow"):
        cap = load_capture(name)
        records: list[CallRecord] = []
        tracker = CallTracker(on_record=records.append)
        # Down from the very start: calls come from queue_log, and CDR adds nothing.
        tracker.connection_lost(at=0.0)
        end = cap.states[-1]
        tracker.resync(end.core_show_channels(), end.queue_status(), cap.queue_log, cap.cdr)
        assert sorted(r.key for r in records) == sorted(
            f"{uid}#{leg}" for uid, leg in cap.expected
        ), name
        assert all(r.outcome != "ivr_hangup" for r in records), name
        # Seen live, then an outage after the end: nothing new from the same CDR lines.
        live: list[CallRecord] = []
        tracker = CallTracker(on_record=live.append)
        tracker.feed(cap.messages)
        tracker.connection_lost()
        assert tracker.resync(end.core_show_channels(), end.queue_status(), [], cap.cdr) == []
        assert len(live) == len(cap.expected), name


def test_a_call_inside_an_outage_is_rebuilt_from_queue_log_cdr_and_recording(
    tmp_path: Path,
) -> None:
    """Issue 8 item 3: not just queue_log's fields: the CDR gives linkedid, caller name and
    what the IVR decided (the dialplan's userfield), the recordings directory the file."""
    cap = load_capture("answered_fast")
    caller = "1795445274.1"
    # The userfield the rendered dialplan writes, with the IVR's values of this capture.
    userfield = (
        cdr_userfield().replace("${HOTLINE_CHOICE}", "1").replace("${HOTLINE_PRIORITY}", "0")
    )
    userfield = userfield.replace("${HOTLINE_DIGITS}", "1").replace(
        "${HOTLINE_PATH}", "welcome,main"
    )
    userfield = userfield.replace("${HOTLINE_LANGUAGE}", "zh")
    for name in ("CATEGORY", "CALLBACK", "INCIDENT"):
        userfield = userfield.replace("${HOTLINE_" + name + "}", "")
    cdr = [replace(e, userfield=userfield) if e.uniqueid == caller else e for e in cap.cdr]
    wav = tmp_path / f"hotline-{caller}.wav"
    wav.write_bytes(b"RIFF")
    records: list[CallRecord] = []
    tracker = CallTracker(on_record=records.append)
    tracker.connection_lost(at=float(cap.queue_log[0].time) - 5)
    end = cap.states[-1]
    tracker.resync(
        end.core_show_channels(),
        end.queue_status(),
        cap.queue_log,
        cdr,
        recording_of=recordings_in(tmp_path),
    )
    (record,) = records
    expected = load_expected("answered_fast")[0]
    assert record.recovered
    for name in ("linkedid", "caller_num", "caller_name", "ivr_digits", "outcome", "talk_s"):
        assert getattr(record, name) == expected[name], name
    assert record.ivr_choice == "1" and record.priority == 0 and record.language == "zh"
    assert record.ivr_path == ["welcome", "main"]
    assert record.recording == str(wav)
    # the caller's CDR row, not the queue entry
    assert record.started_at == next(e.start for e in cdr if e.uniqueid == caller)
    # Without the file or the userfield: queue_log's and the CDR's word only.
    records.clear()
    wav.unlink()
    tracker = CallTracker(on_record=records.append)
    tracker.connection_lost(at=float(cap.queue_log[0].time) - 5)
    tracker.resync(end.core_show_channels(), end.queue_status(), cap.queue_log, cap.cdr)
    (record,) = records
    assert record.linkedid == expected["linkedid"] and record.recording is None
    assert record.ivr_choice is None and record.ivr_path == []


def test_a_live_call_gets_the_variables_it_set_during_the_outage() -> None:
    """Issue 8 item 4: the IVR's variables and MixMonitor's file set while nobody listened
    reach the record through what the feed asked the live channel (``learned``)."""
    cap = load_capture("answered_fast")
    msgs = cap.messages
    caller = "1795445274.1"
    k = next(i for i, m in enumerate(msgs) if (m.get("Variable") or "").startswith("HOTLINE_"))
    j = next(i for i, m in enumerate(msgs) if m.name == "AgentConnect") + 1
    expected = load_expected("answered_fast")
    learned = {
        caller: {
            "HOTLINE_CHOICE": "1",
            "HOTLINE_DIGITS": "1",
            "MIXMONITOR_FILENAME": str(expected[0]["recording"]),
        }
    }
    for told, recording in ((learned, expected[0]["recording"]), (None, None)):
        records: list[CallRecord] = []
        tracker = CallTracker(on_record=records.append)
        tracker.feed(msgs[:k])
        tracker.connection_lost()
        state = cap.states[j]
        written = [e for e in cap.queue_log if e.time <= int(state.moment)]
        tracker.resync(state.core_show_channels(), state.queue_status(), written, learned=told)
        tracker.feed(msgs[j:])
        (record,) = records
        assert record.recording == recording
        assert record.ivr_choice == ("1" if told else None)
    assert record.ivr_digits == "1"  # (AMI's DTMF events were seen live)


def test_a_callback_request_rebuilt_after_an_outage_keeps_its_message(tmp_path: Path) -> None:
    """A Queue() timeout whose callback step ran while nobody listened (a start with an empty
    store reads it back from queue_log): CALLBACKREQ says a callback is owed, and the message
    the dialplan's Record() left beside the recordings is what to call back about."""
    cap = load_capture("queue_timeout")
    (caller,) = {e.callid for e in cap.queue_log}
    message = tmp_path / f"callback-{caller}.wav"
    message.write_bytes(b"RIFF")
    records: list[CallRecord] = []
    tracker = CallTracker(on_record=records.append)
    tracker.connection_lost(at=0.0)
    end = cap.states[-1]
    tracker.resync(
        end.core_show_channels(),
        end.queue_status(),
        cap.queue_log,
        cap.cdr,
        recording_of=recordings_in(tmp_path),
    )
    (record,) = records
    assert (record.outcome, record.recovered) == ("timeout", True)
    assert record.callback_requested is True
    assert record.callback_message == str(message)


def test_a_waiting_caller_in_the_snapshot_is_the_visit_queue_log_closed_after_it() -> None:
    """The feed asks QueueStatus before it reads queue_log: a caller waiting in the snapshot
    may have abandoned by the time queue_log is read. The snapshot's waiting entry is then the
    visit queue_log closed, not a second one opened after it (the live QueueCallerAbandon and
    Hangup still to come would close that phantom visit as a second record). Found by the
    standby SIGKILL test, where the new active reads queue_log seconds after its snapshot."""
    cap = load_capture("abandoned")
    msgs = cap.messages
    join = next(i for i, m in enumerate(msgs) if m.name == "QueueCallerJoin")
    records: list[CallRecord] = []
    tracker = CallTracker(on_record=records.append)
    # A service that starts while the caller waits: it saw nothing of the call.
    tracker.connection_lost(at=float(cap.queue_log[0].time) - 60)
    snapshot = cap.states[join + 1]
    # queue_log read later than the snapshot: the ABANDON is already in it.
    closed = tracker.resync(snapshot.core_show_channels(), snapshot.queue_status(), cap.queue_log)
    assert [(r.outcome, r.wait_s, r.recovered) for r in closed] == [("abandoned", 12, True)]
    # The events held back during the catch-up: the abandon and hang-up queue_log told of.
    tracker.feed(msgs[join + 1 :])
    assert Counter(r.key for r in records) == {closed[0].key: 1}
    assert tracker.active_calls() == []
