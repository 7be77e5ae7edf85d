"""The recordings search, the blocklist and QA scores on both databases (SQLite and a real
PostgreSQL): the same answers from the same rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ticketing.agents import AgentDirectory
from ticketing.blocklist import BlocklistError, NumberBlocklist
from ticketing.qa import QaDesk, QaError, ScorecardItem, check_scorecard
from ticketing.recordings import CallSearch, RecordingIndex
from ticketing.store import TicketStore

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
CARD = [
    ScorecardItem("greeting", "开头语", 40),
    ScorecardItem("accuracy", "准确", 50),
    ScorecardItem("dont_know", "不说不知道", 10, "check", ("不知道",)),
]


def call(uid: str, interface: str, name: str, talk: int, minutes: int) -> dict[str, object]:
    at = (T0 + timedelta(minutes=minutes)).timestamp()
    return {"linkedid": f"L{uid}", "uniqueid": uid, "caller_num": "13800138000",
            "queue": "hotline-general", "outcome": "answered", "talk_s": talk,
            "answered_by": name, "member_interface": interface,
            "recording": f"/var/spool/asterisk/monitor/hotline-{uid}.wav",
            "recording_audio": True, "queue_entered_at": at, "ended_at": at + talk}  # fmt: skip


async def test_search_blocklist_and_qa_on_both_databases(db_url: str) -> None:
    store = await TicketStore.open(db_url)
    try:
        await store.add_user("wang", "王芳", "agent", "x")
        await AgentDirectory(store.engine).set_agent(
            "wang", extension="1001", name="王芳", interface="PJSIP/1001"
        )
        await store.save_calls(
            [call(f"1.{n}", "PJSIP/1001", "王芳", 30 + n, n) for n in range(6)]
            + [call("2.1", "PJSIP/1002", "李强", 10, 9)]
        )
        found, more = await RecordingIndex(store.engine).search(
            CallSearch(T0, T0 + timedelta(days=1), agent="wang", min_talk_s=33, limit=2)
        )
        assert [c["talk_s"] for c in found] == [35, 34] and more is True
        assert all(c["ticket"] for c in found)
        ids = {c["talk_s"]: c["id"] for c in found}

        blocklist = NumberBlocklist(store.engine)
        entry = await blocklist.add(
            "+8613700137000", "骚扰", T0 + timedelta(days=3), "zhao", now=T0
        )
        assert entry["number"] == "13700137000"
        assert [e["id"] for e in await blocklist.entries(now=T0 + timedelta(days=1))] == [
            entry["id"]
        ]
        assert await blocklist.entries(now=T0 + timedelta(days=3)) == []  # expired
        with pytest.raises(BlocklistError):
            await blocklist.remove(entry["id"], "zhao", None, now=T0 + timedelta(days=4))

        desk = QaDesk(store.engine, CARD)
        span = (T0, T0 + timedelta(days=30))
        first = await desk.sample(*span, 3, "seed", "2026-11")
        assert first == await desk.sample(*span, 3, "seed", "2026-11")
        assert {c["agent"] for c in first} == {"wang", "李强"}  # no user: the queue_log name
        assert sum(c["agent"] == "wang" for c in first) == 3
        score = await desk.score(
            ids[35],
            [{"id": "greeting", "points": 40}, {"id": "accuracy", "points": 45, "comment": "漏答"},
             {"id": "dont_know", "points": 0, "comment": "说了不知道"}],
            "qa1",
        )  # fmt: skip
        assert score["total"] == 85
        with pytest.raises(QaError) as twice:
            await desk.score(ids[35], [{"id": i.id, "points": i.points} for i in CARD], "qa1")
        assert twice.value.kind == "scored"
        await desk.score(ids[34], [{"id": i.id, "points": i.points} for i in CARD], "qa2")
        [month] = await desk.monthly(*span)
        assert (month["agent"], month["calls"], month["score"]) == ("wang", 2, 92.5)
    finally:
        await store.close()


def test_a_scorecard_must_add_up_to_100() -> None:
    with pytest.raises(ValueError, match="add up to 90"):
        check_scorecard(CARD[:2])
    with pytest.raises(ValueError, match="unique"):
        check_scorecard([*CARD, CARD[0]])
