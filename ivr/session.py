"""One FastAGI connection: the caller's channel as seen by an IVR script.

Every way a call can end under our feet becomes one exception, ``ChannelHangup``: the
``HANGUP`` line, a ``511`` reply, ``result=-1``, a closed socket. A peer that stops answering
raises ``AgiTimeout``; a line that is not FastAGI raises ``AgiProtocolError``. Scripts only
ever see those three and ``AgiCommandError``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from ivr.agi_protocol import (
    HANGUP_LINE,
    AgiCommandError,
    AgiProtocolError,
    AgiReply,
    AgiTimeout,
    ChannelHangup,
    is_usage_start,
    parse_reply,
    quote_arg,
)

log = logging.getLogger(__name__)

# Asterisk may print a usage text for a malformed command; never read one without bound.
_MAX_USAGE_LINES = 50


@dataclass(frozen=True, slots=True)
class DigitsResult:
    digits: str
    timed_out: bool


class AgiSession:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        env: Mapping[str, str],
        *,
        reply_timeout: float = 60.0,
        encoding: str = "utf-8",
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.env: dict[str, str] = dict(env)
        self.reply_timeout = reply_timeout
        self._encoding = encoding
        self.hung_up = False

    # -- what Asterisk told us at the start -------------------------------------------------
    @property
    def script(self) -> str:
        return script_name(self.env.get("agi_network_script", ""))

    @property
    def uniqueid(self) -> str:
        return self.env.get("agi_uniqueid", "")

    @property
    def caller_number(self) -> str:
        number = self.env.get("agi_callerid", "")
        return "" if number in ("unknown", "") else number

    @property
    def channel(self) -> str:
        return self.env.get("agi_channel", "")

    @property
    def args(self) -> list[str]:
        found: list[tuple[int, str]] = []
        for key, value in self.env.items():
            if key.startswith("agi_arg_") and key[8:].isdigit():
                found.append((int(key[8:]), value))
        return [value for _, value in sorted(found)]

    # -- commands ----------------------------------------------------------------------------
    async def command(self, text: str, *, reply_within: float | None = None) -> AgiReply:
        """Send one command and return its 200 reply; raise an AgiError for anything else."""
        if self.hung_up:
            raise ChannelHangup("channel already hung up")
        try:
            self._writer.write(text.encode(self._encoding) + b"\n")
            await asyncio.wait_for(self._writer.drain(), self.reply_timeout)
        except (ConnectionError, OSError) as error:
            self.hung_up = True
            raise ChannelHangup(f"peer went away while sending {text!r}: {error}") from None
        except TimeoutError:
            raise AgiTimeout(f"peer not reading while sending {text!r}") from None
        limit = self.reply_timeout if reply_within is None else reply_within
        try:
            return await asyncio.wait_for(self._read_reply(text), limit)
        except TimeoutError:
            raise AgiTimeout(f"no reply to {text!r} within {limit:g} s") from None

    async def _read_reply(self, sent: str) -> AgiReply:
        while True:
            line = await self._read_line()
            if line == HANGUP_LINE:
                self.hung_up = True
                raise ChannelHangup("HANGUP")
            if is_usage_start(line):
                await self._skip_usage()
                raise AgiCommandError(f"520 usage error for {sent!r}")
            reply = parse_reply(line)
            if reply.code == 100:  # "100 result=0 Trying…": the real reply follows
                continue
            if reply.code == 511:
                self.hung_up = True
                raise ChannelHangup(f"511 for {sent!r}")
            if reply.code != 200:
                raise AgiCommandError(f"{sent!r} refused: {line}")
            if reply.is_failure:
                self.hung_up = True
                raise ChannelHangup(f"result=-1 for {sent!r}")
            return reply

    async def _skip_usage(self) -> None:
        for _ in range(_MAX_USAGE_LINES):
            if (await self._read_line()).startswith("520 "):
                return
        raise AgiProtocolError("520 usage text without end")

    async def _read_line(self) -> str:
        try:
            raw = await self._reader.readline()
        except (ConnectionError, OSError) as error:
            self.hung_up = True
            raise ChannelHangup(f"connection lost: {error}") from None
        except ValueError as error:  # a line longer than the stream limit
            raise AgiProtocolError(f"line too long: {error}") from None
        if not raw:
            self.hung_up = True
            raise ChannelHangup("peer closed the connection")
        try:
            return raw.decode(self._encoding).rstrip("\r\n")
        except UnicodeDecodeError:
            raise AgiProtocolError(f"undecodable line: {raw[:80]!r}") from None

    async def answer(self) -> None:
        await self.command("ANSWER")

    async def stream_file(self, prompt: str, escape_digits: str = "") -> str | None:
        """Play a sound file; return the digit that interrupted it, if any."""
        # Always quoted, as in the captures (``STREAM FILE hello-world ""``).
        escape = "".join(ch for ch in escape_digits if ch in "0123456789*#")
        reply = await self.command(f'STREAM FILE {prompt} "{escape}"')
        return _digit_from_ascii(reply.result)

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> DigitsResult:
        """Play a prompt and collect up to ``max_digits`` DTMF digits."""
        margin = self.reply_timeout
        reply = await self.command(
            f"GET DATA {prompt} {timeout_ms} {max_digits}",
            reply_within=timeout_ms / 1000 * max(1, max_digits) + margin,
        )
        return DigitsResult(digits=reply.result, timed_out=reply.paren == "timeout")

    async def set_variable(self, name: str, value: str) -> None:
        await self.command(f"SET VARIABLE {name} {quote_arg(value)}")

    async def get_variable(self, name: str) -> str | None:
        reply = await self.command(f"GET VARIABLE {name}")
        return reply.paren if reply.result == "1" else None

    async def hangup(self) -> None:
        await self.command("HANGUP")
        self.hung_up = True


def _digit_from_ascii(result: str) -> str | None:
    # STREAM FILE reports the interrupting key as its ASCII code, 0 when none was pressed.
    if not result.isdigit() or result == "0":
        return None
    return chr(int(result))


def script_name(raw: str) -> str:
    """``ivr?lang=yue`` or ``/ivr`` → ``ivr``: the route part of agi_network_script."""
    return raw.split("?", 1)[0].strip("/")
