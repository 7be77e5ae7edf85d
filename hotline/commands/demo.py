"""``hotline demo``: the real service against the simulated PBX, a busy hour in minutes.

The simulator serves AMI on a loopback port exactly as Asterisk does and writes a queue_log;
the service connects to it like to any Asterisk, stores calls and tickets in SQLite and serves
the wallboard. Every simulated phone is a desk agent's (agent1, agent2…, role agent, password
demo.agent_password or a random one, printed): log in to /desk and get its screen pops.
``--pbxs 2`` runs two simulated Asterisks (pbx1, pbx2, each with its own
callers, agents, queue_log and systemname) and one service following both.
Ctrl-C stops it cleanly; the calls still in progress are played to their end
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
from hotline.sim.traffic import Burst, Simulation
from hotline.web.auth_accounts import create_kiosk, kiosk_url
from hotline.web.auth_passwords import hash_password
from ticketing.agents import AgentDirectory
from ticketing.store import TicketStore

SIMULATED_SECONDS = 3600.0  # one busy hour


def _demo_settings(
    base: Settings, workdir: Path, ami_ports: list[int], secret: str, port: int
) -> Settings:
    data = base.model_dump(mode="python")
    data["ami"].update(host="127.0.0.1", port=ami_ports[0], username="hotline", secret=secret)
    if len(ami_ports) > 1:
        data["ami"]["servers"] = [
            {
                "name": _pbx_name(index),
                "host": "127.0.0.1",
                "port": ami_port,
                "queue_log": _queue_log(workdir, index),
                "cdr_csv": workdir / f"{_pbx_name(index)}-Master.csv",
            }
            for index, ami_port in enumerate(ami_ports)
        ]
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
    data["cases"]["attachments_dir"] = workdir / "attachments"  # the case console's uploads
    # The robot agents (agent1…agentN) get Chinese display names, as a real centre's agents
    # have; names from the settings file win.
    data["wallboard"]["agent_names"] = {**demo_agent_names(500), **base.wallboard.agent_names}
    return Settings.model_validate(data)


_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "芳强敏静磊军洋勇艳杰娟涛明超秀霞平刚桂英华丽"


def demo_agent_names(count: int) -> dict[str, str]:
    """``agent1`` → a two-character name, distinct for the first 500 robots."""
    names: dict[str, str] = {}
    pairs = len(_SURNAMES) * len(_GIVEN)
    for n in range(count):
        name = _SURNAMES[n % len(_SURNAMES)] + _GIVEN[(n // len(_SURNAMES)) % len(_GIVEN)]
        if n >= pairs:  # past every two-character name: a third character
            name += _GIVEN[(n // pairs) % len(_GIVEN)]
        names[f"agent{n + 1}"] = name
    return names


DEMO_UNITS = (("住建局", None), ("水务局", None), ("玄武区", None), ("玄武区城管", "玄武区"))
DEMO_UNIT_USER = "zjj"


async def _demo_logins(settings: Settings) -> tuple[str, str]:
    """A supervisor ``demo`` with a random password and a kiosk token, in the demo database;
    handling units and a unit user (``zjj``, same password) for the case console."""
    password = secrets.token_urlsafe(12)
    store = await TicketStore.open(settings.database.url, timezone=settings.site.timezone)
    try:
        hashed = hash_password(password)
        await store.add_user("demo", "演示主管 demo supervisor", "supervisor", hashed)
        token = await create_kiosk(store, "演示大屏 demo wallboard")
        # Handling units for the case console (/cases), and one unit's staff to log in as.
        for unit, parent in DEMO_UNITS:
            await store.add_unit(unit, parent)
        await store.add_user(DEMO_UNIT_USER, "住建局 demo unit staff", "unit", hashed, "住建局")
    finally:
        await store.close()
    return password, token


def desk_username(pbx_index: int, n: int) -> str:
    """The demo's desk agent of simulated phone ``n`` (agent1…; pbx2-agent1… on a 2nd PBX)."""
    return f"agent{n}" if pbx_index == 0 else f"{_pbx_name(pbx_index)}-agent{n}"


async def _demo_desk_agents(settings: Settings, sims: list[Simulation]) -> tuple[str, list[str]]:
    """A web user of role agent per simulated phone, tied to it by the agent table (its
    interface, member name and queues), so a person running the demo can sit at /desk and
    get that phone's pops. The password comes from demo.agent_password (file or
    environment), else a random one for this run; returns it and the usernames."""
    password = settings.demo.agent_password.get_secret_value() or secrets.token_urlsafe(12)
    hashed = hash_password(password)  # once: the same password for every demo agent
    usernames = []
    store = await TicketStore.open(settings.database.url, timezone=settings.site.timezone)
    try:
        directory = AgentDirectory(store.engine)
        for index, sim in enumerate(sims):
            for n, member in enumerate(sim.pbx.config.members, 1):
                username = desk_username(index, n)
                await store.add_user(username, f"座席{n} agent {n}", "agent", hashed)
                await directory.set_agent(
                    username,
                    extension=f"{index + 1}{n:03d}",
                    name=member.name,  # the member name queue_log shows
                    interface=member.interface,
                    state_interface=member.state_interface,
                    pbx=_pbx_name(index),
                    skills=dict.fromkeys(member.queues, member.penalty),
                )
                usernames.append(username)
    finally:
        await store.close()
    return password, usernames


