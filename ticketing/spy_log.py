"""The spy log (spy_sessions): who listened to, whispered to or barged into whose call, when.

One row per mode segment; a row is only ever closed (ended_at, end_reason), never changed
otherwise or deleted. ``SpyLog(engine)`` is the acd.spy.SpyLogPort of the service.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.models import SpySessionRow
from ticketing.times import require_aware

spy_sessions = cast(Table, SpySessionRow.__table__)

MODES = ("listen", "whisper", "barge")


class SpyLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def open(
        self,
        *,
        supervisor: str,
        pbx: str,
        agent_interface: str,
        agent_name: str | None,
        linkedid: str | None,
        spyee_channel: str,
        mode: str,
        at: datetime,
        spyer_channel: str | None = None,
    ) -> int:
        if mode not in MODES:
            raise ValueError(f"spy mode {mode!r}: one of {', '.join(MODES)}")
        require_aware(at, "at")
        async with self._engine.begin() as connection:
            result = await connection.execute(
                spy_sessions.insert().values(
                    supervisor=supervisor,
                    pbx=pbx,
                    agent_interface=agent_interface,
                    agent_name=agent_name,
                    linkedid=linkedid,
                    spyee_channel=spyee_channel,
                    spyer_channel=spyer_channel,
                    mode=mode,
                    started_at=at,
                )
            )
            return int(cast(Any, result.inserted_primary_key)[0])

    async def set_spyer(self, session_id: int, channel: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(spy_sessions)
                .where(spy_sessions.c.id == session_id)
                .values(spyer_channel=channel)
            )

    async def end(self, session_id: int, at: datetime, reason: str) -> bool:
        """Close the segment; False if it was closed already (the first end wins)."""
        require_aware(at, "at")
        async with self._engine.begin() as connection:
            result = await connection.execute(
                update(spy_sessions)
                .where(spy_sessions.c.id == session_id, spy_sessions.c.ended_at.is_(None))
                .values(ended_at=at, end_reason=reason[:64])
            )
            return bool(result.rowcount)

    async def switch(self, session_id: int, mode: str, at: datetime) -> int:
        """The supervisor switched modes on the phone: close this segment, open the next."""
        async with self._engine.connect() as connection:
            row = (
                (
                    await connection.execute(
                        select(spy_sessions).where(spy_sessions.c.id == session_id)
                    )
                )
                .mappings()
                .one()
            )
        await self.end(session_id, at, f"switched to {mode}")
        return await self.open(
            supervisor=row["supervisor"],
            pbx=row["pbx"],
            agent_interface=row["agent_interface"],
            agent_name=row["agent_name"],
            linkedid=row["linkedid"],
            spyee_channel=row["spyee_channel"],
            spyer_channel=row["spyer_channel"],
            mode=mode,
            at=at,
        )

    async def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                select(spy_sessions).order_by(spy_sessions.c.id.desc()).limit(limit)
            )
            return [dict(row) for row in rows.mappings()]
