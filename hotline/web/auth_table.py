"""Who may call what: the one table of routes and the roles allowed on each.

The guard (hotline/web/auth.py) refuses any route that is not listed here, so a new route
without an entry fails closed. ``PUBLIC`` routes need no login; keep them free of personal data.
Paths are aiohttp's canonical route paths (``{id}`` placeholders, static prefix without slash).
"""

from __future__ import annotations

from typing import Final

# The roles of ticketing.users.ROLES, repeated here so the web app does not need the store
# to know them; tests/web check both lists agree.
ROLES: Final = ("agent", "supervisor", "reviewer", "unit", "auditor", "admin", "wallboard")

PUBLIC: Final = frozenset({"*public*"})
SIGNED_IN: Final = frozenset(ROLES)
WALLBOARD: Final = frozenset({"agent", "supervisor", "auditor", "admin", "wallboard"})
SUPERVISION: Final = frozenset({"supervisor", "admin"})
FIGURES: Final = frozenset({"supervisor", "admin", "auditor"})
AUDIT: Final = frozenset({"auditor", "admin"})

# (method, path) -> roles. HEAD is checked as GET.
ROUTE_ROLES: Final[dict[tuple[str, str], frozenset[str]]] = {
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("GET", "/kiosk"): PUBLIC,  # the token in the URL is the credential
    ("GET", "/healthz"): PUBLIC,  # monitoring: component states only, callers masked
    ("GET", "/static"): PUBLIC,  # page assets
    ("POST", "/logout"): SIGNED_IN,
    ("GET", "/api/session"): SIGNED_IN,
    ("GET", "/"): WALLBOARD,
    ("GET", "/api/wallboard"): WALLBOARD,
    ("GET", "/ws"): WALLBOARD,
    ("GET", "/api/incidents"): SUPERVISION,
    ("POST", "/api/incidents"): SUPERVISION,
    ("POST", "/api/incidents/{id}/end"): SUPERVISION,
    ("GET", "/api/kpi/exclusions"): SUPERVISION,
    ("POST", "/api/kpi/exclusions"): SUPERVISION,
    ("POST", "/api/kiosks"): SUPERVISION,
    ("GET", "/api/kpi"): FIGURES,
    ("GET", "/api/access-log"): AUDIT,
}


def roles_for(method: str, path: str) -> frozenset[str] | None:
    """The roles allowed on a route, ``PUBLIC``, or None when the route is not listed."""
    return ROUTE_ROLES.get(("GET" if method == "HEAD" else method, path))