def _pbx_name(index: int) -> str:
    return f"pbx{index + 1}"


def _queue_log(workdir: Path, index: int) -> Path:
    # The first PBX's queue_log keeps its one-PBX name.
    return workdir / ("queue_log" if index == 0 else f"{_pbx_name(index)}.queue_log")


def _fresh_workdir(workdir: Path, pbxs: int) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("demo.sqlite3", "demo-calls.spill.jsonl"):
        (workdir / name).unlink(missing_ok=True)
    for index in range(pbxs):
        _queue_log(workdir, index).unlink(missing_ok=True)


async def run_demo(
    *,
    duration: float,
    calls_per_hour: float,
    agents: int,
    seed: int,
    port: int,
    workdir: Path,
    console: Console | None,
    pbxs: int = 1,
    bursts: tuple[Burst, ...] = (),
) -> dict[str, Any]:
    base = load_settings()
    _fresh_workdir(workdir, pbxs)
    secret = secrets.token_urlsafe(12)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)

    async with contextlib.AsyncExitStack() as servers:
        amis = [await servers.enter_async_context(AmiServer(secret=secret)) for _ in range(pbxs)]
        settings = _demo_settings(base, workdir, [ami.port for ami in amis], secret, port)
        start = busy_hour_start(settings.site.timezone)
        sims = [
            Simulation(
                # Outage bursts go to the first PBX only (one area's calls, counted once).
                demo_model(calls_per_hour, agents, bursts if index == 0 else ()),
                # The first PBX is the one-PBX demo exactly; the others draw their own callers.
                seed=seed + index,
                queue_log_path=_queue_log(workdir, index),
                start=start,
                # Several PBXs: each one's uniqueids carry its name, as asterisk.conf's
                # systemname makes Asterisk do (hotline asterisk-conf render --pbx).
                systemname=_pbx_name(index) if pbxs > 1 else None,
            )
            for index in range(pbxs)
        ]
        sim = sims[0]
        pumps = [attach(one.pbx, ami) for one, ami in zip(sims, amis, strict=True)]
        password, kiosk_token = await _demo_logins(settings)
        # Before the service starts: its desk learns the agents (whose pop a ring is) then.
        agent_password, desk_agents = await _demo_desk_agents(settings, sims)
        # One clock for the whole service — the KPIs' today, the wallboard's durations, the
        # IVR's hours and the wrap-up timers: the first PBX's simulated one.
        service = HotlineService(settings, now=lambda: sim.now)
        await service.start()
        for feed in service.feeds:
            assert feed.link is not None
            await feed.link.wait_connected(timeout=10)
        web_base = f"http://127.0.0.1:{service.web_port}"
        login = {
            "url": f"{web_base}/login",
            "username": "demo",
            "password": password,
            "role": "supervisor",
            "kiosk_url": kiosk_url(web_base, kiosk_token),
        }
        desk = {
            "url": f"{web_base}/desk",
            "usernames": desk_agents,
            "password": agent_password,
            "role": "agent",
        }
        if console is not None:
            per_pbx = f" on each of {pbxs} PBXs" if pbxs > 1 else ""
            console.print(
                f"wallboard (kiosk, no login): {login['kiosk_url']}\n"
                f"log in: {login['url']}  user demo  password {password}\n"
                f"agent desk: {desk['url']}  users {desk_agents[0]}…{desk_agents[-1]}  "
                f"password {agent_password}\n"
                f"case console: {web_base}/cases  users demo (supervisor), {DEMO_UNIT_USER} "
                f"(unit 住建局)  password {password}\n"
                f"({duration:.0f} s = one busy hour at {calls_per_hour:.0f} calls/h, "
                f"{agents} agents{per_pbx}; Ctrl-C stops)",
                soft_wrap=True,  # a wrapped URL cannot be copied
            )
        speed = SIMULATED_SECONDS / duration
        drivers: list[FastAgiDriver] = []
        if service.ivr.port is not None:
            for one in sims:
                driver = FastAgiDriver("127.0.0.1", service.ivr.port, speed=speed)
                one.pbx.ivr_driver = driver
                drivers.append(driver)
        runners = [asyncio.create_task(one.run_realtime(speed, stop)) for one in sims]
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
            await asyncio.gather(*runners)
            for driver in drivers:
                # IVR sessions in flight finish on their own clock, then hand back to the PBX.
                await _ivr_idle(driver)
            # Play the calls still in progress to their end, as fast as possible.
            for one, pump in zip(sims, pumps, strict=True):
                one.drain()
                await pump.flush()
            await _settle(service)
            assert service.writer is not None
            await service.writer.flush(timeout=30)
            records = await _all_records(service)
        finally:
            stop.set()
            for runner in runners:
                runner.cancel()
            for driver in drivers:
                await driver.close()
            await service.stop()
            for one, pump in zip(sims, pumps, strict=True):
                await pump.close()
                one.close()
    report = compute(records, KpiParams.from_settings(settings.kpi))
    simulated: dict[str, Any] = {
        "start": start,
        "seconds": sim.now - start,
        "calls": sum(one.arrived + one.burst_arrived for one in sims),
        "truth": _summed([dataclasses.asdict(one.counters) for one in sims]),
    }
    result: dict[str, Any] = {
        "simulated": simulated,
        "stored_call_legs": len(records),
        "kpis": {name: figure.to_json() for name, figure in report.totals.items()},
        # Early warning's suggested incidents (--burst makes one), as the console lists them.
        "warnings": service.warning.list() if service.warning is not None else [],
        "wallboard": f"http://127.0.0.1:{service.web_port}/",
        "login": login,
        "desk": desk,
        "cases": {
            "url": f"http://127.0.0.1:{service.web_port}/cases",
            "usernames": ["demo", DEMO_UNIT_USER],
            "password": login["password"],
        },
    }
    if pbxs > 1:
        simulated["pbxs"] = {
            _pbx_name(index): {"calls": one.arrived, "truth": dataclasses.asdict(one.counters)}
            for index, one in enumerate(sims)
        }
        result["kpis_by_pbx"] = {
            name: {key: figure.to_json() for key, figure in figures.items()}
            for name, figures in report.by_pbx.items()
        }
    return result


