"""The payload of every domain event, as a TypedDict per topic.

Payloads stay plain JSON-able dicts on the wire (bus, MQTT, WebSocket): a TypedDict types
them for the code that reads them without costing the AMI hot path a conversion. `PAYLOADS`
maps each topic to its shape, and `problems` checks a payload against it, so the tests hold
every publisher to this contract (tests/test_events.py and the capture/IVR recorders).

Times: the tracker's ``at`` and ``*_at`` are epoch seconds from Asterisk's own event
Timestamp; the IVR's are ISO 8601 strings with a zone.
"""

import types
import typing
from typing import Any, NotRequired, TypedDict

from events import topics as t

# ---- call.* (acd.calls.CallTracker) ----------------------------------------------------------


class CallIds(TypedDict):
    """What every call.* payload but call.ended starts with."""

    linkedid: str
    uniqueid: str
    channel: str
    caller_num: str | None
    caller_name: str | None
    # The PBX's name (Asterisk's systemname): ids are unique on one PBX only.
    pbx: str
    at: float


class CallStarted(CallIds):
    stage: str


class CallIvrFinished(CallIds):
    ivr_digits: str | None
    ivr_choice: str | None
    priority: int | None
    queue: str | None
    agi_status: str | None
    vars: dict[str, str]


class CallQueued(CallIds):
    queue: str | None
    position: int | None
    priority: int | None
    leg: int
    # Learnt during a resync after an AMI outage rather than seen live.
    recovered: NotRequired[bool]


class CallRinging(CallIds):
    """What a screen pop shows."""

    queue: str | None
    leg: int
    member: str | None
    interface: str | None
    agent_channel: str | None
    ivr_digits: str | None
    ivr_choice: str | None
    priority: int | None
    vars: dict[str, str]


class CallRingNoAnswer(CallIds):
    queue: str | None
    leg: int
    member: str
    interface: str | None
    ring_ms: int | None


class CallAnswered(CallIds):
    queue: str | None
    leg: int
    member: str | None
    interface: str | None
    agent_channel: str | None
    wait_s: int | None
    recovered: NotRequired[bool]


class CallAbandoned(CallIds):
    """Also sent for a Queue() timeout (app_queue reports both alike); call.ended tells."""

    queue: str | None
    leg: int
    position: int | None
    wait_s: int | None


class CallLeft(CallIds):
    queue: str | None
    leg: int
    position: int | None
    count: int | None


class CallSpied(CallIds):
    queue: str | None
    leg: int
    spyer_channel: str | None
    spyee_channel: str


class CallCallbackRequested(CallIds):
    queue: str | None


class CallIncidentReported(CallIds):
    """HOTLINE_INCIDENT set: the caller registered against a major-fault incident (并单)."""

    incident_id: str


class CallSurvey(CallIds):
    """HOTLINE_SURVEY set by the post-call survey (once per call)."""

    # satisfied, basically_satisfied, dissatisfied or none
    answer: str


class CallEnded(TypedDict):
    """One finished call leg: ``acd.records.CallRecord.to_json()``, exactly once per leg.

    Its field names are those of the captures' expected.json plus more; ``key`` is the
    leg's stable identity on its PBX (``uniqueid#leg``); ``pbx`` names that PBX.
    """

    linkedid: str
    uniqueid: str
    leg: int
    key: str
    caller_num: str | None
    caller_name: str | None
    ivr_digits: str | None
    ivr_choice: str | None
    ivr_path: list[str]
    priority: int | None
    queue: str | None
    outcome: str | None
    wait_s: int | None
    talk_s: int | None
    answered_by: str | None
    member_interface: str | None
    agent_channel: str | None
    ring_no_answer: list[str]
    hangup_by: str | None
    recording: str | None
    spied_by: str | None
    started_at: float | None
    ivr_ended_at: float | None
    queue_entered_at: float | None
    answered_at: float | None
    ended_at: float | None
    transferred_to: str | None
    recovered: bool
    vars: dict[str, str]
    incident_id: str | None
    callback_requested: bool
    language: str | None
    # The callback step's message (Record() file) of a leg Queue() gave up on.
    callback_message: str | None
    # False: the recording is a bare header (nobody answered); None: nothing recorded.
    recording_audio: bool | None
    # The Asterisk server the leg was on (uniqueids are unique per PBX only).
    pbx: str


