"""``hotline staffing`` against a real SQLite call store: the forecast from the same weekday
of recent weeks, typed calls, and a clear error for impossible traffic."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from hotline.cli import cli
from tests.acd.kpi_builders import local
from tests.test_cli_kpi import call
from ticketing.store import TicketStore

# Thursday 26 November 2026, 09:00-09:30 local: 100 answered legs of 180 s. Planning
# Thursday 3 December forecasts them for 09:00 (the Call Centre Helper example: A = 10 E).
RECORDS = [call(n, "answered", local(2026, 11, 26, 9, 0) + 10 * n, 5, 180) for n in range(100)]


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'calls.sqlite3'}"

    async def seed() -> None:
        store = await TicketStore.open(url)
        try:
            await store.save_calls(RECORDS)
        finally:
            await store.close()

    asyncio.run(seed())
    monkeypatch.chdir(tmp_path)  # no hotline.toml here
    monkeypatch.delenv("HOTLINE_CONFIG", raising=False)
    monkeypatch.setenv("HOTLINE_DATABASE__URL", url)
    return url


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["staffing", *args], catch_exceptions=False)


def test_the_plan_forecasts_from_the_same_weekday(store_url: str) -> None:
    result = run("--date", "2026-12-03", "--within", "20", "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert plan["weeks_used"] == ["2026-11-26"]
    nine = plan["slots"][18]
    assert (nine["start"], nine["calls"], nine["aht_s"], nine["agents"]) == ("09:00", 100, 180, 14)
    table = run("--date", "2026-12-03", "--calls", "10:00=200", "--aht", "180")
    assert table.exit_code == 0, table.output
    assert "09:00" in table.output and "10:00 *" in table.output and "peak:" in table.output


def test_bad_input_is_a_clear_error(store_url: str) -> None:
    assert "HH:MM=calls" in run("--date", "2026-12-03", "--calls", "nine=3").output
    assert "half hour" in run("--date", "2026-12-03", "--calls", "09:10=3").output
    result = run("--date", "2026-12-03", "--calls", "09:00=100000", "--aht", "3600")
    assert result.exit_code == 1 and "more than 20000 agents" in result.output
