"""A known set of calls and cases for the report tests, small enough to count by hand.

Monday 2026-11-23 in Shanghai (the daily log's day; its week is 23–29 November):
- c1 10:00 answered after 3 s, survey satisfied — its case: complaint, 鼓楼区, dispatched to
  住建局, answered on time, called back satisfied (process: basically satisfied).
- c2 10:05 answered after 20 s (late), survey dissatisfied — its case: complaint, 鼓楼区,
  住建局, extended once, answered late anyway, called back dissatisfied → redone, answered.
- c3 10:10 abandoned after 30 s — its case: help, 台江区, dispatched to 水务局, returned.
- c4 14:30 answered after 5 s, in the exclusion window 14:00–15:00 (系统故障) — its case:
  consultation, 台江区, only registered.
Monday 2026-11-16 (the week before): c5 answered after 4 s — complaint, 鼓楼区.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from acd.records import CallRecord
from ticketing.store import TicketStore
from ticketing.tickets import tickets
from ticketing.workflow import Actor

SHANGHAI = ZoneInfo("Asia/Shanghai")
AGENT = Actor("li", "agent")
BOSS = Actor("zhao", "supervisor")
ZJJ = Actor("wang", "unit", "住建局")
SWJ = Actor("liu", "unit", "水务局")
DAY = datetime(2026, 11, 23, tzinfo=SHANGHAI)
CALLERS = {f"c{n}": f"1390000000{n}" for n in range(1, 6)}


def _call(name: str, at: datetime, outcome: str, wait: int) -> dict[str, Any]:
    answered = outcome == "answered"
    entered = at.timestamp()
    return CallRecord(
        linkedid=f"1795000000.{name}", uniqueid=f"1795000000.{name}", caller_num=CALLERS[name],
        caller_name="张三", ivr_choice="1", queue="hotline-general", outcome=outcome,  # type: ignore[arg-type]
        wait_s=wait, talk_s=60 if answered else None,
        answered_by="Agent 1" if answered else None, started_at=entered - 10,
        member_interface="PJSIP/1001" if answered else None,
        recording=f"/var/spool/asterisk/monitor/{name}.wav" if answered else None,
        recording_audio=True if answered else None,
        queue_entered_at=entered, answered_at=entered + wait if answered else None,
        ended_at=entered + wait + (60 if answered else 0),
    ).to_json()  # fmt: skip


CALLS = {
    "c1": _call("c1", DAY.replace(hour=10), "answered", 3),
    "c2": _call("c2", DAY.replace(hour=10, minute=5), "answered", 20),
    "c3": _call("c3", DAY.replace(hour=10, minute=10), "abandoned", 30),
    "c4": _call("c4", DAY.replace(hour=14, minute=30), "answered", 5),
    "c5": _call("c5", DAY.replace(day=16, hour=9), "answered", 4),
}
CASES = {
    "c1": ("complaint", "鼓楼区"),
    "c2": ("complaint", "鼓楼区"),
    "c3": ("help", "台江区"),
    "c4": ("consultation", "台江区"),
    "c5": ("complaint", "鼓楼区"),
}


async def _steps(store: TicketStore, case_id: int, steps: list[tuple[Any, ...]]) -> None:
    case = await store.get_case(case_id)
    t0 = DAY.replace(hour=11).astimezone(UTC)
    for action, actor, fields, after in steps:
        if action == "call_back":
            case = await store.record_call_back(
                case_id, actor, "agent", fields["satisfaction"], case["version"],
                process_satisfaction=fields.get("process_satisfaction"), now=t0 + after,
            )  # fmt: skip
            continue
        case = await store.apply_action(
            case_id, action, actor, fields, case["version"], now=t0 + after
        )


async def seed(store: TicketStore) -> dict[str, int]:
    """Store the calls, surveys, exclusion window and case histories; the case ids by call."""
    await store.save_calls(list(CALLS.values()))
    await store.record_survey(CALLS["c1"]["linkedid"], "satisfied", DAY.replace(hour=10, minute=2))
    await store.record_survey(
        CALLS["c2"]["linkedid"], "dissatisfied", DAY.replace(hour=10, minute=7)
    )
    await store.add_exclusion(DAY.replace(hour=14), DAY.replace(hour=15), "系统故障", "zhao")
    ids: dict[str, int] = {}
    async with store.engine.begin() as connection:
        for name, (category, district) in CASES.items():
            linkedid = CALLS[name]["linkedid"]
            await connection.execute(
                update(tickets).where(tickets.c.linkedid == linkedid)
                .values(category=category, district=district)
            )  # fmt: skip
            ids[name] = int((await connection.execute(
                select(tickets.c.id).where(tickets.c.linkedid == linkedid)
            )).scalar_one())  # fmt: skip
    for unit in ("住建局", "水务局"):
        await store.add_unit(unit)
    hour, day = timedelta(hours=1), timedelta(days=1)
    await _steps(store, ids["c1"], [
        ("dispatch", AGENT, {"unit": "住建局"}, hour), ("sign", ZJJ, {}, 2 * hour),
        ("answer", ZJJ, {"answer": "好"}, 3 * hour),
        ("call_back", AGENT, {"satisfaction": "satisfied",
                              "process_satisfaction": "basically_satisfied"}, 4 * hour),
    ])  # fmt: skip
    await _steps(store, ids["c2"], [
        ("dispatch", AGENT, {"unit": "住建局"}, hour), ("sign", ZJJ, {}, 2 * hour),
        ("request_extension", ZJJ, {"reason": "r", "days": 1}, 3 * hour),
        ("approve_extension", BOSS, {}, 4 * hour),
        ("answer", ZJJ, {"answer": "迟"}, 20 * day),
        ("call_back", AGENT, {"satisfaction": "dissatisfied"}, 21 * day),
        ("answer", ZJJ, {"answer": "重办"}, 22 * day),
    ])  # fmt: skip
    await _steps(store, ids["c3"], [
        ("dispatch", AGENT, {"unit": "水务局"}, hour),
        ("return", SWJ, {"reason": "非本单位", "basis": "三定"}, 2 * hour),
    ])  # fmt: skip
    return ids
