"""FastAGI IVR benchmark: concurrent sessions, command round trip, process-per-call AGI.

    .venv/bin/python -m bench.ivr_sessions [--sessions 2000] [--rtt-sessions 100]
                                           [--process-calls 20]

(a) ``--sessions`` FastAGI sessions at once, in this one process: each a
    ``hotline.sim.agi_client.FastAgiClient`` (Asterisk's side) walking the default menu
    (welcome → main → key 1 → general queue) against the real ``IvrApplication`` on a
    loopback ``FastAgiServer``. Run twice: at real-time call pacing (prompts take their
    seconds, so every session is open at once: peak concurrency) and flat out (no pacing:
    sessions/s is CPU). A session fails unless its ``ivr.finished`` says queue/choice 1.
(b) Per-command round trip, one session at a time: a minimal responder answers each IVR
    command at once (the caller keeps pressing 9, so the menu loops to its step limit);
    against a bare asyncio line echo server, same loopback, same line count (the floor).
(c) Per call: the degraded path's classic AGI script (agi_scripts/hotline_fallback.py,
    pyst2) launched as a process per call, as Asterisk's AGI() does, versus one FastAGI
    session of the default menu. Both answered by the same instant responder, one call at a
    time.

Prints figures and ratios side by side; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from events.topics import IVR_FINISHED
from hotline.sim.agi_client import FastAgiClient, Phone, agi_environment
from ivr.app import IvrApplication, create_ivr_server
from ivr.fastagi import FastAgiServer
from ivr.incidents import IncidentBoard
from ivr.menu_source import MenuSource

ROOT = Path(__file__).resolve().parent.parent
FALLBACK = ROOT / "agi_scripts" / "hotline_fallback.py"
FLAT_OUT = 1e9  # a FastAgiClient speed at which no simulated prompt takes any time


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Ivr:
    """The real IVR on a loopback port, counting the sessions that ended as expected."""

    def __init__(self) -> None:
        self.finished: list[dict[str, Any]] = []
        app = IvrApplication(
            MenuSource(),
            IncidentBoard(),
            self._publish,
            clock=lambda: datetime(2026, 11, 25, 2, 0, tzinfo=UTC),
        )
        self.server: FastAgiServer = create_ivr_server(app, host="127.0.0.1", port=0)

    def _publish(self, topic: str, payload: dict[str, Any]) -> None:
        if topic == IVR_FINISHED:
            self.finished.append(payload)

    def ok(self) -> int:
        return sum(1 for p in self.finished if p["ended"] == "queue" and p["choice"] == "1")


def _env(port: int, n: int, script: str = "ivr") -> list[tuple[str, str]]:
    return agi_environment(
        channel=f"PJSIP/trunk-{n:08x}",
        uniqueid=f"1795445274.{n}",
        caller_num=f"138{n:08d}",
        caller_name="bench",
        request=f"agi://127.0.0.1:{port}/{script}",
    )


# ---- (a) concurrent sessions -----------------------------------------------------------------


async def concurrent(n: int, speed: float) -> dict[str, Any]:
    ivr = Ivr()
    await ivr.server.start()
    port = ivr.server.port
    errors: dict[str, int] = {}

    async def one(i: int) -> None:
        client = FastAgiClient(
            "127.0.0.1", port, speed=speed, channel_vars={"CHANNEL(linkedid)": f"1795445274.{i}"}
        )
        try:
            await client.run(_env(port, i), Phone(keys=["1"], key_delay=0.7))
        except OSError as error:
            errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    elapsed = time.perf_counter() - started
    await ivr.server.stop()
    return {
        "sessions": n,
        "seconds": elapsed,
        "per_s": n / elapsed,
        "peak": ivr.server.peak_sessions,
        "failed": n - ivr.ok(),
        "errors": errors,
    }


# ---- (b) command round trip ------------------------------------------------------------------


def instant_reply(command: str, linkedid: str) -> str:
    """What Asterisk answers, at once; the caller presses 9 at every menu (language loop)."""
    upper = command.upper()
    if upper.startswith("GET VARIABLE"):
        return f"200 result=1 ({linkedid})"
    if upper.startswith("GET DATA"):
        return "200 result=9"
    if upper.startswith("STREAM FILE"):
        return "200 result=0 endpos=8000"
    if upper.startswith(("SET VARIABLE", "HANGUP")):
        return "200 result=1"
    return "200 result=0"


async def responder_session(port: int, n: int) -> int:
    """One FastAGI session answered instantly; returns the number of commands."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    block = "".join(f"{k}: {v}\n" for k, v in _env(port, n)) + "\n"
    writer.write(block.encode())
    commands = 0
    while True:
        line = await reader.readline()
        if not line:
            break
        commands += 1
        writer.write(instant_reply(line.decode().strip(), f"L{n}").encode() + b"\n")
    writer.close()
    await writer.wait_closed()
    return commands


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while line := await reader.readline():
        writer.write(line)
    writer.close()


