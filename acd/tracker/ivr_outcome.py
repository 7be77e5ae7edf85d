"""The IVR's own report of a call (the ``ivr.finished`` payload): merged into the tracked
call, or held until the call shows up, since the AMI stream lags the IVR."""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from acd.tracker.state import Call

log = logging.getLogger("acd.calls")

# Outcomes whose call the tracker has not seen yet: kept this many, for this many seconds of
# PBX time, then dropped with a log line.
PENDING_IVR_MAX = 2_000
PENDING_IVR_S = 300.0


def merge_ivr_outcome(call: Call, payload: dict[str, Any]) -> None:
    """Set what the IVR knows and the AMI stream does not on `call`."""
    path = payload.get("path")
    if isinstance(path, list):
        call.reported_path = [str(node) for node in path]
    choice, digits = payload.get("choice"), payload.get("digits")
    call.reported_choice = str(choice) if choice else None
    call.reported_digits = str(digits) if digits else None
    incident = payload.get("incident")
    call.incident_id = str(incident) if incident else None
    call.callback_requested = bool(payload.get("callback_requested"))
    language = payload.get("language")
    call.language = str(language) if language else None


class PendingIvrOutcomes:
    """Outcomes waiting for their call, keyed by uniqueid and linkedid; bounded in size and
    age so outcomes of calls the tracker never sees cannot pile up."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        # uniqueid and linkedid → (PBX clock when it came, ivr.finished payload).
        self._pending: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, key: object) -> bool:
        return key in self._pending

    def claim(self, call: Call) -> dict[str, Any] | None:
        """The outcome waiting for `call` (by uniqueid, else linkedid), forgotten from now."""
        pending = self._pending.pop(call.uniqueid, None) or self._pending.pop(call.linkedid, None)
        self.forget(call)
        return pending[1] if pending is not None else None

    def forget(self, call: Call) -> None:
        for key in (call.uniqueid, call.linkedid):
            self._pending.pop(key, None)

    def hold(self, keys: set[str], payload: dict[str, Any], now: float) -> None:
        pending = self._pending
        while pending and (
            len(pending) + len(keys) > PENDING_IVR_MAX
            or next(iter(pending.values()))[0] < now - PENDING_IVR_S
        ):
            key, (_, dropped) = pending.popitem(last=False)
            log.warning(
                "IVR outcome for %s never met its call; dropped (path %s)", key, dropped.get("path")
            )
        for key in keys:
            pending[key] = (now, payload)
