"""The IVR as a process of its own: `hotline ivr` next to `hotline serve` (ivr.enabled = false)
gives the records `hotline serve` alone gives, and follows the incidents in the database.

Both set-ups run as OS processes configured by file, against the simulated PBX on loopback,
whose calls walk the real FastAGI IVR (FastAgiDriver): every shared capture's set-up (as
tests/sim/test_pbx_captures.py rebuilds them) and a seeded demo traffic, with an incident
announced to some callers (merges, 并单) and callers that are called back and rated.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hotline.demo_model import demo_model
from hotline.ivr_process import IncidentPoller
from hotline.sim.actions import attach
from hotline.sim.agi_driver import FastAgiDriver
from hotline.sim.ami_server import AmiServer
from hotline.sim.model import FixedBehaviour, PbxConfig, robot_member, sip_member
from hotline.sim.pbx import Pbx
from hotline.sim.scheduler import Scheduler
from hotline.sim.traffic import Simulation
from ivr.incidents import IncidentBoard
from ivr.menu_source import DEFAULT_MENU
from tests.sim.test_pbx_captures import CASES, Case
from ticketing.store import TicketStore

from .helpers import answer_as_idle_pbx

# Simulated seconds per wall second. The IVR's own processing time counts as PBX time, times
# the speed: the capture set-ups hang up as little as 0.5 s from an IVR step, so they run
# slower than the demo traffic (whose callers do not hang up in the IVR).
CAPTURE_SPEED = 10.0
SPEED = 20.0
INCIDENT = {
    "id": "water-1",
    "title": "东区停水",
    "text": "东区因管道抢修停水。",
    "prompt": "hotline/incidents/water-1",
    "prefixes": ["1380", "1330"],
}
# Absolute times differ between two real-time runs, and so do durations a little: the IVR's
# processing time (and a busy machine's scheduling delays) become PBX time, times the speed,
# while a caller's hang-up comes on its own timer. Everything the IVR or app_queue decided
# (path, choice, queue, agent, outcome, incident, callback, survey…) must be equal.
TIMES = ("started_at", "ivr_ended_at", "queue_entered_at", "answered_at", "ended_at")
DURATIONS = ("wait_s", "talk_s")
DURATION_SLACK_S = 3


def _incident(now: datetime) -> dict[str, Any]:
    return {**INCIDENT, "start": (now - timedelta(hours=1)).isoformat()}


# ---- the incident poller of an IVR process --------------------------------------------------


async def test_the_poller_follows_the_stored_incidents(tmp_path: Path) -> None:
    store = await TicketStore.open(f"sqlite+aiosqlite:///{tmp_path / 'h.sqlite3'}")
    board = IncidentBoard()
    poller = IncidentPoller(store, board)
    try:
        await poller.refresh()
        assert board.pending() == []
        await store.save_incident(_incident(datetime.now(UTC)))
        await poller.refresh()
        assert [i.id for i in board.pending()] == ["water-1"]
        board.register_caller("water-1", "call-1")  # the board's own count is kept aside
        await poller.refresh()
        assert [i.id for i in board.pending()] == ["water-1"]
        await store.end_incident("water-1", datetime.now(UTC))
        await poller.refresh()
        assert board.pending() == []
        assert board.get("water-1") is not None and board.get("water-1").status == "ended"  # type: ignore[union-attr]
    finally:
        await store.close()


# ---- two processes against the simulated PBX -------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _connectable(port: int) -> None:
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)  # the process is still starting
            continue
        writer.close()
        return


def _rows(db: Path, query: str) -> list[tuple[Any, ...]]:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return list(conn.execute(query).fetchall())
    except sqlite3.Error:
        return []


async def _until(predicate: Any, timeout: float = 60.0) -> None:  # noqa: ASYNC109
    # Other processes write the database: ask it until the condition holds (bounded below).
    async def poll() -> None:
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)


def _write_config(folder: Path, ami_port: int, ivr_port: int, *, separate: bool) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "hotline.toml"
    config.write_text(
        f"[ami]\nport = {ami_port}\nreconnect_min = 0.05\n"
        f'[database]\nurl = "sqlite+aiosqlite:///{folder / "hotline.sqlite3"}"\n'
        f'spill_path = "{folder / "spill.jsonl"}"\n'
        f'[web]\nport = 0\n[asterisk]\nqueue_log = "{folder / "queue_log"}"\n'
        f'cdr_csv = "{folder / "Master.csv"}"\n'
        f'[pbx]\nannouncements_file = "{folder / "announcements.json"}"\n'
        f'sounds_dir = "{folder / "no-sounds"}"\n'
        f"[ivr]\nport = {ivr_port}\nenabled = {'false' if separate else 'true'}\n"
    )
    return config


@contextlib.asynccontextmanager
async def _processes(
    tmp_path: Path, ami_port: int, ivr_port: int, *, separate: bool
) -> AsyncIterator[Path]:
    """`hotline serve` (with its own IVR, or ivr.enabled = false and `hotline ivr`)."""
    config = _write_config(tmp_path, ami_port, ivr_port, separate=separate)
    db = tmp_path / "hotline.sqlite3"
    store = await TicketStore.open(f"sqlite+aiosqlite:///{db}")
    await store.save_incident(_incident(datetime.now(UTC)))
    await store.close()
    env = {**os.environ, "HOTLINE_CONFIG": str(config), "HOTLINE_AMI__SECRET": "s3cret"}
    commands = [["serve"], ["ivr"]] if separate else [["serve"]]
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hotline",
            *command,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        for command in commands
    ]
    try:
        await asyncio.wait_for(_connectable(ivr_port), 30)
        yield db
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            _, stderr = await asyncio.wait_for(process.communicate(), 30)
            assert process.returncode == 0, stderr.decode()


class Rig:
    """One AMI server the service follows; each capture set-up is a PBX served on it in turn."""

    def __init__(self, server: AmiServer, ivr_port: int) -> None:
        self.server = server
        self.ivr_port = ivr_port
        self.legs = 0
        # Calls the agent ended: their caller went on to the survey (every capture caller
        # here has a survey key).
        self.surveys = 0

    async def play(self, case: Case) -> None:
        scheduler = Scheduler(case.start)
        member = sip_member if case.sip else robot_member
        members = [
            member(n, ["hotline-general", "hotline-complaint", "hotline-report"], behaviour)
            for n, behaviour in ((n, FixedBehaviour(r, t)) for n, (r, t) in case.agents.items())
        ]
        config = PbxConfig(
            members=members,
            record_calls=case.record,
            queue_max_wait=case.max_wait,
            sip=case.sip,
        )
        pbx = Pbx(scheduler, lambda msg: None, config)
        pump = attach(pbx, self.server)
        driver = FastAgiDriver("127.0.0.1", self.ivr_port, speed=CAPTURE_SPEED)
        pbx.ivr_driver = driver
        for offset, script in case.calls:
            scheduler.at(case.start + offset, pbx.place_call, script)
        try:
            await _run_realtime(
                scheduler,
                lambda: bool(pbx.truths) and not pbx.active_calls(),
                speed=CAPTURE_SPEED,
            )
        finally:
            await pump.flush()
            await driver.close()
            await pump.close()
        self.legs += len(pbx.truths)
        self.surveys += sum(
            1 for t in pbx.truths if t.outcome == "answered" and t.hangup_by == "agent"
        )

    async def play_demo(self, seed: int, calls: int) -> None:
        # No hang-up in the IVR here: whether it comes before or after a key would depend on
        # the wall clock of the run (the capture set-ups have their IVR hang-ups).
        model = replace(demo_model(120, 4), ivr_hangup=0.0)
        sim = Simulation(model, seed=seed, start=1795500000.0, max_calls=calls)
        pump = attach(sim.pbx, self.server)
        driver = FastAgiDriver("127.0.0.1", self.ivr_port, speed=SPEED)
        sim.pbx.ivr_driver = driver
        try:
            await _run_realtime(
                sim.scheduler, lambda: sim.arrived >= calls and not sim.pbx.active_calls()
            )
        finally:
            await pump.flush()
            await driver.close()
            await pump.close()
            sim.close()
        self.legs += len(sim.truths)


async def _run_realtime(
    scheduler: Scheduler, done: Any, *, speed: float = SPEED, limit: float = 120.0
) -> None:
    """Advance the PBX at ``speed`` simulated seconds per wall second until ``done()``."""
    loop = asyncio.get_running_loop()
    wall0, sim0 = loop.time(), scheduler.now
    deadline = wall0 + limit
    while not done():
        assert loop.time() < deadline, "the simulated calls did not end"
        scheduler.run_until(sim0 + (loop.time() - wall0) * speed)
        await asyncio.sleep(0.005)


def _scripts(case: Case) -> Case:
    """The capture's callers, plus what only an IVR of our own knows: the last one asks to be
    called back (key 4 on the report queue's menu, closed at night, or a survey by day)."""
    calls = [(offset, replace(script, survey="1")) for offset, script in case.calls]
    return replace(case, calls=calls)


async def _run_all(tmp_path: Path, *, separate: bool) -> list[dict[str, Any]]:
    ivr_port = _free_port()
    async with AmiServer(secret="s3cret") as server:
        # The service's post-login resync ends with QueueStatus: calls placed before it
        # would race its CoreShowChannels snapshot, differently in each run.
        synced = asyncio.Event()
        answer_as_idle_pbx(server, on_status=synced.set)
        rig = Rig(server, ivr_port)
        async with _processes(tmp_path, server.port, ivr_port, separate=separate) as db:
            await asyncio.wait_for(synced.wait(), 30)
            for name in sorted(CASES, key=lambda n: CASES[n].start):
                await rig.play(_scripts(CASES[name]))
            await rig.play_demo(seed=5, calls=8)
            await _until(
                lambda: (_rows(db, "SELECT count(*) FROM call_records") or [(0,)])[0][0] >= rig.legs
            )
            reported = _rows(
                db,
                "SELECT count(DISTINCT linkedid) FROM call_records WHERE incident_id IS NOT NULL",
            )[0][0]

            def stored(table: str) -> int:
                return int((_rows(db, f"SELECT count(*) FROM {table}") or [(0,)])[0][0])

            # The service stores merges and survey answers beside the records, not in order.
            await _until(
                lambda: (
                    (stored("incident_reports"), stored("survey_results"))
                    == (reported, rig.surveys)
                )
            )
    store = await TicketStore.open(f"sqlite+aiosqlite:///{db}")
    try:
        records = await store.calls_between(
            datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
        )
        (incident,) = await store.incidents()
    finally:
        await store.close()
    out = []
    for record in sorted(records, key=lambda r: (r["uniqueid"], r["leg"])):
        out.append({k: v for k, v in record.items() if k not in TIMES})
    out.append({"incident": incident["id"], "merged_callers": incident["merged_callers"]})
    return out


def _same(one: dict[str, Any], two: dict[str, Any]) -> bool:
    for name in DURATIONS:
        a, b = one.get(name), two.get(name)
        if (a is None) != (b is None) or (a is not None and abs(a - b) > DURATION_SLACK_S):
            return False
    rest = set(one) | set(two)
    return all(one.get(k) == two.get(k) for k in rest - set(DURATIONS))


@pytest.mark.timeout(600)
async def test_ivr_in_its_own_process_gives_the_same_records(tmp_path: Path) -> None:
    together = await _run_all(tmp_path / "one-process", separate=False)
    apart = await _run_all(tmp_path / "two-processes", separate=True)
    assert len(together) == len(apart)
    for one, two in zip(together, apart, strict=True):
        assert _same(one, two), {
            k: (one.get(k), two.get(k)) for k in one if one.get(k) != two.get(k)
        }
    # What only the IVR knows is there (not just equal because both lack it).
    calls = together[:-1]
    assert together[-1]["merged_callers"] >= 1
    assert any(r["incident_id"] == "water-1" for r in calls)
    assert any(r.get("survey") for r in calls)
    assert all(r["language"] in ("zh", "yue") for r in calls if r["ivr_path"])
    assert sum(1 for r in calls if r["ivr_path"]) >= len(calls) // 2


# ---- `hotline ivr` as an operator meets it -------------------------------------------------


def _ivr_command(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    settings = {
        "HOTLINE_DATABASE__URL": f"sqlite+aiosqlite:///{tmp_path / 'h.sqlite3'}",
        "HOTLINE_IVR__PORT": str(_free_port()),
    }
    return subprocess.run(
        [sys.executable, "-m", "hotline", "ivr", "--log-level", "WARNING"],
        cwd=tmp_path,
        env={**clean, **settings, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_ivr_with_a_menu_naming_an_unknown_queue_says_so_in_one_line(tmp_path: Path) -> None:
    menu = tmp_path / "menu.toml"
    menu.write_text(
        DEFAULT_MENU.read_text("utf-8").replace("hotline-complaint", "hotline-nowhere"), "utf-8"
    )
    done = _ivr_command(tmp_path, HOTLINE_IVR__MENU_FILE=str(menu))
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "ivr.menu_file" in lines[0] and "hotline-nowhere" in lines[0]


def test_ivr_on_a_taken_port_names_the_setting(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _ivr_command(tmp_path, HOTLINE_IVR__PORT=str(port))
    assert done.returncode == 1, done.stderr
    assert "setting ivr.port" in done.stderr and "Traceback" not in done.stderr
