"""What Asterisk leaves of a call besides its AMI events, read back after an outage: the
CDR rows cdr_csv wrote for its channel (linkedid, caller, start, and what the IVR decided,
which the dialplan copies into the userfield) and the recording MixMonitor wrote. A call
whose events were missed is rebuilt from these, not just from queue_log's few fields."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from acd.cdr_csv import CdrEntry
from acd.tracker.core import Outbox
from acd.tracker.state import Call, TrackerState
from acd.tracker.variables import apply_var
from asterisk_conf.channel_vars import RECORDING_NAME, parse_userfield


class RecordingOf(Protocol):
    """A file the dialplan wrote for a call, by its uniqueid and the file's name pattern
    (MixMonitor's recording by default, or the callback step's message); None if absent."""

    def __call__(self, uniqueid: str, name: str = RECORDING_NAME) -> str | None: ...


def no_recordings(uniqueid: str, name: str = RECORDING_NAME) -> str | None:
    return None


def recordings_in(directory: Path | None) -> RecordingOf:
    """The dialplan's files of a call in ``directory`` (recording, callback message)."""
    if directory is None:
        return no_recordings

    def recording_of(uniqueid: str, name: str = RECORDING_NAME) -> str | None:
        path = directory / name.format(uniqueid=uniqueid)
        return str(path) if path.is_file() else None

    return recording_of


@dataclass(slots=True)
class CallTrace:
    """One channel's CDR rows, merged: a channel has one row per bridge segment."""

    linkedid: str
    channel: str
    started_at: float
    caller_num: str | None
    caller_name: str | None
    vars: dict[str, str] = field(default_factory=dict)


def traces_by_uniqueid(cdr: Iterable[CdrEntry]) -> dict[str, CallTrace]:
    traces: dict[str, CallTrace] = {}
    for entry in sorted(cdr, key=lambda e: (e.start, e.sequence)):
        trace = traces.get(entry.uniqueid)
        if trace is None:
            trace = traces[entry.uniqueid] = CallTrace(
                entry.linkedid, entry.channel, entry.start, entry.caller_num, entry.caller_name
            )
        # A later segment's userfield carries what was set last.
        trace.vars.update(parse_userfield(entry.userfield))
    return traces


def rebuilt_call(
    uniqueid: str, trace: CallTrace | None, caller_num: str | None, started_at: float
) -> Call:
    """A call the tracker never saw, for closing its legs like a tracked one."""
    if trace is None:
        call = Call(uniqueid, uniqueid, "", started_at, caller_num=caller_num)
    else:
        call = Call(
            uniqueid,
            trace.linkedid,
            trace.channel,
            trace.started_at,
            caller_num=trace.caller_num or caller_num,
            caller_name=trace.caller_name,
        )
    call.ivr_done = True
    return call


def fill_in(
    state: TrackerState,
    out: Outbox,
    call: Call,
    trace: CallTrace | None,
    recording_of: RecordingOf,
) -> None:
    """What a call's events would have told: the IVR's variables it does not know yet, and
    its recording."""
    if trace is not None:
        for name, value in trace.vars.items():
            if name not in call.vars:
                apply_var(state, out, call, name, value)
    if call.recording is None:
        call.recording = recording_of(call.uniqueid)
        if call.leg is not None and call.leg.recording is None:
            call.leg.recording = call.recording
