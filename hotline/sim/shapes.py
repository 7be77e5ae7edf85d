"""Event shapes: the ordered field names of each AMI event type, to compare two streams.

The simulator's promise is that every event type it emits has the field names, in the same
order, as one of the variants Asterisk itself produced for that type (some types have several:
AgentComplete with or without the member's channel fields, DialBegin with or without the
calling channel).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from acd.ami.message import AmiMessage

Shape = tuple[str, ...]


def shape_key(msg: AmiMessage) -> str:
    """``Event:Newchannel`` or ``Response:Success`` (a response's status is part of its key)."""
    if not msg.fields:
        return ""
    key, value = msg.fields[0]
    return f"{key}:{value}"


def shape(msg: AmiMessage) -> Shape:
    return tuple(key for key, _ in msg.fields)


def collect_shapes(messages: Iterable[AmiMessage]) -> dict[str, set[Shape]]:
    shapes: dict[str, set[Shape]] = defaultdict(set)
    for msg in messages:
        shapes[shape_key(msg)].add(shape(msg))
    return dict(shapes)


def collect_privileges(messages: Iterable[AmiMessage]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for msg in messages:
        privilege = msg.get("Privilege")
        if privilege is not None:
            out[shape_key(msg)].add(privilege)
    return dict(out)


def shape_mismatches(messages: Iterable[AmiMessage], reference: dict[str, set[Shape]]) -> list[str]:
    """One line per message type whose shape matches none of the reference variants."""
    problems: dict[tuple[str, Shape], str] = {}
    for msg in messages:
        key, got = shape_key(msg), shape(msg)
        variants = reference.get(key)
        if variants is None:
            problems.setdefault((key, ()), f"{key}: not in the reference at all")
        elif got not in variants:
            problems.setdefault((key, got), f"{key}: fields {list(got)} match no variant")
    return sorted(problems.values())
