"""AMI actions: the member_ops capture replayed against the simulated PBX.

The capture's actions are sent at their captured times while its caller calls; the answers, the
member events and the queue_log must be those Asterisk produced.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from acd.ami.message import AmiMessage, from_pairs
from hotline.sim.actions import PbxActions
from hotline.sim.model import CallerScript, FixedBehaviour, PbxConfig, robot_member
from hotline.sim.pbx import Pbx
from hotline.sim.queue_log_writer import QueueLogMemory
from hotline.sim.scheduler import Scheduler
from hotline.sim.shapes import collect_shapes, shape, shape_key, shape_mismatches
from tests.captures import CAPTURES, capture_names, load_messages

START = 1795445557.222216
# Actions the AMI server itself answers (login, logoff, Events, unknown actions).
SERVER_ACTIONS = {"Login", "Logoff", "Events", "HotlineBogus"}


def _actions() -> list[tuple[float, AmiMessage]]:
    with (CAPTURES / "member_ops" / "actions.jsonl").open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return [(row["t"], from_pairs(row["fields"])) for row in rows]


def _with_id(msg: AmiMessage, action_id: str) -> AmiMessage:
    return AmiMessage([(k, action_id if k == "ActionID" else v) for k, v in msg.fields])


class Replay:
    def __init__(self) -> None:
        self.scheduler = Scheduler(START)
        self.events: list[AmiMessage] = []
        self.answers: dict[str, list[AmiMessage]] = {}
        self.queue_log = QueueLogMemory()
        # The [globals] of member_ops: agent1/2 ring 3 talk 20, agent3 ring 2 talk 12.
        config = PbxConfig(
            members=[robot_member(n, ["hotline-general"], FixedBehaviour(3, 20)) for n in (1, 2)],
            record_calls=False,
            default_behaviour=FixedBehaviour(2, 12),
        )
        self.pbx = Pbx(self.scheduler, self.events.append, config, queue_log=self.queue_log)
        self.actions = PbxActions(self.pbx)

    def act(self, msg: AmiMessage) -> None:
        action_id = msg.get("ActionID") or ""
        self.answers[action_id] = [_with_id(m, action_id) for m in self.actions.handle(msg)]

    def run(self) -> None:
        for t, msg in _actions():
            name = msg.get("Action") or ""
            if name == "Originate":
                self.scheduler.at(
                    START + t,
                    self.pbx.place_call,
                    CallerScript("13100131001", "吴敏", "1", hangup_after=40.0),
                )
            elif name not in SERVER_ACTIONS:
                self.scheduler.at(START + t, self.act, msg)
        self.scheduler.run_until(START + 120)


@pytest.fixture(scope="module")
def replay() -> Replay:
    run = Replay()
    run.run()
    return run


@pytest.fixture(scope="module")
def captured_answers() -> dict[str, list[AmiMessage]]:
    """The capture's responses and list events, by ActionID."""
    out: dict[str, list[AmiMessage]] = {}
    for msg in load_messages("member_ops"):
        action_id = msg.get("ActionID")
        if action_id and msg.name != "OriginateResponse":
            out.setdefault(action_id, []).append(msg)
    return out


def test_queue_log_is_the_captured_one(replay: Replay) -> None:
    captured = (CAPTURES / "member_ops" / "queue_log").read_text("utf-8").splitlines()
    assert replay.queue_log.lines == captured


STATIC = {"Ping", "Timestamp", "Duration", "BridgeId"}


@pytest.mark.parametrize(
    "action_id",
    [
        "act-04",
        "act-05",
        "act-06",
        "act-07",
        "act-08",
        "act-10",
        "act-11",
        "act-12",
        "act-14",
        "act-15",
        "act-16",
        "act-17",
        "act-18",
        "act-03",
        "act-20",
    ],
)
def test_answers_match_the_capture(
    replay: Replay, captured_answers: dict[str, list[AmiMessage]], action_id: str
) -> None:
    ours, theirs = replay.answers[action_id], captured_answers[action_id]
    assert [shape(m) for m in ours] == [shape(m) for m in theirs]
    for mine, real in zip(ours, theirs, strict=True):
        for (key, value), (_, real_value) in zip(mine.fields, real.fields, strict=True):
            if key in STATIC:
                continue
            assert value == real_value, (action_id, key)


