"""`hotline serve` as an operator runs it: a process configured by file and environment,
against an AMI server on loopback; SIGTERM stops it cleanly with every call stored."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path

from hotline.sim.ami_server import AmiServer, replay
from tests.captures import load_expected, raw_bytes

from .helpers import answer_as_idle_pbx


def _count_calls(db: Path) -> int:
    """Rows in the calls table, read-only: the serving process owns (and migrates) the file."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return int(conn.execute("SELECT count(*) FROM call_records").fetchone()[0])
    except sqlite3.Error:
        return 0  # not created or not migrated yet


async def _until_stored(db: Path, count: int) -> None:
    # Another process writes the database: ask it until the calls are there (bounded above).
    while _count_calls(db) < count:  # noqa: ASYNC110
        await asyncio.sleep(0.1)


async def test_serve_runs_and_stops_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "hotline.toml"
    db = tmp_path / "serve.sqlite3"
    async with AmiServer(secret="from-the-environment") as server:
        answer_as_idle_pbx(server)
        config.write_text(
            f"[ami]\nport = {server.port}\nreconnect_min = 0.05\n"
            f'[database]\nurl = "sqlite+aiosqlite:///{db}"\n'
            f'spill_path = "{tmp_path / "spill.jsonl"}"\n'
            f'[web]\nport = 0\n[asterisk]\nqueue_log = "{tmp_path / "queue_log"}"\n'
            "[ivr]\nport = 0\n"
        )
        env = {
            **os.environ,
            "HOTLINE_CONFIG": str(config),
            "HOTLINE_AMI__SECRET": "from-the-environment",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hotline",
            "serve",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await server.wait_until(lambda: server.logged_in_clients == 1, timeout=30)
            await replay(server, raw_bytes("answered_slow"))
            await replay(server, raw_bytes("ivr_hangup"))
            expected = len(load_expected("answered_slow")) + len(load_expected("ivr_hangup"))
            await asyncio.wait_for(_until_stored(db, expected), 30)
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    assert _count_calls(db) == expected  # and not more


async def test_serve_refuses_an_empty_secret(tmp_path: Path) -> None:
    env = {**os.environ, "HOTLINE_CONFIG": str(tmp_path / "missing.toml")}
    (tmp_path / "missing.toml").write_text("[ami]\nport = 1\n")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hotline",
        "serve",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert "ami.secret" in stderr.decode()
