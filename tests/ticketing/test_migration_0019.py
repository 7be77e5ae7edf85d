"""Migration 0019_dims fills rollup_call_hour_keys from the hour rows rollup_calls already
holds, so a database upgraded with its rollups built needs no rebuild."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import MetaData, Table, insert, select

from ticketing import migrate
from ticketing.engine import make_engine

HOUR = datetime(2026, 11, 23, 2, tzinfo=UTC)


def _cell(queue: str, category: str, area: str, first: str, held: str, calls: int,
          longest: int) -> dict[str, Any]:  # fmt: skip
    return {"span": "hour", "bucket": HOUR, "queue": queue, "category": category, "area": area,
            "first_unit": first, "handling_unit": held, "calls": calls, "offered": calls,
            "longest_wait": longest}  # fmt: skip


async def test_0019_fills_the_hour_keys_from_built_cells(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        await migrate.upgrade(engine, "0018_warnstore")
        async with engine.begin() as connection:
            cells = await connection.run_sync(
                lambda sync: Table("rollup_calls", MetaData(), autoload_with=sync)
            )
            zeros = {c.name: 0 for c in cells.columns if c.name not in ("longest_wait",)}
            rows = [
                _cell("", "help", "东城区", "水务集团", "水务集团", 3, 40),
                _cell("", "help", "西城区", "水务集团", "供电公司", 2, 10),
                _cell("", "complaint", "", "", "", 5, 70),
            ]
            await connection.execute(insert(cells), [{**zeros, **row} for row in rows])
        await migrate.upgrade(engine)
        async with engine.connect() as connection:
            keys = await connection.run_sync(
                lambda sync: Table("rollup_call_hour_keys", MetaData(), autoload_with=sync)
            )
            found = {
                (r.dim, r.value): (int(r.calls), int(r.offered), r.longest_wait)
                for r in await connection.execute(select(keys))
            }
    finally:
        await engine.dispose()
    assert found == {
        ("category", "help"): (5, 5, 40),
        ("category", "complaint"): (5, 5, 70),
        ("area", "东城区"): (3, 3, 40),
        ("area", "西城区"): (2, 2, 10),
        # First sent to and held by 水务集团 counts once; sent on to 供电公司 counts for both.
        ("unit", "水务集团"): (5, 5, 40),
        ("unit", "供电公司"): (2, 2, 10),
    }
