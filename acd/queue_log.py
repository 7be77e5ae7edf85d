"""Asterisk queue_log: parsing, per-queue legs, and tailing the file.

queue_log is app_queue's own record (plus the lines our dialplan writes with QueueLog():
ENTERQUEUE+EXITEMPTY for a JOINEMPTY caller and CALLBACKREQ). It survives an AMI outage, so
it is what closes calls whose end the tracker missed, and it is the reference for wait and
talk times (whole seconds, as the captures' expected.json uses them).

Line format: ``epoch|callid|queue|agent|event|data1|data2|…``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from acd.line_tail import LineTail, parse_each, read_lines
from acd.records import Outcome

log = logging.getLogger(__name__)

# Names of the data fields per event (README of the captures, app_queue docs).
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "ENTERQUEUE": ("url", "callerid", "position"),
    "CONNECT": ("holdtime", "bridged_uniqueid", "ringtime"),
    "COMPLETECALLER": ("holdtime", "calltime", "origpos"),
    "COMPLETEAGENT": ("holdtime", "calltime", "origpos"),
    "ABANDON": ("position", "origpos", "waittime"),
    "EXITWITHTIMEOUT": ("position", "origpos", "waittime"),
    "EXITEMPTY": ("position", "origpos", "waittime"),
    "EXITWITHKEY": ("key", "position", "origpos", "waittime"),
    "RINGNOANSWER": ("ringtime_ms",),
    "RINGCANCELED": ("ringtime_ms",),
    "BLINDTRANSFER": ("extension", "context", "holdtime", "calltime", "origpos"),
    "ATTENDEDTRANSFER": ("method", "target", "detail", "holdtime", "calltime", "origpos"),
    "ADDMEMBER": ("paused",),
    "REMOVEMEMBER": (),
    "PAUSE": ("reason",),
    "UNPAUSE": ("reason",),
    "PAUSEALL": ("reason",),
    "UNPAUSEALL": ("reason",),
    "PENALTY": ("penalty",),
    "CALLBACKREQ": ("callernum",),
    "QUEUESTART": (),
    "CONFIGRELOAD": (),
}

# callid values of lines that are not about a call.
NO_CALL = frozenset({"NONE", "MANAGER", ""})


class QueueLogError(ValueError):
    """A line that is not a queue_log line."""


@dataclass(frozen=True, slots=True)
class QueueLogEntry:
    time: int
    callid: str
    queue: str
    agent: str
    event: str
    data: tuple[str, ...] = ()

    def get(self, name: str) -> str | None:
        """A data field by its name in EVENT_FIELDS (``holdtime``, ``calltime``…)."""
        names = EVENT_FIELDS.get(self.event, ())
        if name not in names:
            return None
        index = names.index(name)
        # ATTENDEDTRANSFER's middle part varies in length; its times are always last.
        if self.event == "ATTENDEDTRANSFER" and name in ("holdtime", "calltime", "origpos"):
            index = len(self.data) - (len(names) - index)
        return self.data[index] if 0 <= index < len(self.data) else None

    def get_int(self, name: str) -> int | None:
        value = self.get(name)
        try:
            return int(value) if value not in (None, "") else None
        except ValueError:
            return None

    @property
    def is_call(self) -> bool:
        return self.callid not in NO_CALL

    def to_line(self) -> str:
        return "|".join(
            (str(self.time), self.callid, self.queue, self.agent, self.event, *self.data)
        )


def parse_line(line: str) -> QueueLogEntry:
    """Parse one line; raises QueueLogError for anything that is not a queue_log line."""
    text = line.rstrip("\r\n")
    parts = text.split("|")
    if len(parts) < 5:
        raise QueueLogError(f"too few fields: {text[:80]!r}")
    stamp, callid, queue, agent, event, *data = parts
    try:
        time = int(stamp)
    except ValueError:
        raise QueueLogError(f"bad epoch {stamp[:20]!r}") from None
    if time < 0 or not event or not event.replace("_", "").isalnum() or not event.isupper():
        raise QueueLogError(f"bad event {event[:20]!r}")
    return QueueLogEntry(time, callid, queue, agent, event, tuple(data))


def parse_lines(lines: Iterable[str], *, source: str = "queue_log") -> list[QueueLogEntry]:
    """Parse lines one by one, skipping (and logging) blank and malformed ones."""
    return parse_each(lines, parse_line, QueueLogError, source)


def read_queue_log(path: str | Path) -> list[QueueLogEntry]:
    return read_lines(path, lambda lines, source: parse_lines(lines, source=source))


@dataclass(slots=True)
class QueueLeg:
    """One caller's stay in one queue, as queue_log tells it."""

    callid: str
    queue: str
    leg: int
    entered_at: int
    caller_num: str | None = None
    outcome: Outcome | None = None
    wait_s: int | None = None
    talk_s: int | None = None
    answered_by: str | None = None
    hangup_by: str | None = None
    connected_at: int | None = None
    ended_at: int | None = None
    ring_no_answer: list[str] = field(default_factory=list)
    callback_requested: bool = False
    # Where a blind transfer sent the caller (``extension@context``), as the live tracker says.
    transfer_to: str | None = None
    # Closed because the caller entered another queue (AMI Redirect); app_queue's own
    # closing line for this leg comes much later and over-counts the talk time.
    redirected: bool = False

    @property
    def closed(self) -> bool:
        return self.outcome is not None


