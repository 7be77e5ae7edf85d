"""Login, logout, kiosk screens and the guard every request passes.

The guard looks the route up in the app's route table (hotline/web/routes.py, filled by the
same declarations that fill the router): routes not declared are refused (403), anonymous
callers get 401 (pages: a redirect to /login), callers whose role is not listed get 403. A
signed-in browser must echo its session's CSRF token (``X-CSRF-Token`` header or a ``csrf``
form field) on every POST; bearer-token clients do not use cookies and need none. Logins,
failed logins, lock-outs and logouts go to the access log.
"""

from __future__ import annotations

import html
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Handler

from hotline.web.api_common import text
from hotline.web.auth_accounts import user_for_token
from hotline.web.auth_passwords import HashPool, verify_password
from hotline.web.auth_sessions import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    LoginThrottle,
    SessionCodec,
)
from hotline.web.auth_store import UserStore
from hotline.web.auth_table import PUBLIC, SIGNED_IN
from hotline.web.client_address import Network, client_address
from hotline.web.errors import BadInput, error_response
from hotline.web.routes import ROUTES, Param, RouteTable

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

WRONG_LOGIN = "用户名或密码错误 / Wrong username or password."
LOCKED_OUT = "尝试次数过多，请稍后再试 / Too many failed logins; try again later."
FORM_EXPIRED = "表单已过期，请重试 / The form expired; please try again."
STORE_DOWN = "用户库暂时不可用 / The user database is unavailable; try again shortly."


@dataclass(frozen=True, slots=True)
class Principal:
    username: str
    role: str
    display_name: str
    via: Literal["session", "bearer"]
    csrf: str | None = None
    generation: int = 0


