"""The FastAGI wire format as Asterisk 22 speaks it: the environment block and command replies.

Pure functions, no sockets, so every odd line Asterisk (or a broken peer) can send is tested
without a connection. What the real captures show:

- the session opens with ``agi_<name>: <value>`` lines ended by one blank line;
- each command gets one reply line: ``200 result=<n>[ <data>][ (<extra>)]``;
- a hung-up channel answers ``200 result=-1…`` and then sends the asynchronous line ``HANGUP``;
- commands on a dead channel are answered ``511 Command Not Permitted…``;
- ``520-…`` opens a multi-line usage text that ends with a line starting ``520 ``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from asterisk_conf import agi_args
from asterisk_conf.agi_args import UnsafeAgiText

HANGUP_LINE = "HANGUP"

_REPLY = re.compile(r"^(?P<code>\d{3})(?P<sep>[ -])(?P<rest>.*)$")
_RESULT = re.compile(r"^result=(?P<result>\S*)(?:\s+\((?P<paren>[^)]*)\))?(?P<tail>.*)$")


class AgiError(Exception):
    """Base of every FastAGI failure that ends a session."""


class ChannelHangup(AgiError):
    """The caller hung up (``HANGUP`` line, ``511``, ``result=-1``) or the peer went away."""


class AgiProtocolError(AgiError):
    """The peer sent something that is not FastAGI."""


class AgiTimeout(AgiError):
    """The peer did not answer in time."""


class AgiCommandError(AgiError):
    """Asterisk refused a command (``510`` unknown command, ``520`` usage)."""


class AgiUnsafeCommand(AgiCommandError, UnsafeAgiText):
    """We refused to send a command: a value in it would not reach Asterisk as one command
    (CR, LF or NUL, see asterisk_conf.agi_args). Nothing is written: the session goes on to
    its safe defaults."""


@dataclass(frozen=True, slots=True)
class AgiReply:
    code: int
    result: str
    # The text in parentheses: GET VARIABLE's value, GET DATA's "timeout".
    paren: str | None
    # Everything after result=… and the parentheses, e.g. "endpos=11360".
    extra: str
    line: str

    @property
    def is_failure(self) -> bool:
        return self.result == "-1"

    def field(self, name: str) -> str | None:
        for word in self.extra.split():
            key, _, value = word.partition("=")
            if key == name:
                return value
        return None


def parse_env_line(line: str) -> tuple[str, str] | None:
    """``agi_callerid: 13800138001`` → ("agi_callerid", "13800138001"); None if not such a line."""
    key, sep, value = line.partition(":")
    if not sep or not key.startswith("agi_") or " " in key:
        return None
    # Asterisk writes exactly one space after the colon; an empty value has the space too.
    return key, value[1:] if value.startswith(" ") else value


def parse_reply(line: str) -> AgiReply:
    """Parse one reply line; raise AgiProtocolError for anything that is not one."""
    match = _REPLY.match(line)
    if match is None:
        raise AgiProtocolError(f"not an AGI reply: {line[:120]!r}")
    code = int(match["code"])
    rest = match["rest"]
    if code != 200:
        return AgiReply(code=code, result="", paren=None, extra=rest, line=line)
    found = _RESULT.match(rest)
    if found is None:
        raise AgiProtocolError(f"200 reply without result=: {line[:120]!r}")
    return AgiReply(
        code=code,
        result=found["result"],
        paren=found["paren"],
        extra=found["tail"].strip(),
        line=line,
    )


def is_usage_start(line: str) -> bool:
    return line.startswith("520-")


def refuse_unsafe(text: str) -> str:
    """Return ``text`` unchanged, or raise AgiUnsafeCommand if it holds CR, LF or NUL."""
    try:
        return agi_args.refuse_unsafe(text)
    except UnsafeAgiText as error:
        raise AgiUnsafeCommand(str(error)) from None


def command_line(text: str, encoding: str) -> bytes:
    """The bytes of one AGI command: the single place every command passes before the wire."""
    return refuse_unsafe(text).encode(encoding) + b"\n"


def quote_arg(value: str) -> str:
    """Quote a command argument the way res_agi's parser expects (double quotes, \\-escapes).

    CR, LF and NUL cannot be quoted: they are refused (AgiUnsafeCommand).
    """
    if value and not any(ch in value for ch in ' \t"\\'):
        return refuse_unsafe(value)
    return f'"{escape_arg(value)}"'


def escape_arg(value: str) -> str:
    """The inside of a double-quoted argument: \\ and " escaped; CR, LF, NUL refused."""
    return agi_args.escape_arg(refuse_unsafe(value))
