"""Asterisk's side of a FastAGI session, as the captures' agi.jsonl show it.

The client connects to a FastAGI server, sends the ``agi_*`` environment block and the blank
line that ends it, then answers each command the way Asterisk 22 does for a Local-channel
caller: ``ANSWER`` after ~0.5 s, ``STREAM FILE`` after the prompt, ``GET DATA`` with the key
the simulated caller presses (or ``200 result= (timeout)``), ``SET VARIABLE`` with
``200 result=1``. When the caller hangs up, the command in progress returns ``200 result=-1…``,
the line ``HANGUP`` follows, and any later command gets ``511``. The session ends when the
server closes the socket (AGISTATUS=SUCCESS), or at once after a hang-up (AGISTATUS=HANGUP).

Durations are divided by ``speed`` so the same client runs in real time or compressed.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from asterisk_conf.agi_args import agi_words, assignments

ENV_KEYS = (
    "agi_network",
    "agi_network_script",
    "agi_request",
    "agi_channel",
    "agi_language",
    "agi_type",
    "agi_uniqueid",
    "agi_version",
    "agi_callerid",
    "agi_calleridname",
    "agi_callingpres",
    "agi_callingani2",
    "agi_callington",
    "agi_callingtns",
    "agi_dnid",
    "agi_rdnis",
    "agi_context",
    "agi_extension",
    "agi_priority",
    "agi_enhanced",
    "agi_accountcode",
    "agi_threadid",
)

DEAD = "511 Command Not Permitted on a dead channel or intercepted channel"
UNKNOWN = "510 Invalid or unknown command"
DEAD_LINGER_S = 10.0  # wall seconds a server may keep a hung-up session open

# Seconds, measured in the captures (Local-channel caller, the default prompts).
ANSWER_S = 0.5
PROMPT_S = {"hello-world": 1.42, "beep": 0.44}
DEFAULT_PROMPT_S = 1.0
PROMPT_ENDPOS = {"hello-world": 11360, "beep": 3520}


def agi_environment(
    *,
    channel: str,
    uniqueid: str,
    caller_num: str,
    caller_name: str,
    request: str = "agi://127.0.0.1:4573/ivr",
    context: str = "hotline-ivr",
    extension: str = "12345",
    priority: int = 2,
    threadid: str = "140318742374080",
) -> list[tuple[str, str]]:
    """The environment block Asterisk 22 sends, in its order (values as in the captures)."""
    script = request.split("/", 3)[3] if request.count("/") >= 3 else ""
    channel_type = channel.split("/", 1)[0]
    values = (
        "yes",
        script,
        request,
        channel,
        "en",
        channel_type,
        uniqueid,
        "22.10.1",
        caller_num,
        caller_name,
        "0",
        "0",
        "0",
        "0",
        "unknown",
        "unknown",
        context,
        extension,
        str(priority),
        "0.0",
        "",
        threadid,
    )
    return list(zip(ENV_KEYS, values, strict=True))


@dataclass(slots=True)
class Phone:
    """What the caller does while the IVR talks to them."""

    # One entry per digit-reading command (GET DATA, WAIT FOR DIGIT): the keys pressed, or
    # None to let that command time out.
    keys: list[str | None] = field(default_factory=list)
    # Seconds into the digit-reading command (after its prompt starts) the keys come.
    key_delay: float = 0.7
    # Seconds after the session starts that the caller hangs up (None: never).
    hangup_after: float | None = None


@dataclass(slots=True)
class AgiResult:
    transcript: list[tuple[str, str]] = field(default_factory=list)  # (direction, line)
    variables: dict[str, str] = field(default_factory=dict)
    digits: list[str | None] = field(default_factory=list)
    hung_up: bool = False
    status: str = "SUCCESS"


OnCommand = Callable[[str, str | None], None]  # (command, reply or None when it starts)


class FastAgiClient:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        speed: float = 1.0,
        channel_vars: dict[str, str] | None = None,
        on_command: OnCommand | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.host, self.port, self.speed = host, port, speed
        self.channel_vars = dict(channel_vars or {})
        self.on_command = on_command
        self._sleep = sleep

    async def run(self, env: list[tuple[str, str]], phone: Phone) -> AgiResult:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        session = _Session(self, reader, writer, phone)
        try:
            await session.run(env)
        except ConnectionError:
            # The server dropped the line mid-session: for Asterisk that ends the AGI too.
            session.result.status = "HANGUP" if session.result.hung_up else "SUCCESS"
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        return session.result


class _Session:
    def __init__(
        self,
        client: FastAgiClient,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        phone: Phone,
    ) -> None:
        self.client = client
        self.reader, self.writer = reader, writer
        self.phone = phone
        self.result = AgiResult()
        self.keys = list(phone.keys)
        loop = asyncio.get_running_loop()
        self.loop = loop
        self.hangup_at = (
            loop.time() + phone.hangup_after / client.speed
            if phone.hangup_after is not None
            else None
        )
        self.dead = False

    def _send(self, line: str) -> None:
        self.result.transcript.append(("asterisk->app", line))
        self.writer.write(line.encode("utf-8") + b"\n")

    def _left(self) -> float | None:
        return None if self.hangup_at is None else self.hangup_at - self.loop.time()

    async def _wait(self, seconds: float) -> bool:
        """Let ``seconds`` of simulated time pass; False if the caller hangs up meanwhile."""
        delay = seconds / self.client.speed
        left = self._left()
        if left is not None and left <= delay:
            await self.client._sleep(max(0.0, left))
            self.dead = True
            return False
        await self.client._sleep(delay)
        return True

    async def run(self, env: list[tuple[str, str]]) -> None:
        for key, value in env:
            self._send(f"{key}: {value}")
        self._send("")
        await self.writer.drain()
        while True:
            line = await self._next_command()
            if line is None:
                break
            self.result.transcript.append(("app->asterisk", line))
            if self.dead:
                self._send(DEAD)
                await self.writer.drain()
                continue
            self._notify(line, None)
            reply = await self._execute(line)
            self._send(reply)
            self._notify(line, reply)
            if self.dead and not self.result.hung_up:
                self._hangup_line()
            await self.writer.drain()
        self.result.status = "HANGUP" if self.result.hung_up else "SUCCESS"

    def _hangup_line(self) -> None:
        self.result.hung_up = True
        self._send("HANGUP")

    async def _next_command(self) -> str | None:
        """The server's next line; None once it closes the socket.

        After a hang-up Asterisk still waits for the server to close (answering 511 to
        anything it sends), but not forever.
        """
        left = self._left()
        try:
            if self.dead:
                raw = await asyncio.wait_for(self.reader.readline(), timeout=DEAD_LINGER_S)
            elif left is None:
                raw = await self.reader.readline()
            else:
                raw = await asyncio.wait_for(self.reader.readline(), timeout=max(0.0, left))
        except TimeoutError:
            if self.dead:
                return None
            # Hung up while the server was thinking: the asynchronous HANGUP line.
            self.dead = True
            self._hangup_line()
            await self.writer.drain()
            return await self._next_command()
        if not raw:
            return None
        return raw.decode("utf-8", errors="replace").rstrip("\r\n")

    def _notify(self, command: str, reply: str | None) -> None:
        if self.client.on_command is not None:
            self.client.on_command(command, reply)

    async def _execute(self, line: str) -> str:
        try:
            words = shlex.split(line)
        except ValueError:
            words = line.split()
        upper = [w.upper() for w in words]
        if not words:
            return UNKNOWN
        verb = " ".join(upper[:2])
        if upper[0] == "ANSWER":
            return "200 result=0" if await self._wait(ANSWER_S) else "200 result=-1"
        if upper[0] == "NOOP":
            return "200 result=0"
        if verb == "STREAM FILE" and len(words) >= 3:
            prompt = words[2]
            escape = words[3] if len(words) > 3 else ""
            return await self._stream(prompt, escape)
        if verb == "GET DATA" and len(words) >= 3:
            timeout_ms = int(words[3]) if len(words) > 3 and words[3].isdigit() else 5000
            max_digits = int(words[4]) if len(words) > 4 and words[4].isdigit() else 1
            return await self._get_data(words[2], timeout_ms, max_digits)
        if verb == "WAIT FOR" and len(words) >= 4:
            return await self._wait_for_digit(
                int(words[3]) if words[3].lstrip("-").isdigit() else -1
            )
        if verb == "SET VARIABLE" and len(words) >= 3:
            exact = agi_words(line)  # res_agi's own reading (backslashes), and ARRAY(…)
            for name, value in assignments(exact[2], exact[3] if len(exact) > 3 else ""):
                self.result.variables[name] = value
                self.client.channel_vars[name] = value
            return "200 result=1"
        if verb == "GET VARIABLE" and len(words) >= 3:
            return self._variable(words[2])
        if verb == "GET FULL" and len(words) >= 4:
            return self._variable(words[3].removeprefix("${").removesuffix("}"))
        if upper[0] == "VERBOSE":
            return "200 result=1"
        if upper[0] == "EXEC":
            return "200 result=0"
        if verb == "CHANNEL STATUS":
            return "200 result=6"
        if upper[0] == "SAY":
            return "200 result=0" if await self._wait(1.0) else "200 result=-1"
        if upper[0] == "HANGUP":
            # The IVR hangs up: the channel is gone, no asynchronous HANGUP line follows.
            self.dead = True
            self.result.hung_up = True
            return "200 result=1"
        return UNKNOWN

    def _variable(self, name: str) -> str:
        value = self.client.channel_vars.get(name)
        return "200 result=0" if value is None else f"200 result=1 ({value})"

    async def _stream(self, prompt: str, escape: str) -> str:
        length = PROMPT_S.get(prompt, DEFAULT_PROMPT_S)
        endpos = PROMPT_ENDPOS.get(prompt, 8000)
        if (
            escape
            and self.keys
            and self.keys[0]
            and self.keys[0][0] in escape
            and (self.phone.key_delay < length)
        ):
            key = self.keys.pop(0) or ""
            if not await self._wait(self.phone.key_delay):
                return "200 result=-1 endpos=4160"
            self.result.digits.append(key[0])
            return f"200 result={ord(key[0])} endpos={int(endpos * self.phone.key_delay / length)}"
        if not await self._wait(length):
            return "200 result=-1 endpos=4160"
        return f"200 result=0 endpos={endpos}"

    async def _get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> str:
        key = self.keys.pop(0) if self.keys else None
        limit = PROMPT_S.get(prompt, DEFAULT_PROMPT_S) + timeout_ms / 1000
        if key and self.phone.key_delay < limit:
            if not await self._wait(self.phone.key_delay + 0.1):  # the key's own 100 ms
                return "200 result=-1"
            digits = key[:max_digits]
            self.result.digits.append(digits)
            return f"200 result={digits}"
        if not await self._wait(limit):
            return "200 result=-1"
        self.result.digits.append(None)
        return "200 result= (timeout)"

    async def _wait_for_digit(self, timeout_ms: int) -> str:
        key = self.keys.pop(0) if self.keys else None
        limit = timeout_ms / 1000 if timeout_ms >= 0 else 3600.0
        if key and self.phone.key_delay < limit:
            if not await self._wait(self.phone.key_delay):
                return "200 result=-1"
            self.result.digits.append(key[0])
            return f"200 result={ord(key[0])}"
        if not await self._wait(limit):
            return "200 result=-1"
        self.result.digits.append(None)
        return "200 result=0"
