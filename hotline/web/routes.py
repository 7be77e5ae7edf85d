"""Routes and their roles, declared together: one entry fills the aiohttp router, the role
table the guard checks and the OpenAPI description (hotline/web/openapi.py).

Each module of the web app keeps a ``RouteTable`` and declares its handlers with it::

    routes = RouteTable()

    @routes.get("/api/kpi", FIGURES, summary="KPI figures", query={"from": DATE, ...})
    async def kpi_report(request): ...

``create_app`` merges the tables and installs them; the guard (hotline/web/auth.py) looks each
request's route up in the merged table and refuses any route that is not in it (a handler
added to the router by hand fails closed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Schema = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Param:
    """A query or path parameter, as OpenAPI and the fuzzer see it."""

    schema: Schema
    description: str = ""
    required: bool = False


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str  # aiohttp's canonical form: {id} placeholders
    handler: Handler
    roles: frozenset[str]
    summary: str
    query: dict[str, Param] = field(default_factory=dict)
    path_params: dict[str, Param] = field(default_factory=dict)
    body: Schema | None = None  # JSON schema of the request body
    body_type: Literal["json", "form"] = "json"
    statuses: tuple[int, ...] = (200,)
    page: bool = False  # HTML, a redirect or a WebSocket rather than JSON

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path


class RouteTable:
    """An ordered set of routes; ``(method, path)`` is unique."""

    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], Route] = {}

    def add(self, route: Route) -> Route:
        if route.key in self._routes:
            raise ValueError(f"route {route.method} {route.path} declared twice")
        self._routes[route.key] = route
        return route

    def route(
        self, method: str, path: str, roles: frozenset[str], *, summary: str, **more: Any
    ) -> Callable[[Handler], Handler]:
        def declare(handler: Handler) -> Handler:
            self.add(Route(method, path, handler, roles, summary, **more))
            return handler

        return declare

    def get(
        self, path: str, roles: frozenset[str], *, summary: str, **more: Any
    ) -> Callable[[Handler], Handler]:
        return self.route("GET", path, roles, summary=summary, **more)

    def post(
        self, path: str, roles: frozenset[str], *, summary: str, **more: Any
    ) -> Callable[[Handler], Handler]:
        return self.route("POST", path, roles, summary=summary, **more)

    def include(self, other: RouteTable) -> None:
        for route in other:
            self.add(route)

    def __iter__(self) -> Iterator[Route]:
        return iter(self._routes.values())

    def __len__(self) -> int:
        return len(self._routes)

    def roles_for(self, method: str, path: str) -> frozenset[str] | None:
        """The roles allowed on a route, ``PUBLIC``, or None when it is not declared.
        HEAD is checked as GET."""
        route = self._routes.get(("GET" if method == "HEAD" else method, path))
        return None if route is None else route.roles

    def install(self, router: web.UrlDispatcher) -> None:
        for route in self:
            if route.method == "GET":
                router.add_get(route.path, route.handler)
            else:
                router.add_route(route.method, route.path, route.handler)


ROUTES: Final = web.AppKey("route_table", RouteTable)
