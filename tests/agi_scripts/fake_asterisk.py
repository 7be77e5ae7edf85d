"""Asterisk's side of a classic AGI session, played against a real script subprocess.

The agi_* environment block is the one a real Asterisk 22 sent (a capture's agi.jsonl),
rewritten for a local script (no agi_network lines, agi_request = the script).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.captures import CAPTURES

SCRIPT = Path(__file__).resolve().parents[2] / "agi_scripts" / "hotline_fallback.py"
DEAD = "511 Command Not Permitted on a dead channel or intercept routine"
STEP_TIMEOUT_S = 10.0


def env_block(capture: str, script: str = "hotline_fallback.py") -> list[str]:
    lines: list[str] = []
    with (CAPTURES / capture / "agi.jsonl").open(encoding="utf-8") as fh:
        for raw in fh:
            record = json.loads(raw)
            if record["session"] != 1 or record["dir"] != "asterisk->app":
                continue
            line = record["line"]
            if line == "":
                break
            if line.startswith("agi_network"):
                continue
            if line.startswith("agi_request:"):
                line = f"agi_request: {script}"
            lines.append(line)
    assert any(line.startswith("agi_channel:") for line in lines)
    return lines


@dataclass
class Session:
    commands: list[str] = field(default_factory=list)
    returncode: int | None = None
    stderr: str = ""


class FakeAsterisk:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, args: Sequence[str], capture: str = "answered_fast") -> FakeAsterisk:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
        env["LANG"] = "C"  # Asterisk often runs without a UTF-8 locale
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(SCRIPT),
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        fake = cls(proc)
        await fake.send(*env_block(capture), "")
        return fake

    async def send(self, *lines: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("".join(f"{line}\n" for line in lines).encode("utf-8"))
        await self.proc.stdin.drain()

    async def next_command(self) -> str | None:
        assert self.proc.stdout is not None
        raw = await asyncio.wait_for(self.proc.stdout.readline(), STEP_TIMEOUT_S)
        return raw.decode("utf-8").rstrip("\n") if raw else None

    def hang_up_signal(self) -> None:
        self.proc.send_signal(signal.SIGHUP)

    async def close_input(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    async def finish(self, session: Session) -> Session:
        assert self.proc.stderr is not None
        err = await asyncio.wait_for(self.proc.stderr.read(), STEP_TIMEOUT_S)
        session.returncode = await asyncio.wait_for(self.proc.wait(), STEP_TIMEOUT_S)
        session.stderr = err.decode("utf-8", "replace")
        return session


Answer = Callable[[FakeAsterisk, str], Sequence[str] | None]


async def converse(
    args: Sequence[str], answer: Answer | None = None, capture: str = "answered_fast"
) -> Session:
    """Run the script to its end; answer(fake, command) gives the reply lines (None: close)."""
    fake = await FakeAsterisk.start(args, capture)
    session = Session()
    while (command := await fake.next_command()) is not None:
        session.commands.append(command)
        reply = ["200 result=0"] if answer is None else answer(fake, command)
        if reply is None:
            await fake.close_input()
            continue
        try:
            await fake.send(*reply)
        except (BrokenPipeError, ConnectionResetError):
            break
    return await fake.finish(session)
