"""What a screen pop shows, built from the tracker's ``call.ringing`` (events.payloads.CallRinging)
and, a moment later, from the store: the caller's tickets of the last 30 days and the active
incidents for their area or menu branch.

A pop is two steps on purpose: the call's own facts go to the agent's desk the instant the
phone rings (no database on that path), the history follows when the store has answered, so
a slow store never delays the ring.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol

from asterisk_conf import channel_vars as cv
from hotline.web.caller_mask import caller_number_for
from ivr.incidents import Incident, IncidentError

log = logging.getLogger(__name__)

HISTORY_DAYS = 30

# Ticket fields a pop shows; the caller's own number is left out (it is the pop's number).
_TICKET_FIELDS = ("number", "category", "status", "urgency", "district", "subject", "created_at")


class PopSources(Protocol):
    """Where a pop's history comes from (ticketing.store.TicketStore provides it)."""

    async def recent_tickets_for_caller(
        self, number: str, days: int = HISTORY_DAYS, *, now: datetime | None = None
    ) -> list[dict[str, Any]]: ...

    async def incidents(self, active_only: bool = False) -> list[dict[str, Any]]: ...


def priority_reason(priority: int | None, choice: str | None, variables: Mapping[str, str]) -> str:
    """Why the caller has this queue priority, in the desk's two languages.

    The IVR sets HOTLINE_PRIORITY from the menu choice that routed the call (ivr.engine), so
    the choice is the reason; the degraded path and emergencies name themselves.
    """
    if not priority:
        return "普通 normal"
    if choice == cv.FALLBACK_CHOICE:
        return f"备用路径 degraded path (priority {priority})"
    if choice and choice.startswith("emergency-"):
        return f"紧急提示后转人工 after the emergency notice ({choice}, priority {priority})"
    category = variables.get(cv.CATEGORY.name)
    what = f"{choice} / {category}" if category else (choice or "?")
    return f"菜单选择 menu choice {what} (priority {priority})"


def ivr_path(variables: Mapping[str, str]) -> list[str]:
    path = variables.get(cv.PATH.name) or ""
    return [node for node in path.split(cv.PATH_SEPARATOR) if node]


def base_pop(ringing: Mapping[str, Any], queued_at: float | None) -> dict[str, Any]:
    """The pop from the ringing event alone (numbers still in full: masking is per screen)."""
    variables = dict(ringing.get("vars") or {})
    at = float(ringing["at"])
    wait_s = None if queued_at is None else max(0, round(at - queued_at))
    return {
        "pbx": ringing.get("pbx"),
        "linkedid": ringing["linkedid"],
        "uniqueid": ringing["uniqueid"],
        "number": ringing.get("caller_num"),
        "name": ringing.get("caller_name"),
        "queue": ringing.get("queue"),
        "member": ringing.get("member"),
        "interface": ringing.get("interface"),
        "ivr_path": ivr_path(variables),
        "ivr_digits": ringing.get("ivr_digits"),
        "ivr_choice": ringing.get("ivr_choice"),
        "category": variables.get(cv.CATEGORY.name),
        "callback_requested": variables.get(cv.CALLBACK.name) == "1",
        "priority": ringing.get("priority"),
        "priority_reason": priority_reason(
            ringing.get("priority"), ringing.get("ivr_choice"), variables
        ),
        "queued_at": queued_at,
        "ringing_at": at,
        "wait_s": wait_s,
        "state": "ringing",
        "history": None,  # filled by with_history once the store answers
    }


def matching_incidents(
    incidents: Iterable[Mapping[str, Any]], number: str | None, path: list[str]
) -> list[dict[str, Any]]:
    """Active incidents for the caller's area (number prefix) or on their menu branch."""
    found = []
    for data in incidents:
        try:
            # The store adds the incident's ticket number: not part of the incident itself.
            fields = {key: value for key, value in data.items() if key != "ticket_number"}
            incident = Incident.from_json(fields)
        except (IncidentError, ValueError) as error:
            log.warning("screen pop: skipping an incident the store gave badly: %s", error)
            continue
        if incident.status != "active":
            continue
        area = bool(incident.prefixes) and incident.concerns(number or "", None)
        unscoped = not incident.prefixes and not incident.districts and incident.branch is None
        branch = incident.branch is not None and incident.branch in path
        if area or branch or unscoped:
            found.append(
                {"id": incident.id, "title": incident.title, "text": incident.text,
                 "branch": incident.branch, "start": incident.start.isoformat()}
            )  # fmt: skip
    return found


async def history(sources: PopSources, pop: Mapping[str, Any]) -> dict[str, Any]:
    """The caller's recent tickets and the incidents that concern them; a part the store
    cannot give is reported in ``errors``, never fatal (the pop is shown anyway)."""
    errors: dict[str, str] = {}
    tickets: list[dict[str, Any]] = []
    number = pop.get("number")
    if number:
        try:
            rows = await sources.recent_tickets_for_caller(number, HISTORY_DAYS)
            tickets = [{name: row.get(name) for name in _TICKET_FIELDS} for row in rows]
        except Exception as error:
            log.warning("screen pop: the caller's tickets are unavailable: %r", error)
            errors["tickets"] = "历史工单暂不可用 / tickets unavailable"
    try:
        incidents = matching_incidents(
            await sources.incidents(active_only=True), number, list(pop.get("ivr_path") or [])
        )
    except Exception as error:
        log.warning("screen pop: incidents are unavailable: %r", error)
        incidents = []
        errors["incidents"] = "故障信息暂不可用 / incidents unavailable"
    return {"days": HISTORY_DAYS, "tickets": tickets, "incidents": incidents, "errors": errors}


def shown_to(pop: Mapping[str, Any], role: str) -> dict[str, Any]:
    """The pop as a screen of ``role`` may see it (hotline.web.caller_mask's one rule)."""
    return {**pop, "number": caller_number_for(pop.get("number"), role)}
