"""The OpenAPI 3 description of the web app, generated from its one route table.

Every declared route is listed with its roles (``x-roles``; ``["*public*"]`` for public ones)
so that the description, the router and the guard cannot disagree. Served at
``/api/openapi.json`` to every signed-in role: it holds no data, only the shape of the API,
and a client needs it before it knows what it may call. The fuzz suite
(tests/web/test_fuzz_api.py) drives schemathesis with it against a running app.
"""

from __future__ import annotations

from typing import Any

from hotline.web.errors import ERROR_IDS
from hotline.web.routes import Route, RouteTable

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "id": {"type": "string", "enum": sorted(ERROR_IDS)},
                "message": {"type": "string"},
                "field": {"type": "string"},
            },
            "required": ["id", "message"],
        }
    },
    "required": ["error"],
}


def _parameters(route: Route) -> list[dict[str, Any]]:
    out = []
    for where, params in (("path", route.path_params), ("query", route.query)):
        for name, param in params.items():
            out.append(
                {
                    "name": name,
                    "in": where,
                    "required": param.required or where == "path",
                    "description": param.description,
                    "schema": param.schema,
                }
            )
    return out


def _responses(route: Route) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status in route.statuses:
        if status < 400:
            kind = "text/html" if route.page else "application/json"
            responses[str(status)] = {"description": "success", "content": {kind: {}}}
        else:
            responses[str(status)] = {
                "description": "error",
                "content": {"application/json": {"schema": ERROR_SCHEMA}},
            }
    if "*public*" not in route.roles:
        for code, why in (("401", "not signed in"), ("403", "role not allowed")):
            responses.setdefault(
                code,
                {"description": why, "content": {"application/json": {"schema": ERROR_SCHEMA}}},
            )
    return responses


def _operation(route: Route) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": f"{route.method.lower()} {route.path}",
        "summary": route.summary,
        "x-roles": sorted(route.roles),
        "parameters": _parameters(route),
        "responses": _responses(route),
    }
    if "*public*" in route.roles:
        operation["security"] = []
    if route.body is not None:
        kind = (
            "application/x-www-form-urlencoded" if route.body_type == "form" else "application/json"
        )
        operation["requestBody"] = {"required": True, "content": {kind: {"schema": route.body}}}
    return operation


def openapi(table: RouteTable, *, version: str = "0.1.0") -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in table:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "hotline web API",
            "version": version,
            "description": "Roles per operation in x-roles; errors carry a stable id.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "hotline_session"},
            }
        },
        "security": [{"bearer": []}, {"session": []}],
    }