# ---- agent.* ----------------------------------------------------------------------------------


class AgentState(TypedDict):
    """One queue member after an app_queue member event (``change`` says which)."""

    change: str
    queue: str | None
    member: str | None
    interface: str | None
    state_interface: str | None
    membership: str | None
    status: int | None
    status_text: str
    paused: bool
    reason: str | None
    penalty: int | None
    in_call: bool
    calls_taken: int | None
    last_call: int | None
    at: float


class AgentQueue(TypedDict):
    queue: str
    paused: bool
    reason: str | None
    penalty: int | None
    dynamic: bool


class AgentCall(TypedDict):
    uniqueid: str
    linkedid: str
    queue: str
    caller_num: str | None
    caller_name: str | None
    answered: bool
    since: float


class AgentStatus(TypedDict):
    """One agent's live state (``acd.agents.AgentBoard``), after each change.

    ``state``: logged_out, ready, ringing, talking, wrap_up or paused; ``reason`` the pause
    reason (wrap_up and paused); ``since`` when it entered that state (epoch seconds, the
    PBX's clock); ``previous`` the state before; ``change`` what happened (added, removed,
    pause, status, penalty, called, connected, completed, ring_no_answer, ring_ended,
    resync); ``call`` the call it rings or talks on.
    """

    pbx: str
    interface: str
    name: str
    state: str
    reason: str | None
    since: float
    previous: str
    change: str
    queues: list[AgentQueue]
    call: AgentCall | None
    at: float


# ---- ivr.* (ivr.app.IvrApplication) -----------------------------------------------------------


class IvrFinished(TypedDict):
    """The IVR's outcome of one call (the same values travel as HOTLINE_* channel vars)."""

    linkedid: str
    uniqueid: str
    caller_number: str
    path: list[str]
    choice: str | None
    digits: str
    queue: str | None
    priority: int
    incident: str | None
    callback_requested: bool
    language: str
    district: str | None
    # The blocklist entry that turned a nuisance caller away (notice, recorded, hung up).
    blocked: int | None
    # queue, hangup, caller_hangup, timeout or error
    ended: str
    started_at: str
    finished_at: str


class IvrIncidentReport(TypedDict):
    """A caller pressed "this is why I call" on a major-fault announcement (并单)."""

    linkedid: str
    uniqueid: str
    incident_id: str
    caller_number: str
    at: str
    merged_callers: int


class IvrSurvey(TypedDict):
    linkedid: str
    uniqueid: str
    caller_number: str
    # satisfied, basically_satisfied, dissatisfied; None: no valid answer
    answer: str | None
    digit: str | None
    keys: str
    at: str


# ---- incident.* -------------------------------------------------------------------------------


class IncidentJson(TypedDict):
    """``ivr.incidents.Incident.to_json()``: a major-fault announcement."""

    id: str
    title: str
    text: str
    prompt: str
    start: str
    expected_end: str | None
    prefixes: list[str]
    districts: list[str]
    branch: str | None
    status: str
    ended_at: str | None
    merged_callers: int


# ---- case.* ------------------------------------------------------------------------------------


class CaseChase(TypedDict):
    """A chase (催办) or an escalation (督办) the scheduler did to a case, once per key."""

    case_id: int
    number: str
    status: str
    level: str  # due_soon, overdue, sign_overdue, repeat
    handling_unit: str | None
    due_at: str | None  # ISO 8601, UTC: the deadline the chase is about
    at: str  # ISO 8601, UTC


# ---- warning.* ---------------------------------------------------------------------------------