_CLOSING: dict[str, tuple[Outcome, str | None]] = {
    "ABANDON": ("abandoned", "caller"),
    "EXITWITHTIMEOUT": ("timeout", None),
    "EXITEMPTY": ("joinempty", None),
    "EXITWITHKEY": ("abandoned", "caller"),
}


def legs_from_queue_log(entries: Iterable[QueueLogEntry]) -> list[QueueLeg]:
    """Per callid and queue visit, the legs with the outcome/wait/talk/agent/hangup rules of
    the captures' expected.json; open legs (no closing line yet) have ``outcome`` None."""
    legs: list[QueueLeg] = []
    by_call: dict[str, list[QueueLeg]] = {}

    def current(entry: QueueLogEntry) -> QueueLeg | None:
        for leg in reversed(by_call.get(entry.callid, ())):
            if leg.queue == entry.queue:
                return leg
        return None

    def transferred(entry: QueueLogEntry) -> QueueLeg | None:
        """The leg a transfer line closes: app_queue may log it after the ENTERQUEUE of the
        queue the caller was sent to (same second, seen on Asterisk 22), which closed the
        leg already; and that queue may be the same one. The latest leg of this queue whose
        caller was talking to this agent, not yet closed by its own line."""
        for leg in reversed(by_call.get(entry.callid, ())):
            if (
                leg.queue == entry.queue
                and leg.answered_by == entry.agent
                and (not leg.closed or leg.redirected)
            ):
                return leg
        return current(entry)

    for entry in entries:
        if not entry.is_call:
            continue
        event = entry.event
        if event == "ENTERQUEUE":
            previous = by_call.get(entry.callid, [])
            if previous and not previous[-1].closed:
                _close_for_next_queue(previous[-1], entry.time)
            leg = QueueLeg(
                entry.callid,
                entry.queue,
                len(previous),
                entry.time,
                caller_num=entry.get("callerid") or None,
            )
            by_call.setdefault(entry.callid, []).append(leg)
            legs.append(leg)
            continue
        found = transferred(entry) if event in _TRANSFERS else current(entry)
        if found is None:
            log.debug("queue_log %s for %s without ENTERQUEUE", event, entry.callid)
            continue
        leg = found
        if event == "CALLBACKREQ":
            leg.callback_requested = True
        if event in _TRANSFERS and leg.redirected and leg.outcome == "transferred":
            # closed at the next queue's ENTERQUEUE: the transfer's own line has the talk time
            _apply_transfer(leg, entry)
            leg.redirected = False
            continue
        if leg.closed:
            continue
        if event == "CONNECT":
            leg.answered_by = entry.agent
            leg.wait_s = entry.get_int("holdtime")
            leg.connected_at = entry.time
        elif event == "RINGNOANSWER":
            leg.ring_no_answer.append(entry.agent)
        elif event in ("COMPLETECALLER", "COMPLETEAGENT"):
            leg.outcome = "answered"
            leg.hangup_by = "caller" if event == "COMPLETECALLER" else "agent"
            leg.talk_s = entry.get_int("calltime")
            leg.answered_by = leg.answered_by or entry.agent
            leg.ended_at = entry.time
        elif event in _TRANSFERS:
            _apply_transfer(leg, entry)
        elif event in _CLOSING:
            leg.outcome, leg.hangup_by = _CLOSING[event]
            leg.wait_s = entry.get_int("waittime")
            leg.ended_at = entry.time
    return legs


_TRANSFERS = ("BLINDTRANSFER", "ATTENDEDTRANSFER")


def _apply_transfer(leg: QueueLeg, entry: QueueLogEntry) -> None:
    leg.outcome = "transferred"
    leg.talk_s = entry.get_int("calltime")
    leg.answered_by = leg.answered_by or entry.agent
    leg.ended_at = entry.time
    if entry.event == "BLINDTRANSFER":
        leg.transfer_to = f"{entry.get('extension')}@{entry.get('context')}"


def _close_for_next_queue(leg: QueueLeg, now: int) -> None:
    leg.redirected = True
    leg.ended_at = now
    if leg.answered_by is not None:
        leg.outcome = "transferred"
        leg.talk_s = max(0, now - (leg.connected_at or now))
    else:
        leg.outcome = "abandoned"
        leg.wait_s = max(0, now - leg.entered_at)


class QueueLogTail(LineTail[QueueLogEntry]):
    """The queue_log lines appended since a saved ``(inode, offset)`` position (see LineTail)."""

    def __init__(self, path: str | Path, position: tuple[int, int] | None = None) -> None:
        super().__init__(path, _parse_batch, position)


def _parse_batch(lines: list[str], source: str) -> list[QueueLogEntry]:
    return parse_lines(lines, source=source)
