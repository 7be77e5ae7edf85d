"""acd.spy on the real capture: the spy_and_record AMI stream drives the session (spyer bound
by the OriginateResponse, ChanSpyStart/Stop, the Hangup), DTMF 4/5/6 switch modes and each
mode is a logged segment; the x(9) key of the capture is no mode key."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from acd.agents.actions import AgentActionFailed
from acd.ami.message import AmiMessage
from acd.spy import Spy, SpyTarget
from tests.captures import load_messages

AGENT_CHANNEL = "Local/agent1@agent-robot-00000001;1"
SPYER = "Local/sup1@supervisor-robot-00000002;1"


@dataclass
class MemoryLog:
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)

    async def open(self, **row: Any) -> int:
        key = len(self.rows) + 1
        self.rows[key] = {**row, "ended_at": None, "end_reason": None, "spyer": None}
        return key

    async def set_spyer(self, session_id: int, channel: str) -> None:
        self.rows[session_id]["spyer"] = channel

    async def end(self, session_id: int, at: datetime, reason: str) -> bool:
        row = self.rows[session_id]
        if row["ended_at"] is not None:
            return False
        row.update(ended_at=at, end_reason=reason)
        return True

    async def switch(self, session_id: int, mode: str, at: datetime) -> int:
        await self.end(session_id, at, f"switched to {mode}")
        old = self.rows[session_id]
        fields = {k: v for k, v in old.items() if k not in ("ended_at", "end_reason", "spyer")}
        key = await self.open(**{**fields, "mode": mode, "at": at})
        self.rows[key]["spyer"] = old["spyer"]
        return key


class FakeLink:
    connected = True

    def __init__(self, answer: str = "Success") -> None:
        self.sent: list[list[tuple[str, str]]] = []
        self.answer = answer

    async def send_action(self, fields: list[tuple[str, str]], timeout: float) -> AmiMessage:  # noqa: ASYNC109
        self.sent.append(list(fields))
        return AmiMessage([("Response", self.answer), ("Message", "Originate successfully queued")])


def _with_action_id(msg: AmiMessage, action_id: str) -> AmiMessage:
    return AmiMessage([(k, action_id if k == "ActionID" else v) for k, v in msg.fields])


def _dtmf(digit: str) -> AmiMessage:
    return AmiMessage([("Event", "DTMFEnd"), ("Channel", SPYER), ("Digit", digit),
                       ("Direction", "Received")])  # fmt: skip


TARGET = SpyTarget("Local/agent1@agent-robot/n", "王芳", AGENT_CHANNEL, "1795445510.0")


async def test_the_capture_drives_one_logged_session() -> None:
    link, log = FakeLink(), MemoryLog()
    spy = Spy(lambda: link, log, clock=lambda: 1795445518.0)  # type: ignore[arg-type,return-value]
    session = await spy.start("wang", "Local/sup1@supervisor-robot/n", '"监听" <9001>', TARGET,
                              "listen")  # fmt: skip
    fields = dict(link.sent[0])
    assert fields["Application"] == "ChanSpy" and fields["Data"] == f"{AGENT_CHANNEL},qEd"
    action_id = fields["ActionID"]
    for msg in load_messages("spy_and_record"):
        if msg.name in spy.wanted:
            if msg.name == "OriginateResponse" and msg.get("ActionID") == "spy-1":
                msg = _with_action_id(msg, action_id)
            spy.handle(msg)
        if msg.name == "ChanSpyStart" and not log.rows[1]["spyer"]:
            await spy.flush()
            assert spy.active("wang")[0]["spying"] is True
    await spy.flush()
    # The capture's first ChanSpyStop (the x(9) key) ends the session.
    assert len(log.rows) == 1
    row = log.rows[session["id"]]
    assert row["spyer"] == SPYER and row["end_reason"] == "ChanSpyStop"
    assert row["supervisor"] == "wang" and row["linkedid"] == "1795445510.0"
    assert spy.active("wang") == []
    spy.close()


async def test_dtmf_switches_modes_as_logged_segments() -> None:
    link, log = FakeLink(), MemoryLog()
    spy = Spy(lambda: link, log)  # type: ignore[arg-type,return-value]
    await spy.start("wang", "PJSIP/9001", '"监听" <9001>', TARGET, "listen")
    action_id = dict(link.sent[0])["ActionID"]
    answered = [("Event", "OriginateResponse"), ("ActionID", action_id),
                ("Response", "Success"), ("Channel", SPYER), ("Reason", "4")]  # fmt: skip
    spy.handle(AmiMessage(answered))
    spy.handle(AmiMessage([("Event", "ChanSpyStart"), ("SpyerChannel", SPYER),
                           ("SpyeeChannel", AGENT_CHANNEL)]))  # fmt: skip
    for digit in ("5", "9", "5", "6", "4"):  # 9 and a repeated 5 change nothing
        spy.handle(_dtmf(digit))
    spy.handle(AmiMessage([("Event", "ChanSpyStop"), ("SpyerChannel", SPYER)]))
    spy.handle(AmiMessage([("Event", "Hangup"), ("Channel", SPYER)]))
    await spy.flush()
    modes = [(row["mode"], row["end_reason"]) for row in log.rows.values()]
    assert modes == [
        ("listen", "switched to whisper"),
        ("whisper", "switched to barge"),
        ("barge", "switched to listen"),
        ("listen", "ChanSpyStop"),
    ]
    assert all(row["spyer"] == SPYER for row in log.rows.values())
    spy.close()


async def test_a_phone_that_does_not_answer_ends_the_row_and_a_refusal_raises() -> None:
    link, log = FakeLink(), MemoryLog()
    spy = Spy(lambda: link, log)  # type: ignore[arg-type,return-value]
    await spy.start("wang", "PJSIP/9001", "x", TARGET, "barge")
    action_id = dict(link.sent[0])["ActionID"]
    spy.handle(AmiMessage([("Event", "OriginateResponse"), ("ActionID", action_id),
                           ("Response", "Failure"), ("Channel", ""), ("Reason", "3")]))  # fmt: skip
    await spy.flush()
    assert log.rows[1]["end_reason"] == "phone not answered"
    refused = FakeLink(answer="Error")
    spy2 = Spy(lambda: refused, log)  # type: ignore[arg-type,return-value]
    with pytest.raises(AgentActionFailed):
        await spy2.start("wang", "PJSIP/9001", "x", TARGET, "listen")
    assert log.rows[2]["end_reason"].startswith("refused")
    down = Spy(lambda: None, log)
    with pytest.raises(AgentActionFailed) as failure:
        await down.start("wang", "PJSIP/9001", "x", TARGET, "listen")
    assert failure.value.kind == "unavailable"
    spy.close()