class WarningSuggestion(TypedDict):
    """A suggested incident (``warning.suggestions.Suggestion.to_json()``): many calls of one
    menu branch or category from one area within the window, against the same hour's baseline.
    """

    id: str
    status: str  # open, accepted, dismissed
    area: str  # the area's name ("东区", or a number prefix "1390571…")
    area_key: str
    prefixes: list[str]  # the caller-number prefixes the area is (an incident's prefixes)
    kind: str  # branch (HOTLINE_CHOICE) or category (HOTLINE_CATEGORY)
    value: str
    calls: int  # calls in the window when last counted
    expected: float  # what the baseline expects in such a window
    threshold: float  # calls in a window that make a burst
    window_s: float
    first_call_at: str  # ISO 8601, UTC: the window's first and last calls
    last_call_at: str
    raised_at: str
    incident_id: str | None  # the announcement it became (accepted)
    decided_by: str | None
    decided_at: str | None
    reason: str | None  # why it was dismissed


# ---- kpi.* ------------------------------------------------------------------------------------

# The live KPI figures as acd.kpi's snapshot serialises them (each with formula and parts).
KpiSnapshot = dict[str, Any]


PAYLOADS: dict[str, Any] = {
    t.CALL_STARTED: CallStarted,
    t.CALL_IVR_FINISHED: CallIvrFinished,
    t.CALL_QUEUED: CallQueued,
    t.CALL_RINGING: CallRinging,
    t.CALL_RING_NO_ANSWER: CallRingNoAnswer,
    t.CALL_ANSWERED: CallAnswered,
    t.CALL_ABANDONED: CallAbandoned,
    t.CALL_LEFT: CallLeft,
    t.CALL_SPIED: CallSpied,
    t.CALL_CALLBACK_REQUESTED: CallCallbackRequested,
    t.CALL_INCIDENT_REPORTED: CallIncidentReported,
    t.CALL_SURVEY: CallSurvey,
    t.CALL_ENDED: CallEnded,
    t.AGENT_STATE: AgentState,
    t.AGENT_STATUS: AgentStatus,
    t.IVR_FINISHED: IvrFinished,
    t.IVR_INCIDENT_REPORT: IvrIncidentReport,
    t.IVR_SURVEY: IvrSurvey,
    t.INCIDENT_CREATED: IncidentJson,
    t.INCIDENT_ENDED: IncidentJson,
    t.CASE_CHASED: CaseChase,
    t.CASE_ESCALATED: CaseChase,
    t.WARNING_SUGGESTED: WarningSuggestion,
    t.WARNING_ACCEPTED: WarningSuggestion,
    t.WARNING_DISMISSED: WarningSuggestion,
    t.KPI_SNAPSHOT: KpiSnapshot,
}


def problems(topic: str, payload: dict[str, Any]) -> list[str]:
    """What is wrong with ``payload`` as an event of ``topic`` (empty when it conforms).

    Checks the keys (none missing, none unknown) and the value types shallowly (``int``,
    ``str``, ``bool``, ``float``, ``list``, ``dict``, ``None``): enough to catch a renamed
    field or a datetime where an ISO string belongs, cheap enough for every test event.
    """
    shape = PAYLOADS.get(topic)
    if shape is None:
        return [f"unknown topic {topic!r}"]
    if not typing.is_typeddict(shape):
        return [] if isinstance(payload, dict) else [f"{topic}: payload is not a dict"]
    hints = typing.get_type_hints(shape)
    required: frozenset[str] = shape.__required_keys__
    found: list[str] = []
    found += [f"{topic}: {key} missing" for key in sorted(required - payload.keys())]
    found += [f"{topic}: {key} unknown" for key in sorted(payload.keys() - hints.keys())]
    for key, value in payload.items():
        hint = hints.get(key)
        if hint is not None and not _fits(value, hint):
            found.append(f"{topic}: {key}={value!r} is not {hint}")
    return found


def _fits(value: Any, hint: Any) -> bool:
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin is NotRequired:
        return _fits(value, typing.get_args(hint)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    target = origin or hint
    if typing.is_typeddict(target):
        return isinstance(value, dict)  # shallow: a nested shape is a dict
    if target is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if target is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, target)
