"""The shared call-back list (漏接回拨): abandoned and timed-out calls, callback requests from
the IVR (with the caller's recorded message) and survey call-backs, as one work list.

An agent claims an entry (atomically: one conditional UPDATE, so two agents never hold the
same one), every attempt is appended with its result, and a final result closes it. Entries
are keyed by (pbx, linkedid, kind): feeding the same call twice adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.inserts import dialect_insert
from ticketing.models import CALLBACK_KINDS, CallbackAttemptRow, CallbackRow
from ticketing.times import require_aware

callbacks = cast(Table, CallbackRow.__table__)
callback_attempts = cast(Table, CallbackAttemptRow.__table__)

# Results an agent reports. Those in FINAL close the entry; the others leave it claimed
# (try again) until the agent releases it or tries again.
RESULTS: tuple[str, ...] = (
    "reached",  # 已联系: spoke with the citizen
    "no_answer",  # 无人接听
    "busy",  # 占线
    "wrong_number",  # 空号/错号
    "not_needed",  # 无需回拨 (called again and was served, a test call…)
)
FINAL: frozenset[str] = frozenset({"reached", "wrong_number", "not_needed"})
# Results the service logs itself when placing the call.
PLACED = "placed"  # the agent's phone answered: the citizen is being dialled
FAILED = "failed"  # the PBX refused or never reported the call
DIALLED = "dialled"  # how the citizen's leg ended (DialStatus in the detail)
SYSTEM = "system"  # who closes an entry the citizen's own later call made moot


class CallbackError(Exception):
    """Why an operation on an entry was refused: ``kind`` is not_found, taken or invalid."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def _row_view(row: Any, now: datetime) -> dict[str, Any]:
    return {
        "id": int(row.id),
        "kind": row.kind,
        "pbx": row.pbx,
        "linkedid": row.linkedid,
        "uniqueid": row.uniqueid,
        "caller_num": row.caller_num,
        "caller_name": row.caller_name,
        "queue": row.queue,
        "message_path": row.message_path,
        "called_at": row.called_at.isoformat(),
        "age_s": max(0, int((now - row.called_at).total_seconds())),
        "status": row.status,
        "claimed_by": row.claimed_by,
        "claimed_at": row.claimed_at.isoformat() if row.claimed_at else None,
        "attempts": int(row.attempts),
        "result": row.result,
        "closed_at": row.closed_at.isoformat() if row.closed_at else None,
    }


# The kinds a later answered call of the same citizen makes moot (close_served).
SERVED_KINDS: tuple[str, ...] = ("abandoned", "timeout")