def test_core_show_channels_lists_the_live_call(
    replay: Replay, captured_answers: dict[str, list[AmiMessage]]
) -> None:
    ours = replay.answers["act-13"]
    theirs = captured_answers["act-13"]
    assert [shape(m) for m in ours] == [shape(m) for m in theirs]

    def channels(msgs: list[AmiMessage]) -> set[tuple[str | None, ...]]:
        return {
            (m.get("Channel"), m.get("Uniqueid"), m.get("Linkedid"), m.get("Application"))
            for m in msgs
            if m.name == "CoreShowChannel"
        }

    assert channels(ours) == channels(theirs)


def test_member_events_match_the_capture(replay: Replay) -> None:
    kinds = {"QueueMemberAdded", "QueueMemberPause", "QueueMemberPenalty", "QueueMemberRemoved"}

    def member_events(msgs: list[AmiMessage]) -> list[list[tuple[str, str]]]:
        return [[(k, v) for k, v in m.fields if k != "Timestamp"] for m in msgs if m.name in kinds]

    assert member_events(replay.events) == member_events(load_messages("member_ops"))


def test_the_call_is_answered_by_the_unpaused_member(replay: Replay) -> None:
    (truth,) = replay.pbx.truths
    assert truth.outcome == "answered"
    assert truth.answered_by == "Robot Agent 3"
    assert truth.wait_s == 7
    assert truth.talk_s == 12
    assert truth.hangup_by == "agent"


def test_all_answer_shapes_are_captured_ones(replay: Replay) -> None:
    reference = collect_shapes(m for n in capture_names() for m in load_messages(n))
    answers = [m for msgs in replay.answers.values() for m in msgs]
    assert shape_mismatches(answers, reference) == []
    assert shape_mismatches(replay.events, reference) == []
    assert {shape_key(m) for m in answers} >= {
        "Event:QueueParams",
        "Event:QueueMember",
        "Event:QueueEntry",
        "Event:QueueSummary",
        "Event:CoreShowChannel",
        "Event:CoreShowChannelsComplete",
        "Response:Error",
    }


def test_bad_requests_get_errors_and_change_nothing() -> None:
    run = Replay()
    handle = run.actions.handle
    before = run.queue_log.lines[:]
    for msg in (
        AmiMessage.of(
            ("Action", "QueuePause"), ("Interface", "Local/nobody@x/n"), ("Paused", "true")
        ),
        AmiMessage.of(("Action", "QueuePause")),
        AmiMessage.of(
            ("Action", "QueueRemove"),
            ("Queue", "hotline-general"),
            ("Interface", "Local/agent1@agent-robot/n"),
        ),  # static: cannot remove
        AmiMessage.of(
            ("Action", "QueuePenalty"),
            ("Interface", "Local/agent1@agent-robot/n"),
            ("Penalty", "high"),
        ),
        AmiMessage.of(
            ("Action", "QueueAdd"),
            ("Queue", "hotline-general"),
            ("Interface", "Local/agent1@agent-robot/n"),
        ),  # already there
        AmiMessage.of(("Action", "NoSuchThing")),
    ):
        (answer,) = handle(msg)
        assert answer.name == "Error"
        assert answer.get("Message")
    assert run.queue_log.lines == before
    assert run.events == []
    assert all(not m.paused for q in run.pbx.queues.values() for m in q.members)


def test_pause_without_queue_pauses_everywhere() -> None:
    sched = Scheduler(START)
    events: list[AmiMessage] = []
    log = QueueLogMemory()
    config = PbxConfig(members=[robot_member(1, ["hotline-general", "hotline-complaint"])])
    pbx = Pbx(sched, events.append, config, queue_log=log)
    (answer,) = PbxActions(pbx).handle(
        AmiMessage.of(
            ("Action", "QueuePause"),
            ("Interface", "Local/agent1@agent-robot/n"),
            ("Paused", "true"),
            ("Reason", "会议"),
        )
    )
    assert answer.get("Message") == "Interface paused successfully"
    assert [line.split("|", 1)[1] for line in log.lines] == [
        "NONE|NONE|Robot Agent 1|PAUSEALL|会议",
        "NONE|hotline-general|Robot Agent 1|PAUSE|会议",
        "NONE|hotline-complaint|Robot Agent 1|PAUSE|会议",
    ]
    assert [m.get("Queue") for m in events if m.name == "QueueMemberPause"] == [
        "hotline-general",
        "hotline-complaint",
    ]


