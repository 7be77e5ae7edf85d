"""What Asterisk itself says about the calls of a `pbx` test, read from its own files and CLI,
independently of the project's code: queue_log lines, cdr_csv rows, the caller's Local
channels, and each queue_log call split into queue legs as app_queue wrote them."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.pbx.asterisk import Asterisk

# cdr_csv's columns with loguniqueid, loguserfield and newcdrcolumns (cdr_csv.c).
CDR_COLUMNS = (
    "accountcode src dst dcontext clid channel dstchannel lastapp lastdata start answer end "
    "duration billsec disposition amaflags uniqueid userfield peeraccount linkedid sequence"
).split()


async def until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:  # noqa: ASYNC109
    """Poll a condition on the loop's turns (the service runs on this loop), bounded."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := predicate()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)
    return value


def queue_log(ast: Asterisk) -> list[list[str]]:
    if not ast.queue_log.exists():
        return []
    return [line.split("|") for line in ast.queue_log.read_text().splitlines() if line]


def lines_of(ast: Asterisk, callid: str) -> list[list[str]]:
    """queue_log lines of one call (time|callid|queue|agent|event|data…), in order."""
    return [line for line in queue_log(ast) if line[1] == callid]


def events_of(ast: Asterisk, callid: str) -> dict[str, list[str]]:
    """The last queue_log line of each event of one call."""
    return {line[4]: line for line in lines_of(ast, callid)}


def entered(ast: Asterisk, caller: str) -> str | None:
    for line in queue_log(ast):
        if line[4] == "ENTERQUEUE" and len(line) > 6 and line[6] == caller:
            return line[1]
    return None


def cdr_rows(ast: Asterisk, uniqueid: str | None = None) -> list[dict[str, str]]:
    if not ast.cdr_csv.exists():
        return []
    with ast.cdr_csv.open(newline="") as handle:
        rows = [dict(zip(CDR_COLUMNS, row, strict=False)) for row in csv.reader(handle)]
    return [row for row in rows if uniqueid is None or row["uniqueid"] == uniqueid]


async def cli(ast: Asterisk, command: str) -> str:
    # Off the loop: the service's AMI feed and FastAGI IVR run on it.
    return await asyncio.to_thread(ast.cli, command)


async def caller_channels(ast: Asterisk, caller: str) -> dict[str, str]:
    """The caller's live Local halves, name → uniqueid (``;1`` the citizen, ``;2`` the
    hotline side that runs the IVR and Queue())."""
    listing = (await cli(ast, "core show channels concise")).splitlines()
    found = {}
    for line in listing:
        parts = line.split("!")
        if parts[0].startswith(f"Local/{caller}@robot-dial-") and len(parts) > 13:
            found[parts[0]] = parts[13]
    return found


async def hang_up(ast: Asterisk, caller: str) -> None:
    """The citizen puts the phone down (the ``;1`` half)."""
    for name in await caller_channels(ast, caller):
        if name.endswith(";1"):
            await cli(ast, f"channel request hangup {name}")


async def channel_var(ast: Asterisk, channel: str, name: str) -> str | None:
    """A channel variable as ``core show channel`` lists it (None: not set or no channel)."""
    try:
        shown = await cli(ast, f"core show channel {channel}")
    except RuntimeError:
        return None
    for line in shown.splitlines():
        line = line.strip()
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1]
    return None


@dataclass
class LogLeg:
    """One queue visit as app_queue (and the dialplan's QueueLog()) wrote it."""

    queue: str
    entered_at: int
    outcome: str | None = None
    wait_s: int | None = None
    talk_s: int | None = None
    agent: str | None = None
    hangup_by: str | None = None
    ring_no_answer: list[str] = field(default_factory=list)
    callback: bool = False
    transfer_to: str | None = None
    connected_at: int | None = None
    ended_at: int | None = None


def log_legs(lines: list[list[str]]) -> list[LogLeg]:
    """A call's queue_log lines as legs: ENTERQUEUE opens one; CONNECT, RINGNOANSWER and the
    closing event (COMPLETE*, ABANDON, EXITWITHTIMEOUT, EXITEMPTY, BLINDTRANSFER) fill it."""
    legs: list[LogLeg] = []
    for line in lines:
        at, queue, agent, event, data = int(line[0]), line[2], line[3], line[4], line[5:]
        if event == "ENTERQUEUE":
            legs.append(LogLeg(queue, at))
            continue
        # the leg of this line's queue: app_queue may log a leg's BLINDTRANSFER after the
        # ENTERQUEUE of the queue it sent the caller to (same second, seen for real)
        leg = next((leg for leg in reversed(legs) if leg.queue == queue), None)
        if leg is None:
            continue
        if event == "CONNECT":
            leg.agent, leg.wait_s, leg.connected_at = agent, int(data[0]), at
        elif event == "RINGNOANSWER":
            leg.ring_no_answer.append(agent)
        elif event in ("COMPLETECALLER", "COMPLETEAGENT"):
            leg.outcome, leg.talk_s, leg.ended_at = "answered", int(data[1]), at
            leg.hangup_by = "caller" if event == "COMPLETECALLER" else "agent"
        elif event == "BLINDTRANSFER":
            leg.outcome, leg.talk_s, leg.ended_at = "transferred", int(data[3]), at
            leg.transfer_to = f"{data[0]}@{data[1]}"
        elif event == "ABANDON":
            leg.outcome, leg.wait_s, leg.ended_at = "abandoned", int(data[2]), at
            leg.hangup_by = "caller"
        elif event == "EXITWITHTIMEOUT":
            leg.outcome, leg.wait_s, leg.ended_at = "timeout", int(data[2]), at
        elif event == "EXITEMPTY":
            leg.outcome, leg.wait_s, leg.ended_at = "joinempty", int(data[2]), at
        elif event == "CALLBACKREQ":
            leg.callback = True
    return legs


def legs_by_call(lines: list[list[str]]) -> dict[str, list[LogLeg]]:
    """Every call of a queue_log (member operations and QUEUESTART left out)."""
    calls: dict[str, list[list[str]]] = {}
    for line in lines:
        # member operations log NONE, MANAGER or CLI as the callid
        if line[1] not in ("NONE", "MANAGER", "CLI") and len(line) > 4:
            calls.setdefault(line[1], []).append(line)
    return {callid: log_legs(call_lines) for callid, call_lines in calls.items()}
