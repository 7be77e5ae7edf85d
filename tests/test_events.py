"""The domain-event contract: topics spelled once (events.topics), payloads of one shape.

Every publisher is held to `events.payloads`: the tracker over every real capture and a
simulated busy period, the incident desk here, the IVR in every tests/ivr test (its
recorder checks each event it receives).
"""

from __future__ import annotations

import ast
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from acd.calls import CallTracker
from acd.records import CallRecord
from events import topics
from events.payloads import PAYLOADS, CallEnded, problems
from hotline.demo_model import demo_model
from hotline.incident_desk import IncidentDesk
from hotline.sim.traffic import Simulation
from ivr.incidents import IncidentBoard
from tests.captures import capture_names, load_messages

ROOT = Path(__file__).resolve().parent.parent
# Every package but events itself, plus the benchmarks.
SOURCE_FOLDERS = (
    "acd",
    "ivr",
    "ticketing",
    "warning",
    "hotline",
    "asterisk_conf",
    "agi_scripts",
    "bench",
)
# Calls whose first argument is a topic (or a subscription pattern).
TOPIC_TAKERS = {"publish", "subscribe", "attach", "_send", "_out", "enqueue"}


def _sources() -> Iterator[Path]:
    for folder in SOURCE_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _topic_literals(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.value in topics.TOPICS:
            found.append(f"{path.relative_to(root)}:{node.lineno}: {node.value!r}")
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if (
                name in TOPIC_TAKERS
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and ("." in first.value or first.value == "*")
            ):
                found.append(f"{path.relative_to(root)}:{node.lineno}: {name}({first.value!r})")
    return found


def test_no_topic_is_spelled_outside_the_events_package() -> None:
    spelled = [hit for path in _sources() for hit in _topic_literals(path)]
    assert spelled == []


def test_the_check_finds_a_spelled_topic(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('bus.publish("call.ended", {})\nbus.subscribe("ivr.*", h)\n')
    found = _topic_literals(sample, tmp_path)
    assert "sample.py:1: 'call.ended'" in found
    assert "sample.py:2: subscribe('ivr.*')" in found


def test_every_topic_has_a_payload_shape() -> None:
    assert set(PAYLOADS) == set(topics.TOPICS)
    assert len(set(topics.TOPICS)) == len(topics.TOPICS)


def test_call_ended_is_the_call_record() -> None:
    record = CallRecord(linkedid="1.1", uniqueid="1.1").to_json()
    assert set(CallEnded.__annotations__) == set(record)
    assert problems(topics.CALL_ENDED, record) == []


def test_problems_name_missing_unknown_and_mistyped_fields() -> None:
    found = problems(topics.IVR_SURVEY, {"linkedid": 1, "extra": None})
    assert "ivr.survey: uniqueid missing" in found
    assert "ivr.survey: extra unknown" in found
    assert any(line.startswith("ivr.survey: linkedid=1 ") for line in found)
    assert problems("call.nonsense", {}) == ["unknown topic 'call.nonsense'"]


class Recorder:
    def __init__(self) -> None:
        self.seen: dict[str, int] = {}
        self.problems: list[str] = []

    def __call__(self, topic: str, payload: dict[str, Any]) -> None:
        self.seen[topic] = self.seen.get(topic, 0) + 1
        self.problems.extend(problems(topic, payload))


@pytest.mark.parametrize("name", capture_names())
def test_tracker_events_of_every_capture_have_their_shape(name: str) -> None:
    recorder = Recorder()
    CallTracker(publish=recorder).feed(load_messages(name))
    assert recorder.problems == []
    assert recorder.seen.get(topics.CALL_ENDED, 0) > 0


def test_tracker_events_of_a_simulated_busy_period_have_their_shape() -> None:
    recorder = Recorder()
    sim = Simulation(demo_model(calls_per_hour=1800, agents=20), seed=3)
    CallTracker(publish=recorder).feed(sim.generate(300))
    assert recorder.problems == []
    # The busy period exercises the tracker's usual topics, each with its shape.
    for topic in (
        topics.CALL_STARTED,
        topics.CALL_IVR_FINISHED,
        topics.CALL_QUEUED,
        topics.CALL_RINGING,
        topics.CALL_ANSWERED,
        topics.CALL_ABANDONED,
        topics.CALL_ENDED,
        topics.AGENT_STATE,
    ):
        assert recorder.seen.get(topic, 0) > 0, topic


async def test_incident_events_have_their_shape() -> None:
    recorder = Recorder()
    now = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)
    desk = IncidentDesk(IncidentBoard(clock=lambda: now), publish=recorder)
    await desk.create(
        {
            "id": "water-1",
            "title": "停水",
            "text": "停水通知",
            "prompt": "hotline/water",
            "start": now.isoformat(),
        }
    )
    assert await desk.end("water-1")
    assert recorder.seen == {topics.INCIDENT_CREATED: 1, topics.INCIDENT_ENDED: 1}
    assert recorder.problems == []
