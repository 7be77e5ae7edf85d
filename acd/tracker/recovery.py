"""Reading the PBX's answers after an AMI reconnect: CoreShowChannels and QueueStatus.

These list events have no Timestamp; they describe the PBX at the moment it answered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from acd.ami.message import AmiMessage


def parse_duration(value: str | None) -> int:
    """CoreShowChannel ``Duration`` (``HH:MM:SS``) in seconds; 0 when unreadable."""
    try:
        hours, minutes, seconds = (int(part) for part in (value or "").split(":"))
    except ValueError:
        return 0
    return hours * 3600 + minutes * 60 + seconds


@dataclass(slots=True)
class QueueSnapshot:
    """Who waits in which queue (QueueEntry) and the members' state (QueueMember)."""

    entries: dict[str, dict[str, str]] = field(default_factory=dict)
    members: list[dict[str, str]] = field(default_factory=list)
    complete: bool = False


def live_channels(events: Iterable[AmiMessage]) -> dict[str, dict[str, str]] | None:
    """Uniqueid → CoreShowChannel headers of the channels that exist on the PBX; None when
    the answer is not a complete list (an error response, a cut-off list): then nobody can
    tell which calls are gone."""
    out: dict[str, dict[str, str]] = {}
    complete = False
    for msg in events:
        name = msg.name
        if name == "CoreShowChannel":
            headers = dict(msg.fields)
            uid = headers.get("Uniqueid")
            if uid:
                out[uid] = headers
        elif name == "CoreShowChannelsComplete":
            complete = True
    return out if complete else None


def queue_snapshot(events: Iterable[AmiMessage]) -> QueueSnapshot:
    snap = QueueSnapshot()
    for msg in events:
        name = msg.name
        if name == "QueueEntry":
            headers = dict(msg.fields)
            uid = headers.get("Uniqueid")
            if uid:
                snap.entries[uid] = headers
        elif name == "QueueMember":
            snap.members.append(dict(msg.fields))
        elif name == "QueueStatusComplete":
            snap.complete = True
    return snap