def test_queue_log_writer_appends_to_a_file(tmp_path: Path) -> None:
    from hotline.sim.queue_log_writer import QueueLogWriter

    path = tmp_path / "sub" / "queue_log"
    path.parent.mkdir()
    path.write_text("1|old|q|NONE|QUEUESTART|\n", encoding="utf-8")
    writer = QueueLogWriter(path)
    writer.write(
        1795445277.9, "1795445274.1", "hotline-general", "NONE", "ENTERQUEUE", "", "13800138001", 1
    )
    assert path.read_text("utf-8").splitlines()[-1] == (
        "1795445277|1795445274.1|hotline-general|NONE|ENTERQUEUE||13800138001|1"
    )
    writer.close()


def test_transfers_replay_the_transfer_capture() -> None:
    """transfer: c1 answered then AMI BlindTransfer (agent side), c2 answered then AMI
    Redirect (caller side), both to [hotline-transfer] complaint."""
    from hotline.sim.model import FixedBehaviour, PbxConfig, robot_member
    from tests.captures import load_expected

    start = 1795445593.141730
    sched = Scheduler(start)
    events: list[AmiMessage] = []
    log = QueueLogMemory()
    config = PbxConfig(
        members=[
            robot_member(1, ["hotline-general"], FixedBehaviour(2, 60)),
            robot_member(3, ["hotline-complaint"], FixedBehaviour(3, 12)),
        ],
        record_calls=False,
    )
    pbx = Pbx(sched, events.append, config, queue_log=log)
    actions = PbxActions(pbx)
    answers: list[AmiMessage] = []
    blind = AmiMessage.of(
        ("Action", "BlindTransfer"),
        ("ActionID", "act-03"),
        ("Channel", "Local/agent1@agent-robot-00000001;1"),
        ("Context", "hotline-transfer"),
        ("Exten", "complaint"),
    )
    redirect = AmiMessage.of(
        ("Action", "Redirect"),
        ("ActionID", "act-05"),
        ("Channel", "Local/12345@hotline-ivr-00000003;2"),
        ("Context", "hotline-transfer"),
        ("Exten", "complaint"),
        ("Priority", "1"),
    )
    sched.at(
        start + 0.002, pbx.place_call, CallerScript("13800138002", "周杰", "1", hangup_after=60)
    )
    sched.at(start + 9.723, lambda: answers.extend(actions.handle(blind)))
    sched.at(
        start + 26.746, pbx.place_call, CallerScript("13800138003", "郑爽", "1", hangup_after=60)
    )
    sched.at(start + 36.471, lambda: answers.extend(actions.handle(redirect)))
    sched.run_until(start + 200)

    assert [m.get("Message") for m in answers] == ["Transfer succeeded", "Redirect successful"]
    captured = (CAPTURES / "transfer" / "queue_log").read_text("utf-8").splitlines()
    assert log.lines == captured
    ours = [t.to_expected() for t in pbx.truths]
    theirs = load_expected("transfer")
    assert len(ours) == len(theirs)
    for mine, real in zip(ours, theirs, strict=True):
        assert mine.pop("queue_entered_at") == pytest.approx(real.pop("queue_entered_at"), abs=0.05)
        assert mine == real
    reference = collect_shapes(m for n in capture_names() for m in load_messages(n))
    assert shape_mismatches(events, reference) == []

    def completes(msgs: list[AmiMessage]) -> list[tuple[str | None, ...]]:
        return [
            (m.get("Uniqueid"), m.get("Queue"), m.get("Reason"), m.get("TalkTime"))
            for m in msgs
            if m.name == "AgentComplete"
        ]

    assert completes(events) == completes(load_messages("transfer"))
    # Nothing left to transfer: errors, nothing changes.
    for msg in (blind, redirect):
        (error,) = actions.handle(msg)
        assert error.name == "Error"


