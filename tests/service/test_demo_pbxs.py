"""`hotline demo --pbxs 2`: one service follows two simulated Asterisks; the final KPIs are
the sum of both simulators' truths, and each PBX's share is its own simulator's truth."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from hotline.cli import cli
from ticketing.store import TicketStore

FIGURES = {
    "offered": "offered",
    "answered": "answered",
    "abandoned": "abandoned",
    "timeouts": "timeout",
    "join_rejections": "joinempty",
    "ivr_hangups": "ivr_hangup",
}


def test_two_pbxs_sum_to_both_simulators_truths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli,
        [
            "demo",
            "--pbxs",
            "2",
            "--duration",
            "5",
            "--calls-per-hour",
            "400",
            "--agents",
            "6",
            "--seed",
            "7",
            "--port",
            "0",
            "--json",
            "--workdir",
            str(tmp_path / "demo"),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    pbxs = data["simulated"]["pbxs"]
    assert sorted(pbxs) == ["pbx1", "pbx2"]
    assert all(pbx["truth"]["calls"] > 20 for pbx in pbxs.values())
    truth, kpis = data["simulated"]["truth"], data["kpis"]
    for figure, counter in FIGURES.items():
        assert truth[counter] == sum(pbx["truth"][counter] for pbx in pbxs.values())
        assert kpis[figure]["value"] == truth[counter], figure
        for name, pbx in pbxs.items():
            assert data["kpis_by_pbx"][name][figure]["value"] == pbx["truth"][counter], (
                name,
                figure,
            )
    for name in ("pbx1", "pbx2"):
        assert (
            tmp_path / "demo" / ("queue_log" if name == "pbx1" else f"{name}.queue_log")
        ).stat().st_size > 0

    async def stored() -> list[dict[str, object]]:
        store = await TicketStore.open(f"sqlite+aiosqlite:///{tmp_path / 'demo' / 'demo.sqlite3'}")
        try:
            return await store.calls_between(
                datetime(2000, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)
            )
        finally:
            await store.close()

    rows = asyncio.run(stored())
    # Every record carries its PBX, whose name its uniqueid begins with (Asterisk's systemname).
    assert Counter(row["pbx"] for row in rows) == {
        name: pbx["truth"]["legs"] for name, pbx in pbxs.items()
    }
    assert all(str(row["uniqueid"]).startswith(f"{row['pbx']}-") for row in rows)
