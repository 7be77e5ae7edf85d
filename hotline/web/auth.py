"""Login, logout, kiosk screens and the guard every request passes.

The guard looks the route up in ``hotline.web.auth_table.ROUTE_ROLES``: routes not listed
are refused (403), anonymous callers get 401 (pages: a redirect to /login), callers whose
role is not listed get 403. A signed-in browser must echo its session's CSRF token
(``X-CSRF-Token`` header or a ``csrf`` form field) on every POST; bearer-token clients do not
use cookies and need none. Logins, failed logins, lock-outs and logouts go to the access log.
"""

from __future__ import annotations

import html
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Handler

from hotline.web.auth_accounts import user_for_token
from hotline.web.auth_passwords import verify_password
from hotline.web.auth_sessions import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    LoginThrottle,
    SessionCodec,
)
from hotline.web.auth_store import UserStore
from hotline.web.auth_table import PUBLIC, roles_for

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


class Auth:
    """The login machinery of one app; ``store`` None means nobody can log in."""

    def __init__(
        self,
        store: UserStore | None,
        codec: SessionCodec,
        throttle: LoginThrottle,
        *,
        cookie_secure: bool = False,
    ) -> None:
        self.store = store
        self.codec = codec
        self.throttle = throttle
        self.cookie_secure = cookie_secure

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
                str(user["username"]), str(user["role"]), str(user["display_name"]), "bearer"
            )
        session = self.codec.read(request.cookies.get(SESSION_COOKIE))
        if session is None:
            return None
        account = await self.store.get_user(session.username)
        if account is None or not account.get("active"):
            return None
        if session.kiosk and account["role"] != "wallboard":
            return None
        return Principal(
            account["username"], account["role"], account["display_name"], "session", session.csrf
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
        await self.store.log_access(actor, role, action, target, detail, request.remote)

    def set_session(self, response: web.StreamResponse, username: str, *, kiosk: bool) -> None:
        cookie, _ = self.codec.issue(username, kiosk=kiosk)
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


def json_error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


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
    allowed = roles_for(request.method, resource.canonical if resource else "")
    if allowed is None:
        log.error("refused %s %s: the route is not in ROUTE_ROLES", request.method, request.path)
        return json_error(403, "this route has no access rule")
    if allowed is PUBLIC:
        return await handler(request)
    auth = request.app[AUTH]
    try:
        who = await auth.authenticate(request)
    except Exception:
        log.exception("auth: the user store failed")
        return json_error(503, "user store unavailable")
    if who is None:
        if _is_page(request):
            raise web.HTTPFound(f"/login?next={quote(request.path_qs, safe='')}")
        response = json_error(401, "login required")
        response.headers["WWW-Authenticate"] = 'Bearer realm="hotline"'
        return response
    if who.role not in allowed:
        return json_error(403, f"role {who.role!r} may not use this route")
    if request.method not in SAFE_METHODS and who.via == "session":
        sent = request.headers.get("X-CSRF-Token")
        if sent is None and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            sent = str((await request.post()).get("csrf", ""))
        if not sent or not who.csrf or not secrets.compare_digest(sent, who.csrf):
            return json_error(403, "CSRF token missing or wrong (send X-CSRF-Token)")
    request[PRINCIPAL_KEY] = who
    return await handler(request)


# ---- pages and handlers --------------------------------------------------------------------


def _safe_next(value: object) -> str:
    # Only a path on this site: never "//host" or "https://host" (open redirect).
    text = str(value or "/")
    if not text.startswith("/") or text.startswith("//") or "\\" in text:
        return "/"
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


async def login_form(request: web.Request) -> web.Response:
    return _login_page(request, next_path=_safe_next(request.query.get("next")))


async def login(request: web.Request) -> web.StreamResponse:
    auth = request.app[AUTH]
    form = await request.post()
    username = str(form.get("username", "")).strip().lower()[:64]
    password = str(form.get("password", ""))
    next_path = _safe_next(form.get("next"))
    remote = request.remote or "-"
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
        ok, new_hash = verify_password(user["password_hash"] if usable and user else None, password)
        if not ok or user is None:
            auth.throttle.failed(username, remote)
            reason = "unknown user" if user is None else ("disabled" if not usable else "wrong")
            actor = username or "-"
            await auth.audit(
                request, actor, "anonymous", "login.failed", "/login", {"reason": reason}
            )
            return _login_page(request, status=401, error=WRONG_LOGIN, next_path=next_path)
        if new_hash is not None:
            await auth.store.set_password_hash(username, new_hash)
        auth.throttle.succeeded(username, remote)
        await auth.audit(request, username, str(user["role"]), "login", "/login")
    except Exception:
        log.exception("login: the user store failed")
        return _login_page(request, status=503, error=STORE_DOWN, next_path=next_path)
    response = see_other(next_path)
    auth.set_session(response, username, kiosk=False)
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    auth = request.app[AUTH]
    who = principal(request)
    await auth.audit(request, who.username, who.role, "logout", "/logout")
    response = see_other("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


async def kiosk(request: web.Request) -> web.StreamResponse:
    """A wall screen opens ``/kiosk?token=…`` once; it then holds a wallboard-only session."""
    auth = request.app[AUTH]
    remote = request.remote or "-"
    token = request.query.get("token", "")
    if auth.store is None:
        return json_error(503, "user store unavailable")
    if auth.throttle.retry_after("*kiosk*", remote) > 0:
        return json_error(429, "too many bad kiosk tokens; try again later")
    try:
        user = await user_for_token(auth.store, token)
        if user is None or user["role"] != "wallboard":
            auth.throttle.failed("*kiosk*", remote)
            actor = token.rpartition(".")[0][:64] or "-"
            reason = "not a wallboard account" if user is not None else "bad token"
            await auth.audit(
                request, actor, "anonymous", "kiosk.refused", "/kiosk", {"reason": reason}
            )
            return json_error(403, "this kiosk link is not valid")
        username = str(user["username"])
        await auth.audit(request, username, "wallboard", "kiosk.login", "/kiosk")
    except Exception:
        log.exception("kiosk: the user store failed")
        return json_error(503, "user store unavailable")
    response = see_other("/")
    auth.set_session(response, username, kiosk=True)
    return response


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


def add_auth_routes(app: web.Application) -> None:
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/kiosk", kiosk)
    app.router.add_get("/api/session", session_info)