def test_originate_like_the_capture_script() -> None:
    """abandoned/c1 driven by the captured Originate: same queue_log (RINGCANCELED ± jitter)."""
    with (CAPTURES / "abandoned" / "actions.jsonl").open(encoding="utf-8") as fh:
        originate = next(
            from_pairs(json.loads(line)["fields"]) for line in fh if '"Originate"' in line
        )
    start = 1795446659.440465
    sched = Scheduler(start)
    events: list[AmiMessage] = []
    log = QueueLogMemory()
    config = PbxConfig(
        members=[robot_member(n, ["hotline-general"], FixedBehaviour(99, 10)) for n in (1, 2)]
    )
    pbx = Pbx(sched, events.append, config, queue_log=log)
    answers: list[AmiMessage] = []
    sched.at(start + 0.002, lambda: answers.extend(PbxActions(pbx).handle(originate)))
    sched.run_until(start + 60)
    assert [m.get("Message") for m in answers] == ["Originate successfully queued"]
    (response,) = [m for m in events if m.name == "OriginateResponse"]
    assert response.get("ActionID") == originate.get("ActionID")
    assert response.get("Uniqueid") == "1795446659.0"
    captured = (CAPTURES / "abandoned" / "queue_log").read_text("utf-8").splitlines()
    assert [line.split("|")[:5] for line in log.lines] == [line.split("|")[:5] for line in captured]
    assert log.lines[-1] == captured[-1]  # ABANDON|1|1|12
    (truth,) = pbx.truths
    assert (truth.caller_name, truth.caller_num, truth.ivr_digits) == ("王芳", "13500135001", "1")
    reference = collect_shapes(m for n in capture_names() for m in load_messages(n))
    assert shape_mismatches(events, reference) == []


def test_getvar_answers_like_asterisk_22() -> None:
    """After a reconnect the service asks live channels for what they set unseen (AMI Getvar);
    the answers are those of main/manager.c action_getvar: Variable and Value after Success,
    an unset variable's Value empty, the channel by name or uniqueid, errors by their text."""
    run = Replay()
    pbx = run.pbx
    _, ch = pbx._local_pair("12345", "hotline-ivr", None)
    pbx.varset(ch, "HOTLINE_QUEUE", "hotline-general")
    pbx.varset(ch, "MIXMONITOR_FILENAME", "/var/spool/asterisk/monitor/hotline-1.wav")

    def getvar(*fields: tuple[str, str]) -> list[tuple[str, str]]:
        (answer,) = run.actions.handle(AmiMessage.of(("Action", "Getvar"), *fields))
        return list(answer.fields)

    for channel in (ch.name, ch.uniqueid):
        assert getvar(("Channel", channel), ("Variable", "HOTLINE_QUEUE")) == [
            ("Response", "Success"),
            ("ActionID", ""),
            ("Variable", "HOTLINE_QUEUE"),
            ("Value", "hotline-general"),
        ]
    assert getvar(("Channel", ch.name), ("Variable", "HOTLINE_CHOICE"))[2:] == [
        ("Variable", "HOTLINE_CHOICE"),
        ("Value", ""),
    ]
    assert getvar(("Channel", ch.name), ("Variable", "MIXMONITOR_FILENAME"))[3] == (
        "Value",
        "/var/spool/asterisk/monitor/hotline-1.wav",
    )
    assert getvar(("Channel", "Local/gone@x-1;2"), ("Variable", "HOTLINE_QUEUE")) == [
        ("Response", "Error"),
        ("ActionID", ""),
        ("Message", "No such channel"),
    ]
    assert getvar(("Channel", ch.name))[2] == ("Message", "No variable specified")
    # no channel: a global; none is set on the simulated PBX
    assert getvar(("Variable", "HOTLINE_QUEUE"))[2:] == [
        ("Variable", "HOTLINE_QUEUE"),
        ("Value", ""),
    ]
