"""`hotline demo` runs the real FastAGI IVR: simulated callers walk the default menu."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from hotline.cli import cli
from ticketing.store import TicketStore


def test_demo_callers_walk_the_real_menu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli,
        [
            "demo",
            "--duration",
            "5",
            "--calls-per-hour",
            "300",
            "--agents",
            "4",
            "--seed",
            "3",
            "--port",
            "0",
            "--json",
            "--workdir",
            str(tmp_path / "demo"),
        ],
    )
    assert result.exit_code == 0, result.output
    truth = json.loads(result.output)["simulated"]["truth"]

    async def stored() -> list[dict[str, object]]:
        store = await TicketStore.open(f"sqlite+aiosqlite:///{tmp_path / 'demo' / 'demo.sqlite3'}")
        try:
            return await store.calls_between(
                datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
            )
        finally:
            await store.close()

    records = asyncio.run(stored())
    assert len(records) == truth["legs"]
    # The menu's node ids come only from the IVR's own ivr.finished, never from AMI. A caller
    # gone during ANSWER never reaches a node (empty path).
    assert all(r["ivr_path"] == [] or r["ivr_path"][0] == "welcome" for r in records)
    walked = [r for r in records if r["ivr_path"]]
    assert len(walked) >= 0.9 * len(records)
    assert sum(1 for r in walked if "main" in r["ivr_path"]) > len(walked) // 2
    assert all(r["language"] in ("zh", "yue") for r in walked)
    assert (tmp_path / "demo" / "announcements.json").is_file()
