"""The channel variables the tracker reads from VarSet: what the IVR decided (the contract's
HOTLINE_* variables, asterisk_conf/channel_vars.py), the recording, and the AGI's and
Queue()'s results. One event, several concerns: `on_varset` sends each to its own."""

from __future__ import annotations

from collections.abc import Callable

from acd.tracker.core import Outbox, finish_ivr, send
from acd.tracker.queue_events import on_queue_status
from acd.tracker.state import Call, TrackerState, caller_id, int_or_none
from asterisk_conf.channel_vars import PATH_SEPARATOR, PREFIX
from events.topics import CALL_INCIDENT_REPORTED, CALL_SURVEY


def on_varset(state: TrackerState, h: dict[str, str], out: Outbox) -> None:
    var, value = h.get("Variable", ""), h.get("Value", "")
    call = state.calls.get(h.get("Uniqueid", ""))
    if var == state.survey_var:
        # After Queue(): the call may be a channel the tracker never followed (a survey
        # reached by transfer, or after a restart); the VarSet names its call itself.
        _on_survey(state, out, call, h, value)
        return
    if call is None:
        return
    apply_var(state, out, call, var, value)


def apply_var(state: TrackerState, out: Outbox, call: Call, var: str, value: str) -> None:
    """One channel variable of a call: from its VarSet, or learnt after an outage (Getvar on
    a live channel, the CDR userfield of a finished one)."""
    if var.startswith(PREFIX):
        call.vars[var] = value
        told = state.ivr_vars.get(var)
        if told is not None:
            _IVR_OUTCOME[told](state, out, call, value)
    elif var == "MIXMONITOR_FILENAME":
        call.recording = value or None
        if call.leg is not None:
            call.leg.recording = call.recording
    elif var == "AGISTATUS":
        finish_ivr(state, out, call, value)
    elif var == "QUEUESTATUS":
        on_queue_status(state, out, call, value)


# ------------------------------------------------ what the IVR decided (HOTLINE_*)


def _choice(state: TrackerState, out: Outbox, call: Call, value: str) -> None:
    if value != call.ivr_choice:
        call.ivr_path.append(value)
    call.ivr_choice = value


def _priority(state: TrackerState, out: Outbox, call: Call, value: str) -> None:
    call.priority = int_or_none(value)


def _path(state: TrackerState, out: Outbox, call: Call, value: str) -> None:
    call.menu_path = value.split(PATH_SEPARATOR) if value else []


def _digits(state: TrackerState, out: Outbox, call: Call, value: str) -> None:
    call.ivr_keys = value or None


def _language(state: TrackerState, out: Outbox, call: Call, value: str) -> None:
    call.language = value or None


def _callback(state: TrackerState, out: Outbox, call: Call, value: str) -> None:
    call.callback_requested = value == "1"


def _incident(state: TrackerState, out: Outbox, call: Call, value: str) -> None:
    if value and value != call.incident_id:
        call.incident_id = value
        # 并单: the call is merged into the incident's ticket (once per call).
        send(state, out, CALL_INCIDENT_REPORTED, call, incident_id=value)


# What each contract variable tells (the keys of `TrackerState.ivr_vars`' values).
_IVR_OUTCOME: dict[str, Callable[[TrackerState, Outbox, Call, str], None]] = {
    "choice": _choice,
    "priority": _priority,
    "path": _path,
    "digits": _digits,
    "language": _language,
    "callback": _callback,
    "incident": _incident,
}


def _on_survey(
    state: TrackerState, out: Outbox, call: Call | None, h: dict[str, str], answer: str
) -> None:
    if call is not None:
        if call.survey is not None:
            return  # the first answer counts (a repeated VarSet changes nothing)
        call.survey = answer
        send(state, out, CALL_SURVEY, call, answer=answer)
        return
    uid = h.get("Uniqueid", "")
    out.send(
        CALL_SURVEY,
        {
            "linkedid": h.get("Linkedid") or uid,
            "uniqueid": uid,
            "channel": h.get("Channel", ""),
            "caller_num": caller_id(h.get("CallerIDNum")),
            "caller_name": caller_id(h.get("CallerIDName")),
            "pbx": state.pbx,
            "at": state.clock,
            "answer": answer,
        },
    )
