"""One FastAGI connection: the caller's channel as seen by an IVR script.

Every way a call can end under our feet becomes one exception, ``ChannelHangup``: the
``HANGUP`` line, a ``511`` reply, ``result=-1``, a closed socket. Except for a sound: Asterisk
answers ``200 result=-1 endpos=0`` to STREAM FILE (and ``200 result=-1`` to GET DATA) when the
file does not exist while the caller is still there. So for those two, ``result=-1`` is a
hang-up only if the ``HANGUP`` line follows at once (or a ``511`` answers the next command);
otherwise the sound was "not played" and the walk goes on (agi_scripts/fallback.py, the
degraded path, reasons the same way). A peer that stops answering raises ``AgiTimeout``; a
line that is not FastAGI raises ``AgiProtocolError``. Scripts only ever see those three and
``AgiCommandError``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from asterisk_conf.agi_args import UnsafeAgiText, array_assignment
from ivr.agi_protocol import (
    HANGUP_LINE,
    AgiCommandError,
    AgiProtocolError,
    AgiReply,
    AgiTimeout,
    AgiUnsafeCommand,
    ChannelHangup,
    command_line,
    is_usage_start,
    parse_reply,
    quote_arg,
)

log = logging.getLogger(__name__)

# Asterisk may print a usage text for a malformed command; never read one without bound.
_MAX_USAGE_LINES = 50
# After a sound's result=-1, how long to wait for the HANGUP line that tells a hang-up from a
# missing file. res_agi writes it right after the reply, so a short bound suffices; a 511 to
# the next command catches a line that came later still.
HANGUP_GRACE_S = 0.2


@dataclass(frozen=True, slots=True)
class DigitsResult:
    digits: str
    timed_out: bool
    # False when the prompt could not be played (missing sound): no digits were collected.
    played: bool = True


class MissingSounds:
    """The sounds Asterisk could not play, each warned about once, not once per call.

    One per FastAGI server (its sessions share it), not one per process: two IVRs in one
    process (tests, a second PBX) each report their own missing files.
    """

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def report(self, prompt: str, reply: AgiReply) -> None:
        if prompt in self._seen:
            return
        self._seen.add(prompt)
        log.warning(
            "sound %s could not be played (%s): missing file? (logged once)", prompt, reply.line
        )

    def all(self) -> frozenset[str]:
        """The sounds reported missing so far."""
        return frozenset(self._seen)


class AgiSession:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        env: Mapping[str, str],
        *,
        reply_timeout: float = 60.0,
        encoding: str = "utf-8",
        missing_sounds: MissingSounds | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.env: dict[str, str] = dict(env)
        self.reply_timeout = reply_timeout
        self._encoding = encoding
        self.hung_up = False
        self.hangup_grace = HANGUP_GRACE_S
        # Shared with the server's other sessions; a session on its own keeps its own.
        self.missing_sounds = missing_sounds if missing_sounds is not None else MissingSounds()

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
    async def command(
        self, text: str, *, reply_within: float | None = None, failure_is_hangup: bool = True
    ) -> AgiReply:
        """Send one command and return its 200 reply; raise an AgiError for anything else.

        ``failure_is_hangup=False`` returns a ``result=-1`` reply instead of raising.
        """
        if self.hung_up:
            raise ChannelHangup("channel already hung up")
        line = command_line(text, self._encoding)  # AgiUnsafeCommand before a byte is sent
        try:
            self._writer.write(line)
            await asyncio.wait_for(self._writer.drain(), self.reply_timeout)
        except (ConnectionError, OSError) as error:
            self.hung_up = True
            raise ChannelHangup(f"peer went away while sending {text!r}: {error}") from None
        except TimeoutError:
            raise AgiTimeout(f"peer not reading while sending {text!r}") from None
        limit = self.reply_timeout if reply_within is None else reply_within
        try:
            reply = await asyncio.wait_for(self._read_reply(text), limit)
        except TimeoutError:
            raise AgiTimeout(f"no reply to {text!r} within {limit:g} s") from None
        if reply.is_failure and failure_is_hangup:
            self.hung_up = True
            raise ChannelHangup(f"result=-1 for {text!r}")
        return reply

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
            return reply

    async def _hangup_follows(self) -> bool:
        """After a sound's result=-1: True (and hung_up) if a HANGUP line comes at once."""
        try:
            line = await asyncio.wait_for(self._read_line(), self.hangup_grace)
        except TimeoutError:
            return False
        if line == HANGUP_LINE:
            self.hung_up = True
            return True
        raise AgiProtocolError(f"unexpected line after result=-1: {line[:120]!r}")

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
        """Play a sound file; return the digit that interrupted it, if any.

        A sound that could not be played (``result=-1``, see the module docstring) returns
        None like one played to the end; a hang-up surfaces at the next command.
        """
        # Always quoted, as in the captures (``STREAM FILE hello-world ""``).
        escape = "".join(ch for ch in escape_digits if ch in "0123456789*#")
        reply = await self.command(
            f'STREAM FILE {quote_arg(prompt)} "{escape}"', failure_is_hangup=False
        )
        if reply.is_failure:
            if await self._hangup_follows():
                raise ChannelHangup(f"HANGUP during {prompt}")
            self.missing_sounds.report(prompt, reply)
            return None
        return _digit_from_ascii(reply.result)

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> DigitsResult:
        """Play a prompt and collect up to ``max_digits`` DTMF digits."""
        margin = self.reply_timeout
        reply = await self.command(
            f"GET DATA {quote_arg(prompt)} {timeout_ms} {max_digits}",
            reply_within=timeout_ms / 1000 * max(1, max_digits) + margin,
            failure_is_hangup=False,
        )
        if reply.is_failure:
            if await self._hangup_follows():
                raise ChannelHangup(f"HANGUP during {prompt}")
            # The prompt is missing: Asterisk collected nothing. Like silence for the menu.
            self.missing_sounds.report(prompt, reply)
            return DigitsResult(digits="", timed_out=True, played=False)
        if not DTMF.issuperset(reply.result):
            raise AgiProtocolError(f"GET DATA result is not DTMF digits: {reply.line[:120]!r}")
        return DigitsResult(digits=reply.result, timed_out=reply.paren == "timeout")

    async def set_variable(self, name: str, value: str) -> None:
        await self.command(f"SET VARIABLE {name} {quote_arg(value)}")

    async def set_variables(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Several variables in order, in one round trip (``SET VARIABLE ARRAY(…)``): every
        command keeps the caller waiting for Asterisk's reply, and under load the PBX answers
        slowly. Each still makes its own VarSet event, as SET VARIABLE does."""
        if len(pairs) == 1:
            await self.set_variable(*pairs[0])
        elif pairs:
            try:
                name, value = array_assignment(pairs)
            except UnsafeAgiText as error:  # CR, LF or NUL in a value: nothing is sent
                raise AgiUnsafeCommand(str(error)) from None
            await self.command(f"SET VARIABLE {name} {value}")

    async def get_variable(self, name: str) -> str | None:
        reply = await self.command(f"GET VARIABLE {name}")
        return reply.paren if reply.result == "1" else None

    async def hangup(self) -> None:
        await self.command("HANGUP")
        self.hung_up = True


# The keys a phone can send (DTMF), as GET DATA reports them and STREAM FILE's ASCII codes.
DTMF = frozenset("0123456789*#ABCD")


def _digit_from_ascii(result: str) -> str | None:
    """STREAM FILE reports the interrupting key as its ASCII code, 0 when none was pressed.

    Anything that is not a DTMF key's code (huge, negative, not a number) is no key: a peer
    that sends it is broken, and the caller is better served by the walk going on.
    """
    if not (result.isascii() and result.isdigit()) or len(result) > 3:
        if result not in ("", "0"):
            log.warning("STREAM FILE result %r is not a key's code; taken as no key", result)
        return None
    key = chr(int(result))
    if key not in DTMF:
        if key != "\x00":
            log.warning("STREAM FILE result %r is not a key's code; taken as no key", result)
        return None
    return key


def script_name(raw: str) -> str:
    """``ivr?lang=yue`` or ``/ivr`` → ``ivr``: the route part of agi_network_script."""
    return raw.split("?", 1)[0].strip("/")
