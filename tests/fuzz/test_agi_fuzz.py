"""The FastAGI server and the IVR session against damaged replies and environments (issue 7,
fuzzing suite).

A peer dials the real IVR (``ivr.fastagi`` + ``ivr.session`` + the shipped menu) with the
environment of a real capture and answers its commands from a script of replies: real ones
from the captures' agi.jsonl, damaged ones, odd result codes, random text. Whatever the
script, no exception escapes or is logged with a traceback, each call publishes
``ivr.finished`` once, and no session is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shlex
from collections.abc import Iterator, Sequence
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ivr.agi_protocol import parse_env_line
from ivr.app import IvrApplication, create_ivr_server
from ivr.incidents import IncidentBoard
from ivr.menu_source import DEFAULT_MENU, MenuSource
from ivr.session import script_name
from tests.captures import CAPTURES
from tests.fuzz.conftest import budget
from tests.fuzz.mutations import mutated_bytes, odd_value


def _capture_lines() -> tuple[list[str], list[str]]:
    env: list[str] = []
    replies: set[str] = set()
    for path in sorted(CAPTURES.glob("*/agi.jsonl")):
        for raw in path.read_text("utf-8").splitlines():
            entry = json.loads(raw)
            line = entry["line"]
            if entry["dir"] != "asterisk->app" or not line:
                continue
            if line.startswith("agi_"):
                if not env or not any(e.startswith(line.partition(":")[0] + ":") for e in env):
                    env.append(line)
            else:
                replies.add(line)
    return env, sorted(replies)


REAL_ENV, REAL_REPLIES = _capture_lines()
KNOWN_REPLIES = [
    *REAL_REPLIES,
    "200 result=1 (1795445409.0)",
    "200 result=0 (timeout)",
    "511 Command Not Permitted on a dead channel or intercepted channel",
    "510 Invalid or unknown command",
    "520-Invalid command syntax.  Proper usage follows:",
    "520 End of proper usage.",
    "100 result=0 Trying...",
    "HANGUP",
]


def one_line(data: bytes) -> str:
    return data.decode("utf-8", "replace").replace("\r", "").replace("\n", "")


reply_line = st.one_of(
    st.sampled_from(KNOWN_REPLIES),
    st.sampled_from(KNOWN_REPLIES).flatmap(lambda r: mutated_bytes(r.encode()).map(one_line)),
    odd_value().map(lambda v: f"200 result={v}".replace("\n", "").replace("\r", "")),
    st.text(max_size=60).map(lambda t: t.replace("\n", "").replace("\r", "")),
)
# What the peer sends for one command: usually one line, sometimes a second (HANGUP after -1).
reply = st.lists(reply_line, min_size=1, max_size=2)


def normal_reply(command: str) -> list[str]:
    verb = " ".join(command.split()[:2])
    if verb == "GET VARIABLE":
        return ["200 result=1 (1795445409.0)"]
    if verb == "STREAM FILE":
        return ["200 result=0 endpos=100"]
    if verb == "GET DATA":
        return ["200 result= (timeout)"]
    if verb == "SET VARIABLE":
        shlex.split(command)  # the IVR's quoting must always read back
        return ["200 result=1"]
    return ["200 result=0"]


class Crashes(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.seen.append(f"{record.name}: {record.getMessage()}")


@contextlib.contextmanager
def crashes() -> Iterator[Crashes]:
    handler = Crashes()
    logging.getLogger().addHandler(handler)
    try:
        yield handler
    finally:
        logging.getLogger().removeHandler(handler)


async def dial(env: Sequence[str], script: Sequence[Sequence[str]]) -> list[dict[str, Any]]:
    """One call into a fresh IVR; returns the ivr.finished payloads it published."""
    finished: list[dict[str, Any]] = []

    def publish(topic: str, payload: dict[str, Any]) -> None:
        if topic == "ivr.finished":
            finished.append(payload)

    app = IvrApplication(
        MenuSource(DEFAULT_MENU), IncidentBoard(), publish, safe_defaults_timeout=0.3
    )
    server = create_ivr_server(app, port=0, env_timeout=0.5, reply_timeout=0.3)
    await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        pending = [list(lines) for lines in script]
        try:
            writer.write("".join(f"{line}\n" for line in env).encode("utf-8", "replace"))
            async with asyncio.timeout(20):
                while raw := await reader.readline():
                    command = raw.decode("utf-8").rstrip("\n")
                    lines = pending.pop(0) if pending else normal_reply(command)
                    writer.write("".join(f"{line}\n" for line in lines).encode())
        except (ConnectionError, OSError):
            pass  # the IVR may close while we still write
        finally:
            writer.close()
    finally:
        await server.stop(grace=5.0)
    assert server.active_sessions == 0
    return finished


ROUTED_ENV = [*REAL_ENV, ""]


@settings(max_examples=budget(60))
@given(script=st.lists(reply, min_size=1, max_size=10))
# The shipped menu's first commands: ANSWER, GET VARIABLE, 2 × SET VARIABLE, STREAM FILE.
@example(script=[*[["200 result=0"]] * 4, ["200 result=99999999999"]])
@example(script=[*[["200 result=0"]] * 4, ["200 result=1114112 endpos=10"]])
def test_any_replies(script: list[list[str]]) -> None:
    assert any(line == "agi_network_script: ivr" for line in REAL_ENV)
    with crashes() as seen:
        finished = asyncio.run(dial(ROUTED_ENV, script))
    assert seen.seen == []
    assert len(finished) == 1


env_line = st.one_of(
    st.sampled_from(REAL_ENV),
    st.sampled_from(REAL_ENV).flatmap(lambda r: mutated_bytes(r.encode()).map(one_line)),
    st.text(max_size=80).map(lambda t: t.replace("\n", "").replace("\r", "")),
    odd_value().map(lambda v: f"agi_callerid: {v}".replace("\n", "")),
)


@settings(max_examples=budget(60))
@given(
    env=st.lists(env_line, max_size=40),
    ends=st.booleans(),
    script=st.lists(reply, max_size=3),
)
def test_any_environment(env: list[str], ends: bool, script: list[list[str]]) -> None:
    lines = [*env, ""] if ends else env
    with crashes() as seen:
        finished = asyncio.run(dial(lines, script))
    assert seen.seen == []
    assert len(finished) == (1 if routed_to_ivr(lines) else 0)


def routed_to_ivr(lines: list[str]) -> bool:
    """Whether the server sees a whole environment that names the ivr script."""
    if "" not in lines:
        return False
    found: dict[str, str] = {}
    for line in lines[: lines.index("")]:
        pair = parse_env_line(line)
        if pair is not None:
            found[pair[0]] = pair[1]
    return script_name(found.get("agi_network_script", "")) == "ivr"
