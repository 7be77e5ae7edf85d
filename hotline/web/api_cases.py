"""Cases (工单) over the JSON API: a handling unit's inbox, one case with its history, and the
workflow's actions (sign, return, ask for an extension, answer, …) — the same table the
desk goes through (ticketing.workflow), so a department's own system can do what its staff
do on the web, with a bearer token.

Privacy (../shared/domain.md, "Privacy and abuse"): a unit sees only its own cases (lead or
co-unit), with the caller's number and name masked; the accuser of a misconduct report
(举报) is seen only by the hotline head (admin) and the discipline office (auditor).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final, Protocol, runtime_checkable

from aiohttp import web

from hotline.web.api_common import dumps, json_object, text
from hotline.web.auth import AUTH, Principal, principal
from hotline.web.errors import ApiError, BadInput, Unavailable
from hotline.web.routes import Param, RouteTable
from hotline.web.wallboard import mask_number
from ticketing.workflow import (
    ACTIONS,
    Actor,
    CaseNotFound,
    ForbiddenTransition,
    InvalidFields,
    VersionConflict,
    allowed_actions,
)
from ticketing.workflow.chasing import CHASED_STATES
from ticketing.workflow.deadlines import CaseTimers, deadline_view
from ticketing.workflow.table import CO_UNIT_ACTIONS


@runtime_checkable
class CaseStore(Protocol):
    """What these routes need of the ticket store (ticketing.store.TicketStore); a store
    without them (a test's) leaves these routes answering 503."""

    async def get_user(self, username: str) -> dict[str, Any] | None: ...

    async def case_by_number(self, number: str) -> dict[str, Any]: ...

    async def case_history(self, case_id: int) -> list[dict[str, Any]]: ...

    async def unit_inbox(
        self, unit: str, *, with_sub_units: bool = False
    ) -> list[dict[str, Any]]: ...

    async def unit_scope(self, unit: str) -> list[str]: ...

    @property
    def timers(self) -> CaseTimers: ...

    async def list_units(self) -> list[dict[str, Any]]: ...

    async def register_case(
        self, actor: Actor, fields: Mapping[str, Any], *, at: datetime | None = None
    ) -> dict[str, Any]: ...

    async def similar_cases(
        self, case_id: int, days: int = 30, *, now: datetime | None = None
    ) -> list[dict[str, Any]]: ...

    async def recent_chases(self, limit: int = 200) -> list[dict[str, Any]]: ...

    async def case_policy(self) -> dict[str, Any]: ...

    async def cases_referencing(self, ref: str) -> list[dict[str, Any]]: ...

    async def case_kpis(self, start: datetime, end: datetime) -> dict[str, Any]: ...

    async def set_case_policy(
        self, actor: str, preset: str, changes: Mapping[str, Any], reason: str
    ) -> dict[str, Any]: ...

    async def record_call_back(
        self,
        case_id: int,
        actor: Actor,
        source: str,
        satisfaction: str,
        expected_version: int | None,
        *,
        process_satisfaction: str | None = None,
        now: datetime | None = None,
    ) -> dict[str, Any]: ...

    async def open_cases(self, status: str | None = None) -> list[dict[str, Any]]: ...

    async def apply_action(
        self,
        case_id: int,
        action: str,
        actor: Actor,
        fields: dict[str, Any] | None,
        expected_version: int | None,
    ) -> dict[str, Any]: ...


CASE_STORE: web.AppKey[CaseStore] = web.AppKey("case_store")

# Who may read cases, act on them, and see a misconduct report's accuser.
READERS: Final = frozenset({"agent", "supervisor", "reviewer", "unit", "auditor", "admin"})
ACTORS: Final = frozenset({"agent", "supervisor", "reviewer", "unit"})
ACCUSER_READERS: Final = frozenset({"admin", "auditor"})
MISCONDUCT_CATEGORY: Final = "report"
# The states in which a case's handling deadline runs (a unit holds it, not yet answered).
RUNNING: Final = frozenset(CHASED_STATES)
_CALLER_FIELDS: Final = ("caller_number", "caller_name", "caller_num")
_NUMBER = Param({"type": "string", "maxLength": 40}, "the case number", required=True)

ACTION_BODY = {
    "type": "object",
    "properties": {
        "action": {"type": "string", "enum": list(ACTIONS)},
        "fields": {
            "type": "object",
            "description": "the action's fields (ticketing.workflow.table.TRANSITIONS)",
            "example": {"reason": "不属本单位职责", "basis": "三定方案"},
        },
        "expected_version": {
            "type": "integer",
            "description": "the case's version the user saw (optimistic locking)",
        },
    },
    "required": ["action", "expected_version"],
}

routes = RouteTable()


def case_store(request: web.Request) -> CaseStore:
    store = request.app.get(CASE_STORE)
    if store is None:
        raise Unavailable("no case store on this server")
    return store


async def case_actor(request: web.Request, store: CaseStore) -> Actor:
    who: Principal = principal(request)
    unit = None
    if who.role == "unit":
        # A unit user of no unit has no cases: an empty inbox, every case "not found".
        user = await store.get_user(who.username)
        unit = (user or {}).get("unit") or None
    return Actor(who.username, who.role, unit)


async def scope_of(store: CaseStore, actor: Actor) -> list[str] | None:
    """The units whose cases ``actor`` may read (a unit's own and its sub-units'); None for
    the hotline's staff, who read every case."""
    if actor.role != "unit":
        return None
    return [] if actor.unit is None else await store.unit_scope(actor.unit)


def concerns(case: dict[str, Any], scope: list[str] | None) -> bool:
    """Unit staff see their unit's and sub-units' cases (lead or co-unit) only."""
    if scope is None:
        return True
    units = {case.get("handling_unit"), *(case.get("co_units") or [])}
    return any(unit in units for unit in scope)


def with_deadline(case: dict[str, Any], timers: CaseTimers, now: datetime) -> dict[str, Any]:
    """The case with ``deadline``: its due time in local time and the Chinese working days
    left (None when it has no deadline)."""
    due = case.get("due_at")
    deadline = None
    if due and case.get("status") in RUNNING:
        deadline = deadline_view(timers.time, datetime.fromisoformat(due), now)
    return {**case, "deadline": deadline}


def _hide_caller(data: Any, *, entirely: bool) -> Any:
    """``data`` with the caller's number and name masked (``entirely``: nothing left of
    them), at any depth: a case, its history, a merged caller."""
    if isinstance(data, dict):
        return {
            key: _hidden(key, value, entirely)
            if key in _CALLER_FIELDS
            else _hide_caller(value, entirely=entirely)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [_hide_caller(item, entirely=entirely) for item in data]
    return data


def _hidden(key: str, value: Any, entirely: bool) -> Any:
    if not isinstance(value, str) or not value:
        return value
    if entirely:
        return "***"
    return value[:1] + "*" * (len(value) - 1) if key == "caller_name" else mask_number(value)


def shown(case: Any, actor: Actor, category: str | None, *, shared_with: str | None = None) -> Any:
    """A case (or its history) as ``actor`` may see it. ``shared_with``: the unit the desk
    shared the caller's contact with (share_caller), whose staff then see it."""
    if category == MISCONDUCT_CATEGORY and actor.role not in ACCUSER_READERS:
        return _hide_caller(case, entirely=True)  # never reveal an accuser
    if actor.role == "unit" and not (shared_with and actor.unit == shared_with):
        return _hide_caller(case, entirely=False)
    return case


def shared_with(case: dict[str, Any], history: list[dict[str, Any]]) -> str | None:
    """The lead unit, if the desk shared the caller's contact with it while it held the
    case (a later dispatch elsewhere ends the sharing)."""
    unit = None
    for event in history:
        if event["kind"] == "dispatch":
            unit = None
        elif event["kind"] == "share_caller":
            unit = case.get("handling_unit")
    return unit


def actions_for(case: dict[str, Any], actor: Actor) -> list[str]:
    """What ``actor`` may do to the case now: the table's actions for the role; unit staff
    act on their own unit's case, a co-unit gives its opinion (会办), a parent unit only
    reads its sub-units' cases."""
    allowed = allowed_actions(case["status"], actor.role)
    if actor.role != "unit":
        return allowed
    if actor.unit is not None and actor.unit == case.get("handling_unit"):
        return [action for action in allowed if action not in CO_UNIT_ACTIONS]
    if actor.unit is not None and actor.unit in (case.get("co_units") or []):
        return [action for action in allowed if action in CO_UNIT_ACTIONS]
    return []


async def find_case(request: web.Request, store: CaseStore, actor: Actor) -> dict[str, Any]:
    """The path's case if ``actor`` may see it; 404 alike for a missing one and another
    unit's."""
    number = text("number", request.match_info.get("number"), max_length=40)
    assert number is not None
    try:
        case = await store.case_by_number(number)
    except CaseNotFound:
        case = None
    if case is None or not concerns(case, await scope_of(store, actor)):
        # The same answer for another unit's case: its existence is not theirs to know.
        raise ApiError("case.not_found", f"no case {number!r}", "number", 404)
    return case


@routes.get(
    "/api/cases/inbox",
    READERS,
    summary="Open cases: a unit's own (lead or co-unit); for the hotline, all or one status",
    query={"status": Param({"type": "string", "maxLength": 32}, "only cases in this state")},
    statuses=(200, 400, 403, 503),
)
async def inbox(request: web.Request) -> web.Response:
    store = case_store(request)
    actor = await case_actor(request, store)
    status = text("status", request.query.get("status"), max_length=32, required=False)
    if actor.role == "unit":
        cases = (
            [] if actor.unit is None
            else await store.unit_inbox(actor.unit, with_sub_units=True)
        )  # fmt: skip
        if status:
            cases = [case for case in cases if case["status"] == status]
    else:
        cases = await store.open_cases(status or None)
    now = datetime.now(UTC)
    body = [
        {**with_deadline(shown(case, actor, case.get("category")), store.timers, now),
         "actions": actions_for(case, actor)}
        for case in cases
    ]  # fmt: skip
    return web.json_response({"cases": body}, dumps=dumps)


@routes.get(
    "/api/cases/{number}",
    READERS,
    summary="One case, its history (every step with its actor) and what the caller may do",
    path_params={"number": _NUMBER},
    statuses=(200, 400, 403, 404, 503),
)
async def one_case(request: web.Request) -> web.Response:
    store = case_store(request)
    actor = await case_actor(request, store)
    case = await find_case(request, store, actor)
    history = await store.case_history(int(case["id"]))
    category = case.get("category")
    sharing = shared_with(case, history)
    body = {
        **with_deadline(
            shown(case, actor, category, shared_with=sharing), store.timers, datetime.now(UTC)
        ),
        "history": shown(history, actor, category, shared_with=sharing),
        "actions": actions_for(case, actor),
    }
    return web.json_response(body, dumps=dumps)


@routes.post(
    "/api/cases/{number}/actions",
    ACTORS,
    summary="Do one workflow action on a case (sign, return, request_extension, answer, …)",
    path_params={"number": _NUMBER},
    body=ACTION_BODY,
    statuses=(200, 400, 403, 404, 409, 503),
)
async def act(request: web.Request) -> web.Response:
    store = case_store(request)
    actor = await case_actor(request, store)
    case = await find_case(request, store, actor)
    body = await json_object(request)
    unknown = sorted(set(body) - {"action", "fields", "expected_version"})
    if unknown:
        raise BadInput(unknown[0], "not a field of this route", "input.unknown_field")
    action = text("action", body.get("action"), max_length=32)
    fields = body.get("fields", {})
    if fields is None:
        fields = {}
    if not isinstance(fields, dict):
        raise BadInput("fields", "must be a JSON object", "input.body")
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                text(f"fields.{name}", item, max_length=4000, required=False)
    version = body.get("expected_version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version < 2**31:
        raise BadInput(
            "expected_version", "the case's version, a positive integer", "input.required"
        )
    assert action is not None
    try:
        after = await store.apply_action(int(case["id"]), action, actor, fields, version)
    except VersionConflict as error:
        raise ApiError("workflow.conflict", str(error), "expected_version", 409) from None
    except ForbiddenTransition as error:
        raise ApiError("workflow.forbidden", str(error), "action", 409) from None
    except InvalidFields as error:
        raise ApiError("workflow.fields", str(error), "fields", 400) from None
    await request.app[AUTH].audit(
        request, actor.name, actor.role, f"case.{action}", f"case:{case['number']}"
    )
    after.pop("event", None)
    result = {**shown(after, actor, after.get("category")),
              "actions": actions_for(after, actor)}  # fmt: skip
    return web.json_response(result, dumps=dumps)
