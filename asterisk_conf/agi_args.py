"""How a value must look to reach Asterisk's AGI parser as one argument of one command.

Shared by the FastAGI IVR (``ivr.agi_protocol``) and the classic degraded-path script
(``agi_scripts.pyst_edge``), which may not import each other: this leaf module is the one
place the rule lives. res_agi reads one command per line and has no escape for a line break,
so the text after a CR or LF would run as a command of its own (``EXEC System …``), and a NUL
cuts the C string: those are refused. Inside double quotes, ``\\`` and ``"`` are escaped
with a backslash (res_agi's parse_args).
"""

from __future__ import annotations

from collections.abc import Sequence

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


# -- several variables in one AGI command: SET VARIABLE ARRAY(...) -----------------------------
# SET VARIABLE sets one variable per round trip to Asterisk. Given the ARRAY function as its
# name (funcs/func_strings.c), it sets several in order, each through
# pbx_builtin_setvar_helper like a plain SET VARIABLE, so each still makes its own VarSet
# event; unlike EXEC of an application, it leaves the channel's application (AGI, in
# `core show channels` and the CDR's lastapp) alone. ARRAY splits names and values with
# ast_app_separate_args (main/app.c): at commas outside quotes, parentheses and brackets, a
# backslash making the next character literal (and removed).
_ARRAY_SPECIAL = frozenset('\\,"()[]')


def array_assignment(pairs: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """SET VARIABLE's name and (double-quoted) value arguments that set ``pairs`` in order.
    The names must be plain variable names (letters, digits, ``_``)."""
    for name, _ in pairs:
        if not name or not all(c.isascii() and (c.isalnum() or c == "_") for c in name):
            raise ValueError(f"not a plain variable name for ARRAY(): {name!r}")
    names = ",".join(name for name, _ in pairs)
    values = ",".join(
        "".join(f"\\{c}" if c in _ARRAY_SPECIAL else c for c in value) for _, value in pairs
    )
    return f"ARRAY({names})", f'"{escape_arg(values)}"'


def agi_words(line: str) -> list[str]:
    """A command line as res_agi's parse_args splits it: at blanks outside double quotes;
    quotes grouping and removed; a backslash making the next character literal."""
    words: list[str] = []
    current: list[str] | None = None
    quoted = escaped = False
    for char in line:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
            continue
        elif char == '"':
            quoted = not quoted
            current = [] if current is None else current
            continue
        elif char in " \t" and not quoted:
            if current is not None:
                words.append("".join(current))
                current = None
            continue
        current = [] if current is None else current
        current.append(char)
    if current is not None:
        words.append("".join(current))
    return words


def separate_args(text: str) -> list[str]:
    """ast_app_separate_args(text, ',') with its quotes and backslashes removed."""
    parts: list[str] = []
    current: list[str] = []
    paren = bracket = 0
    quoted = escaped = False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
            continue
        if char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not (paren or bracket or quoted):
            parts.append("".join(current))
            current = []
        else:
            paren += (char == "(") - (char == ")" and paren > 0)
            bracket += (char == "[") - (char == "]" and bracket > 0)
            current.append(char)
    parts.append("".join(current))
    return parts


def assignments(name: str, value: str) -> list[tuple[str, str]]:
    """What SET VARIABLE ``name`` ``value`` (both AGI-parsed) sets, in order: the one
    variable, or each of an ``ARRAY(...)`` (a missing value sets it empty), as Asterisk
    does (for the simulator and tests)."""
    if not (name.upper().startswith("ARRAY(") and name.endswith(")")):
        return [(name, value)]
    names = separate_args(name[len("ARRAY(") : -1])
    values = separate_args(value)
    return [(n, values[i] if i < len(values) else "") for i, n in enumerate(names)]