class Auth:
    """The login machinery of one app; ``store`` None means nobody can log in."""

    def __init__(
        self,
        store: UserStore | None,
        codec: SessionCodec,
        throttle: LoginThrottle,
        *,
        cookie_secure: bool = False,
        passwords: HashPool | None = None,
        trusted_proxies: Sequence[Network] = (),
    ) -> None:
        self.store = store
        self.codec = codec
        self.throttle = throttle
        self.cookie_secure = cookie_secure
        self.passwords = passwords or HashPool()
        self.trusted_proxies = tuple(trusted_proxies)
        # Called with a username whose sessions were ended here (the pusher closes screens).
        self.on_sessions_ended: list[Callable[[str], Awaitable[None]]] = []

    def client(self, request: web.Request) -> str:
        """The caller's address: the peer, or the client behind a trusted proxy."""
        return client_address(request, self.trusted_proxies)

    def store_of(self) -> UserStore:
        assert self.store is not None, "no user store: nobody can be signed in"
        return self.store

    async def authenticate(self, request: web.Request) -> Principal | None:
        if self.store is None:
            return None
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token:
                return None
            user = await user_for_token(self.store, token)
            if user is None:
                return None
            return Principal(
                str(user["username"]),
                str(user["role"]),
                str(user["display_name"]),
                "bearer",
                generation=int(str(user.get("session_generation") or 0)),
            )
        session = self.codec.read(request.cookies.get(SESSION_COOKIE))
        if session is None:
            return None
        account = await self.store.get_user(session.username)
        if account is None or not account.get("active"):
            return None
        if session.kiosk and account["role"] != "wallboard":
            return None
        if session.generation != account.get("session_generation", 0):
            return None  # ended by logout, a password change or disabling
        return Principal(
            account["username"],
            account["role"],
            account["display_name"],
            "session",
            session.csrf,
            session.generation,
        )

    async def still_valid(self, who: Principal) -> bool:
        """Whether ``who`` (checked when a long-lived connection opened) still holds: the
        account is active, has the same role and its sessions have not been ended since."""
        assert self.store is not None
        account = await self.store.get_user(who.username)
        return (
            account is not None
            and bool(account.get("active"))
            and account.get("role") == who.role
            and account.get("session_generation", 0) == who.generation
        )

    async def audit(
        self,
        request: web.Request,
        actor: str,
        role: str,
        action: str,
        target: str | None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        assert self.store is not None
        await self.store.log_access(actor, role, action, target, detail, self.client(request))

    def set_session(
        self, response: web.StreamResponse, username: str, generation: int, *, kiosk: bool
    ) -> None:
        cookie, _ = self.codec.issue(username, kiosk=kiosk, generation=generation)
        response.set_cookie(
            SESSION_COOKIE,
            cookie,
            # Kiosk screens survive a restart of their browser; people's sessions do not.
            max_age=self.codec.kiosk_max_age_s if kiosk else None,
            httponly=True,
            samesite="Lax",
            secure=self.cookie_secure,
            path="/",
        )


AUTH = web.AppKey("auth", Auth)
PRINCIPAL_KEY = web.RequestKey("principal", Principal)


def principal(request: web.Request) -> Principal:
    """The caller of a guarded route (set by the guard)."""
    return request[PRINCIPAL_KEY]


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _is_page(request: web.Request) -> bool:
    return request.method in SAFE_METHODS and not request.path.startswith(("/api/", "/ws"))


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    match = request.match_info
    if match.http_exception is not None:
        return await handler(request)  # 404 / 405 from the router
    resource = match.route.resource
    allowed = request.app[ROUTES].roles_for(request.method, resource.canonical if resource else "")
    if allowed is None:
        log.error("refused %s %s: not in the route table", request.method, request.path)
        return error_response(403, "auth.no_rule", "this route has no access rule")
    if allowed is PUBLIC:
        return await handler(request)
    auth = request.app[AUTH]
    try:
        who = await auth.authenticate(request)
    except Exception:
        log.exception("auth: the user store failed")
        return error_response(503, "auth.store_unavailable", "user store unavailable")
    if who is None:
        if _is_page(request):
            raise web.HTTPFound(f"/login?next={quote(request.path_qs, safe='')}")
        return error_response(
            401,
            "auth.login_required",
            "login required",
            headers={"WWW-Authenticate": 'Bearer realm="hotline"'},
        )
    if who.role not in allowed:
        return error_response(403, "auth.role", f"role {who.role!r} may not use this route")
    if request.method not in SAFE_METHODS and who.via == "session":
        sent = request.headers.get("X-CSRF-Token")
        if sent is None and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            sent = str((await request.post()).get("csrf", ""))
        if not sent or not who.csrf or not secrets.compare_digest(sent.encode(), who.csrf.encode()):
            return error_response(
                403, "auth.csrf", "CSRF token missing or wrong (send X-CSRF-Token)"
            )
    request[PRINCIPAL_KEY] = who
    return await handler(request)


# ---- pages and handlers --------------------------------------------------------------------


def safe_next(value: object) -> str:
    """Where to go after login: only a path on this site, judged as a browser reads it.

    Browsers drop tabs and newlines from a Location, strip leading blanks and control
    characters and read a backslash as a slash, so ``/\t/evil.example`` would land on
    another host: anything but printable ASCII, any backslash and a leading ``//`` are
    refused (400, field ``next``). No value means ``/``.
    """
    if value is None or value == "":
        return "/"
    text = str(value)
    if (
        len(text) > 2000
        or not text.startswith("/")
        or text.startswith("//")
        or "\\" in text
        or any(not "!" <= char <= "~" for char in text)
    ):
        raise BadInput("next", "must be a path on this site, e.g. /api/kpi", "input.next")
    return text


def _login_page(
    request: web.Request, *, status: int = 200, error: str = "", next_path: str = "/"
) -> web.Response:
    auth = request.app[AUTH]
    token = auth.codec.login_csrf()
    page = (STATIC / "login.html").read_text(encoding="utf-8")
    for name, value in (("csrf", token), ("next", next_path), ("error", error)):
        page = page.replace("{{" + name + "}}", html.escape(value, quote=True))
    response = web.Response(
        text=page,
        status=status,
        content_type="text/html",
        headers={
            "Cache-Control": "no-store",
            "X-Frame-Options": "DENY",
            "Content-Security-Policy": (
                "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
            ),
        },
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=auth.cookie_secure,
        path="/login",
    )
    return response


routes = RouteTable()

_LOGIN_FORM = {
    "type": "object",
    "properties": {
        "username": {"type": "string"},
        "password": {"type": "string"},
        "csrf": {"type": "string"},
        "next": {"type": "string"},
    },
}


@routes.get(
    "/login",
    PUBLIC,
    summary="The login page",
    query={"next": Param({"type": "string"}, "where to go after login (a path on this site)")},
    statuses=(200, 400),
    page=True,
)
async def login_form(request: web.Request) -> web.Response:
    return _login_page(request, next_path=safe_next(request.query.get("next")))


@routes.post(
    "/login",
    PUBLIC,
    summary="Log in with the login page's form (sets the session cookie)",
    body=_LOGIN_FORM,
    body_type="form",
    statuses=(303, 400, 401, 403, 429, 503),
    page=True,
)
async def login(request: web.Request) -> web.StreamResponse:
    auth = request.app[AUTH]
    form = await request.post()
    username = (text("username", form.get("username"), max_length=64, required=False) or "").lower()
    password = str(form.get("password", ""))
    next_path = safe_next(form.get("next"))
    remote = auth.client(request)
    if auth.store is None:
        return _login_page(request, status=503, error=STORE_DOWN, next_path=next_path)
    try:
        if not auth.codec.login_csrf_ok(
            request.cookies.get(LOGIN_CSRF_COOKIE), str(form.get("csrf", ""))
        ):
            await auth.audit(request, username or "-", "anonymous", "login.csrf_refused", "/login")
            return _login_page(request, status=403, error=FORM_EXPIRED, next_path=next_path)
        wait = auth.throttle.retry_after(username, remote)
        if wait > 0:
            await auth.audit(request, username, "anonymous", "login.throttled", "/login")
            response = _login_page(request, status=429, error=LOCKED_OUT, next_path=next_path)
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        user = await auth.store.get_user(username) if username else None
        usable = user is not None and bool(user.get("active"))
        stored = user["password_hash"] if usable and user else None
        ok, new_hash = await auth.passwords.run(verify_password, stored, password)
        if not ok or user is None:
            auth.throttle.failed(username, remote)
            reason = "unknown user" if user is None else ("disabled" if not usable else "wrong")
            actor = username or "-"
            await auth.audit(
                request, actor, "anonymous", "login.failed", "/login", {"reason": reason}
            )
            return _login_page(request, status=401, error=WRONG_LOGIN, next_path=next_path)
        if new_hash is not None:  # the same password under new parameters: sessions stay
            await auth.store.set_password_hash(username, new_hash, end_sessions=False)
        auth.throttle.succeeded(username, remote)
        await auth.audit(request, username, str(user["role"]), "login", "/login")
    except Exception:
        log.exception("login: the user store failed")
        return _login_page(request, status=503, error=STORE_DOWN, next_path=next_path)
    response = see_other(next_path)
    auth.set_session(response, username, int(user.get("session_generation") or 0), kiosk=False)
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@routes.post(
    "/logout",
    SIGNED_IN,
    summary="Log out: ends the session",
    statuses=(303,),
    page=True,
)
async def logout(request: web.Request) -> web.StreamResponse:
    auth = request.app[AUTH]
    who = principal(request)
    if who.via == "session":
        # Every session of the user ends (a copied cookie too), and so do their open screens.
        await auth.store_of().end_sessions(who.username)
        for ended in auth.on_sessions_ended:
            await ended(who.username)
    await auth.audit(request, who.username, who.role, "logout", "/logout")
    response = see_other("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


@routes.get(
    "/kiosk",
    PUBLIC,  # the token in the URL is the credential
    summary="A wall screen's login link: a wallboard-only session",
    query={"token": Param({"type": "string"}, "the kiosk token", required=True)},
    statuses=(303, 403, 429, 503),
    page=True,
)
async def kiosk(request: web.Request) -> web.StreamResponse:
    """A wall screen opens ``/kiosk?token=…`` once; it then holds a wallboard-only session."""
    auth = request.app[AUTH]
    remote = auth.client(request)
    token = request.query.get("token", "")
    if auth.store is None:
        return error_response(503, "auth.store_unavailable", "user store unavailable")
    if auth.throttle.retry_after(None, remote) > 0:
        return error_response(429, "auth.throttled", "too many bad kiosk tokens; try later")
    try:
        user = await user_for_token(auth.store, token)
        if user is None or user["role"] != "wallboard":
            auth.throttle.failed(None, remote)
            actor = token.rpartition(".")[0][:64] or "-"
            reason = "not a wallboard account" if user is not None else "bad token"
            await auth.audit(
                request, actor, "anonymous", "kiosk.refused", "/kiosk", {"reason": reason}
            )
            return error_response(403, "auth.kiosk_token", "this kiosk link is not valid")
        username = str(user["username"])
        generation = int(str(user.get("session_generation") or 0))
        await auth.audit(request, username, "wallboard", "kiosk.login", "/kiosk")
    except Exception:
        log.exception("kiosk: the user store failed")
        return error_response(503, "auth.store_unavailable", "user store unavailable")
    response = see_other("/")
    auth.set_session(response, username, generation, kiosk=True)
    return response


@routes.get(
    "/api/session",
    SIGNED_IN,
    summary="Who is logged in, and the session's CSRF token",
)
async def session_info(request: web.Request) -> web.Response:
    who = principal(request)
    return web.json_response(
        {
            "username": who.username,
            "display_name": who.display_name,
            "role": who.role,
            "csrf": who.csrf,
        }
    )
