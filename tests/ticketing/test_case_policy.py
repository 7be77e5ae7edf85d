"""The deadline policy changed at run time: in force at once for every store on the database
(the active and the standby service), kept as a history, refused whole when malformed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ticketing.store import TicketStore
from ticketing.workflow import Actor

AGENT = Actor("li", "agent")
# Monday 2026-11-23, 10:00 in Shanghai: no holiday near.
MONDAY = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


async def _dispatch(store: TicketStore, category: str) -> dict:  # type: ignore[type-arg]
    case = await store.register_case(AGENT, {"category": category})
    return await store.apply_action(
        case["id"], "dispatch", AGENT, {"unit": "住建局"}, 1, now=MONDAY
    )


async def test_a_change_is_in_force_at_once_and_kept_in_the_history(
    store: TicketStore, db_url: str
) -> None:
    await store.add_unit("住建局")
    before = await _dispatch(store, "complaint")
    assert before["due_at"].startswith("2026-11-30T09:00")  # 5 wd, 17:00 local = 09:00 UTC
    assert (await store.case_policy())["source"] == "settings"

    changed = await store.set_case_policy(
        "zhao", "county",
        {"limits": {"complaint": "3wd"}, "sign": "8wh", "extensions": {"complaint": [1, 2]}},
        "市政府新规 2026 年第 5 号",
    )  # fmt: skip
    assert changed["source"] == "changed"
    assert changed["policy"]["limits"]["complaint"] == "3wd"
    assert changed["policy"]["sign"] == "8wh"
    assert changed["policy"]["extensions"]["complaint"] == [1, 2]
    [entry] = changed["history"]
    assert (entry["actor"], entry["reason"]) == ("zhao", "市政府新规 2026 年第 5 号")

    # Another store on the same database (the standby service) applies it too.
    other = await TicketStore.open(db_url)
    try:
        after = await _dispatch(other, "complaint")
    finally:
        await other.close()
    assert after["due_at"].startswith("2026-11-26T09:00")  # 3 wd
    # 8 working hours from Monday 10:00: 7 that day, 1 on Tuesday (10:00 local, 02:00 UTC).
    assert after["sign_due_at"].startswith("2026-11-24T02:00")
    # The earlier case keeps the deadline it was given.
    assert (await store.get_case(before["id"]))["due_at"] == before["due_at"]
    # The extension rule changed with it: once, at most 2 working days.
    unit = Actor("wang", "unit", "住建局")
    case = await store.apply_action(after["id"], "sign", unit, {}, after["version"], now=MONDAY)
    from ticketing.workflow import ForbiddenTransition

    with pytest.raises(ForbiddenTransition, match="at most 2 working days"):
        await store.apply_action(case["id"], "request_extension", unit,
                                 {"reason": "x", "days": 3}, case["version"])  # fmt: skip


@pytest.mark.parametrize(
    ("preset", "changes", "message"),
    [
        ("town", {}, "unknown deadline preset"),
        ("county", {"limits": {"weather": "1wd"}}, "unknown case kind"),
        ("county", {"limits": {"help": "soon"}}, "write a number and a unit"),
        ("county", {"sign": 24}, "sign must be a limit"),
        ("county", {"extensions": {"help": [9, 1]}}, "at most 5 times"),
        ("county", {"colour": "red"}, "unknown change"),
    ],
)
async def test_a_malformed_change_is_refused_and_nothing_changes(
    store: TicketStore,
    preset: str,
    changes: dict,
    message: str,  # type: ignore[type-arg]
) -> None:
    with pytest.raises(ValueError, match=message):
        await store.set_case_policy("zhao", preset, changes, "why")
    assert (await store.case_policy())["history"] == []
