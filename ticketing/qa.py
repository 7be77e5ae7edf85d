"""Quality assurance (质检) of recorded calls: the scorecard, scoring a call item by item with a
comment each, the random spot-check sample per agent and period, and the monthly 100-point
agent score.

The scorecard is data (the settings' ``[[qa.scorecard]]``, handed in as ``ScorecardItem``s):
items with their points, of two kinds — ``score`` (0 to its points, a judgement such as
greeting or accuracy) and ``check`` (a forbidden behaviour such as a cold reply, talking over
the caller or "不知道": kept = full points, broken = 0), whose ``phrases`` tell the reviewer
what to listen for. The points add up to 100, so a call's total is its score out of 100 and
an agent's month is the mean of their scored calls.

The sample is reproducible: the same seed, agent and period always draw the same calls (a
``random.Random`` seeded with those, over the calls' ids in order), so a spot check can be
re-run and audited; a call scored since is still in its sample, marked scored.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast

from sqlalchemy import Table, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.call_rows import calls
from ticketing.models import AgentRow, QaScoreRow, UserRow
from ticketing.times import require_aware

qa_scores = cast(Table, QaScoreRow.__table__)
_agents = cast(Table, AgentRow.__table__)
_users = cast(Table, UserRow.__table__)

Kind = Literal["score", "check"]
MAX_COMMENT = 1000


@dataclass(frozen=True, slots=True)
class ScorecardItem:
    id: str
    label: str
    points: int
    kind: Kind = "score"
    phrases: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "points": self.points,
                "kind": self.kind, "phrases": list(self.phrases)}  # fmt: skip


class QaError(ValueError):
    """A score or query is refused: ``kind`` is invalid, not_found or scored; ``field`` names
    the input at fault."""

    def __init__(self, kind: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.kind = kind
        self.message = message
        self.field = field


def check_scorecard(items: Sequence[ScorecardItem]) -> None:
    """ValueError unless ids are unique and the points add up to 100."""
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        raise ValueError("scorecard item ids must be unique")
    if any(item.points < 1 for item in items):
        raise ValueError("every scorecard item is worth at least 1 point")
    total = sum(item.points for item in items)
    if total != 100:
        raise ValueError(f"scorecard points add up to {total}, not 100")


def grade(
    scorecard: Sequence[ScorecardItem], given: Sequence[Mapping[str, Any]]
) -> tuple[list[dict[str, Any]], int]:
    """Each item's points and comment checked against the scorecard → (items, total).

    Every item must be scored once: ``{"id", "points", "comment"?}``; a ``check`` item takes
    its full points (kept) or 0 (broken), and a broken check or a score below full marks
    needs a comment (the agent must be able to tell why).
    """
    by_id = {item.id: item for item in scorecard}
    seen: dict[str, Mapping[str, Any]] = {}
    for entry in given:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str):
            raise QaError("invalid", "each item is {id, points, comment}", "items")
        if entry["id"] not in by_id:
            raise QaError("invalid", f"no scorecard item {entry['id']!r}", "items")
        if entry["id"] in seen:
            raise QaError("invalid", f"item {entry['id']!r} scored twice", "items")
        seen[entry["id"]] = entry
    missing = [item.id for item in scorecard if item.id not in seen]
    if missing:
        raise QaError("invalid", f"not scored: {', '.join(missing)}", "items")
    scored: list[dict[str, Any]] = []
    for item in scorecard:
        entry = seen[item.id]
        points = entry.get("points")
        if isinstance(points, bool) or not isinstance(points, int):
            raise QaError("invalid", f"{item.id}: points must be an integer", "items")
        allowed = (0, item.points) if item.kind == "check" else range(item.points + 1)
        if points not in allowed:
            raise QaError(
                "invalid",
                f"{item.id}: {'0 or ' if item.kind == 'check' else '0 to '}{item.points}",
                "items",
            )
        comment = entry.get("comment")
        if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT):
            raise QaError("invalid", f"{item.id}: a comment of at most {MAX_COMMENT}", "items")
        comment = (comment or "").strip() or None
        if points < item.points and comment is None:
            raise QaError("invalid", f"{item.id}: say why points were taken off", "items")
        scored.append({**item.to_json(), "awarded": points, "comment": comment})
    return scored, sum(entry["awarded"] for entry in scored)


def _agent_key() -> Any:
    """Who took a call, as the QA tables name agents: the user tied to the member interface,
    else the queue_log member name."""
    return func.coalesce(_users.c.username, calls.c.answered_by)


def _agent_join() -> Any:
    return calls.outerjoin(
        _agents,
        (_agents.c.interface == calls.c.member_interface) & (_agents.c.pbx == calls.c.pbx),
    ).outerjoin(_users, _users.c.id == _agents.c.user_id)


class QaDesk:
    """The QA store: sample, score, read scores, the monthly agent score."""

    def __init__(self, engine: AsyncEngine, scorecard: Sequence[ScorecardItem]) -> None:
        check_scorecard(scorecard)
        self._engine = engine
        self.scorecard = tuple(scorecard)

    async def sample(
        self, start: datetime, end: datetime, per_agent: int, seed: str, period: str
    ) -> list[dict[str, Any]]:
        """Per agent, ``per_agent`` of their recorded answered calls in [start, end), drawn
        reproducibly from ``seed``, the agent and ``period`` (its label, e.g. ``2026-11``)."""
        require_aware(start, "start")
        require_aware(end, "end")
        agent = _agent_key().label("agent")
        query = (
            select(
                calls.c.id,
                agent,
                calls.c.counted_at,
                calls.c.talk_s,
                calls.c.queue,
                qa_scores.c.total.label("score"),
            )
            .select_from(_agent_join().outerjoin(qa_scores, qa_scores.c.call_id == calls.c.id))
            .where(
                calls.c.counted_at >= start,
                calls.c.counted_at < end,
                calls.c.outcome == "answered",
                calls.c.recording.is_not(None),
                or_(calls.c.recording_audio.is_(None), calls.c.recording_audio.is_(True)),
            )
            .order_by(calls.c.id)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        by_agent: dict[str, list[Any]] = {}
        for row in rows:
            if row.agent:
                by_agent.setdefault(str(row.agent), []).append(row)
        picked: list[dict[str, Any]] = []
        for name in sorted(by_agent):
            pool = by_agent[name]
            draw = random.Random(f"{seed}|{name}|{period}")
            for row in sorted(draw.sample(pool, min(per_agent, len(pool))), key=lambda r: r.id):
                picked.append({
                    "call_id": int(row.id), "agent": name,
                    "counted_at": row.counted_at.isoformat(), "talk_s": row.talk_s,
                    "queue": row.queue, "scored": row.score is not None, "score": row.score,
                })  # fmt: skip
        return picked

    async def score(
        self,
        call_id: int,
        given: Sequence[Mapping[str, Any]],
        reviewer: str,
        comment: str | None = None,
        *,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """Store a reviewer's score of a recorded call; QaError if it is not scorable."""
        items, total = grade(self.scorecard, given)
        if comment is not None and len(comment) > MAX_COMMENT:
            raise QaError("invalid", f"at most {MAX_COMMENT} characters", "comment")
        now = now or datetime.now(UTC)
        agent = _agent_key().label("agent")
        async with self._engine.begin() as connection:
            call = (
                await connection.execute(
                    select(calls.c.id, calls.c.counted_at, calls.c.recording, agent)
                    .select_from(_agent_join())
                    .where(calls.c.id == call_id)
                )
            ).one_or_none()
            if call is None or not call.recording:
                raise QaError("not_found", "no such call, or it has no recording", "call_id")
            if not call.agent:
                raise QaError("invalid", "the call was answered by nobody", "call_id")
            try:
                await connection.execute(
                    qa_scores.insert().values(
                        call_id=call_id, agent=str(call.agent), call_at=call.counted_at,
                        reviewer=reviewer, items=items, total=total,
                        comment=(comment or "").strip() or None, scored_at=now,
                    )
                )  # fmt: skip
            except IntegrityError:
                raise QaError("scored", "this call is scored already", "call_id") from None
        return {"call_id": call_id, "agent": str(call.agent), "reviewer": reviewer,
                "items": items, "total": total, "comment": (comment or "").strip() or None,
                "call_at": call.counted_at.isoformat(), "scored_at": now.isoformat()}  # fmt: skip

    async def scores(
        self, start: datetime, end: datetime, agent: str | None = None
    ) -> list[dict[str, Any]]:
        """Scores of calls in [start, end) (of one agent), newest call first."""
        query = select(qa_scores).where(qa_scores.c.call_at >= start, qa_scores.c.call_at < end)
        if agent is not None:
            query = query.where(qa_scores.c.agent == agent)
        query = query.order_by(qa_scores.c.call_at.desc(), qa_scores.c.id.desc())
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [
            {"call_id": int(r.call_id), "agent": r.agent, "reviewer": r.reviewer,
             "items": r.items, "total": r.total, "comment": r.comment,
             "call_at": r.call_at.isoformat(), "scored_at": r.scored_at.isoformat()}
            for r in rows
        ]  # fmt: skip

    async def monthly(
        self, start: datetime, end: datetime, agent: str | None = None
    ) -> list[dict[str, Any]]:
        """Each agent's 100-point score of the period: the mean of their scored calls (one
        decimal), with how many calls it rests on and the items most often marked down."""
        by_agent: dict[str, list[dict[str, Any]]] = {}
        for score in await self.scores(start, end, agent):
            by_agent.setdefault(score["agent"], []).append(score)
        result = []
        for name in sorted(by_agent):
            scored = by_agent[name]
            lost: dict[str, int] = {}
            for score in scored:
                for item in score["items"]:
                    if item["awarded"] < item["points"]:
                        lost[item["id"]] = lost.get(item["id"], 0) + 1
            mean = sum(s["total"] for s in scored) / len(scored)
            result.append({
                "agent": name, "calls": len(scored), "score": round(mean, 1),
                "marked_down": dict(sorted(lost.items(), key=lambda kv: (-kv[1], kv[0]))),
            })  # fmt: skip
        return result
