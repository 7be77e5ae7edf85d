"""What the web app needs from the ticket store (ticketing.store.TicketStore provides it)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from ticketing.registrations import CallFacts, Registration


class UserStore(Protocol):
    async def add_user(
        self,
        username: str,
        display_name: str,
        role: str,
        password_hash: str,
        unit: str | None = None,
    ) -> int: ...

    async def get_user(self, username: str) -> dict[str, Any] | None: ...

    async def set_password_hash(
        self, username: str, password_hash: str, *, end_sessions: bool = True
    ) -> None: ...

    async def set_active(self, username: str, active: bool) -> None: ...

    async def set_role(self, username: str, role: str) -> None: ...

    async def end_sessions(self, username: str) -> None: ...

    async def list_users(self) -> list[dict[str, Any]]: ...

    async def log_access(
        self,
        actor: str,
        role: str,
        action: str,
        target: str | None,
        detail: Mapping[str, Any] | None = None,
        remote: str | None = None,
    ) -> None: ...

    async def access_log(
        self, since: datetime | None = None, actor: str | None = None, limit: int = 500
    ) -> list[dict[str, Any]]: ...


class WebStore(UserStore, Protocol):
    async def calls_between(
        self, start: datetime, end: datetime, queue: str | None = None, pbx: str | None = None
    ) -> list[dict[str, Any]]: ...

    async def add_exclusion(
        self, start: datetime, end: datetime, reason: str, created_by: str
    ) -> int: ...

    async def exclusions_between(
        self, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime, str]]: ...

    async def exclusion_list(self, start: datetime, end: datetime) -> list[dict[str, Any]]: ...

    async def remove_exclusion(self, window_id: int) -> dict[str, Any] | None: ...

    # The screen pop's history (hotline/web/desk_pop.py).
    async def recent_tickets_for_caller(
        self, number: str, days: int = 30, *, now: datetime | None = None
    ) -> list[dict[str, Any]]: ...

    async def incidents(self, active_only: bool = False) -> list[dict[str, Any]]: ...

    async def incident_reports(self, incident_id: str) -> list[dict[str, Any]]: ...

    # The desk's registration form (hotline/web/desk_registration.py).
    async def register_call(
        self,
        form: Registration,
        username: str,
        call: CallFacts | None,
        now: datetime | None = None,
        *,
        took_call: bool | None = None,
        role: str = "agent",
    ) -> dict[str, Any]: ...

    async def save_draft(
        self, username: str, linkedid: str, data: Mapping[str, Any], now: datetime | None = None
    ) -> None: ...

    async def drafts(self, username: str, linkedid: str | None = None) -> list[dict[str, Any]]: ...

    async def cases_about_place(
        self, address: str, category: str, days: int = 30, *, now: datetime | None = None
    ) -> list[dict[str, Any]]: ...
