"""The IVR stage of a call as the AMI stream shows it: which key presses the IVR read
(DTMF during digit-reading AGI commands), and the IVR's own report merged in."""

from __future__ import annotations

from typing import Any

from acd.tracker.core import TrackerCore, log
from acd.tracker.ivr_outcome import merge_ivr_outcome

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


class IvrEvents(TrackerCore):
    """DTMFEnd / AGIExecStart / AGIExecEnd handlers and `apply_ivr_outcome`."""

    def _on_dtmf(self, h: dict[str, str]) -> None:
        call = self.calls.get(h.get("Uniqueid", ""))
        if call is None or call.ivr_done or h.get("Direction", "Received") != "Received":
            return
        if call.reading or not call.agi_seen:
            call.digits.append(h.get("Digit", ""))

    def _on_agi_start(self, h: dict[str, str]) -> None:
        call = self.calls.get(h.get("Uniqueid", ""))
        if call is None:
            return
        call.agi_seen = True
        if reads_digits(h.get("Command", "")):
            call.reading.add(h.get("CommandId", ""))

    def _on_agi_end(self, h: dict[str, str]) -> None:
        call = self.calls.get(h.get("Uniqueid", ""))
        if call is not None:
            call.reading.discard(h.get("CommandId", ""))

    def apply_ivr_outcome(self, payload: dict[str, Any]) -> None:
        """Merge an ``ivr.finished`` payload into the live call it belongs to.

        Found by ``uniqueid`` (the AGI channel), else by ``linkedid``. Sets what the IVR knows
        and the AMI stream does not (the nodes walked, the incident merged into, a callback
        request, the language) on every leg the call emits from now on. The IVR usually
        finishes before the AMI events of its channel have all arrived, sometimes before the
        call started here: such outcomes wait in a small bounded map for the call to show up.
        """
        uid = str(payload.get("uniqueid") or "")
        linkedid = str(payload.get("linkedid") or "")
        call = self.calls.get(uid) if uid else None
        if call is None and linkedid:
            call = next((c for c in self.calls.values() if c.linkedid == linkedid), None)
        if call is not None:
            self._pending_ivr.forget(call)
            merge_ivr_outcome(call, payload)
            return
        if uid and self.was_emitted(f"{uid}#0"):
            log.info("IVR outcome for %s came after its call record; not merged", uid)
            return
        self._pending_ivr.hold({uid, linkedid} - {""}, payload, self.clock)
