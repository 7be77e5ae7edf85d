"""Walk one extension of a rendered dialplan the way Asterisk's PBX core would.

Just enough of the dialplan language for the hotline's inbound path: ${VAR} and
${CALLERID(x)} substitution, $["a" = "b" | …] expressions, labels, Goto/GotoIf/ExecIf/Set.
Every other application is recorded in the trace; AGI() and Queue() call back into the test,
which plays the IVR and app_queue (setting AGISTATUS, HOTLINE_*, QUEUESTATUS…).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

_STEP = re.compile(
    r"^(?:exten => [^,]+,1|same => n(?:\((?P<label>[a-z]+)\))?),(?P<app>\w+)\((?P<args>.*)\)$"
)
_VAR = re.compile(r"\$\{([A-Za-z0-9_]+(?:\([a-z]+\))?)\}")
_EXPR = re.compile(r"\$\[(.*?)\]")
_COMPARE = re.compile(r'^\s*"([^"]*)"\s*(=|!=)\s*"([^"]*)"\s*$')


class Hangup(Exception):
    pass


@dataclass
class Channel:
    variables: dict[str, str]
    trace: list[str] = field(default_factory=list)


App = Callable[[Channel, str], None]


def steps(dialplan: str, context: str, exten: str) -> list[tuple[str | None, str, str]]:
    out: list[tuple[str | None, str, str]] = []
    current = None
    in_exten = False
    for raw in dialplan.splitlines():
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("["):
            current = line.strip("[]")
            in_exten = False
            continue
        if current != context:
            continue
        if line.startswith("exten =>"):
            in_exten = line.startswith(f"exten => {exten},1,")
            if not in_exten:
                continue
        if in_exten:
            match = _STEP.match(line)
            assert match, f"cannot read {line!r}"
            out.append((match["label"], match["app"], match["args"]))
    assert out, f"no {exten} in [{context}]"
    return out


def substitute(text: str, channel: Channel) -> str:
    def var(match: re.Match[str]) -> str:
        return channel.variables.get(match.group(1), "")

    def expr(match: re.Match[str]) -> str:
        truth = False
        for part in match.group(1).split("|"):
            compare = _COMPARE.match(part)
            assert compare, f"unsupported expression {part!r}"
            left, op, right = compare.groups()
            truth = truth or ((left == right) if op == "=" else (left != right))
        return "1" if truth else "0"

    return _EXPR.sub(expr, _VAR.sub(var, text))


def run(
    dialplan: str,
    context: str,
    exten: str,
    channel: Channel,
    agi: App,
    queue: App,
    globals_: dict[str, str],
) -> Channel:
    program = steps(dialplan, context, exten)
    labels = {label: i for i, (label, _, _) in enumerate(program) if label}
    for key, value in globals_.items():
        channel.variables.setdefault(key, value)
    pc = 0
    try:
        for _ in range(200):  # a loop in the dialplan fails the test instead of hanging it
            if pc >= len(program):
                raise Hangup  # Asterisk hangs up at the end of an extension
            _, app, raw_args = program[pc]
            pc += 1
            if app in ("GotoIf", "ExecIf"):
                # the condition is substituted now; the branch only when it is taken
                condition, _, branch = raw_args.partition("?")
                taken = substitute(condition, channel) not in ("", "0")
                if app == "GotoIf":
                    then, _, otherwise = branch.partition(":")
                    target = then if taken else otherwise
                    if target:
                        pc = labels[target]
                elif taken:
                    inner = re.match(r"^(\w+)\((.*)\)$", branch)
                    assert inner, branch
                    _apply(channel, inner[1], substitute(inner[2], channel), agi, queue)
                continue
            args = substitute(raw_args, channel)
            if app == "Goto":
                pc = labels[args]
                continue
            _apply(channel, app, args, agi, queue)
        raise AssertionError("dialplan loops")
    except Hangup:
        channel.trace.append("Hangup")
    return channel


def _apply(channel: Channel, app: str, args: str, agi: App, queue: App) -> None:
    if app == "Set":
        name, _, value = args.partition("=")
        channel.variables[name] = value
        return
    if app == "Hangup":
        raise Hangup
    channel.trace.append(f"{app}({args})")
    if app == "AGI":
        agi(channel, args)
    elif app == "Queue":
        queue(channel, args)
