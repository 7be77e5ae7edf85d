"""Case KPIs from the histories: per unit on-time, extension, redo and return rates; call-back
coverage and satisfaction, result and process apart — each with its numerator, denominator
and formula."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ticketing.store import TicketStore
from ticketing.workflow import Actor

AGENT = Actor("li", "agent")
BOSS = Actor("zhao", "supervisor")
ZJJ = Actor("wang", "unit", "住建局")
SWJ = Actor("liu", "unit", "水务局")
# Monday 2026-11-23 10:00 in Shanghai.
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


async def _case(store: TicketStore, steps: list[tuple[str, Actor, dict, timedelta]]) -> None:  # type: ignore[type-arg]
    case = await store.register_case(AGENT, {"category": "help"}, at=T0)
    for action, actor, fields, after in steps:
        if action == "call_back":
            case = await store.record_call_back(
                case["id"], actor, "agent", fields["satisfaction"], case["version"],
                process_satisfaction=fields.get("process_satisfaction"), now=T0 + after,
            )  # fmt: skip
            continue
        case = await store.apply_action(
            case["id"], action, actor, fields, case["version"], now=T0 + after
        )


async def test_unit_rates_and_satisfaction(store: TicketStore) -> None:
    for unit in ("住建局", "水务局"):
        await store.add_unit(unit)
    hour = timedelta(hours=1)
    day = timedelta(days=1)
    # 住建局: on time, satisfied (process basically satisfied).
    await _case(store, [("dispatch", AGENT, {"unit": "住建局"}, hour),
                        ("sign", ZJJ, {}, 2 * hour),
                        ("answer", ZJJ, {"answer": "好"}, 3 * hour),
                        ("call_back", AGENT, {"satisfaction": "satisfied",
                                              "process_satisfaction": "basically_satisfied"},
                         4 * hour)])  # fmt: skip
    # 住建局: extended once, answered late even so; dissatisfied, redone, answered again.
    await _case(store, [("dispatch", AGENT, {"unit": "住建局"}, hour),
                        ("sign", ZJJ, {}, 2 * hour),
                        ("request_extension", ZJJ, {"reason": "r", "days": 1}, 3 * hour),
                        ("approve_extension", BOSS, {}, 4 * hour),
                        ("answer", ZJJ, {"answer": "迟"}, 20 * day),
                        ("call_back", AGENT, {"satisfaction": "dissatisfied"}, 21 * day),
                        ("answer", ZJJ, {"answer": "重办"}, 22 * day)])  # fmt: skip
    # 水务局: asked to return it, not answered.
    await _case(
        store,
        [
            ("dispatch", AGENT, {"unit": "水务局"}, hour),
            ("return", SWJ, {"reason": "非本单位", "basis": "三定"}, 2 * hour),
        ],
    )
    # Not in the span: opened the week before.
    old = await store.register_case(AGENT, {"category": "help"}, at=T0 - 7 * day)
    await store.apply_action(old["id"], "dispatch", AGENT, {"unit": "水务局"}, 1, now=T0)

    kpis = await store.case_kpis(T0 - hour, T0 + hour)
    assert kpis["cases"] == 3
    zjj = kpis["units"]["住建局"]
    assert zjj["dispatched"] == 2
    # Three answers: in time, late despite the extension, in time after the redo (its own
    # new deadline).
    assert (zjj["on_time_rate"]["numerator"], zjj["on_time_rate"]["denominator"]) == (2, 3)
    assert zjj["extension_rate"]["value"] == 0.5
    assert (zjj["redo_rate"]["numerator"], zjj["redo_rate"]["denominator"]) == (1, 3)
    swj = kpis["units"]["水务局"]
    assert (swj["dispatched"], swj["return_rate"]["value"]) == (1, 1.0)
    assert swj["on_time_rate"]["value"] is None  # nothing answered: no figure, not 0 %
    # Two cases answered, both called back; rated: one satisfied, one dissatisfied.
    assert kpis["callback_coverage"]["value"] == 1.0
    assert kpis["satisfaction"]["value"] == 0.5
    assert kpis["process_satisfaction"]["value"] == 1.0
    assert "÷" in kpis["satisfaction"]["formula"]