class CallbackList:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # The numbers that may have a not-done abandoned or timed-out entry, once loaded
        # (``load_unserved``); None: unknown, every close_served asks the store. Every answered
        # call asks close_served, and almost no caller has such an entry: without this, each
        # answered call cost a database transaction on the AMI ingest's core (issue 6's bench).
        # It only ever errs on the safe side: a number leaves it when the store says that
        # number has nothing left that close_served could close.
        self._unserved: set[str] | None = None

    async def load_unserved(self) -> None:
        """Learn which numbers have not-done abandoned or timed-out entries (at start, before
        any call ends); the entries added later through ``add`` are tracked."""
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                select(callbacks.c.caller_num)
                .where(callbacks.c.status != "done", callbacks.c.kind.in_(SERVED_KINDS))
                .distinct()
            )
            self._unserved = {str(row.caller_num) for row in rows}

    async def add(self, entries: Iterable[Mapping[str, Any]]) -> int:
        """Add entries (kind, pbx, linkedid, uniqueid, caller_num, caller_name, queue,
        message_path, called_at); those already listed are skipped. Returns how many were new."""
        now = datetime.now(UTC)
        rows = []
        for entry in entries:
            if entry["kind"] not in CALLBACK_KINDS:
                raise ValueError(f"unknown call-back kind {entry['kind']!r}")
            require_aware(entry["called_at"], "called_at")
            rows.append(
                {
                    "kind": entry["kind"],
                    "pbx": entry["pbx"],
                    "linkedid": entry["linkedid"],
                    "uniqueid": entry["uniqueid"],
                    "caller_num": str(entry["caller_num"])[:64],
                    "caller_name": entry.get("caller_name"),
                    "queue": entry.get("queue"),
                    "message_path": entry.get("message_path"),
                    "called_at": entry["called_at"],
                    "created_at": now,
                    "status": "open",
                    "attempts": 0,
                }
            )
        if not rows:
            return 0
        added = 0
        async with self._engine.begin() as connection:
            for row in rows:
                result = await connection.execute(
                    dialect_insert(connection.dialect.name, callbacks)
                    .values(**row)
                    .on_conflict_do_nothing(index_elements=["pbx", "linkedid", "kind"])
                )
                added += result.rowcount or 0
        if self._unserved is not None:
            self._unserved.update(r["caller_num"] for r in rows if r["kind"] in SERVED_KINDS)
        return added

    async def close_served(self, caller_num: str, served_at: datetime, detail: str) -> int:
        """The citizen called again and was answered: their open abandoned and timed-out
        entries from before are done (result not_needed, logged as by the system). Callback
        requests and survey call-backs stay: the citizen asked for them. Returns how many."""
        require_aware(served_at, "served_at")
        if self._unserved is not None and caller_num not in self._unserved:
            return 0
        now = datetime.now(UTC)
        async with self._engine.begin() as connection:
            ids = [
                int(row.id)
                for row in await connection.execute(
                    select(callbacks.c.id).where(
                        callbacks.c.caller_num == caller_num,
                        callbacks.c.status == "open",
                        callbacks.c.kind.in_(SERVED_KINDS),
                        callbacks.c.called_at <= served_at,
                    )
                )
            ]
            for callback_id in ids:
                closed = await connection.execute(
                    update(callbacks)
                    .where(callbacks.c.id == callback_id, callbacks.c.status == "open")
                    .values(status="done", result="not_needed", closed_at=now)
                )
                if closed.rowcount == 1:
                    await connection.execute(
                        callback_attempts.insert().values(
                            callback_id=callback_id,
                            at=now,
                            agent=SYSTEM,
                            result="not_needed",
                            detail=detail[:2000],
                        )
                    )
            if self._unserved is not None:
                left = await connection.scalar(
                    select(func.count())
                    .select_from(callbacks)
                    .where(
                        callbacks.c.caller_num == caller_num,
                        callbacks.c.status != "done",
                        callbacks.c.kind.in_(SERVED_KINDS),
                    )
                )
                if not left:
                    self._unserved.discard(caller_num)
        return len(ids)

    async def pending(self, *, now: datetime | None = None, limit: int = 500) -> dict[str, Any]:
        """What is left (open and claimed, oldest call first) and how old it is."""
        now = now or datetime.now(UTC)
        async with self._engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(callbacks)
                    .where(callbacks.c.status != "done")
                    .order_by(callbacks.c.called_at, callbacks.c.id)
                    .limit(limit)
                )
            ).all()
            counts: dict[str, int] = dict(
                (
                    await connection.execute(
                        select(callbacks.c.status, func.count())
                        .where(callbacks.c.status != "done")
                        .group_by(callbacks.c.status)
                    )
                ).all()
            )
        items = [_row_view(row, now) for row in rows]
        return {
            "open": int(counts.get("open", 0)),
            "claimed": int(counts.get("claimed", 0)),
            "oldest_age_s": max((i["age_s"] for i in items), default=None),
            "items": items,
        }

    async def overview(
        self, *, done_since: datetime, now: datetime | None = None, limit: int = 500
    ) -> dict[str, Any]:
        """The list's state for a supervisor: what is left (open, claimed by whom) and what
        was finished since ``done_since``, each entry with its age and its attempts and
        their results (``attempt_log``), oldest call first."""
        require_aware(done_since, "done_since")
        now = now or datetime.now(UTC)
        shown = (callbacks.c.status != "done") | (callbacks.c.closed_at >= done_since)
        async with self._engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(callbacks)
                    .where(shown)
                    .order_by(callbacks.c.called_at, callbacks.c.id)
                    .limit(limit)
                )
            ).all()
            counts: dict[str, int] = dict(
                (
                    await connection.execute(
                        select(callbacks.c.status, func.count())
                        .where(shown)
                        .group_by(callbacks.c.status)
                    )
                ).all()
            )
            ids = [int(row.id) for row in rows]
            attempts = (
                await connection.execute(
                    select(callback_attempts)
                    .where(callback_attempts.c.callback_id.in_(ids))
                    .order_by(callback_attempts.c.at, callback_attempts.c.id)
                )
            ).all()
        logs: dict[int, list[dict[str, Any]]] = {}
        for a in attempts:
            logs.setdefault(int(a.callback_id), []).append(
                {"at": a.at.isoformat(), "agent": a.agent, "result": a.result, "detail": a.detail}
            )
        items = [{**_row_view(row, now), "attempt_log": logs.get(int(row.id), [])} for row in rows]
        return {
            "open": int(counts.get("open", 0)),
            "claimed": int(counts.get("claimed", 0)),
            "done": int(counts.get("done", 0)),
            "done_since": done_since.isoformat(),
            "oldest_age_s": max((i["age_s"] for i in items if i["status"] != "done"), default=None),
            "items": items,
        }

    async def get(self, callback_id: int, *, now: datetime | None = None) -> dict[str, Any]:
        now = now or datetime.now(UTC)
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(select(callbacks).where(callbacks.c.id == callback_id))
            ).one_or_none()
            if row is None:
                raise CallbackError("not_found", f"no call-back {callback_id}")
            attempts = (
                await connection.execute(
                    select(callback_attempts)
                    .where(callback_attempts.c.callback_id == callback_id)
                    .order_by(callback_attempts.c.at, callback_attempts.c.id)
                )
            ).all()
        view = _row_view(row, now)
        view["attempt_log"] = [
            {"at": a.at.isoformat(), "agent": a.agent, "result": a.result, "detail": a.detail}
            for a in attempts
        ]
        return view

    async def claim(self, callback_id: int, username: str) -> dict[str, Any]:
        """Take an open entry (or keep one this user holds). One conditional UPDATE: of two
        agents claiming at once, exactly one gets it, the other a ``taken`` CallbackError."""
        now = datetime.now(UTC)
        async with self._engine.begin() as connection:
            result = await connection.execute(
                update(callbacks)
                .where(
                    callbacks.c.id == callback_id,
                    (callbacks.c.status == "open")
                    | ((callbacks.c.status == "claimed") & (callbacks.c.claimed_by == username)),
                )
                .values(status="claimed", claimed_by=username, claimed_at=now)
            )
            if result.rowcount != 1:
                row = (
                    await connection.execute(
                        select(callbacks.c.status, callbacks.c.claimed_by).where(
                            callbacks.c.id == callback_id
                        )
                    )
                ).one_or_none()
                if row is None:
                    raise CallbackError("not_found", f"no call-back {callback_id}")
                if row.status == "done":
                    raise CallbackError("taken", f"call-back {callback_id} is already done")
                raise CallbackError(
                    "taken", f"call-back {callback_id} is claimed by {row.claimed_by}"
                )
        return await self.get(callback_id)

    async def release(self, callback_id: int, username: str) -> dict[str, Any]:
        """Give a claimed entry back to the list."""
        async with self._engine.begin() as connection:
            result = await connection.execute(
                update(callbacks)
                .where(
                    callbacks.c.id == callback_id,
                    callbacks.c.status == "claimed",
                    callbacks.c.claimed_by == username,
                )
                .values(status="open", claimed_by=None, claimed_at=None)
            )
        if result.rowcount != 1:
            raise CallbackError("taken", f"call-back {callback_id} is not claimed by {username}")
        return await self.get(callback_id)

    async def log_attempt(
        self, callback_id: int, username: str, result: str, detail: str | None = None
    ) -> dict[str, Any]:
        """Append an attempt by the agent holding the entry; a FINAL result closes it."""
        if result not in (*RESULTS, PLACED, FAILED, DIALLED):
            raise CallbackError("invalid", f"unknown result {result!r}")
        now = datetime.now(UTC)
        async with self._engine.begin() as connection:
            # An attempt is one call placed (or refused); the agent's word is its result.
            values: dict[str, Any] = {"result": result}
            if result in (PLACED, FAILED):
                values["attempts"] = callbacks.c.attempts + 1
            if result in FINAL:
                values.update(status="done", closed_at=now)
            updated = await connection.execute(
                update(callbacks)
                .where(
                    callbacks.c.id == callback_id,
                    callbacks.c.status == "claimed",
                    callbacks.c.claimed_by == username,
                )
                .values(**values)
            )
            if updated.rowcount != 1:
                raise CallbackError(
                    "taken", f"call-back {callback_id} is not claimed by {username}"
                )
            await connection.execute(
                callback_attempts.insert().values(
                    callback_id=callback_id,
                    at=now,
                    agent=username,
                    result=result,
                    detail=None if detail is None else detail[:2000],
                )
            )
        return await self.get(callback_id)
