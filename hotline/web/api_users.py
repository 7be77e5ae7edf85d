"""User administration over the service API (admins only): list, create, disable / enable,
reset a password, change a role. The logic is hotline.web.auth_admin's, shared with
``hotline user``; every change is in the access log, and a user whose sessions end (disabled,
new password, new role) loses their open screens at once."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hotline.web.api_common import dumps, json_object, text
from hotline.web.api_kpi import web_store
from hotline.web.auth import AUTH, principal
from hotline.web.auth_accounts import USERNAME
from hotline.web.auth_admin import MAX_PASSWORD, MIN_PASSWORD, UserAdmin, check_password
from hotline.web.auth_passwords import hash_password
from hotline.web.auth_table import ADMINISTRATION, ROLES
from hotline.web.errors import ApiError, BadInput
from hotline.web.routes import Param, RouteTable

routes = RouteTable()

_USER = {"username": Param({"type": "string"}, "the user's username", required=True)}
_PASSWORD = {"type": "string", "minLength": MIN_PASSWORD, "maxLength": MAX_PASSWORD}


def _admin(request: web.Request) -> UserAdmin:
    who = principal(request)
    return UserAdmin(web_store(request), who.username, who.role, request.app[AUTH].client(request))


def _username(request: web.Request) -> str:
    username = request.match_info["username"]
    if not USERNAME.match(username):
        raise BadInput("username", "no such username can exist", "input.text")
    return username


def _password(body: dict[str, Any]) -> str:
    value = body.get("password")
    if not isinstance(value, str):
        raise BadInput("password", "required", "input.required")
    try:
        return check_password(value)
    except ValueError as error:
        raise BadInput("password", str(error).partition(": ")[2], "user.password") from None


async def _hash(request: web.Request, password: str) -> str:
    return await request.app[AUTH].passwords.run(hash_password, password)


async def _sessions_ended(request: web.Request, username: str) -> None:
    for ended in request.app[AUTH].on_sessions_ended:
        await ended(username)


@routes.get("/api/users", ADMINISTRATION, summary="Every user (never a password hash)")
async def list_users(request: web.Request) -> web.Response:
    users = await web_store(request).list_users()
    return web.json_response({"users": users, "roles": list(ROLES)}, dumps=dumps)


@routes.post(
    "/api/users",
    ADMINISTRATION,
    summary="Create a user who logs in with a password",
    body={
        "type": "object",
        "properties": {
            "username": {"type": "string", "pattern": USERNAME.pattern},
            "role": {"type": "string", "enum": list(ROLES)},
            "display_name": {"type": "string", "maxLength": 100},
            "unit": {"type": "string", "maxLength": 100},
            "password": _PASSWORD,
        },
        "required": ["username", "role", "password"],
    },
    statuses=(201, 400, 409, 503),
)
async def create_user(request: web.Request) -> web.Response:
    body = await json_object(request)
    username = text("username", body.get("username"), max_length=40)
    role = text("role", body.get("role"), max_length=20)
    assert username is not None and role is not None
    if not USERNAME.match(username):
        raise BadInput("username", "2-40 of a-z 0-9 - _", "input.text")
    if role not in ROLES:
        raise BadInput("role", f"one of {', '.join(ROLES)}", "input.choice")
    name = text("display_name", body.get("display_name"), max_length=100, required=False)
    unit = text("unit", body.get("unit"), max_length=100, required=False)
    password_hash = await _hash(request, _password(body))
    store = web_store(request)
    if await store.get_user(username) is not None:
        raise ApiError("user.exists", f"user {username!r} exists already", "username", 409)
    try:
        await _admin(request).create(username, role, name or username, password_hash, unit)
    except ValueError as error:
        raise ApiError("user.exists", str(error), "username", 409) from None
    return web.json_response({"username": username, "role": role, "active": True}, status=201)


async def _change(request: web.Request, change: str, **value: Any) -> web.Response:
    username = _username(request)
    admin = _admin(request)
    try:
        if change == "disable":
            await admin.set_active(username, False)
        elif change == "enable":
            await admin.set_active(username, True)
        elif change == "password":
            await admin.reset_password(username, value["password_hash"])
        else:
            await admin.set_role(username, value["role"])
    except KeyError:
        raise ApiError("user.not_found", f"no user {username!r}", "username", 404) from None
    if change != "enable":
        await _sessions_ended(request, username)
    return web.json_response({"username": username, "done": change, **value.get("shown", {})})


_CHANGE = {"path_params": _USER, "statuses": (200, 400, 404, 503)}


@routes.post(
    "/api/users/{username}/disable",
    ADMINISTRATION,
    summary="Disable a user: no login, open sessions and screens end (logged)",
    **_CHANGE,
)
async def disable_user(request: web.Request) -> web.Response:
    if _username(request) == principal(request).username:
        raise BadInput("username", "you cannot disable yourself", "user.self")
    return await _change(request, "disable")


@routes.post(
    "/api/users/{username}/enable",
    ADMINISTRATION,
    summary="Let a disabled user log in again (logged)",
    **_CHANGE,
)
async def enable_user(request: web.Request) -> web.Response:
    return await _change(request, "enable")


@routes.post(
    "/api/users/{username}/password",
    ADMINISTRATION,
    summary="Reset a user's password; their sessions end (logged)",
    body={"type": "object", "properties": {"password": _PASSWORD}, "required": ["password"]},
    **_CHANGE,
)
async def reset_password(request: web.Request) -> web.Response:
    _username(request)
    body = await json_object(request)
    password_hash = await _hash(request, _password(body))
    return await _change(request, "password", password_hash=password_hash)


@routes.post(
    "/api/users/{username}/role",
    ADMINISTRATION,
    summary="Change a user's role; their sessions end (logged)",
    body={
        "type": "object",
        "properties": {"role": {"type": "string", "enum": list(ROLES)}},
        "required": ["role"],
    },
    **_CHANGE,
)
async def change_role(request: web.Request) -> web.Response:
    username = _username(request)
    body = await json_object(request)
    role = text("role", body.get("role"), max_length=20)
    if role not in ROLES:
        raise BadInput("role", f"one of {', '.join(ROLES)}", "input.choice")
    if username == principal(request).username:
        raise BadInput("username", "you cannot change your own role", "user.self")
    return await _change(request, "role", role=role, shown={"role": role})
