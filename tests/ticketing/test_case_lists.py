"""The case console's lists on both databases: a parent unit's inbox with its sub-units'
cases, the similar cases a new one may duplicate (并单), the chase list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ticketing.store import TicketStore
from ticketing.workflow import Actor

AGENT = Actor("li", "agent")


async def test_a_parent_units_inbox_holds_its_sub_units_cases(store: TicketStore) -> None:
    await store.add_unit("玄武区")
    await store.add_unit("玄武区城管", parent="玄武区")
    await store.add_unit("玄武区城管一队", parent="玄武区城管")
    await store.add_unit("水务局")
    numbers = {}
    for unit in ("玄武区", "玄武区城管一队", "水务局"):
        case = await store.register_case(AGENT, {"category": "help"})
        case = await store.apply_action(case["id"], "dispatch", AGENT, {"unit": unit}, 1)
        numbers[unit] = case["number"]
    # Co-handled by a sub-unit counts too.
    co = await store.register_case(AGENT, {"category": "help"})
    co = await store.apply_action(co["id"], "dispatch", AGENT,
                                  {"unit": "水务局", "co_units": ["玄武区城管"]}, 1)  # fmt: skip
    assert await store.unit_scope("玄武区") == ["玄武区", "玄武区城管", "玄武区城管一队"]
    own = {c["number"] for c in await store.unit_inbox("玄武区")}
    family = {c["number"] for c in await store.unit_inbox("玄武区", with_sub_units=True)}
    assert own == {numbers["玄武区"]}
    assert family == {numbers["玄武区"], numbers["玄武区城管一队"], co["number"]}


async def test_similar_cases_are_of_the_same_number_or_place_within_30_days(
    store: TicketStore,
) -> None:
    now = datetime.now(UTC)
    old = await store.register_case(
        AGENT, {"category": "complaint", "address": "中山路1号", "caller_number": "1"},
        at=now - timedelta(days=31),
    )  # fmt: skip
    place = await store.register_case(
        AGENT, {"category": "complaint", "address": "中山路1号", "caller_number": "2"}
    )
    other_kind = await store.register_case(
        AGENT, {"category": "help", "address": "中山路1号", "caller_number": "3"}
    )
    caller = await store.register_case(AGENT, {"category": "praise", "caller_number": "4"})
    new = await store.register_case(
        AGENT, {"category": "complaint", "address": "中山路1号", "caller_number": "4"}
    )
    found = await store.similar_cases(new["id"])
    assert [(c["number"], c["same_caller"], c["same_place"]) for c in found] == [
        (caller["number"], True, False),
        (place["number"], False, True),
    ]
    assert old["number"] not in {c["number"] for c in found}
    assert other_kind["number"] not in {c["number"] for c in found}


async def test_the_chase_list_names_the_case_and_its_unit(store: TicketStore) -> None:
    await store.add_unit("水务局")
    case = await store.register_case(AGENT, {"category": "help"})
    await store.apply_action(case["id"], "dispatch", AGENT, {"unit": "水务局"}, 1)
    await store.sweep_chases(datetime.now(UTC) + timedelta(days=40), timedelta(hours=4))
    chases = await store.recent_chases()
    assert {(c["number"], c["handling_unit"]) for c in chases} == {(case["number"], "水务局")}
    assert {c["level"] for c in chases if c["kind"] == "chase"} >= {"overdue"}


async def test_cases_about_a_place_are_open_of_its_category_within_30_days(
    store: TicketStore,
) -> None:
    now = datetime.now(UTC)
    await store.register_case(
        AGENT, {"category": "complaint", "address": "中山路1号"}, at=now - timedelta(days=31)
    )
    first = await store.register_case(AGENT, {"category": "complaint", "address": "中山路1号"})
    await store.register_case(AGENT, {"category": "help", "address": "中山路1号"})
    await store.register_case(AGENT, {"category": "complaint", "address": "中山路2号"})
    second = await store.register_case(AGENT, {"category": "complaint", "address": "中山路1号"})
    invalid = await store.register_case(AGENT, {"category": "complaint", "address": "中山路1号"})
    await store.apply_action(invalid["id"], "merge", AGENT, {"into": first["number"]}, 1)
    found = await store.cases_about_place(" 中山路1号 ", "complaint")
    assert [c["number"] for c in found] == [second["number"], first["number"]]


async def test_case_changes_are_read_from_the_history_after_an_event(store: TicketStore) -> None:
    start, nothing = await store.case_changes_after(None)
    assert nothing == []
    await store.add_unit("水务局")
    case = await store.register_case(AGENT, {"category": "help"})
    await store.apply_action(case["id"], "dispatch", AGENT, {"unit": "水务局"}, 1)
    other = await store.register_case(AGENT, {"category": "praise"})
    last, changes = await store.case_changes_after(start)
    # One line per case, at its latest event, in the order of those events.
    assert [(c["number"], c["kind"], c["status"], c["handling_unit"]) for c in changes] == [
        (case["number"], "dispatch", "dispatched", "水务局"),
        (other["number"], "created", "registered", None),
    ]
    assert last > start
    assert await store.case_changes_after(last) == (last, [])
    assert (await store.case_changes_after(None))[0] == last
