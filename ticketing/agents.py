"""Agents in the store: each tied to a web user (role agent) and a phone (extension,
queue-member interface, display name), with its skills (queue + penalty) as rows, and the
append-only history of its states (for time-in-state and pause-reason figures).

``AgentDirectory(engine)`` is the one way in; it knows nothing of Asterisk beyond the
interface string it keeps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing.models import AgentRow, AgentSkillRow, AgentStateRow, UserRow
from ticketing.times import require_aware

agents = cast(Table, AgentRow.__table__)
agent_skills = cast(Table, AgentSkillRow.__table__)
agent_states = cast(Table, AgentStateRow.__table__)
_users = cast(Table, UserRow.__table__)

MAX_PENALTY = 1000


def _aware(value: datetime, name: str) -> datetime:
    require_aware(value, name)
    return value


def _check(extension: str, interface: str, name: str, skills: Mapping[str, int]) -> None:
    if not extension or len(extension) > 32 or not extension.replace("-", "").isalnum():
        raise ValueError(f"extension {extension!r}: 1 to 32 letters, digits or '-'")
    if not interface or "/" not in interface or len(interface) > 128:
        raise ValueError(f"interface {interface!r}: like PJSIP/{extension}")
    if not name.strip() or len(name) > 128:
        raise ValueError("name: 1 to 128 characters")
    for queue, penalty in skills.items():
        if not queue or len(queue) > 64:
            raise ValueError(f"skill queue {queue!r}: 1 to 64 characters")
        if not 0 <= penalty <= MAX_PENALTY:
            raise ValueError(f"skill {queue}: penalty from 0 to {MAX_PENALTY}")


class AgentDirectory:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def set_agent(
        self,
        username: str,
        *,
        extension: str,
        name: str,
        interface: str | None = None,
        state_interface: str | None = None,
        pbx: str = "pbx1",
        skills: Mapping[str, int] | None = None,
        roles: tuple[str, ...] = ("agent",),
    ) -> dict[str, Any]:
        """Tie the user (role agent) to a phone, replacing its skills when given; returns
        the agent. ValueError for an unknown user, another role or a taken extension.
        ``roles`` ("supervisor", "admin"): a supervisor's own phone, which listen / whisper /
        barge ring (no skills: it sits in no queue)."""
        interface = interface or f"PJSIP/{extension}"
        _check(extension, interface, name, skills or {})
        now = datetime.now(UTC)
        async with self._engine.begin() as connection:
            user = (
                await connection.execute(
                    select(_users.c.id, _users.c.role).where(_users.c.username == username)
                )
            ).one_or_none()
            if user is None:
                raise ValueError(f"no user {username!r}")
            if user.role not in roles:
                wanted = " or ".join(roles)
                raise ValueError(f"user {username!r} has role {user.role!r}, not {wanted}")
            taken = (
                await connection.execute(
                    select(agents.c.user_id).where(agents.c.extension == extension)
                )
            ).one_or_none()
            if taken is not None and taken.user_id != user.id:
                raise ValueError(f"extension {extension!r} belongs to another agent")
            values = {
                "extension": extension,
                "interface": interface,
                "state_interface": state_interface,
                "name": name.strip(),
                "pbx": pbx,
                "updated_at": now,
            }
            found = (
                await connection.execute(select(agents.c.id).where(agents.c.user_id == user.id))
            ).one_or_none()
            if found is None:
                result = await connection.execute(
                    agents.insert().values(user_id=user.id, created_at=now, **values)
                )
                agent_id = int(cast(Any, result.inserted_primary_key)[0])
            else:
                agent_id = int(found.id)
                await connection.execute(
                    update(agents).where(agents.c.id == agent_id).values(**values)
                )
            if skills is not None:
                await connection.execute(
                    delete(agent_skills).where(agent_skills.c.agent_id == agent_id)
                )
                if skills:
                    await connection.execute(
                        agent_skills.insert(),
                        [
                            {"agent_id": agent_id, "queue": q, "penalty": p}
                            for q, p in sorted(skills.items())
                        ],
                    )
            return await _agent(connection, agents.c.id == agent_id)  # type: ignore[return-value]

    async def for_user(self, username: str) -> dict[str, Any] | None:
        """The agent tied to this web user, with its skills; None if none is."""
        async with self._engine.connect() as connection:
            user_id = select(_users.c.id).where(_users.c.username == username).scalar_subquery()
            return await _agent(connection, agents.c.user_id == user_id)

    async def all(self) -> list[dict[str, Any]]:
        async with self._engine.connect() as connection:
            rows = await connection.execute(select(agents.c.id).order_by(agents.c.extension))
            ids = [int(r.id) for r in rows]
            out = []
            for agent_id in ids:
                agent = await _agent(connection, agents.c.id == agent_id)
                if agent is not None:
                    out.append(agent)
            return out

    async def log_states(self, entries: Iterable[tuple[int, datetime, str, str | None]]) -> None:
        """Append state changes: (agent id, when, state, reason)."""
        rows = [
            {"agent_id": a, "at": _aware(at, "at"), "state": s, "reason": r and r[:64]}
            for a, at, s, r in entries
        ]
        if not rows:
            return
        async with self._engine.begin() as connection:
            await connection.execute(agent_states.insert(), rows)

    async def time_in_states(
        self, agent_id: int, start: datetime, end: datetime
    ) -> dict[tuple[str, str | None], float]:
        """Seconds spent in each (state, reason) between ``start`` and ``end`` (the state
        in force at ``start`` counts from ``start``; the last one runs to ``end``)."""
        start, end = _aware(start, "start"), _aware(end, "end")
        async with self._engine.connect() as connection:
            before = (
                await connection.execute(
                    select(agent_states.c.state, agent_states.c.reason)
                    .where(agent_states.c.agent_id == agent_id, agent_states.c.at < start)
                    .order_by(agent_states.c.at.desc(), agent_states.c.id.desc())
                    .limit(1)
                )
            ).one_or_none()
            rows = (
                await connection.execute(
                    select(agent_states.c.at, agent_states.c.state, agent_states.c.reason)
                    .where(
                        agent_states.c.agent_id == agent_id,
                        agent_states.c.at >= start,
                        agent_states.c.at < end,
                    )
                    .order_by(agent_states.c.at, agent_states.c.id)
                )
            ).all()
        spans: list[tuple[datetime, str, str | None]] = []
        if before is not None:
            spans.append((start, before.state, before.reason))
        spans += [(r.at, r.state, r.reason) for r in rows]
        totals: dict[tuple[str, str | None], float] = {}
        for (at, state, reason), following in zip(
            spans, [*spans[1:], (end, "", None)], strict=True
        ):
            key = (state, reason)
            totals[key] = totals.get(key, 0.0) + (following[0] - at).total_seconds()
        return totals


async def _agent(connection: AsyncConnection, where: Any) -> dict[str, Any] | None:
    row = (
        await connection.execute(
            select(agents, _users.c.username)
            .join(_users, _users.c.id == agents.c.user_id, isouter=True)
            .where(where)
        )
    ).one_or_none()
    if row is None:
        return None
    skills = await connection.execute(
        select(agent_skills.c.queue, agent_skills.c.penalty)
        .where(agent_skills.c.agent_id == row.id)
        .order_by(agent_skills.c.penalty, agent_skills.c.queue)
    )
    return {
        "id": int(row.id),
        "username": row.username,
        "extension": row.extension,
        "interface": row.interface,
        "state_interface": row.state_interface,
        "name": row.name,
        "pbx": row.pbx,
        "skills": [{"queue": s.queue, "penalty": int(s.penalty)} for s in skills],
    }
