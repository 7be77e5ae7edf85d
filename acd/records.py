"""The call record (登记单 source): what the tracker knows about one call and queue leg.

The JSON form of a record (``CallRecord.to_json()``) is the contract with the rest of the
system: it uses the field names and value conventions of the Asterisk captures'
``expected.json`` (plus extra fields), so that `ticketing`, the KPI engine and the MQTT bridge
can consume it without importing this package.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

# The PBX of a call when only one is configured (and of calls stored before there were several).
DEFAULT_PBX = "pbx1"

Outcome = Literal["answered", "abandoned", "timeout", "joinempty", "ivr_hangup", "transferred"]
OUTCOMES: tuple[str, ...] = (
    "answered",
    "abandoned",
    "timeout",
    "joinempty",
    "ivr_hangup",
    "transferred",
)

# The fields of the captures' expected.json, in their order.
EXPECTED_FIELDS: tuple[str, ...] = (
    "linkedid",
    "uniqueid",
    "caller_num",
    "caller_name",
    "ivr_digits",
    "queue",
    "queue_entered_at",
    "outcome",
    "wait_s",
    "answered_by",
    "member_interface",
    "ring_no_answer",
    "talk_s",
    "hangup_by",
    "recording",
    "spied_by",
)


@dataclass(slots=True)
class CallRecord:
    """One call and queue leg. A call that visited two queues has two records (leg 0, 1)."""

    linkedid: str
    uniqueid: str
    leg: int = 0
    caller_num: str | None = None
    caller_name: str | None = None
    ivr_digits: str | None = None
    # HOTLINE_CHOICE / HOTLINE_PRIORITY and any other HOTLINE_* variables set by the IVR.
    ivr_choice: str | None = None
    ivr_path: list[str] = field(default_factory=list)
    priority: int | None = None
    queue: str | None = None
    outcome: Outcome | None = None
    wait_s: int | None = None
    talk_s: int | None = None
    answered_by: str | None = None
    member_interface: str | None = None
    agent_channel: str | None = None
    ring_no_answer: list[str] = field(default_factory=list)
    # caller, agent, or ivr (the IVR ended the call: emergency guidance, a night callback)
    hangup_by: str | None = None
    recording: str | None = None
    spied_by: str | None = None
    # Epoch seconds (Asterisk's own event Timestamp where available).
    started_at: float | None = None
    ivr_ended_at: float | None = None
    queue_entered_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    transferred_to: str | None = None
    # True when the call was closed from queue_log after an AMI outage.
    recovered: bool = False
    vars: dict[str, str] = field(default_factory=dict)
    # The IVR session's outcome, merged in by the tracker: the major-fault incident the caller
    # was merged into (并单, the call was deflected), whether they asked to be called back,
    # and the menu language they chose.
    incident_id: str | None = None
    callback_requested: bool = False
    language: str | None = None
    # The message a caller left at the dialplan's callback step (its Record() file), for
    # whoever calls back.
    callback_message: str | None = None
    # Whether ``recording`` holds conversation: MixMonitor (option b) writes audio only while
    # the caller is bridged to an agent, so a call nobody answered leaves a bare WAV header.
    # None when nothing was recorded.
    recording_audio: bool | None = None
    # The Asterisk the call went through (settings' PBX name): uniqueids are unique per
    # Asterisk only, so a leg's identity across PBXs is (pbx, key).
    pbx: str = DEFAULT_PBX

    @property
    def key(self) -> str:
        """Identity of this leg on its PBX: the same call replayed twice has the same key."""
        return f"{self.uniqueid}#{self.leg}"

    def to_json(self) -> dict[str, Any]:
        # Field by field, not dataclasses.asdict(): its generic deep copy made ~40 calls per
        # record, and every leg is converted twice (the store, call.ended). The containers
        # are copied, so the JSON never shares a list or dict with the record.
        data = {name: getattr(self, name) for name in _RECORD_FIELDS}
        data["ivr_path"] = list(self.ivr_path)
        data["ring_no_answer"] = list(self.ring_no_answer)
        data["vars"] = dict(self.vars)
        data["key"] = f"{self.uniqueid}#{self.leg}"
        return data

    def expected_view(self) -> dict[str, Any]:
        """The subset of fields the captures' expected.json lists, in its order."""
        data = self.to_json()
        return {name: data[name] for name in EXPECTED_FIELDS}


_RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(CallRecord))
