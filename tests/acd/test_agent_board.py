"""The agent state machine (acd.agents) fed the real member_ops capture and hand-made
events: every state, since when, and the QueueStatus resync."""

from __future__ import annotations

from typing import Any

from acd.agents.board import AgentBoard
from acd.agents.state import AGENT_STATES
from acd.ami.message import AmiMessage
from events.payloads import problems
from events.topics import AGENT_STATUS
from tests.captures import load_messages

AGENT3 = "Local/agent3@agent-robot/n"
AGENT2 = "Local/agent2@agent-robot/n"


def _board() -> tuple[AgentBoard, list[dict[str, Any]]]:
    published: list[dict[str, Any]] = []

    def publish(topic: str, payload: dict[str, Any]) -> None:
        assert topic == AGENT_STATUS
        assert problems(topic, payload) == []
        published.append(payload)

    return AgentBoard(publish), published


def _states(published: list[dict[str, Any]], interface: str) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for p in published:
        if p["interface"] == interface and (not out or out[-1] != (p["state"], p["reason"])):
            out.append((p["state"], p["reason"]))
    return out


def test_member_ops_capture_walks_agent3_through_its_day() -> None:
    board, published = _board()
    for msg in load_messages("member_ops"):
        board.handle(msg)
    # Added paused (reason login), unpaused, rung, answered, call ended, removed.
    assert _states(published, AGENT3) == [
        ("paused", "login"),
        ("ready", None),
        ("ringing", None),
        ("talking", None),
        ("ready", None),
        ("logged_out", None),
    ]
    changes = [p["change"] for p in published if p["interface"] == AGENT3]
    assert "completed" in changes
    talking = next(p for p in published if p["interface"] == AGENT3 and p["state"] == "talking")
    assert talking["call"]["caller_name"] == "吴敏"
    assert talking["call"]["answered"] is True
    assert talking["since"] == 1795445570.460218  # AgentConnect's Timestamp
    # Robot Agent 2 paused with a UTF-8 reason, then unpaused with a reason ("back").
    assert _states(published, AGENT2) == [("paused", "培训 training"), ("ready", None)]
    assert board.view(AGENT3)["state"] == "logged_out"


def test_every_published_state_is_a_known_one() -> None:
    board, published = _board()
    for msg in load_messages("member_ops"):
        board.handle(msg)
    assert {p["state"] for p in published} <= set(AGENT_STATES)


def _member(event: str, queue: str, paused: str = "0", reason: str = "", status: str = "1",
            stamp: float = 100.0, **more: str) -> AmiMessage:  # fmt: skip
    return AmiMessage.of(
        ("Event", event),
        ("Timestamp", f"{stamp:.6f}"),
        ("Queue", queue),
        ("MemberName", "坐席 1"),
        ("Interface", "PJSIP/1001"),
        ("Membership", "dynamic"),
        ("Penalty", "0"),
        ("Status", status),
        ("Paused", paused),
        ("PausedReason", reason),
        *more.items(),
    )


def test_paused_in_every_queue_is_paused_wrap_up_reason_is_wrap_up() -> None:
    board, published = _board()
    board.handle(_member("QueueMemberAdded", "q1", stamp=100))
    board.handle(_member("QueueMemberAdded", "q2", stamp=101))
    assert board.view("PJSIP/1001")["state"] == "ready"
    board.handle(_member("QueueMemberPause", "q1", "1", "用餐", stamp=102))
    # Still available in q2.
    assert board.view("PJSIP/1001")["state"] == "ready"
    board.handle(_member("QueueMemberPause", "q2", "1", "用餐", stamp=103))
    view = board.view("PJSIP/1001")
    assert (view["state"], view["reason"], view["since"]) == ("paused", "用餐", 103.0)
    board.handle(_member("QueueMemberPause", "q1", "1", "话后处理", stamp=104))
    board.handle(_member("QueueMemberPause", "q2", "1", "话后处理", stamp=104.5))
    assert board.view("PJSIP/1001")["state"] == "wrap_up"
    assert any(p["previous"] == "paused" and p["state"] == "wrap_up" for p in published)


def _call(event: str, uniqueid: str, interface: str, stamp: float) -> AmiMessage:
    return AmiMessage.of(
        ("Event", event),
        ("Timestamp", f"{stamp:.6f}"),
        ("Uniqueid", uniqueid),
        ("Linkedid", uniqueid),
        ("CallerIDNum", "13800138000"),
        ("Queue", "q1"),
        ("Interface", interface),
        ("MemberName", interface),
    )


