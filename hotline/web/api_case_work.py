"""The case console's routes beside the inbox and actions (hotline/web/api_cases.py):
opening a case that no call opened (a letter, a walk-in, a department's system), the
call-back's outcome (回访), the cases a new one may duplicate (并单), the chase list, the
workflow table the pages build their forms from, the handling units, the deadline policy
(期限规则) and the case KPIs (考核), and the console page.

Every write goes through the store's workflow (ticketing.workflow): the same table, history
and locking as the desk's registration and the actions route.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from hotline.web.api_cases import (
    READERS,
    actions_for,
    case_actor,
    case_store,
    find_case,
    scope_of,
    shown,
    with_deadline,
)
from hotline.web.api_common import dumps, json_object, span, text
from hotline.web.api_kpi import KPI_PARAMS, TIME, TIME_HELP
from hotline.web.auth import AUTH
from hotline.web.auth_table import FIGURES
from hotline.web.errors import ApiError, BadInput
from hotline.web.routes import Param, RouteTable
from ticketing.workflow import ForbiddenTransition, InvalidFields, VersionConflict
from ticketing.workflow.callback import SOURCES, satisfaction_from_text
from ticketing.workflow.table import (
    ACTIONS,
    CHOICES,
    FIELD_KINDS,
    REGISTRATION_FIELDS,
    SATISFACTION,
    STATES,
    TRANSITIONS,
)

STATIC = Path(__file__).parent / "static"
# Who opens cases and takes call-backs: the desk and the back office.
REGISTRARS: Final = frozenset({"agent", "supervisor", "reviewer"})
CALL_BACKERS: Final = frozenset({"agent", "supervisor"})
# Who sees the chase list: whoever chases or oversees (units see chases in their cases).
CHASE_READERS: Final = frozenset({"agent", "supervisor", "reviewer", "auditor", "admin"})
DUPLICATE_DAYS: Final = 30  # a repeat within 30 days is offered for a merge (domain brief)
_NUMBER = Param({"type": "string", "maxLength": 40}, "the case number", required=True)

routes = RouteTable()


@routes.get(
    "/cases", READERS, summary="The case console (工单): inbox, dispatch, chases", page=True
)
async def console_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "case_console.html", headers={"Cache-Control": "no-cache"})


@routes.get("/api/workflow", READERS, summary="The case workflow table: states, actions, fields")
async def workflow_table(request: web.Request) -> web.Response:
    actions: dict[str, Any] = {}
    for (state, action), transition in TRANSITIONS.items():
        entry = actions.setdefault(
            action,
            {"required": list(transition.required), "optional": list(transition.optional),
             "summary": transition.summary, "roles": sorted(transition.roles), "from": []},
        )  # fmt: skip
        entry["from"].append(state)
    return web.json_response(
        {
            "states": list(STATES),
            "actions": {name: actions[name] for name in ACTIONS},
            "fields": dict(FIELD_KINDS),
            "choices": {name: list(values) for name, values in CHOICES.items()},
        }
    )


@routes.get("/api/units", READERS, summary="The handling units (承办单位) and their parents")
async def unit_list(request: web.Request) -> web.Response:
    store = case_store(request)
    units = await store.list_units()
    return web.json_response({"units": units})


_REGISTER_BODY = {
    "type": "object",
    "properties": {
        **{name: {"type": "string", "maxLength": 4000} for name in REGISTRATION_FIELDS},
        "caller_number": {"type": "string", "maxLength": 40},
    },
}


@routes.post(
    "/api/cases",
    REGISTRARS,
    summary="Open a case no call opened (letter, walk-in, web), with the cases it may duplicate",
    body=_REGISTER_BODY,
    statuses=(201, 400, 403, 503),
)
async def register(request: web.Request) -> web.Response:
    store = case_store(request)
    actor = await case_actor(request, store)
    body = await json_object(request)
    fields: dict[str, Any] = {}
    for name, value in body.items():
        if name not in (*REGISTRATION_FIELDS, "caller_number"):
            raise BadInput(name, "not a field of a case", "input.unknown_field")
        if value is not None:
            size = 40 if name == "caller_number" else 4000
            fields[name] = text(name, value, max_length=size, required=False)
    try:
        case = await store.register_case(actor, fields)
    except InvalidFields as error:
        raise ApiError("workflow.fields", str(error), "fields", 400) from None
    similar = await store.similar_cases(int(case["id"]), DUPLICATE_DAYS)
    await request.app[AUTH].audit(
        request, actor.name, actor.role, "case.register", f"case:{case['number']}"
    )
    now = datetime.now(UTC)
    result = {
        **with_deadline(shown(case, actor, case.get("category")), store.timers, now),
        "actions": actions_for(case, actor),
        "similar": [shown(other, actor, other.get("category")) for other in similar],
    }
    return web.json_response(result, status=201, dumps=dumps)


@routes.get(
    "/api/cases/{number}/similar",
    REGISTRARS,
    summary="Open cases of the last 30 days from the same number or address and category (并单)",
    path_params={"number": _NUMBER},
    statuses=(200, 400, 403, 404, 503),
)
async def similar(request: web.Request) -> web.Response:
    store = case_store(request)
    actor = await case_actor(request, store)
    case = await find_case(request, store, actor)
    found = await store.similar_cases(int(case["id"]), DUPLICATE_DAYS)
    body = [shown(other, actor, other.get("category")) for other in found]
    return web.json_response({"days": DUPLICATE_DAYS, "cases": body}, dumps=dumps)


_CALL_BACK_BODY = {
    "type": "object",
    "properties": {
        "source": {"type": "string", "enum": list(SOURCES)},
        "satisfaction": {"type": "string", "enum": list(SATISFACTION)},
        "process_satisfaction": {"type": "string", "enum": list(SATISFACTION)},
        "reply": {
            "type": "string",
            "maxLength": 200,
            "description": "instead of satisfaction: the citizen's text reply as written "
            "(1/满意, 2/基本满意, 3/不满意); source defaults to text",
        },
        "expected_version": {"type": "integer"},
    },
    "required": ["expected_version"],
}


@routes.post(
    "/api/cases/{number}/call-back",
    CALL_BACKERS,
    summary="The call-back's outcome (回访): satisfied → archived, dissatisfied → redo, "
    "unreachable → an attempt until the last",
    path_params={"number": _NUMBER},
    body=_CALL_BACK_BODY,
    statuses=(200, 400, 403, 404, 409, 503),
)
async def call_back(request: web.Request) -> web.Response:
    store = case_store(request)
    actor = await case_actor(request, store)
    case = await find_case(request, store, actor)
    body = await json_object(request)
    unknown = sorted(set(body) - {"source", "satisfaction", "process_satisfaction", "reply",
                                  "expected_version"})  # fmt: skip
    if unknown:
        raise BadInput(unknown[0], "not a field of this route", "input.unknown_field")
    reply = text("reply", body.get("reply"), max_length=200, required=False)
    source = text("source", body.get("source") or ("text" if reply else "agent"), max_length=16)
    if reply is not None and body.get("satisfaction") is None:
        try:
            satisfaction: str | None = satisfaction_from_text(reply)
        except InvalidFields as error:
            raise ApiError("workflow.fields", str(error), "reply", 400) from None
    else:
        satisfaction = text("satisfaction", body.get("satisfaction"), max_length=32)
    assert source is not None and satisfaction is not None
    process = text(
        "process_satisfaction", body.get("process_satisfaction"), max_length=32, required=False
    )
    version = body.get("expected_version")
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version < 2**31:
        raise BadInput(
            "expected_version", "the case's version, a positive integer", "input.required"
        )
    try:
        after = await store.record_call_back(
            int(case["id"]), actor, source, satisfaction, version, process_satisfaction=process
        )
    except VersionConflict as error:
        raise ApiError("workflow.conflict", str(error), "expected_version", 409) from None
    except ForbiddenTransition as error:
        raise ApiError("workflow.forbidden", str(error), "satisfaction", 409) from None
    except InvalidFields as error:
        raise ApiError("workflow.fields", str(error), "satisfaction", 400) from None
    await request.app[AUTH].audit(
        request, actor.name, actor.role, "case.call_back", f"case:{case['number']}",
        {"source": source, "satisfaction": satisfaction},
    )  # fmt: skip
    after.pop("event", None)
    result = {**shown(after, actor, after.get("category")), "actions": actions_for(after, actor)}
    return web.json_response(result, dumps=dumps)


@routes.get(
    "/api/chases",
    CHASE_READERS | {"unit"},
    summary="The latest chases (催办) and supervisions (督办), newest first",
    statuses=(200, 403, 503),
)
async def chase_list(request: web.Request) -> web.Response:
    store = case_store(request)
    actor = await case_actor(request, store)
    chases = await store.recent_chases()
    scope = await scope_of(store, actor)
    if scope is not None:
        chases = [chase for chase in chases if chase["handling_unit"] in scope]
    return web.json_response({"chases": chases}, dumps=dumps)


# Who may change the deadline policy at run time: the hotline's head and its supervisors.
POLICY_EDITORS: Final = frozenset({"supervisor", "admin"})
_POLICY_BODY = {
    "type": "object",
    "properties": {
        "preset": {"type": "string", "enum": ["county", "city_a", "city_b"]},
        "changes": {
            "type": "object",
            "description": 'over the preset: {"limits": {"complaint": "4wd"}, "sign": "24wh", '
            '"return_window": "1wd", "extensions": {"consultation": [1, 3]}}',
        },
        "reason": {"type": "string", "maxLength": 500},
    },
    "required": ["preset", "reason"],
}


@routes.get(
    "/api/case-policy",
    READERS,
    summary="The deadline policy in force (期限规则), where it comes from, its change history",
    statuses=(200, 403, 503),
)
async def case_policy(request: web.Request) -> web.Response:
    return web.json_response(await case_store(request).case_policy(), dumps=dumps)


@routes.post(
    "/api/case-policy",
    POLICY_EDITORS,
    summary="Put a deadline policy in force now: a preset and changes over it, with a reason "
    "(audited, kept in its history)",
    body=_POLICY_BODY,
    statuses=(200, 400, 403, 503),
)
async def change_case_policy(request: web.Request) -> web.Response:
    store = case_store(request)
    actor = await case_actor(request, store)
    body = await json_object(request)
    unknown = sorted(set(body) - {"preset", "changes", "reason"})
    if unknown:
        raise BadInput(unknown[0], "not a field of this route", "input.unknown_field")
    preset = text("preset", body.get("preset"), max_length=16)
    reason = text("reason", body.get("reason"), max_length=500)
    changes = body.get("changes") or {}
    if not isinstance(changes, dict):
        raise BadInput("changes", "must be a JSON object", "input.body")
    assert preset is not None and reason is not None
    try:
        result = await store.set_case_policy(actor.name, preset, changes, reason)
    except ValueError as error:
        raise BadInput("changes", str(error), "policy.invalid") from None
    await request.app[AUTH].audit(
        request, actor.name, actor.role, "case.policy", f"preset:{preset}",
        {"changes": changes, "reason": reason},
    )  # fmt: skip
    return web.json_response(result, dumps=dumps)


@routes.get(
    "/api/case-kpis",
    FIGURES,
    summary="Case KPIs of the cases opened in a span: per unit on-time, extension, redo and "
    "return rates; call-back coverage and satisfaction (result, process), with formulas",
    query={
        "from": Param(TIME, TIME_HELP, required=True),
        "to": Param(TIME, TIME_HELP + "; a date includes that whole day", required=True),
    },
    statuses=(200, 400, 403, 503),
)
async def case_kpi_report(request: web.Request) -> web.Response:
    store = case_store(request)
    start, end = span(request.query, request.app[KPI_PARAMS].zone(), max_days=3660)
    figures = await store.case_kpis(start, end)
    body = {"from": start.isoformat(), "to": end.isoformat(), **figures}
    return web.json_response(body, dumps=dumps)
