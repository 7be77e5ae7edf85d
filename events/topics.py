"""Every domain-event topic, spelled once.

The bus, the MQTT bridge (``call.answered`` → ``hotline/call/answered``) and every room use
these names; no other module spells a topic as a string (tests/test_events.py checks it).
Adding a topic means: a constant here, its payload in `events.payloads`, and a row in the
README's event table.
"""

from __future__ import annotations

from typing import Final

# ---- call.*: the AMI call tracker (acd), one ordered stream per PBX -------------------------
CALL_STARTED: Final = "call.started"
CALL_IVR_FINISHED: Final = "call.ivr_finished"
CALL_QUEUED: Final = "call.queued"
CALL_RINGING: Final = "call.ringing"
CALL_RING_NO_ANSWER: Final = "call.ring_no_answer"
CALL_ANSWERED: Final = "call.answered"
CALL_ABANDONED: Final = "call.abandoned"
CALL_LEFT: Final = "call.left"
CALL_SPIED: Final = "call.spied"
CALL_CALLBACK_REQUESTED: Final = "call.callback_requested"
# From the IVR's HOTLINE_INCIDENT / HOTLINE_SURVEY channel variables (AMI VarSet).
CALL_INCIDENT_REPORTED: Final = "call.incident_reported"
CALL_SURVEY: Final = "call.survey"
CALL_ENDED: Final = "call.ended"

# ---- agent.*: queue members as app_queue reports them (acd) ----------------------------------
AGENT_STATE: Final = "agent.state"
# One agent's live state (acd.agents.AgentBoard): logged out, ready, ringing, talking, wrap-up,
# paused with a reason, and since when.
AGENT_STATUS: Final = "agent.status"

# ---- ivr.*: the FastAGI IVR (ivr) ------------------------------------------------------------
IVR_FINISHED: Final = "ivr.finished"
IVR_INCIDENT_REPORT: Final = "ivr.incident_report"
IVR_SURVEY: Final = "ivr.survey"

# ---- incident.*: major-fault announcements (web API, MQTT input) ------------------------------
INCIDENT_CREATED: Final = "incident.created"
INCIDENT_ENDED: Final = "incident.ended"

# ---- case.*: the case workflow's chase scheduler (ticketing.workflow.chasing) ----------------
CASE_CHASED: Final = "case.chased"  # 催办: due soon, overdue, not signed, repeated
CASE_ESCALATED: Final = "case.escalated"  # 督办: overdue or repeated, to the supervisors

# ---- warning.*: early warning of a likely outage (warning): a burst of similar calls from
# one area raised as a suggested incident, then accepted (announced) or dismissed ----------------
WARNING_SUGGESTED: Final = "warning.suggested"
WARNING_ACCEPTED: Final = "warning.accepted"
WARNING_DISMISSED: Final = "warning.dismissed"

# ---- kpi.*: the live KPI figures (retained on MQTT) -------------------------------------------
KPI_SNAPSHOT: Final = "kpi.snapshot"

TOPICS: Final[tuple[str, ...]] = (
    CALL_STARTED,
    CALL_IVR_FINISHED,
    CALL_QUEUED,
    CALL_RINGING,
    CALL_RING_NO_ANSWER,
    CALL_ANSWERED,
    CALL_ABANDONED,
    CALL_LEFT,
    CALL_SPIED,
    CALL_CALLBACK_REQUESTED,
    CALL_INCIDENT_REPORTED,
    CALL_SURVEY,
    CALL_ENDED,
    AGENT_STATE,
    AGENT_STATUS,
    IVR_FINISHED,
    IVR_INCIDENT_REPORT,
    IVR_SURVEY,
    INCIDENT_CREATED,
    INCIDENT_ENDED,
    CASE_CHASED,
    CASE_ESCALATED,
    WARNING_SUGGESTED,
    WARNING_ACCEPTED,
    WARNING_DISMISSED,
    KPI_SNAPSHOT,
)

# ---- subscription patterns (the bus matches fnmatch-style) ------------------------------------
EVERY_TOPIC: Final = "*"
CALL_EVERY: Final = "call.*"  # every call.* topic, in one ordered subscription
CASE_EVERY: Final = "case.*"  # the chase scheduler's notices
