"""The desk's registration form (登记): its choices, its server-side drafts, and registering.

The form is checked field by field here and every fault is answered at once (400
``registration.invalid`` with ``errors``: one ``{field, id, message}`` each), so the page can
mark each field. A draft is whatever the agent has typed so far, kept per agent and call; the
page autosaves it, and a desk reopened after the browser closed finds it again.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from aiohttp import web

from hotline.web.api_common import json_object
from hotline.web.api_kpi import WEB_STORE
from hotline.web.auth import AUTH, principal
from hotline.web.auth_store import WebStore
from hotline.web.auth_table import DESK, SUPERVISION
from hotline.web.desk import SCREEN_POPS
from hotline.web.errors import ApiError, Unavailable, error_body
from hotline.web.routes import Param, RouteTable
from ticketing.models import TICKET_CATEGORIES
from ticketing.registrations import FORM_ENDINGS, CallFacts, Registration, RegistrationError

routes = RouteTable()

CATEGORY_LABELS = {
    "consultation": ("咨询", "consultation"),
    "help": ("求助", "help request"),
    "complaint": ("投诉", "complaint"),
    "report": ("举报", "report"),
    "suggestion": ("建议", "suggestion"),
    "praise": ("表扬", "praise"),
    "other": ("其他", "other"),
}
ENDING_LABELS = {
    "answered_directly": ("直接答复", "answered directly"),
    "referred": ("转其他热线/部门", "referred elsewhere"),
    "invalid": ("无效/骚扰", "invalid / harassment"),
    "dispatched": ("待派单", "to be dispatched"),
}

# name: (max length, required)
_TEXT_FIELDS: dict[str, tuple[int, bool]] = {
    "linkedid": (64, True),
    "category": (32, True),
    "district": (64, False),
    "address": (255, False),
    "subject": (255, False),
    "content": (4000, True),
    "ending": (32, False),  # required unless repeat_of
    "referred_to": (128, False),
    "repeat_of": (40, False),
}
_FLAG_FIELDS = ("reply_wanted", "anonymous")
FORM_FIELDS = frozenset(_TEXT_FIELDS) | frozenset(_FLAG_FIELDS)
_LINKEDID = re.compile(r"[0-9A-Za-z._-]{1,64}")

_FORM_BODY = {
    "type": "object",
    "properties": {
        **{name: {"type": "string", "maxLength": size} for name, (size, _) in _TEXT_FIELDS.items()},
        **{name: {"type": "boolean"} for name in _FLAG_FIELDS},
    },
    "required": ["linkedid", "category", "content"],
}
_DRAFT_BODY = {"type": "object", "properties": {"data": {"type": "object"}}, "required": ["data"]}
_LINKEDID_PARAM = {"linkedid": Param({"type": "string"}, "the call's linkedid", required=True)}


_NOT_YOURS = "only the agent who took this call, or a supervisor, may register it"


class FormErrors(ApiError):
    """Several fields at fault: answered with every one of them."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("registration.invalid", "the form has errors", errors[0]["field"])
        self.errors = errors

    def response(self) -> web.Response:
        body = error_body(self.error_id, str(self), self.field)
        body["errors"] = self.errors
        return web.json_response(body, status=400)


def _fault(field: str, error_id: str, message: str) -> dict[str, str]:
    return {"field": field, "id": error_id, "message": message}


def _text(name: str, value: Any, size: int) -> tuple[str | None, dict[str, str] | None]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if not isinstance(value, str):
        return None, _fault(name, "input.text", "must be text")
    if any(unicodedata.category(char) == "Cc" and char not in "\n\t" for char in value):
        return None, _fault(name, "input.text", "must not contain control characters")
    if len(value) > size:
        return None, _fault(name, "input.text", f"at most {size} characters")
    return value.strip(), None


def check_form(body: dict[str, Any]) -> Registration:
    """The form as a Registration, or FormErrors naming every fault."""
    faults = [
        _fault(name, "input.unknown_field", "not a field of the form")
        for name in body
        if name not in FORM_FIELDS
    ]
    values: dict[str, Any] = {}
    for name, (size, required) in _TEXT_FIELDS.items():
        value, fault = _text(name, body.get(name), size)
        if fault is None and value is None and required:
            fault = _fault(name, "input.required", "required / 必填")
        if fault is not None:
            faults.append(fault)
        values[name] = value
    for name in _FLAG_FIELDS:
        flag = body.get(name, False)
        if not isinstance(flag, bool):
            faults.append(_fault(name, "input.choice", "must be true or false"))
            flag = False
        values[name] = flag
    if values["linkedid"] and not _LINKEDID.fullmatch(values["linkedid"]):
        faults.append(_fault("linkedid", "input.text", "not a call id"))
    if values["category"] and values["category"] not in TICKET_CATEGORIES:
        faults.append(_fault("category", "input.choice", "not one of the categories"))
    if values["repeat_of"]:
        values["ending"] = values["ending"] or "answered_directly"  # replaced by "merged"
    elif values["ending"] is None:
        faults.append(_fault("ending", "input.required", "required / 必填"))
    if values["ending"] and values["ending"] not in FORM_ENDINGS:
        faults.append(_fault("ending", "input.choice", "not one of the endings"))
    if values["ending"] == "referred" and not values["referred_to"]:
        faults.append(_fault("referred_to", "input.required", "say where it was referred"))
    if faults:
        raise FormErrors(faults)
    try:
        return Registration(**values)
    except RegistrationError as error:
        raise FormErrors([_fault(error.field, error.error_id, error.message)]) from None


def _store(request: web.Request) -> WebStore:
    store = request.app.get(WEB_STORE)
    if store is None:
        raise Unavailable("no ticket store on this server")
    return store


