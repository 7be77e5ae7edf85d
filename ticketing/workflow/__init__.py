"""The case workflow (工单流转): registration → answered directly / referred / invalid /
dispatched → signed → in progress → answered → called back → archived, with return (退件),
extension (延期), chase (催办), supervision (督办), instruction (批示), redo (重办) and
merge (并单).

The rules are one table, ``ticketing.workflow.table.TRANSITIONS``: (state, action) → next
state, the roles allowed, the required and optional fields. Everything that changes a case —
the agent's registration form, the JSON API, the chase scheduler, the call-back — goes
through one call::

    from ticketing.workflow import Actor
    case = await store.apply_action(
        case_id,                      # tickets.id (store.case_by_number(n)["id"])
        "dispatch",                   # an action of the table (ACTIONS)
        Actor("li", "agent"),         # name, role; unit staff also name their unit
        {"unit": "住建局", "subject": "…", "content": "…"},   # the action's fields
        expected_version=3,           # the version the user saw (None: system actors only)
    )
    case["status"], case["version"], case["event"]

The desk's registration form ends a call's ticket (opened as ``registered`` for every call)
with one of: ``answer_directly`` {answer}, ``refer`` {referred_to}, ``mark_invalid``
{reason}, ``submit`` (to be dispatched after review) or ``dispatch`` {unit}; each of these
also takes the registration fields (category, urgency, subject, content, district,
caller_name), stored on the ticket in the same transaction. ``dispatch`` goes only to a
handling unit that exists and is open (``store.add_unit(name)``, ``hotline unit add``) and
sets the case's deadlines (ticketing.workflow.deadlines: due_at, sign_due_at,
return_until). ``store.register_case(actor, fields)`` opens a case no call opened.

Errors (all change nothing): ``ForbiddenTransition`` (not from this state, not this role, not
this unit's case), ``InvalidFields`` (missing/unknown/malformed field) — both ValueError
subclasses with a ``code`` — ``VersionConflict`` (someone acted since the user read the case:
reload) and ``CaseNotFound`` (KeyError).

Also here: ``store.record_call_back`` (回访 outcome → archive or redo, ticketing.workflow.
callback), ``store.sweep_chases`` (催办/督办, ticketing.workflow.chasing, run by the service's
chase scheduler), ``store.unit_inbox`` / ``open_cases`` / ``call_back_tasks`` (lists).

Every action appends one ``ticket_events`` row (kind = the action; data = from, to, role,
version, fields incl. reason and attachments by reference) and updates the status and version
in the same transaction; the database refuses UPDATE/DELETE on ``ticket_events``.
"""

from ticketing.workflow.cases import CaseNotFound, VersionConflict, derive_state
from ticketing.workflow.table import (
    ACTIONS,
    STATES,
    TRANSITIONS,
    Actor,
    ForbiddenTransition,
    InvalidFields,
    WorkflowError,
    allowed_actions,
    spoken_status,
)

__all__ = [
    "ACTIONS",
    "STATES",
    "TRANSITIONS",
    "Actor",
    "CaseNotFound",
    "ForbiddenTransition",
    "InvalidFields",
    "VersionConflict",
    "WorkflowError",
    "allowed_actions",
    "derive_state",
    "spoken_status",
]
