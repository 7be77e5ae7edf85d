"""The IVR stage of a call as the AMI stream shows it: which key presses the IVR read
(DTMF during digit-reading AGI commands). What the IVR decided comes as HOTLINE_* VarSets
(acd.tracker.variables). Handlers: ``(state, headers, out) -> None``."""

from __future__ import annotations

from acd.tracker.core import Outbox
from acd.tracker.state import TrackerState

_DIGIT_COMMANDS = ("GET DATA", "GET OPTION", "WAIT FOR DIGIT")


def reads_digits(command: str) -> bool:
    """Whether an AGI command returns the caller's key presses (GET DATA and friends).

    STREAM FILE only does when given escape digits: the IVR's ``STREAM FILE hello-world ""``
    ignores keys, and a key pressed then is not what the IVR received.
    """
    upper = command.upper()
    if upper.startswith(_DIGIT_COMMANDS):
        return True
    if upper.startswith(("STREAM FILE", "CONTROL STREAM FILE")):
        parts = command.split()
        offset = 3 if upper.startswith("STREAM") else 4
        return len(parts) > offset and parts[offset].strip('"') != ""
    return False


def on_dtmf(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    call = state.calls.get(h.get("Uniqueid", ""))
    if call is None or call.ivr_done or h.get("Direction", "Received") != "Received":
        return
    if call.reading or not call.agi_seen:
        call.digits.append(h.get("Digit", ""))


def on_agi_start(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    call = state.calls.get(h.get("Uniqueid", ""))
    if call is None:
        return
    call.agi_seen = True
    if reads_digits(h.get("Command", "")):
        call.reading.add(h.get("CommandId", ""))


def on_agi_end(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    call = state.calls.get(h.get("Uniqueid", ""))
    if call is not None:
        call.reading.discard(h.get("CommandId", ""))
