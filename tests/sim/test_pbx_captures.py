"""The simulated PBX replays the captured scenarios: same queue_log, same ground truth, same shapes.

Each case rebuilds a capture's set-up (members, robot timings, RECORD_CALLS, QUEUE_MAX_WAIT,
start epoch, when each caller called and hung up) and checks that the simulator writes the
queue_log lines Asterisk wrote and reports the calls listed in expected.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from acd.ami.message import AmiMessage
from hotline.sim.model import CallerScript, FixedBehaviour, PbxConfig, robot_member, sip_member
from hotline.sim.pbx import Pbx
from hotline.sim.queue_log_writer import QueueLogWriter
from hotline.sim.scheduler import Scheduler
from hotline.sim.shapes import collect_privileges, collect_shapes, shape_mismatches
from tests.captures import CAPTURES, capture_names, load_expected, load_messages

NEVER = 99.0


@dataclass
class Case:
    start: float
    agents: dict[int, tuple[float, float]]  # n -> (ring, talk)
    calls: list[tuple[float, CallerScript]]
    record: bool = True
    max_wait: int = 60
    sip: bool = False


CASES: dict[str, Case] = {
    "answered_fast": Case(
        1795445274.432288,
        {1: (3, 60), 2: (3, 60)},
        [
            (0.0, CallerScript("13800138001", "张三", "1", hangup_after=14.96)),
        ],
    ),
    "answered_slow": Case(
        1795445462.879703,
        {1: (2, 18)},
        [
            (0.0, CallerScript("13900139001", "李四", "1", hangup_after=60.0)),
            (3.0, CallerScript("13700137001", "王五", "1", hangup_after=60.0)),
        ],
    ),
    "ring_no_answer": Case(
        1795445300.839648,
        {1: (NEVER, 10), 2: (3, 30)},
        [
            (0.0, CallerScript("13600136001", "陈静", "1", hangup_after=31.46)),
        ],
        record=False,
    ),
    "abandoned": Case(
        1795446659.440465,
        {1: (NEVER, 10), 2: (NEVER, 10)},
        [
            (0.0, CallerScript("13500135001", "王芳", "1", hangup_after=15.46)),
        ],
    ),
    "queue_timeout": Case(
        1795445361.016297,
        {1: (NEVER, 10), 2: (NEVER, 10)},
        [
            (0.0, CallerScript("13300133001", "刘洋", "1", hangup_after=60.0)),
        ],
        record=False,
        max_wait=20,
    ),
    "joinempty": Case(
        1795445400.425827,
        {1: (NEVER, 10)},
        [
            (0.0, CallerScript("13300133002", "赵敏", "4", hangup_after=30.0)),
        ],
        record=False,
    ),
    # SIP mode: SIPp caller, no digit (IVR timeout), SIP phone rings 2 s, talks 8 s.
    "sip_call": Case(
        1795446577.682630,
        {1: (2, 8)},
        [
            (0.0, CallerScript("13800138000", "张三", None, hangup_after=60.0)),
        ],
        sip=True,
    ),
    "ivr_hangup": Case(
        1795445409.751207,
        {1: (NEVER, 10)},
        [
            (0.0, CallerScript("13200132001", "孙丽", None, hangup_after=1.0)),
            (3.0, CallerScript("13200132002", "周强", None, hangup_after=4.5)),
        ],
        record=False,
    ),
}


@dataclass
class Run:
    events: list[AmiMessage]
    queue_log: list[str]
    pbx: Pbx


def run_case(case: Case, queue_log_path: Path) -> Run:
    scheduler = Scheduler(case.start)
    events: list[AmiMessage] = []
    member = sip_member if case.sip else robot_member
    members = [
        member(n, ["hotline-general"], FixedBehaviour(ring, talk))
        for n, (ring, talk) in case.agents.items()
    ]
    config = PbxConfig(
        members=members, record_calls=case.record, queue_max_wait=case.max_wait, sip=case.sip
    )
    writer = QueueLogWriter(queue_log_path)
    pbx = Pbx(scheduler, events.append, config, queue_log=writer)
    for offset, script in case.calls:
        scheduler.at(case.start + offset, pbx.place_call, script)
    scheduler.run_until(case.start + 600)
    writer.close()
    lines = queue_log_path.read_text("utf-8").splitlines() if queue_log_path.exists() else []
    return Run(events, lines, pbx)


@pytest.fixture(scope="module")
def reference_shapes() -> dict[str, set[tuple[str, ...]]]:
    messages = [m for name in capture_names() for m in load_messages(name)]
    return collect_shapes(messages)


def _same_line(ours: str, theirs: str) -> bool:
    a, b = ours.split("|"), theirs.split("|")
    if a[4] == b[4] == "RINGCANCELED":
        # The cancelled ring's length depends on the robot's exact hang-up instant.
        return a[:5] == b[:5] and abs(int(a[5]) - int(b[5])) < 600
    return a == b


@pytest.mark.parametrize("name", sorted(CASES))
def test_queue_log_lines_match_the_capture(name: str, tmp_path: Path) -> None:
    run = run_case(CASES[name], tmp_path / "queue_log")
    captured = (CAPTURES / name / "queue_log").read_text("utf-8").splitlines()
    assert len(run.queue_log) == len(captured), (run.queue_log, captured)
    for ours, theirs in zip(run.queue_log, captured, strict=True):
        assert _same_line(ours, theirs), (ours, theirs)


@pytest.mark.parametrize("name", sorted(CASES))
def test_truth_matches_expected_json(name: str, tmp_path: Path) -> None:
    run = run_case(CASES[name], tmp_path / "queue_log")
    expected = load_expected(name)
    ours = [t.to_expected() for t in run.pbx.truths]
    assert len(ours) == len(expected)
    for mine, theirs in zip(ours, expected, strict=True):
        entered_mine, entered_theirs = mine.pop("queue_entered_at"), theirs.pop("queue_entered_at")
        if entered_theirs is None:
            assert entered_mine is None
        else:
            assert entered_mine == pytest.approx(entered_theirs, abs=0.05)
        assert mine == theirs


@pytest.mark.parametrize("name", sorted(CASES))
def test_event_shapes_match_the_captures(
    name: str, tmp_path: Path, reference_shapes: dict[str, set[tuple[str, ...]]]
) -> None:
    run = run_case(CASES[name], tmp_path / "queue_log")
    assert run.events
    assert shape_mismatches(run.events, reference_shapes) == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_event_types_as_the_capture_for_the_key_events(name: str, tmp_path: Path) -> None:
    """The events a tracker keys on come in the same number and order as in the capture."""
    key_events = {
        "QueueCallerJoin",
        "QueueCallerLeave",
        "QueueCallerAbandon",
        "AgentCalled",
        "AgentRingNoAnswer",
        "AgentConnect",
        "AgentComplete",
        "MixMonitorStart",
        "UserEvent",
        "DTMFEnd",
    }
    run = run_case(CASES[name], tmp_path / "queue_log")

    def keyed(messages: list[AmiMessage]) -> list[tuple[str, str | None]]:
        return [
            (m.name, m.get("Uniqueid"))
            for m in messages
            if m.kind == "event" and m.name in key_events
        ]

    assert keyed(run.events) == keyed(load_messages(name))


def test_privileges_match_the_captures(tmp_path: Path) -> None:
    reference = collect_privileges(m for n in capture_names() for m in load_messages(n))
    ours: dict[str, set[str]] = {}
    for case in CASES.values():
        for key, values in collect_privileges(run_case(case, tmp_path / "ql").events).items():
            ours.setdefault(key, set()).update(values)
    for key, values in ours.items():
        assert values <= reference[key], key


def test_variable_values_the_tracker_reads_match(tmp_path: Path) -> None:
    """HOTLINE_*, AGISTATUS, QUEUESTATUS, MIXMONITOR_FILENAME: same values, same channels."""
    wanted = ("HOTLINE_", "AGISTATUS", "QUEUESTATUS", "MIXMONITOR_FILENAME")
    for name, case in CASES.items():
        run = run_case(case, tmp_path / name)

        def varsets(messages: list[AmiMessage]) -> list[tuple[str | None, ...]]:
            return [
                (m.get("Uniqueid"), m.get("Variable"), m.get("Value"))
                for m in messages
                if m.name == "VarSet" and (m.get("Variable") or "").startswith(wanted)
            ]

        assert varsets(run.events) == varsets(load_messages(name)), name
