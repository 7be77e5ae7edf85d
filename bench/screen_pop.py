"""Screen-pop latency: AgentCalled leaving the simulated PBX → the pop in that agent's WebSocket.

N robot agents and N callers in the simulated Asterisk (hotline.sim), the real service
following it over AMI (tracker → bus → screen pops → /ws/desk) and N desk clients, one per
agent, each signed in with its own token. Every caller is placed at once, so N AgentCalled
events leave the simulator in one burst and N calls are in flight (the robots let the phone
ring for ``--ring`` simulated seconds before answering). Latency per call: from just before
the simulator's AMI server writes that call's first AgentCalled to the moment that agent's
client has the pop (first message, before the store's history). The history message is
timed too.

Side by side, in the same run and process: a bare aiohttp WebSocket server pushing the same
pop payloads to N clients in one burst (send → receive), the floor of what any push costs
here.

    .venv/bin/python -m bench.screen_pop --calls 500
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from acd.ami.message import AmiMessage
from hotline.service import HotlineService
from hotline.settings import Settings
from hotline.sim.actions import attach
from hotline.sim.ami_server import AmiServer
from hotline.sim.model import CallerScript, QueueConfig
from hotline.sim.traffic import AgentProfile, Simulation, TrafficModel
from hotline.web.app import SCREEN_POPS
from hotline.web.auth_accounts import create_token_account
from hotline.web.desk_push import StaticLookup

QUEUE = "hotline-general"


class StampingServer:
    """The simulator's AMI server, noting when each call's first AgentCalled is written."""

    def __init__(self, server: AmiServer) -> None:
        self.server = server
        self.sent: dict[str, float] = {}

    def register_action(self, name: str, handler: Callable[..., Awaitable[Any]]) -> None:
        self.server.register_action(name, handler)

    async def broadcast(self, msg: AmiMessage) -> None:
        if msg.get("Event") == "AgentCalled":
            self.sent.setdefault(
                msg.get("Linkedid") or msg.get("Uniqueid") or "", time.perf_counter()
            )
        await self.server.broadcast(msg)


def settings_for(tmp: Path, ami_port: int) -> Settings:
    return Settings.model_validate(
        {
            "ami": {"port": ami_port, "secret": "hotline-secret", "ping_interval": 30},
            "database": {"url": f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}",
                         "spill_path": str(tmp / "spill.jsonl")},
            "web": {"port": 0},
            "asterisk": {"queue_log": str(tmp / "queue_log")},
            "ivr": {"port": 0},
            "pbx": {"announcements_file": str(tmp / "announcements.json")},
        }
    )  # fmt: skip


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    cut = (
        statistics.quantiles(ordered, n=100, method="inclusive")
        if len(ordered) > 1
        else ordered * 99
    )
    return {"p50": cut[49] * 1000, "p99": cut[98] * 1000, "max": ordered[-1] * 1000}


async def desk_clients(
    session: aiohttp.ClientSession,
    url: str,
    tokens: list[str],
    arrived: dict[str, float],
    history: dict[str, float],
) -> list[asyncio.Task[None]]:
    async def follow(token: str) -> None:
        async with session.ws_connect(url, headers={"Authorization": f"Bearer {token}"}) as ws:
            async for message in ws:
                data = json.loads(message.data)
                if data["type"] != "pop":
                    continue
                pop = data["pop"]
                now = time.perf_counter()
                arrived.setdefault(pop["linkedid"], now)
                if pop.get("history") is not None:
                    history.setdefault(pop["linkedid"], now)

    tasks = [asyncio.create_task(follow(token)) for token in tokens]
    return tasks


async def measure_service(
    calls: int, ring_s: float, spread_s: float, tmp: Path
) -> tuple[list[float], list[float], str]:
    agents = [AgentProfile(n, [QUEUE], ring_min=ring_s, ring_max=ring_s, talk_mean=20, talk_min=20,
                           no_answer=0.0) for n in range(1, calls + 1)]  # fmt: skip
    # The phones ring for the whole run (no member ring timeout, no queue timeout), so every
    # call placed stays in flight: at the end N calls ring N desks.
    model = TrafficModel(
        peak_calls_per_hour=0.0,
        agents=agents,
        patience_mean=0.0,
        queues=[QueueConfig(QUEUE, timeout=3600.0)],
        queue_max_wait=3600,
    )
    members = model.pbx_config().members
    async with AmiServer(secret="hotline-secret") as server:
        sim = Simulation(model, seed=1, queue_log_path=tmp / "queue_log")
        stamping = StampingServer(server)
        pump = attach(sim.pbx, stamping)  # type: ignore[arg-type]
        service = HotlineService(settings_for(tmp, server.port), now=lambda: sim.now)
        await service.start(web_enabled=True)
        assert service.link is not None and service.web is not None and service.store is not None
        await service.link.wait_connected(timeout=30)
        app = service.web.app
        assert app is not None
        directory = {member.interface: f"desk{n}" for n, member in enumerate(members, 1)}
        app[SCREEN_POPS].directory = StaticLookup(directory)
        tokens = [await create_token_account(service.store, f"desk{n}", "agent", f"desk {n}")
                  for n in range(1, calls + 1)]  # fmt: skip
        arrived: dict[str, float] = {}
        history: dict[str, float] = {}
        stop = asyncio.Event()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            url = f"http://127.0.0.1:{service.web.port}/ws/desk"
            clients = await desk_clients(session, url, tokens, arrived, history)
            channel = app[SCREEN_POPS].channel
            deadline = time.monotonic() + 60
            while sum(channel.connected(f"desk{n}") for n in range(1, calls + 1)) < calls:
                if time.monotonic() > deadline:
                    raise RuntimeError("the desks did not all connect")
                await asyncio.sleep(0.01)
            runner = asyncio.create_task(sim.run_realtime(1.0, stop, max_sleep=0.01))
            for n in range(calls):
                # Arrivals evenly over ``spread_s`` (0: all at once, one burst of AgentCalled).
                when = sim.now + spread_s * n / calls
                script = CallerScript(f"1380013{n:04d}", f"caller {n}", dtmf="1",
                                      dtmf_delay=0.5, talk_limit=5.0)  # fmt: skip
                sim.scheduler.at(when, lambda script=script: sim.place_call(script))
            deadline = time.monotonic() + 120 + spread_s
            while len(history) < calls and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.01)  # a bench's bounded poll of its own counters
            stop.set()
            await runner
            for task in clients:
                task.cancel()
            await asyncio.gather(*clients, return_exceptions=True)
        await service.stop()
        await pump.close()
        sim.close()
    sent = stamping.sent
    pops = [arrived[k] - sent[k] for k in arrived if k in sent]
    full = [history[k] - sent[k] for k in history if k in sent]
    note = f"{len(sent)} AgentCalled sent, {len(pops)} pops, {len(full)} with history"
    return pops, full, note


async def measure_echo(payloads: list[str]) -> list[float]:
    """A bare aiohttp WebSocket server pushing the same payloads to N clients at once."""
    sockets: list[web.WebSocketResponse] = []
    ready = asyncio.Event()

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        sockets.append(ws)
        if len(sockets) == len(payloads):
            ready.set()
        async for _ in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get("/ws", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    got: dict[int, float] = {}
    sent: dict[int, float] = {}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def client(index: int) -> None:
            async with session.ws_connect(f"http://127.0.0.1:{port}/ws") as ws:
                message = await ws.receive()
                json.loads(message.data)  # the desk parses it too
                got[index] = time.perf_counter()

        tasks = [asyncio.create_task(client(i)) for i in range(len(payloads))]
        await asyncio.wait_for(ready.wait(), 60)
        for index, (ws, text) in enumerate(zip(sockets, payloads, strict=True)):
            sent[index] = time.perf_counter()
            await ws.send_str(text)
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
    await runner.cleanup()
    return [got[i] - sent[i] for i in got]


def pop_payload(n: int) -> str:
    pop = {"linkedid": f"{1733100000 + n}.{n}", "uniqueid": f"{1733100000 + n}.{n}",
           "number": f"1380013{n:04d}", "name": f"caller {n}", "queue": QUEUE,
           "member": f"agent{n}", "interface": f"Local/agent{n}@agent-robot", "ivr_path": [],
           "ivr_digits": "1", "ivr_choice": "1", "category": None, "callback_requested": False,
           "priority": 0, "priority_reason": "普通 normal", "queued_at": 1.0, "ringing_at": 2.0,
           "wait_s": 1, "state": "ringing", "history": None}  # fmt: skip
    return json.dumps({"type": "pop", "pop": pop}, ensure_ascii=False)


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pops, full, note = await measure_service(args.calls, args.ring, args.spread, Path(tmp))
    echo = await measure_echo([pop_payload(n) for n in range(args.calls)])
    arrivals = f"arriving over {args.spread:g} s" if args.spread else "arriving at once"
    print(f"screen pop, {args.calls} calls in flight ({arrivals}), {args.calls} desks ({note})")
    print(f"{'path':<44} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for label, samples in (
        ("AgentCalled → pop in the agent's WebSocket", pops),
        ("AgentCalled → pop with the caller's history", full),
        ("bare aiohttp WebSocket push, same payload", echo),
    ):
        figures = percentiles(samples)
        print(f"{label:<44} {len(samples):>5} {figures['p50']:>8.1f} {figures['p99']:>8.1f} "
              f"{figures['max']:>8.1f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500, help="calls in flight = desks")
    parser.add_argument("--ring", type=float, default=600.0, help="seconds before robots answer")
    parser.add_argument(
        "--spread", type=float, default=0.0, help="seconds over which the calls arrive (0: a burst)"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
