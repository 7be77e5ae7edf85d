"""``hotline kpi`` against a real SQLite call store written by ticketing.store."""

from __future__ import annotations

import asyncio
import json
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from acd.records import CallRecord
from hotline.cli import cli
from tests.acd.kpi_builders import local
from ticketing.store import TicketStore


def call(
    n: int, outcome: str, at: float, wait: int, talk: int | None = None, **extra: Any
) -> dict[str, Any]:
    answered = outcome in ("answered", "transferred")
    return CallRecord(
        linkedid=f"1795440000.{n}",
        uniqueid=f"1795440000.{n}",
        caller_num="13800138000",
        caller_name="张三",
        queue=extra.pop("queue", "hotline-general"),
        outcome=outcome,  # type: ignore[arg-type]
        wait_s=wait,
        talk_s=talk,
        answered_by="Robot Agent 1" if answered else None,
        started_at=at - 10,
        queue_entered_at=at,
        answered_at=at + wait if answered else None,
        ended_at=at + wait + (talk or 0),
        **extra,
    ).to_json()


RECORDS = [
    call(1, "answered", local(2026, 11, 22, 23, 59), 3, 30),  # the day before: not counted
    call(2, "answered", local(2026, 11, 23, 0, 0), 3, 30),  # local midnight: counted
    call(3, "answered", local(2026, 11, 23, 9, 15), 15, 90),
    call(4, "answered", local(2026, 11, 23, 9, 40), 40, 60, queue="hotline-complaint"),
    call(5, "abandoned", local(2026, 11, 23, 10, 5), 2),  # short abandon
    call(6, "abandoned", local(2026, 11, 23, 10, 20), 25),
    call(7, "abandoned", local(2026, 11, 23, 14, 30), 80),  # inside the exclusion window
    call(8, "answered", local(2026, 11, 24, 0, 0), 3, 30),  # --to is exclusive
]


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'calls.sqlite3'}"

    async def seed() -> None:
        store = await TicketStore.open(url)
        try:
            await store.save_calls(RECORDS)
            # Another Asterisk's call, on the same day with the same uniqueid as call 3.
            await store.save_calls([{**RECORDS[2], "pbx": "pbx2", "wait_s": 20}])
            await store.add_exclusion(
                datetime.fromtimestamp(local(2026, 11, 23, 14), UTC),
                datetime.fromtimestamp(local(2026, 11, 23, 15), UTC),
                "system fault 系统故障",
                "supervisor 1",
            )
        finally:
            await store.close()

    asyncio.run(seed())
    monkeypatch.chdir(tmp_path)  # no hotline.toml here
    monkeypatch.delenv("HOTLINE_CONFIG", raising=False)
    monkeypatch.setenv("HOTLINE_DATABASE__URL", url)
    return url


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["kpi", *args], catch_exceptions=False)


def test_json_report_of_one_local_day(store_url: str) -> None:
    result = run("--from", "2026-11-23", "--to", "2026-11-24", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["period"]["start"] == "2026-11-23T00:00:00+08:00"
    assert data["period"]["end"] == "2026-11-24T00:00:00+08:00"
    assert data["counts"]["calls"] == 6  # calls 2-6, and pbx2's call
    assert data["excluded"] == {"calls": 1, "legs": 1, "by_reason": {"system fault 系统故障": 1}}
    # Every PBX, summed by default.
    assert data["totals"]["offered"]["value"] == 6
    assert {pbx: figures["offered"]["value"] for pbx, figures in data["by_pbx"].items()} == {
        "pbx1": 5,
        "pbx2": 1,
    }
    result = run("--from", "2026-11-23", "--to", "2026-11-24", "--pbx", "pbx1", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["period"]["pbx"] == "pbx1"
    assert list(data["by_pbx"]) == ["pbx1"]
    totals = data["totals"]
    assert totals["offered"]["value"] == 5
    assert totals["answered"]["value"] == 3
    assert (
        totals["answer_timeliness"]["numerator"],
        totals["answer_timeliness"]["denominator"],
    ) == (
        2,
        3,
    )
    assert totals["connect_rate"]["value"] == 3 / 5  # answered ÷ offered, the default rule
    assert totals["abandon_rate"]["value"] == 1 / 5
    assert totals["asa"]["value"] == (3 + 15 + 40) / 3
    assert totals["aht"]["value"] == (30 + 90 + 60) / 3
    assert totals["longest_wait"]["value"] == 40
    assert sorted(data["by_queue"]) == ["hotline-complaint", "hotline-general"]
    assert list(data["by_day"]) == ["2026-11-23"]
    assert list(data["by_hour"]) == [
        "2026-11-23T00:00+08:00",
        "2026-11-23T09:00+08:00",
        "2026-11-23T10:00+08:00",
    ]


def test_to_defaults_to_one_day_and_queue_filters(store_url: str) -> None:
    result = run("--from", "2026-11-23", "--queue", "hotline-complaint", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["period"]["to"] == "2026-11-24"
    assert list(data["by_queue"]) == ["hotline-complaint"]
    assert data["totals"]["answered"]["value"] == 1
    assert data["totals"]["answer_timeliness"]["value"] == 0.0


def test_table_shows_formula_numerator_denominator_target(store_url: str) -> None:
    result = run("--from", "2026-11-23", "--to", "2026-11-25")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "人工应答及时率" in out and "answered ≤ 15 s ÷ answered" in out
    assert "66.7 %" in out  # 2 of 3 answered within 15 s on the 23rd...
    assert "≥ 80 % ✗" in out
    assert "system fault 系统故障" in out
    assert "2026-11-24" in out  # ...and call 8 is in this two-day range
    assert "Per queue" in out and "Per agent" in out and "Robot Agent 1" in out
    assert "Per PBX" in out and "pbx2" in out


def test_bad_dates_are_usage_errors(store_url: str) -> None:
    result = CliRunner().invoke(cli, ["kpi", "--from", "2026-11-23", "--to", "2026-11-23"])
    assert result.exit_code == 2
    assert "--to" in result.output and "exclusive" in result.output
    result = CliRunner().invoke(cli, ["kpi", "--from", "23/11/2026"])
    assert result.exit_code == 2


def test_an_unreachable_store_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOTLINE_CONFIG", raising=False)
    url = f"postgresql+asyncpg://hotline:s3cret@127.0.0.1:{port}/hotline"
    monkeypatch.setenv("HOTLINE_DATABASE__URL", url)
    result = CliRunner().invoke(cli, ["kpi", "--from", "2026-11-23"])
    assert result.exit_code == 3, result.output
    assert f"cannot read the call store postgresql+asyncpg://hotline:***@127.0.0.1:{port}" in (
        result.output
    )
    assert "s3cret" not in result.output
