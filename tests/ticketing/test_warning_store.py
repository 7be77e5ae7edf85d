"""Early-warning suggestions in the database, on SQLite and PostgreSQL: kept as the room's
data, read back the same, decided once whichever instance comes first."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ticketing.store import TicketStore
from ticketing.warning_store import WarningStore
from warning.suggestions import Suggestion

RAISED = 1_796_263_200.0  # 2026-12-03 10:00 in Shanghai


def suggestion(n: int, **fields: Any) -> dict[str, Any]:
    data = Suggestion(
        id=f"warn-20261203100000-{n:06x}",
        area_key="area:东区",
        area="东区",
        prefixes=("1390", "1391"),
        kind="category",
        value="help",
        calls=12,
        expected=0.5,
        threshold=8.0,
        window_s=900.0,
        first_call_at=RAISED - 300.25,
        last_call_at=RAISED - 1.5,
        raised_at=RAISED + n,
        call_ids=["pbx1|1.1", "pbx1|1.2"],
    ).to_data()
    return {**data, **fields}


async def test_a_suggestion_reads_back_as_it_was_written(store: TicketStore) -> None:
    kept = WarningStore(store.engine)
    data = suggestion(1)
    await kept.add(data)
    await kept.add({**data, "calls": 99})  # the id is kept already: nothing changes
    assert await kept.load(10) == [data]
    assert Suggestion.from_data((await kept.load(10))[0]) == Suggestion.from_data(data)
    assert await kept.get(data["id"]) == data and await kept.get("warn-nope") is None
    grown = {**data, "calls": 14, "call_ids": [*data["call_ids"], "pbx1|1.3"]}
    await kept.grow(grown)
    assert await kept.load(10) == [grown]


async def test_a_decision_is_written_once(db_url: str) -> None:
    # Two instances (two engines) decide the same suggestion at once: one of them wins.
    first, second = await TicketStore.open(db_url), await TicketStore.open(db_url)
    try:
        one, other = WarningStore(first.engine), WarningStore(second.engine)
        data = suggestion(1)
        await one.add(data)
        accepted = {**data, "status": "accepted", "decided_by": "a", "decided_at": RAISED + 60}
        dismissed = {**data, "status": "dismissed", "decided_by": "b", "decided_at": RAISED + 61}
        results = await asyncio.gather(one.decide(accepted), other.decide(dismissed))
        assert results.count(None) == 1
        (winner,) = [d for d, r in zip((accepted, dismissed), results, strict=True) if r is None]
        (loser,) = [r for r in results if r is not None]
        assert loser == winner and await other.get(data["id"]) == winner
        # Counting that comes late (the other instance's growth) never undoes the decision.
        await other.grow({**data, "calls": 40})
        assert await other.get(data["id"]) == winner
        with pytest.raises(ValueError, match="only an open"):
            await other.grow(winner)
        # The incident the accept made (or anything after the decision) is saved as it is.
        await one.save({**winner, "incident_id": "warn-x"})
        assert (await one.get(data["id"]) or {})["incident_id"] == "warn-x"
        with pytest.raises(ValueError, match="accepted or dismissed"):
            await one.decide(data)
    finally:
        await first.close()
        await second.close()


async def test_a_decision_of_a_suggestion_never_stored_stores_it(store: TicketStore) -> None:
    kept = WarningStore(store.engine)
    decided = suggestion(2, status="dismissed", decided_by="b", decided_at=RAISED, reason="已知")
    assert await kept.decide(decided) is None
    assert await kept.load(10) == [decided]
    await kept.add(suggestion(2))  # the raise's write comes late: the decision stays
    assert await kept.get(decided["id"]) == decided
    await kept.save(suggestion(3))  # save writes one it does not have too
    assert (await kept.get(suggestion(3)["id"])) == suggestion(3)


async def test_load_gives_every_open_one_and_the_newest_decided(store: TicketStore) -> None:
    kept = WarningStore(store.engine)
    for n in range(6):
        await kept.add(suggestion(n))
    for n in (0, 2, 3, 5):
        await kept.decide(suggestion(n, status="accepted", decided_by="a", decided_at=RAISED))
    loaded = [(d["raised_at"] - RAISED, d["status"]) for d in await kept.load(2)]
    assert loaded == [(1, "open"), (4, "open"), (5, "accepted"), (3, "accepted")]
    assert [d["status"] for d in await kept.load(0)] == ["open", "open"]


async def test_what_cannot_be_stored_is_refused_by_name(store: TicketStore) -> None:
    kept = WarningStore(store.engine)
    with pytest.raises(ValueError, match=r"id: .*status: one of.*raised_at: epoch"):
        await kept.add(suggestion(1, id="", status="maybe", raised_at="today"))
    with pytest.raises(ValueError, match="NUL"):
        await kept.add(suggestion(1, reason="a\x00b"))
    with pytest.raises(ValueError, match="not JSON"):
        await kept.add(suggestion(1, expected=float("nan")))
    assert await kept.load(10) == []