def test_ringall_answered_elsewhere_and_abandon_stop_the_ringing() -> None:
    board, _ = _board()
    for n in ("1", "2"):
        board.handle(
            AmiMessage.of(
                ("Event", "QueueMemberAdded"),
                ("Queue", "q1"),
                ("Interface", n),
                ("MemberName", n),
                ("Status", "1"),
                ("Paused", "0"),
            )
        )
    board.handle(_call("AgentCalled", "c1", "1", 10))
    board.handle(_call("AgentCalled", "c1", "2", 10))
    assert [board.view(n)["state"] for n in "12"] == ["ringing", "ringing"]
    board.handle(_call("AgentConnect", "c1", "2", 12))
    assert [board.view(n)["state"] for n in "12"] == ["ready", "talking"]
    board.handle(_call("AgentCalled", "c2", "1", 13))
    board.handle(AmiMessage.of(("Event", "QueueCallerAbandon"), ("Uniqueid", "c2")))
    assert board.view("1")["state"] == "ready"
    # The caller hangs up and AgentComplete never came (an outage): the talk ends too.
    board.handle(AmiMessage.of(("Event", "Hangup"), ("Uniqueid", "c1")))
    assert board.view("2")["state"] == "ready"
    assert board.last_completed("2") == "c1"


def test_queue_status_resync_is_the_whole_truth() -> None:
    board, published = _board()
    board.handle(_member("QueueMemberAdded", "q1", stamp=100))
    board.handle(_call("AgentCalled", "gone", "PJSIP/1001", 101))
    status = [m for m in load_messages("member_ops") if m.get("ActionID") == "act-10"]
    board.resync(status, now=200.0)
    # PJSIP/1001 is not in the answer: logged out; the capture's members are there, paused
    # since their LastPause.
    assert board.view("PJSIP/1001")["state"] == "logged_out"
    agent2 = board.view(AGENT2)
    assert (agent2["state"], agent2["reason"], agent2["since"]) == (
        "paused",
        "培训 training",
        1795445559.0,
    )
    assert [q["queue"] for q in board.view(AGENT3)["queues"]] == ["hotline-general"]
    assert {p["change"] for p in published[-4:]} == {"resync"}


def _simulated_stream(calls: int = 60) -> list[AmiMessage]:
    from hotline.demo_model import demo_model
    from hotline.sim.traffic import Simulation

    sim = Simulation(demo_model(calls_per_hour=1800, agents=12), seed=3)
    return list(sim.generate(calls))


def _framed(messages: list[AmiMessage]) -> list[AmiMessage]:
    """The same events as the link hands them over: unsplit frames off the wire."""
    from acd.ami.framing import AmiFramer

    framer = AmiFramer(expect_banner=False)
    framed = framer.feed(b"".join(m.to_bytes() for m in messages))
    assert len(framed) == len(messages) and all(f.frame_text for f in framed)
    return framed


def _published(messages: list[AmiMessage]) -> list[dict[str, Any]]:
    board, published = _board()
    for msg in messages:
        if msg.name in board.wanted:
            board.handle(msg)
    return published


def test_unsplit_frames_and_split_messages_publish_the_same() -> None:
    """Frames as the link hands them over (the name read off the text, the fields split on
    first use) give the board the same statuses as messages built from fields."""
    for messages in (load_messages("member_ops"), _simulated_stream()):
        split = [AmiMessage(list(m.fields)) for m in messages]
        assert _published(_framed(messages)) == _published(split) != []


def test_member_events_that_change_nothing_visible_publish_as_before(
    monkeypatch: Any,
) -> None:
    """Member events that only repeat the device state are not settled (they touch nobody):
    what is published is exactly what settling them would have published."""
    from acd.agents import events

    def settle_every_member_event(handler: Any, change: str) -> Any:
        def handle(state: Any, h: Any) -> Any:
            touched = handler(state, h)
            interface = h.get("Interface") or h.get("Location") or ""
            if not touched and interface in state.agents and h.get("Queue"):
                return [(interface, change)]
            return touched

        return handle

    for messages in (load_messages("member_ops"), _simulated_stream()):
        now = _published(_framed(messages))
        with monkeypatch.context() as patched:
            for name, change in (
                ("QueueMemberAdded", "added"),
                ("QueueMemberPause", "pause"),
                ("QueueMemberStatus", "status"),
                ("QueueMemberPenalty", "penalty"),
                ("QueueMemberRinginuse", "ringinuse"),
            ):
                patched.setitem(
                    events.HANDLERS, name, settle_every_member_event(events.HANDLERS[name], change)
                )
            before = _published(_framed(messages))
        assert now == before