def _summed(truths: list[dict[str, int]]) -> dict[str, int]:
    """Several simulators' counters, added up field by field."""
    return {name: sum(truth[name] for truth in truths) for name in truths[0]}


async def _ivr_idle(driver: FastAgiDriver, timeout: float = 30.0) -> None:  # noqa: ASYNC109
    async def poll() -> None:
        while driver.sessions:  # noqa: ASYNC110 -- the driver has no "idle" signal
            await asyncio.sleep(0.01)

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(poll(), timeout)


async def _settle(service: HotlineService, timeout: float = 30.0) -> None:  # noqa: ASYNC109
    """Wait until the trackers have closed every call the simulators finished."""

    async def poll() -> None:
        # The tracker is synchronous and has no "idle" signal; poll it, bounded below.
        while service.active_calls() or service.catching_up:  # noqa: ASYNC110
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
@click.option(
    "--pbxs",
    type=click.IntRange(min=1, max=9),
    default=1,
    show_default=True,
    help="Simulated Asterisk servers, one service following them all (--calls-per-hour and "
    "--agents are per PBX).",
)
@click.option(
    "--burst",
    "bursts",
    multiple=True,
    callback=lambda ctx, param, values: tuple(parse_burst(v) for v in values),
    help="An outage burst for early warning: PREFIX:KEY:CALLS:MINUTES[@AFTER_MINUTES], e.g. "
    "1390861:2:30:10@5 (30 callers from 1390861… pressing 2 over 10 minutes, from minute 5).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the final KPIs as JSON.")
def demo(
    duration: float,
    calls_per_hour: float,
    agents: int,
    seed: int,
    port: int | None,
    workdir: Path,
    pbxs: int,
    bursts: tuple[Burst, ...],
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
            pbxs=pbxs,
            bursts=bursts,
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
    for warning in result["warnings"]:
        console.print(
            f"  early warning: {warning['calls']} calls of {warning['kind']} {warning['value']} "
            f"from {warning['area']} ({warning['status']}; /console/incidents)"
        )


def parse_burst(value: str) -> Burst:
    """``PREFIX:KEY:CALLS:MINUTES[@AFTER_MINUTES]`` → a traffic-model burst (KEY ``-``: none)."""
    spec, _, after = value.partition("@")
    parts = spec.split(":")
    try:
        prefix, key, calls, minutes = parts
        return Burst(
            prefix=prefix,
            key=None if key == "-" else key,
            calls=int(calls),
            minutes=float(minutes),
            after_s=float(after) * 60 if after else 0.0,
        )
    except ValueError as error:
        raise click.BadParameter(
            f"{value!r}: PREFIX:KEY:CALLS:MINUTES[@AFTER_MINUTES] ({error})", param_hint="--burst"
        ) from None


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
