"""``hotline demo``: the real service against the simulated PBX, a busy hour in minutes.

The simulator serves AMI on a loopback port exactly as Asterisk does and writes a queue_log;
the service connects to it like to any Asterisk, stores calls and tickets in SQLite and serves
the wallboard. Ctrl-C stops it cleanly; the calls still in progress are played to their end
(fast) so that the final figures cover every call of the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import secrets
import signal
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.live import Live

from acd.kpi import KpiParams, compute
from hotline.demo_model import busy_hour_start, demo_model
from hotline.progress import render_progress
from hotline.service import HotlineService
from hotline.settings import Settings, load_settings
from hotline.sim.actions import attach
from hotline.sim.agi_driver import FastAgiDriver
from hotline.sim.ami_server import AmiServer
from hotline.sim.traffic import Simulation
from hotline.web.auth_accounts import create_kiosk, kiosk_url
from hotline.web.auth_passwords import hash_password
from ticketing.store import TicketStore

SIMULATED_SECONDS = 3600.0  # one busy hour


def _demo_settings(
    base: Settings, workdir: Path, ami_port: int, secret: str, port: int
) -> Settings:
    data = base.model_dump(mode="python")
    data["ami"].update(host="127.0.0.1", port=ami_port, username="hotline", secret=secret)
    data["database"].update(
        url=f"sqlite+aiosqlite:///{workdir / 'demo.sqlite3'}",
        spill_path=workdir / "demo-calls.spill.jsonl",
    )
    data["asterisk"]["queue_log"] = workdir / "queue_log"
    data["web"].update(host="127.0.0.1", port=port, session_secret=secrets.token_urlsafe(32))
    data["mqtt"]["enabled"] = False
    # The service's own FastAGI IVR, on a free loopback port: simulated callers walk the menu.
    data["ivr"].update(enabled=True, host="127.0.0.1", port=0)
    data["pbx"]["announcements_file"] = workdir / "announcements.json"
    return Settings.model_validate(data)


async def _demo_logins(settings: Settings) -> tuple[str, str]:
    """A supervisor ``demo`` with a random password and a kiosk token, in the demo database."""
    password = secrets.token_urlsafe(12)
    store = await TicketStore.open(settings.database.url, timezone=settings.site.timezone)
    try:
        await store.add_user(
            "demo", "演示主管 demo supervisor", "supervisor", hash_password(password)
        )
        token = await create_kiosk(store, "演示大屏 demo wallboard")
    finally:
        await store.close()
    return password, token


def _fresh_workdir(workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("demo.sqlite3", "queue_log", "demo-calls.spill.jsonl"):
        (workdir / name).unlink(missing_ok=True)


async def run_demo(
    *,
    duration: float,
    calls_per_hour: float,
    agents: int,
    seed: int,
    port: int,
    workdir: Path,
    console: Console | None,
) -> dict[str, Any]:
    base = load_settings()
    _fresh_workdir(workdir)
    secret = secrets.token_urlsafe(12)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    async with AmiServer(secret=secret) as server:
        settings = _demo_settings(base, workdir, server.port, secret, port)
        start = busy_hour_start(settings.site.timezone)
        sim = Simulation(
            demo_model(calls_per_hour, agents),
            seed=seed,
            queue_log_path=workdir / "queue_log",
            start=start,
        )
        pump = attach(sim.pbx, server)
        password, kiosk_token = await _demo_logins(settings)
        service = HotlineService(settings, now=lambda: sim.now)
        await service.start()
        assert service.link is not None
        await service.link.wait_connected(timeout=10)
        web_base = f"http://127.0.0.1:{service.web_port}"
        login = {
            "url": f"{web_base}/login",
            "username": "demo",
            "password": password,
            "role": "supervisor",
            "kiosk_url": kiosk_url(web_base, kiosk_token),
        }
        if console is not None:
            console.print(
                f"wallboard (kiosk, no login): {login['kiosk_url']}\n"
                f"log in: {login['url']}  user demo  password {password}\n"
                f"({duration:.0f} s = one busy hour at {calls_per_hour:.0f} calls/h, "
                f"{agents} agents; Ctrl-C stops)",
                soft_wrap=True,  # a wrapped URL cannot be copied
            )
        speed = SIMULATED_SECONDS / duration
        driver = None
        if service.ivr.port is not None:
            driver = FastAgiDriver("127.0.0.1", service.ivr.port, speed=speed)
            sim.pbx.ivr_driver = driver
        runner = asyncio.create_task(sim.run_realtime(speed, stop))
        try:
            with contextlib.suppress(TimeoutError):
                if console is None:
                    await asyncio.wait_for(stop.wait(), duration)
                else:
                    with Live(
                        render_progress(service.live), console=console, refresh_per_second=4
                    ) as live:
                        async with asyncio.timeout(duration):
                            while not stop.is_set():
                                live.update(render_progress(service.live))
                                with contextlib.suppress(TimeoutError):
                                    await asyncio.wait_for(stop.wait(), 0.5)
            stop.set()
            await runner
            if driver is not None:
                # IVR sessions in flight finish on their own clock, then hand back to the PBX.
                await _ivr_idle(driver)
            # Play the calls still in progress to their end, as fast as possible.
            sim.drain()
            await pump.flush()
            await _settle(service)
            assert service.writer is not None
            await service.writer.flush(timeout=30)
            records = await _all_records(service)
        finally:
            stop.set()
            runner.cancel()
            if driver is not None:
                await driver.close()
            await service.stop()
            await pump.close()
            sim.close()
    report = compute(records, KpiParams.from_settings(settings.kpi))
    counters = sim.counters
    return {
        "simulated": {
            "start": start,
            "seconds": sim.now - start,
            "calls": sim.arrived,
            "truth": dataclasses.asdict(counters),
        },
        "stored_call_legs": len(records),
        "kpis": {name: figure.to_json() for name, figure in report.totals.items()},
        "wallboard": f"http://127.0.0.1:{service.web_port}/",
        "login": login,
    }


async def _ivr_idle(driver: FastAgiDriver, timeout: float = 30.0) -> None:  # noqa: ASYNC109
    async def poll() -> None:
        while driver.sessions:  # noqa: ASYNC110 -- the driver has no "idle" signal
            await asyncio.sleep(0.01)

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(poll(), timeout)


async def _settle(service: HotlineService, timeout: float = 30.0) -> None:  # noqa: ASYNC109
    """Wait until the tracker has closed every call the simulator finished."""

    async def poll() -> None:
        # The tracker is synchronous and has no "idle" signal; poll it, bounded below.
        while service.tracker.active_calls() or service.catching_up:  # noqa: ASYNC110
            await asyncio.sleep(0.05)

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(poll(), timeout)


async def _all_records(service: HotlineService) -> list[dict[str, Any]]:
    from datetime import UTC, datetime

    assert service.store is not None
    return await service.store.calls_between(
        datetime(1970, 1, 2, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)
    )


@click.command()
@click.option(
    "--duration",
    type=click.FloatRange(min=5),
    default=120.0,
    show_default=True,
    help="Wall-clock seconds the simulated busy hour takes.",
)
@click.option(
    "--calls-per-hour",
    type=click.FloatRange(min=1),
    default=360.0,
    show_default=True,
    help="Arrival rate of the busy hour.",
)
@click.option("--agents", type=click.IntRange(min=1, max=500), default=16, show_default=True)
@click.option("--seed", type=int, default=12345, show_default=True)
@click.option(
    "--port",
    type=click.IntRange(min=0, max=65535),
    default=None,
    help="Wallboard port (default: web.port from the settings, 8080).",
)
@click.option(
    "--workdir",
    type=click.Path(path_type=Path),
    default=Path("var/demo"),
    show_default=True,
    help="Where the demo's SQLite database and queue_log go.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the final KPIs as JSON.")
def demo(
    duration: float,
    calls_per_hour: float,
    agents: int,
    seed: int,
    port: int | None,
    workdir: Path,
    as_json: bool,
) -> None:
    """Run the service against a simulated PBX: a busy hour compressed into minutes."""
    web_port = port if port is not None else load_settings().web.port
    console = None if as_json else Console()
    result = asyncio.run(
        run_demo(
            duration=duration,
            calls_per_hour=calls_per_hour,
            agents=agents,
            seed=seed,
            port=web_port,
            workdir=workdir,
            console=console,
        )
    )
    if as_json:
        json.dump(result, sys.stdout, ensure_ascii=False, indent=1, default=str)
        sys.stdout.write("\n")
        return
    assert console is not None
    kpis = result["kpis"]
    console.print(
        f"\nfinished: {result['simulated']['calls']} calls, "
        f"{result['stored_call_legs']} call legs stored"
    )
    for name in (
        "offered",
        "answered",
        "answer_timeliness",
        "connect_rate",
        "abandon_rate",
        "asa",
        "aht",
    ):
        figure = kpis.get(name)
        if figure:
            console.print(f"  {name}: {_shown(figure)}  ({figure['formula']})")


def _shown(figure: dict[str, Any]) -> str:
    """A figure as an operator reads it: rates in %, times in s, counts as they are."""
    value = figure["value"]
    if value is None:
        return "—"
    if figure["unit"] == "ratio":
        target = figure.get("target")
        verdict = "" if target is None else ("  ✓" if figure.get("meets_target") else "  ✗")
        return f"{value * 100:.1f} %{verdict}"
    if figure["unit"] == "s":
        return f"{value:.1f} s"
    return f"{value:g}"
