"""How a value must look to reach Asterisk's AGI parser as one argument of one command.

Shared by the FastAGI IVR (``ivr.agi_protocol``) and the classic degraded-path script
(``agi_scripts.pyst_edge``), which may not import each other: this leaf module is the one
place the rule lives. res_agi reads one command per line and has no escape for a line break,
so the text after a CR or LF would run as a command of its own (``EXEC System …``), and a NUL
cuts the C string: those are refused. Inside double quotes, ``\\`` and ``"`` are escaped
with a backslash (res_agi's parse_args).
"""

from __future__ import annotations

_LINE_BREAKERS = frozenset("\r\n\x00")


class UnsafeAgiText(ValueError):
    """A value holds CR, LF or NUL: nothing of the command may be sent."""


def refuse_unsafe(text: str) -> str:
    """Return ``text`` unchanged, or raise UnsafeAgiText if it holds CR, LF or NUL."""
    if not _LINE_BREAKERS.isdisjoint(text):
        raise UnsafeAgiText(f"refused to send CR, LF or NUL to Asterisk: {text[:120]!r}")
    return text


def escape_arg(value: str) -> str:
    """The inside of a double-quoted argument: \\ and " escaped; CR, LF, NUL refused."""
    return refuse_unsafe(value).replace("\\", "\\\\").replace('"', '\\"')
