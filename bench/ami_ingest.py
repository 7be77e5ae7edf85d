"""AMI ingest benchmark: a simulated busy period through the real pipeline on one core.

    .venv/bin/python -m bench.ami_ingest [--calls 2000] [--seed 1]

1. The simulator generates the AMI byte stream of ``--calls`` calls (not timed).
2. Baseline: a bare split-and-decode loop over the same bytes (split on the blank line,
   decode UTF-8, split lines, split at ': '), the floor no AMI client can beat.
3. End to end: a separate process serves the bytes over a loopback AMI server (as Asterisk
   would); this process, pinned to one core, runs the real service: AmiLink (panoramisk
   based framing) → CallTracker → BufferedCallWriter → SQLite TicketStore, plus LiveKpi and
   the bus. The clock stops when every call leg is stored. Then the KPI engine computes the
   period's figures from the store (timed apart).

Prints events/s, calls/s, peak memory and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

GOAL_EVENTS_PER_S = 20_000
GOAL_RATIO = 0.25


def _pin(core: int) -> None:
    cores = os.sched_getaffinity(0)
    if core in cores:
        os.sched_setaffinity(0, {core})


def _status_mib(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak_rss() -> None:
    # Writing 5 to clear_refs resets VmHWM (Linux ≥ 4.0), so the peak is the pipeline's own.
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def generate(calls: int, seed: int) -> tuple[bytes, int, dict[str, int]]:
    from dataclasses import asdict

    from hotline.demo_model import demo_model
    from hotline.sim.traffic import Simulation

    # A city hotline's busy period: enough agents that most calls are answered.
    sim = Simulation(demo_model(calls_per_hour=1800, agents=60), seed=seed)
    chunks = []
    events = 0
    for msg in sim.generate(calls):
        chunks.append(msg.to_bytes())
        events += 1
    return b"Asterisk Call Manager/11.0.0\r\n" + b"".join(chunks), events, asdict(sim.counters)


def baseline(data: bytes) -> tuple[int, float]:
    """The bare split-and-decode loop."""
    start = time.perf_counter()
    count = 0
    body = data[data.find(b"\r\n") + 2 :]
    for frame in body.split(b"\r\n\r\n"):
        if not frame:
            continue
        fields = []
        for line in frame.decode("utf-8").split("\r\n"):
            key, _, value = line.partition(": ")
            fields.append((key, value))
        count += 1
    return count, time.perf_counter() - start


def _feeder(data: bytes, secret: str, conn: Connection) -> None:
    """Child process: an AMI server that streams ``data`` to the first client that logs in."""
    _pin(1)

    async def main() -> None:
        from acd.ami.message import AmiMessage
        from hotline.sim.ami_server import AmiServer

        def empty_list(message: str, complete: str) -> Any:
            async def handler(msg: AmiMessage) -> list[AmiMessage]:
                return [
                    AmiMessage(
                        [
                            ("Response", "Success"),
                            ("ActionID", ""),
                            ("EventList", "start"),
                            ("Message", message),
                        ]
                    ),
                    AmiMessage(
                        [
                            ("Event", complete),
                            ("ActionID", ""),
                            ("EventList", "Complete"),
                            ("ListItems", "0"),
                        ]
                    ),
                ]

            return handler

        async with AmiServer(secret=secret) as server:
            server.register_action(
                "CoreShowChannels", empty_list("Channels will follow", "CoreShowChannelsComplete")
            )
            server.register_action(
                "QueueStatus", empty_list("Queue status will follow", "QueueStatusComplete")
            )
            loop = asyncio.get_running_loop()
            conn.send(server.port)
            await server.wait_until(lambda: server.logged_in_clients >= 1, timeout=30)
            await loop.run_in_executor(None, conn.recv)  # the service is ready: go
            body = data[data.find(b"\r\n") + 2 :]
            # Whole messages per write, as Asterisk writes them: a response to an action can
            # then never land inside an event.
            step = 1 << 18
            pos = 0
            while pos < len(body):
                end = body.find(b"\r\n\r\n", pos + step)
                end = len(body) if end < 0 else end + 4
                await server.broadcast_raw(body[pos:end])
                pos = end
            await loop.run_in_executor(None, conn.recv)  # the service is done: close

    asyncio.run(main())


async def _until(predicate: Any, timeout: float) -> None:  # noqa: ASYNC109
    """Poll a condition of the service (no single event marks it), bounded by ``timeout``."""
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


async def end_to_end(data: bytes, events: int, legs: int, workdir: Path) -> dict[str, float]:
    from acd.kpi import KpiParams, compute
    from hotline.service import HotlineService
    from hotline.settings import Settings

    secret = "bench-secret"
    parent, child = mp.Pipe()
    feeder = mp.get_context("fork").Process(target=_feeder, args=(data, secret, child))
    feeder.start()
    port = parent.recv()
    settings = Settings.model_validate(
        {
            "ami": {"port": port, "secret": secret, "ping_interval": 60, "ping_timeout": 30},
            "database": {
                "url": f"sqlite+aiosqlite:///{workdir / 'bench.sqlite3'}",
                "buffer_size": 1_000_000,
                "spill_path": str(workdir / "spill.jsonl"),
            },
            "asterisk": {"queue_log": str(workdir / "queue_log")},
            "ivr": {"enabled": False},  # AMI ingest only: the IVR has its own bench
        }
    )
    service = HotlineService(settings)
    await service.start(web_enabled=False)
    assert service.link is not None and service.writer is not None and service.store is not None
    await service.link.wait_connected(timeout=30)
    await _until(lambda: not service.catching_up, 30)
    base_events = service.link.state["events"]
    _reset_peak_rss()
    rss_before = _status_mib("VmRSS")
    start = time.perf_counter()
    parent.send("go")
    await service.link.wait_until(
        lambda: service.link is not None and service.link.state["events"] - base_events >= events,
        timeout=600,
    )
    received = time.perf_counter()
    await service.writer.wait_until(lambda s: s["written"] >= legs, timeout=600)
    stored = time.perf_counter()
    peak = _status_mib("VmHWM")
    t0 = time.perf_counter()
    records = await service.store.calls_between(
        datetime(1970, 1, 2, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)
    )
    report = compute(records, KpiParams.from_settings(settings.kpi))
    kpi_s = time.perf_counter() - t0
    parent.send("done")
    feeder.join(timeout=30)
    await service.stop()
    return {
        "seconds": stored - start,
        "receive_seconds": received - start,
        "stored_legs": float(len(records)),
        "offered": float(report.totals["offered"].value or 0),
        "peak_rss_mib": peak,
        "rss_before_mib": rss_before,
        "kpi_seconds": kpi_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    _pin(0)

    print(
        f"machine: {platform.node()} {platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    t0 = time.perf_counter()
    data, events, truth = generate(args.calls, args.seed)
    print(
        f"generated {args.calls} calls, {events} AMI events, {len(data) / 2**20:.1f} MiB "
        f"in {time.perf_counter() - t0:.1f} s (not timed below)"
    )
    legs = truth["legs"]  # a transferred call has two legs

    count, seconds = baseline(data)
    base_rate = count / seconds
    print(f"baseline  split+decode: {count} messages in {seconds:.2f} s = {base_rate:,.0f} msg/s")

    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(end_to_end(data, events, legs, Path(tmp)))
    rate = events / result["seconds"]
    calls_rate = legs / result["seconds"]
    ratio = rate / base_rate
    print(
        f"end to end (link → tracker → store → KPIs, one core): {events} events, "
        f"{int(result['stored_legs'])} call legs stored in {result['seconds']:.2f} s"
    )
    print(f"  events/s  {rate:>10,.0f}   (goal ≥ {GOAL_EVENTS_PER_S:,})")
    print(f"  calls/s   {calls_rate:>10,.1f}")
    print(
        f"  received  {events / result['receive_seconds']:>10,.0f} events/s before the store "
        f"caught up"
    )
    print(
        f"  peak RSS  {result['peak_rss_mib']:>10,.0f} MiB "
        f"({result['peak_rss_mib'] - result['rss_before_mib']:+,.0f} MiB over the "
        f"{result['rss_before_mib']:,.0f} MiB held before the run, the stream included)"
    )
    print(f"  ratio to baseline {ratio:.2f}   (goal ≥ {GOAL_RATIO})")
    print(
        f"  KPI report over the stored period: {result['kpi_seconds']:.2f} s "
        f"(offered {int(result['offered'])}, simulator says {truth['offered']})"
    )


if __name__ == "__main__":
    main()