async def round_trip(sessions: int) -> dict[str, Any]:
    ivr = Ivr()
    await ivr.server.start()
    commands = 0
    started = time.perf_counter()
    for i in range(sessions):
        commands += await responder_session(ivr.server.port, i)
    ivr_s = (time.perf_counter() - started) / commands
    await ivr.server.stop()

    echo = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = echo.sockets[0].getsockname()[1]
    per_session = commands // sessions
    started = time.perf_counter()
    for _ in range(sessions):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(per_session):
            writer.write(b"200 result=0 endpos=8000\n")
            await reader.readline()
        writer.close()
        await writer.wait_closed()
    echo_s = (time.perf_counter() - started) / (per_session * sessions)
    echo.close()
    await echo.wait_closed()
    return {
        "commands": commands,
        "per_session": per_session,
        "ivr_us": ivr_s * 1e6,
        "echo_us": echo_s * 1e6,
    }


# ---- (c) process per call vs FastAGI session -------------------------------------------------


async def fallback_call(n: int, announcements: Path) -> int:
    """Run the classic AGI script once, as Asterisk's AGI() does; return its command count."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(FALLBACK),
        f"--announcements={announcements}",
        "--greeting=hotline/welcome",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert process.stdin is not None and process.stdout is not None
    block = "".join(f"{k}: {v}\n" for k, v in _env(0, n, "hotline_fallback.py")) + "\n"
    process.stdin.write(block.encode())
    commands = 0
    while line := await process.stdout.readline():
        commands += 1
        process.stdin.write(instant_reply(line.decode().strip(), f"L{n}").encode() + b"\n")
        await process.stdin.drain()
    await process.wait()
    return commands


async def per_call(calls: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        announcements = Path(tmp) / "announcements.json"
        announcements.write_text(
            json.dumps(
                {
                    "version": 1,
                    "announcements": [
                        {
                            "id": "water-1",
                            "sound": "hotline/incidents/water-1",
                            "starts_at": None,
                            "ends_at": None,
                        }
                    ],
                }
            )
        )
        process_times, process_commands = [], 0
        for i in range(calls):
            started = time.perf_counter()
            process_commands += await fallback_call(i, announcements)
            process_times.append(time.perf_counter() - started)
    ivr = Ivr()
    await ivr.server.start()
    port = ivr.server.port
    session_times, session_commands = [], 0
    for i in range(calls * 10):
        client = FastAgiClient(
            "127.0.0.1", port, speed=FLAT_OUT, channel_vars={"CHANNEL(linkedid)": f"L{i}"}
        )
        started = time.perf_counter()
        result = await client.run(_env(port, i), Phone(keys=["1"]))
        session_times.append(time.perf_counter() - started)
        session_commands += sum(1 for way, _ in result.transcript if way == "app->asterisk")
    await ivr.server.stop()
    return {
        "calls": calls,
        "process_ms": statistics.median(process_times) * 1e3,
        "process_commands": process_commands / calls,
        "session_ms": statistics.median(session_times) * 1e3,
        "session_commands": session_commands / (calls * 10),
    }


# ---- report ----------------------------------------------------------------------------------


def _row(label: str, value: str, note: str = "") -> None:
    print(f"  {label:<44} {value:>16}  {note}")


async def run(args: argparse.Namespace) -> None:
    limit = raise_fd_limit()
    print(
        f"IVR sessions benchmark — Python {platform.python_version()}, {os.cpu_count()} cores, "
        f"RLIMIT_NOFILE {limit}"
    )
    n = min(args.sessions, max(100, (limit - 200) // 2))
    print(f"\n(a) {n} concurrent FastAGI sessions in one process (client + server), default menu")
    paced = await concurrent(n, 1.0)
    flat = await concurrent(n, FLAT_OUT)
    for label, r in (
        ("real-time pacing (~3.3 s of prompts each)", paced),
        ("flat out (no prompt time)", flat),
    ):
        print(f"  {label}")
        _row("sessions/s", f"{r['per_s']:.0f}", f"{r['sessions']} in {r['seconds']:.2f} s")
        _row("peak concurrent sessions (server)", f"{r['peak']}")
        _row("failed sessions", f"{r['failed']}", str(r["errors"] or ""))
    rt = await round_trip(args.rtt_sessions)
    print(
        f"\n(b) per-command round trip, one session at a time ({rt['commands']} commands, "
        f"{rt['per_session']}/session)"
    )
    _row("IVR (FastAgiServer + menu engine)", f"{rt['ivr_us']:.1f} µs")
    _row("bare asyncio line echo (baseline)", f"{rt['echo_us']:.1f} µs")
    _row("ratio IVR / echo", f"{rt['ivr_us'] / rt['echo_us']:.2f}×")
    pc = await per_call(args.process_calls)
    print(
        f"\n(c) cost per call, one call at a time (median of {pc['calls']} process launches, "
        f"{pc['calls'] * 10} sessions)"
    )
    _row(
        "classic AGI: pyst2 script, a process a call",
        f"{pc['process_ms']:.1f} ms",
        f"{pc['process_commands']:.0f} commands",
    )
    _row(
        "FastAGI session (default menu walk)",
        f"{pc['session_ms']:.2f} ms",
        f"{pc['session_commands']:.0f} commands; client + server in this process",
    )
    _row("ratio process / FastAGI", f"{pc['process_ms'] / pc['session_ms']:.0f}×")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--rtt-sessions", type=int, default=100)
    parser.add_argument("--process-calls", type=int, default=20)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
