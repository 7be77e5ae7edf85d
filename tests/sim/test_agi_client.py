"""The FastAGI client plays Asterisk's side exactly as the captures' agi.jsonl show it.

A small FastAGI server in the test behaves like the capture tool's ivr.py (ANSWER, STREAM FILE,
GET DATA, SET VARIABLE ×3, close); the client, given the captured caller's behaviour, must
produce the captured transcript line for line.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from hotline.sim.agi_client import DEAD, FastAgiClient, Phone, agi_environment
from hotline.sim.model import menu_choice
from tests.captures import CAPTURES


def _sessions(name: str) -> dict[int, list[tuple[str, str]]]:
    out: dict[int, list[tuple[str, str]]] = {}
    with (CAPTURES / name / "agi.jsonl").open(encoding="utf-8") as fh:
        for raw in fh:
            row = json.loads(raw)
            out.setdefault(row["session"], []).append((row["dir"], row["line"]))
    return out


async def _ivr_py(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The capture's IVR: stops talking at the first failed reply, closes the socket."""
    while (await reader.readline()).strip():
        pass

    async def command(text: str) -> str:
        writer.write(text.encode() + b"\n")
        await writer.drain()
        return (await reader.readline()).decode().strip()

    try:
        if not (await command("ANSWER")).startswith("200 result=0"):
            return
        if "result=-1" in await command('STREAM FILE hello-world ""'):
            return
        reply = await command("GET DATA beep 5000 1")
        if "result=-1" in reply:
            return
        value = reply.split("result=", 1)[1].strip()
        digit = None if value.startswith("(timeout)") or value == "" else value
        queue, choice, prio = menu_choice(digit)
        for var, val in (
            ("HOTLINE_QUEUE", queue),
            ("HOTLINE_CHOICE", choice),
            ("HOTLINE_PRIORITY", str(prio)),
        ):
            await command(f"SET VARIABLE {var} {val}")
    finally:
        # Give a HANGUP line the time to arrive, as the real server would read it.
        await asyncio.sleep(0.01)
        writer.close()


@asynccontextmanager
async def ivr_server() -> AsyncIterator[int]:
    server = await asyncio.start_server(_ivr_py, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def _env_from(lines: list[tuple[str, str]]) -> dict[str, str]:
    env = {}
    for direction, line in lines:
        if direction != "asterisk->app" or not line:
            break
        key, _, value = line.partition(": ")
        env[key] = value
    return env


# Compressed time, with margins of ~50 ms real time around each hang-up: a loaded CI
# machine must not move a hang-up into the next command (the transcript would change).
SPEED = 10.0  # 1 simulated second = 100 ms


@pytest.mark.parametrize(
    ("capture", "session", "phone"),
    [
        ("answered_fast", 1, Phone(keys=["1"], key_delay=0.68)),
        ("joinempty", 1, Phone(keys=["4"], key_delay=0.68)),
        ("sip_call", 1, Phone(keys=[None])),
        ("ivr_hangup", 1, Phone(hangup_after=1.0)),
        ("ivr_hangup", 2, Phone(hangup_after=4.5)),
    ],
)
async def test_transcript_equals_the_capture(capture: str, session: int, phone: Phone) -> None:
    captured = _sessions(capture)[session]
    env = _env_from(captured)
    environment = agi_environment(
        channel=env["agi_channel"],
        uniqueid=env["agi_uniqueid"],
        caller_num=env["agi_callerid"],
        caller_name=env["agi_calleridname"],
        threadid=env["agi_threadid"],
    )
    if env["agi_type"] == "PJSIP":
        environment = [(k, env[k]) for k, _ in environment]  # SIP: dnid etc. differ
    async with ivr_server() as port:
        client = FastAgiClient("127.0.0.1", port, speed=SPEED)
        result = await asyncio.wait_for(client.run(environment, phone), timeout=10)
    assert result.transcript == captured
    assert result.status == ("HANGUP" if phone.hangup_after else "SUCCESS")


async def test_variables_and_digits_are_reported() -> None:
    seen: list[tuple[str, str | None]] = []
    async with ivr_server() as port:
        client = FastAgiClient(
            "127.0.0.1", port, speed=SPEED, on_command=lambda cmd, reply: seen.append((cmd, reply))
        )
        result = await client.run(
            agi_environment(
                channel="Local/12345@hotline-ivr-00000000;2",
                uniqueid="1795445274.1",
                caller_num="13800138001",
                caller_name="张三",
            ),
            Phone(keys=["3"]),
        )
    assert result.variables == {
        "HOTLINE_QUEUE": "hotline-general",
        "HOTLINE_CHOICE": "3",
        "HOTLINE_PRIORITY": "5",
    }
    assert result.digits == ["3"]
    assert seen[0] == ("ANSWER", None)
    assert seen[1] == ("ANSWER", "200 result=0")
    assert ("GET DATA beep 5000 1", "200 result=3") in seen


async def test_commands_after_hangup_get_511_and_unknown_get_510() -> None:
    async def server_side(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()).strip():
            pass
        replies = []
        for text in ("FLY TO THE MOON", "ANSWER", 'STREAM FILE hello-world ""', "SET VARIABLE X 1"):
            writer.write(text.encode() + b"\n")
            await writer.drain()
            replies.append((await reader.readline()).decode().strip())
        replies.append((await reader.readline()).decode().strip())  # the 511 after HANGUP
        writer.close()

    server = await asyncio.start_server(server_side, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        client = FastAgiClient("127.0.0.1", port, speed=SPEED)
        result = await asyncio.wait_for(
            client.run(
                agi_environment(
                    channel="Local/12345@hotline-ivr-00000000;2",
                    uniqueid="1.1",
                    caller_num="1",
                    caller_name="x",
                ),
                Phone(hangup_after=1.0),
            ),
            timeout=10,
        )
    finally:
        server.close()
        await server.wait_closed()
    replies = [
        line
        for direction, line in result.transcript
        if direction == "asterisk->app" and not line.startswith("agi_") and line
    ]
    assert replies == [
        "510 Invalid or unknown command",
        "200 result=0",
        "200 result=-1 endpos=4160",
        "HANGUP",
        DEAD,
    ]
    assert result.hung_up