@routes.get("/api/desk/form", DESK, summary="The registration form's choices (bilingual)")
async def form_choices(request: web.Request) -> web.Response:
    return web.json_response(
        {
            "categories": [
                {"value": name, "zh": zh, "en": en}
                for name, (zh, en) in CATEGORY_LABELS.items()
                if name in TICKET_CATEGORIES
            ],
            "endings": [
                {"value": name, "zh": zh, "en": en} for name, (zh, en) in ENDING_LABELS.items()
            ],
        }
    )


# 并单: how far back the desk looks for the same matter (the domain brief's 30 days).
DUPLICATE_DAYS = 30
_PLACE_FIELDS = ("number", "category", "status", "created_at", "address", "handling_unit")


@routes.get(
    "/api/desk/similar",
    DESK,
    summary="Open cases of the last 30 days about the same address and category (并单)",
    query={
        "address": Param({"type": "string", "maxLength": 255}, "where the matter is", True),
        "category": Param({"type": "string"}, "the case's category", True),
    },
    statuses=(200, 400, 503),
)
async def similar_place(request: web.Request) -> web.Response:
    """While the agent types the address, the desk offers the open cases about the same
    place and category, so another citizen's report of one matter is merged, not doubled.
    Other callers' numbers and names are not shown: the place is what matches."""
    address, fault = _text("address", request.query.get("address"), _TEXT_FIELDS["address"][0])
    if fault is not None:
        raise ApiError(fault["id"], fault["message"], "address")
    category = request.query.get("category", "")
    if category not in TICKET_CATEGORIES:
        raise ApiError("input.choice", "not one of the categories", "category")
    if address is None:
        return web.json_response({"days": DUPLICATE_DAYS, "cases": []})
    found = await _store(request).cases_about_place(address, category, DUPLICATE_DAYS)
    cases = [{name: case.get(name) for name in _PLACE_FIELDS} for case in found]
    return web.json_response({"days": DUPLICATE_DAYS, "cases": cases})


@routes.get(
    "/api/desk/drafts",
    DESK,
    summary="The signed-in agent's unfinished registration forms, newest first",
    query={"linkedid": Param({"type": "string"}, "only this call's draft")},
    statuses=(200, 503),
)
async def list_drafts(request: web.Request) -> web.Response:
    who = principal(request)
    linkedid = request.query.get("linkedid")
    if linkedid is not None and not _LINKEDID.fullmatch(linkedid):
        raise ApiError("input.text", "not a call id", "linkedid")
    drafts = await _store(request).drafts(who.username, linkedid)
    return web.json_response({"drafts": drafts})


@routes.post(
    "/api/desk/drafts/{linkedid}",
    DESK,
    summary="Autosave the agent's unfinished registration form for a call",
    path_params=_LINKEDID_PARAM,
    body=_DRAFT_BODY,
    statuses=(200, 400, 503),
)
async def save_draft(request: web.Request) -> web.Response:
    who = principal(request)
    linkedid = request.match_info["linkedid"]
    if not _LINKEDID.fullmatch(linkedid):
        raise ApiError("input.text", "not a call id", "linkedid")
    body = await json_object(request)
    data = body.get("data")
    if set(body) - {"data"}:
        raise ApiError("input.unknown_field", "only 'data' is taken", "body")
    if not isinstance(data, dict):
        raise ApiError("input.required", "the form's fields as an object", "data")
    faults = []
    for name, value in data.items():
        if name not in FORM_FIELDS:
            faults.append(_fault(name, "input.unknown_field", "not a field of the form"))
        elif name in _FLAG_FIELDS:
            if not isinstance(value, bool):
                faults.append(_fault(name, "input.choice", "must be true or false"))
        else:
            fault = _text(name, value, _TEXT_FIELDS[name][0])[1]
            if fault is not None:
                faults.append(fault)
    if faults:
        raise FormErrors(faults)
    await _store(request).save_draft(who.username, linkedid, data)
    return web.json_response({"linkedid": linkedid, "saved": True})


@routes.post(
    "/api/desk/registrations",
    DESK,
    summary="Register the call (登记): the form lands on the call's ticket",
    body=_FORM_BODY,
    statuses=(201, 400, 403, 404, 409, 503),
)
async def register(request: web.Request) -> web.Response:
    who = principal(request)
    store = _store(request)
    form = check_form(await json_object(request))
    pops = request.app[SCREEN_POPS]
    pop = pops.pop_for(who.username)
    call = None
    took_call: bool | None = False
    if pop is not None and pop["linkedid"] == form.linkedid:
        call = CallFacts(pop.get("number"), pop.get("name"), pop.get("priority"))
        # Ringing is not taking: in a ringall queue another phone may answer it.
        took_call = pop["state"] != "ringing"
    if who.role in SUPERVISION:
        took_call = None  # a supervisor may register any call (a colleague's, left over)
    elif not took_call and pops.answered_by(form.linkedid) - {who.username}:
        # Another agent's desk has it answered (not stored yet): say so, not "unknown".
        raise ApiError("registration.not_yours", _NOT_YOURS, "linkedid", 403)
    try:
        result = await store.register_call(
            form, who.username, call, took_call=took_call, role=who.role
        )
    except RegistrationError as error:
        status = {
            "registration.not_yours": 403,
            "registration.unknown_call": 404,
            "registration.already_registered": 409,
            "registration.conflict": 409,
            "registration.workflow": 409,
        }.get(error.error_id, 400)
        raise ApiError(error.error_id, error.message, error.field, status) from None
    pops.dismiss(who.username, form.linkedid)
    await request.app[AUTH].audit(
        request, who.username, who.role, "ticket.register", f"ticket:{result['ticket']}",
        {"linkedid": form.linkedid, "ending": result["ending"]},
    )  # fmt: skip
    return web.json_response(result, status=201)
