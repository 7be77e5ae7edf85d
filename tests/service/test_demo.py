"""`hotline demo` end to end: the simulator's own truth must come out of the real pipeline."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hotline.cli import cli
from hotline.web.auth_accounts import user_for_token
from hotline.web.auth_passwords import verify_password
from ticketing.store import TicketStore


def test_demo_json_matches_the_simulated_truth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli,
        [
            "demo",
            "--duration",
            "5",
            "--calls-per-hour",
            "600",
            "--agents",
            "8",
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
    truth = data["simulated"]["truth"]
    kpis = data["kpis"]
    assert truth["calls"] > 50
    assert data["stored_call_legs"] >= truth["calls"]
    assert kpis["offered"]["value"] == truth["offered"]
    assert kpis["answered"]["value"] == truth["answered"]
    assert kpis["abandoned"]["value"] == truth["abandoned"]
    assert kpis["timeouts"]["value"] == truth["timeout"]
    assert kpis["join_rejections"]["value"] == truth["joinempty"]
    assert kpis["ivr_hangups"]["value"] == truth["ivr_hangup"]
    rate = kpis["connect_rate"]
    assert rate["numerator"] == truth["answered"]
    assert rate["value"] == pytest.approx(rate["numerator"] / rate["denominator"])
    assert (tmp_path / "demo" / "queue_log").stat().st_size > 0
    assert_demo_logins_work(data["login"], tmp_path / "demo" / "demo.sqlite3")
    assert data["cases"]["url"].endswith("/cases") and data["cases"]["usernames"][1] == "zjj"
    # An ordinary busy hour (callers from everywhere) raises no early warning.
    assert data["warnings"] == []


def test_demo_outage_burst_is_suggested(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's busy hour plus 40 callers from 1390861… pressing 1 over 10 minutes from
    minute 10: the real service suggests exactly that area (warning defaults: 10 calls in
    15 minutes; the hour runs at 360 x, so some callers' key comes too late: a margin)."""
    monkeypatch.chdir(tmp_path)
    args = ["demo", "--duration", "10", "--calls-per-hour", "300", "--agents", "8", "--seed", "7"]
    args += ["--port", "0", "--json", "--workdir", str(tmp_path / "demo")]
    result = CliRunner().invoke(cli, [*args, "--burst", "1390861:1:40:10@10"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    (warning,) = data["warnings"]
    assert (warning["area"], warning["prefixes"], warning["status"]) == (
        "1390861…",
        ["1390861"],
        "open",
    )
    assert warning["calls"] >= 10


def assert_demo_logins_work(login: dict[str, str], database: Path) -> None:
    """The printed password and kiosk link are the ones stored (hashed) in the demo database."""
    assert login["username"] == "demo" and login["role"] == "supervisor"
    assert login["url"].endswith("/login")
    token = login["kiosk_url"].partition("/kiosk?token=")[2]

    async def check() -> None:
        store = await TicketStore.open(f"sqlite+aiosqlite:///{database}")
        try:
            user = await store.get_user("demo")
            assert user is not None and user["role"] == "supervisor"
            assert verify_password(user["password_hash"], login["password"])[0]
            screen = await user_for_token(store, token)
            assert screen is not None and screen["role"] == "wallboard"
        finally:
            await store.close()

    asyncio.run(check())


def test_demo_rejects_a_bad_option() -> None:
    result = CliRunner().invoke(cli, ["demo", "--agents", "0"])
    assert result.exit_code == 2
    assert "--agents" in result.output
    result = CliRunner().invoke(cli, ["demo", "--burst", "1390861:1:many:5"])
    assert result.exit_code == 2
    assert "PREFIX:KEY:CALLS:MINUTES" in result.output
