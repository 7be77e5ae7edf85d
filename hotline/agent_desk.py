"""The agent desk's service: what a signed-in agent can do and see, by username.

It joins what lives in two rooms — the agent's phone and skills (``ticketing.agents``) and
its live state and member actions on its PBX (``acd.agents``) — and keeps the call-back list
(``ticketing.callbacks``) fed from finished calls and survey answers. The web routes
(hotline/web/api_agents.py) call it; failures are `DeskError`s with a stable id and one
line for the person who clicked.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo

from acd.agents.actions import AgentActionFailed, Member, MemberActions, Skill
from acd.agents.board import AgentBoard
from acd.agents.wrapup import WrapUps
from hotline.settings import AgentsSettings
from ticketing.agents import AgentDirectory
from ticketing.callbacks import DIALLED, FAILED, PLACED, CallbackError, CallbackList
from ticketing.store import TicketStore

log = logging.getLogger(__name__)


class DeskError(Exception):
    """``error_id`` is one of hotline.web.errors.ERROR_IDS; ``status`` the HTTP status."""

    def __init__(self, error_id: str, message: str, status: int, field: str | None = None):
        super().__init__(message)
        self.error_id = error_id
        self.message = message
        self.status = status
        self.field = field


# How long a placed call-back is followed for the citizen's leg to be answered or refused.
FOLLOW_DIAL_S = 120.0
# How long an action's answer waits for the member event that shows its effect.
SETTLE_S = 2.0

_ACTION_STATUS = {"refused": 409, "timeout": 504, "unavailable": 503}
_CALLBACK_STATUS = {"not_found": 404, "taken": 409, "invalid": 400}


def _action_error(error: AgentActionFailed) -> DeskError:
    return DeskError(f"agent.pbx_{error.kind}", error.message, _ACTION_STATUS[error.kind])


def _callback_error(error: CallbackError) -> DeskError:
    return DeskError(f"callback.{error.kind}", error.message, _CALLBACK_STATUS[error.kind])


@dataclass(frozen=True, slots=True)
class _Served:
    """An answered call: its caller's earlier missed calls need no call-back any more."""

    caller_num: str
    at: datetime
    detail: str


# What the call-back list's task does next: add an entry (a `callback_entry`) or close.
_CallbackWork = dict[str, Any] | _Served


@dataclass(frozen=True, slots=True)
class DeskAgent:
    id: int
    username: str
    pbx: str
    member: Member
    extension: str
    skills: tuple[Skill, ...]


class AgentDesk:
    def __init__(
        self,
        settings: AgentsSettings,
        *,
        store: TicketStore,
        boards: Mapping[str, AgentBoard],
        actions: Mapping[str, MemberActions],
        timezone: str,
        recordings_dir: str,
        answer_threshold_s: int = 15,
        dial_prefix: str = "",
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.directory = AgentDirectory(store.engine)
        self.callbacks = CallbackList(store.engine)
        self.boards = boards
        self.actions = actions
        self.zone = ZoneInfo(timezone)
        self.recordings_dir = recordings_dir
        self.answer_threshold_s = answer_threshold_s
        # What the outbound route wants before the citizen's number (pbx.outbound_prefix).
        self.dial_prefix = dial_prefix
        self._clock = clock
        # (pbx, interface) → agent, for the wrap-up timer and the state log (no I/O there).
        self._known: dict[tuple[str, str], DeskAgent] = {}
        self._following: set[asyncio.Task[None]] = set()
        # Agent state changes waiting for the store, and the task writing them (on_status).
        self._state_log: list[tuple[int, datetime, str, str | None]] = []
        self._logging: asyncio.Task[None] | None = None
        # Call-back list work heard from call.ended, in call order, and the task doing it
        # (on_call_ended): additions run together in one transaction, each served call after
        # the additions heard before it.
        self._callback_work: list[_CallbackWork] = []
        self._callback_writing: asyncio.Task[None] | None = None
        # The wrap-up timers run on the service's one clock when it is given one (the demo's
        # simulated clock), else on the wall clock: the PBX's own (its last event's time)
        # stands still while nothing happens, and a wrap-up must run out all the same.
        self.wrapups = WrapUps(
            actions,
            self.member_of,
            seconds=settings.wrap_up_s,
            reason=settings.wrap_up_reason,
            now=clock or time.time,
        )

    def _pbx_now(self) -> float:
        if self._clock is not None:
            return self._clock()  # the service's one clock (the demo's simulated one)
        clock = max((b.clock for b in self.boards.values()), default=0.0)
        return clock if clock > 0 else datetime.now(UTC).timestamp()

    async def load(self) -> None:
        """Learn every agent of the store (the wrap-up timer and state log need them)."""
        for row in await self.directory.all():
            self._remember(row)
        try:
            await self.callbacks.load_unserved()
        except Exception:  # without it every answered call asks the store: slower, still right
            log.exception("call-back list: open entries not loaded; asking the store per call")

    def _remember(self, row: dict[str, Any]) -> DeskAgent:
        agent = DeskAgent(
            id=row["id"],
            username=row["username"],
            pbx=row["pbx"],
            member=Member(row["interface"], row["name"], row["state_interface"]),
            extension=row["extension"],
            skills=tuple(Skill(s["queue"], s["penalty"]) for s in row["skills"]),
        )
        self._known[(agent.pbx, agent.member.interface)] = agent
        return agent

    def username_for(
        self, pbx: str | None, interface: str | None, member: str | None = None
    ) -> str | None:
        """Whose desk a ringing queue member of ``pbx`` is (hotline.web.desk_push.AgentLookup,
        for the screen pops): the agents known so far; no I/O, it is on the ring's path.
        ``member`` (its MemberName) is not used: the agent table ties a user to an interface,
        and the same interface on another PBX is another phone."""
        if pbx is None or interface is None:
            return None
        agent = self._known.get((pbx, interface))
        return agent.username if agent else None

    def member_of(self, pbx: str, interface: str) -> Member | None:
        agent = self._known.get((pbx, interface))
        return agent.member if agent else None

    async def agent(self, username: str) -> DeskAgent:
        row = await self.directory.for_user(username)
        if row is None:
            raise DeskError(
                "agent.not_linked", f"user {username!r} is not tied to an agent phone", 404
            )
        if row["pbx"] not in self.actions:
            raise DeskError("agent.not_linked", f"agent's PBX {row['pbx']!r} is not followed", 404)
        return self._remember(row)

    # ---- state and member actions ----------------------------------------------------------

    async def _settled(self, agent: DeskAgent, done: Callable[[dict[str, Any]], bool]) -> None:
        """Wait (bounded) for the member event that follows an accepted action: Asterisk
        answers first and reports the change right after, so the state the desk gets back
        is the new one. Past the bound the action still stands (the event may be late)."""
        board = self.boards[agent.pbx]
        try:
            async with asyncio.timeout(SETTLE_S):
                while not done(board.view(agent.member.interface)):  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
        except TimeoutError:
            log.info("agent %s: the PBX's member event is late", agent.username)

    async def status(self, username: str) -> dict[str, Any]:
        agent = await self.agent(username)
        view = self.boards[agent.pbx].view(agent.member.interface)
        return {
            **view,
            "username": agent.username,
            "extension": agent.extension,
            "name": agent.member.name,
            "skills": [{"queue": s.queue, "penalty": s.penalty} for s in agent.skills],
            "wrap_up_left_s": self.wrapups.remaining(agent.pbx, agent.member.interface),
            "pause_reasons": list(self.settings.pause_reasons),
            "now": self._pbx_now(),
        }

    async def login(
        self, username: str, *, paused: bool = False, reason: str | None = None
    ) -> dict[str, Any]:
        agent = await self.agent(username)
        if not agent.skills:
            raise DeskError("agent.no_skills", "no queues (skills) are set for this agent", 409)
        if reason is not None:
            self._check_reason(reason)
        try:
            await self.actions[agent.pbx].login(
                agent.member, agent.skills, paused=paused, reason=reason or ""
            )
        except AgentActionFailed as error:
            raise _action_error(error) from None
        queues = {s.queue for s in agent.skills}
        await self._settled(agent, lambda v: queues <= {q["queue"] for q in v["queues"]})
        return await self.status(username)

    async def logout(self, username: str) -> dict[str, Any]:
        agent = await self.agent(username)
        view = self.boards[agent.pbx].view(agent.member.interface)
        dynamic = [q["queue"] for q in view["queues"] if q["dynamic"]]
        static = [q["queue"] for q in view["queues"] if not q["dynamic"]]
        # Skills too: a member the board has not heard of yet (just logged in) still leaves.
        # Not the static queues: the PBX refuses to remove a static member ("Member not
        # dynamic"), which would fail the whole log-out of a phone that is static somewhere.
        queues = sorted((set(dynamic) | {s.queue for s in agent.skills}) - set(static))
        try:
            await self.actions[agent.pbx].logout(agent.member, queues)
        except AgentActionFailed as error:
            raise _action_error(error) from None
        self.wrapups.cancel(agent.pbx, agent.member.interface)
        await self._settled(agent, lambda v: all(not q["dynamic"] for q in v["queues"]))
        status = await self.status(username)
        if static:
            status["static_queues"] = static  # from the settings: pause there instead
        return status

    def _check_reason(self, reason: str) -> None:
        if reason not in self.settings.pause_reasons:
            raise DeskError(
                "agent.reason",
                f"unknown pause reason {reason!r}: one of {', '.join(self.settings.pause_reasons)}",
                400,
                "reason",
            )

    async def pause(self, username: str, reason: str) -> dict[str, Any]:
        self._check_reason(reason)
        agent = await self.agent(username)
        self._require_logged_in(agent)
        try:
            await self.actions[agent.pbx].pause(agent.member, reason)
        except AgentActionFailed as error:
            raise _action_error(error) from None
        await self._settled(agent, lambda v: all(q["reason"] == reason for q in v["queues"]))
        return await self.status(username)

    async def unpause(self, username: str) -> dict[str, Any]:
        """Ready: ends a pause, and ends after-call work early."""
        agent = await self.agent(username)
        self._require_logged_in(agent)
        try:
            await self.actions[agent.pbx].unpause(agent.member)
        except AgentActionFailed as error:
            raise _action_error(error) from None
        self.wrapups.cancel(agent.pbx, agent.member.interface)
        await self._settled(agent, lambda v: not any(q["paused"] for q in v["queues"]))
        return await self.status(username)

    async def end_wrap_up(self, username: str) -> dict[str, Any]:
        agent = await self.agent(username)
        view = self.boards[agent.pbx].view(agent.member.interface)
        if view["state"] != "wrap_up":
            raise DeskError("agent.not_now", f"not in after-call work (state {view['state']})", 409)
        return await self.unpause(username)

    def _require_logged_in(self, agent: DeskAgent) -> None:
        if self.boards[agent.pbx].view(agent.member.interface)["state"] == "logged_out":
            raise DeskError("agent.not_now", "not logged in to any queue", 409)

    # ---- supervision (the supervisor console) ----------------------------------------------

    async def agents_overview(self) -> dict[str, Any]:
        """Every desk agent with its live state (on its PBX's board), for a supervisor."""
        items = []
        for row in await self.directory.all():
            if row["username"] is None:
                continue  # a phone whose user was deleted: nobody to pause or log out
            agent = self._remember(row)
            board = self.boards.get(agent.pbx)
            view = board.view(agent.member.interface) if board else None
            items.append(
                {
                    "username": agent.username,
                    "name": agent.member.name,
                    "extension": agent.extension,
                    "pbx": agent.pbx,
                    "followed": board is not None,  # a PBX this service does not follow
                    "state": view["state"] if view else "logged_out",
                    "reason": view["reason"] if view else None,
                    "since": view["since"] if view else None,
                    "call": view["call"] if view else None,
                    "queues": [q["queue"] for q in view["queues"]] if view else [],
                }
            )
        return {
            "items": items,
            "pause_reasons": list(self.settings.pause_reasons),
            "now": self._pbx_now(),
        }

    async def callback_overview(self, *, now: datetime | None = None) -> dict[str, Any]:
        """The call-back list's state: what is left, and what was done today (local day);
        ages and today on the PBX's clock, like the desk's own list."""
        now = now or datetime.fromtimestamp(self._pbx_now(), UTC)
        today = datetime.combine(now.astimezone(self.zone).date(), datetime.min.time(), self.zone)
        return await self.callbacks.overview(done_since=today, now=now)

    # ---- figures ---------------------------------------------------------------------------

    async def figures(self, username: str, *, now: datetime | None = None) -> dict[str, Any]:
        """Today's own figures (local day of site.timezone): calls answered, talk time,
        average handle time (talk + after-call work) and share answered within the threshold,
        and the time spent in each state and pause reason."""
        agent = await self.agent(username)
        # The state changes heard so far are stored first: the figures the desk fetches when
        # a change is pushed (a pause just ended) include that change.
        await self.flush_states()
        # The PBX's today, like the live KPIs (the demo's simulated clock too).
        now = now or datetime.fromtimestamp(self._pbx_now(), UTC)
        start = datetime.combine(now.astimezone(self.zone).date(), datetime.min.time(), self.zone)
        rows = await self.store.calls_between(start, now + timedelta(seconds=1), pbx=agent.pbx)
        mine = [
            r
            for r in rows
            if r.get("member_interface") == agent.member.interface and r.get("talk_s") is not None
        ]
        talk = sum(int(r["talk_s"] or 0) for r in mine)
        fast = sum(1 for r in mine if (r.get("wait_s") or 0) <= self.answer_threshold_s)
        states = await self.directory.time_in_states(agent.id, start, now)
        wrap = sum(s for (state, _), s in states.items() if state == "wrap_up")
        answered = len(mine)
        return {
            "day": start.date().isoformat(),
            "calls": answered,
            "talk_s": talk,
            "wrap_up_s": round(wrap),
            "aht_s": round((talk + wrap) / answered, 1) if answered else None,
            "answered_within_s": self.answer_threshold_s,
            "answered_within_share": round(fast / answered, 4) if answered else None,
            "states": [
                {"state": state, "reason": reason, "seconds": round(seconds)}
                for (state, reason), seconds in sorted(
                    states.items(), key=lambda item: (item[0][0], item[0][1] or "")
                )
            ],
        }

    # ---- call-back list --------------------------------------------------------------------

    async def callback_list(self) -> dict[str, Any]:
        # Ages on the PBX's clock, like every time the desk shows (the demo's simulated one).
        return await self.callbacks.pending(now=datetime.fromtimestamp(self._pbx_now(), UTC))

    async def callback(self, callback_id: int) -> dict[str, Any]:
        try:
            return await self.callbacks.get(
                callback_id, now=datetime.fromtimestamp(self._pbx_now(), UTC)
            )
        except CallbackError as error:
            raise _callback_error(error) from None

    async def claim(self, username: str, callback_id: int) -> dict[str, Any]:
        await self.agent(username)
        try:
            return await self.callbacks.claim(callback_id, username)
        except CallbackError as error:
            raise _callback_error(error) from None

    async def release(self, username: str, callback_id: int) -> dict[str, Any]:
        try:
            return await self.callbacks.release(callback_id, username)
        except CallbackError as error:
            raise _callback_error(error) from None

    async def place(self, username: str, callback_id: int) -> dict[str, Any]:
        """Ring the agent's phone; once answered, the PBX dials the citizen through the trunk
        (``agents.callback_context``). The attempt is logged placed or failed either way."""
        agent = await self.agent(username)
        try:
            entry = await self.callbacks.get(callback_id)
        except CallbackError as error:
            raise _callback_error(error) from None
        if entry["status"] != "claimed" or entry["claimed_by"] != username:
            raise DeskError("callback.taken", "claim this call-back before calling", 409)
        settings = self.settings
        number = str(entry["caller_num"])
        if not number.isascii() or not number.isdigit():
            # The outbound route dials digits only (no "+", no anonymous caller ID).
            detail = f"the caller's number {number!r} cannot be dialled"
            await self._log(callback_id, username, FAILED, detail)
            raise DeskError("callback.not_placed", detail, 409)
        try:
            result = await self.actions[agent.pbx].originate(
                agent.member,
                context=settings.callback_context,
                exten=f"{self.dial_prefix}{number}",
                caller_id=f'"回拨 {entry["caller_num"]}" <{entry["caller_num"]}>',
                ring_s=settings.callback_ring_s,
                variables={"HOTLINE_CALLBACK_ID": str(callback_id)},
            )
        except AgentActionFailed as error:
            await self._log(callback_id, username, FAILED, error.message)
            raise _action_error(error) from None
        if not result.ok:
            detail = f"your phone: {result.text}"
            await self._log(callback_id, username, FAILED, detail)
            raise DeskError("callback.not_placed", f"call not placed: {detail}", 409)
        placed = await self._log(callback_id, username, PLACED, f"your phone: {result.text}")
        if result.uniqueid:
            task = asyncio.get_running_loop().create_task(
                self._follow(agent, callback_id, username, result.uniqueid)
            )
            self._following.add(task)
            task.add_done_callback(self._following.discard)
        return placed

    async def _follow(
        self, agent: DeskAgent, callback_id: int, username: str, uniqueid: str
    ) -> None:
        """Log how the citizen's leg ended (the Dial of the outbound route), as it happens."""
        status = await self.actions[agent.pbx].dial_outcome(uniqueid, FOLLOW_DIAL_S)
        detail = f"citizen: {status}" if status else "citizen: no dial seen"
        try:
            await self.callbacks.log_attempt(callback_id, username, DIALLED, detail)
        except CallbackError as error:  # released or closed meanwhile: the agent moved on
            log.info("call-back %s: %s not logged: %s", callback_id, detail, error)
        except Exception:
            log.exception("call-back %s: %s not logged", callback_id, detail)

    async def _log(
        self, callback_id: int, username: str, result: str, detail: str | None
    ) -> dict[str, Any]:
        try:
            return await self.callbacks.log_attempt(callback_id, username, result, detail)
        except CallbackError as error:
            raise _callback_error(error) from None

    async def report(
        self, username: str, callback_id: int, result: str, note: str | None
    ) -> dict[str, Any]:
        return await self._log(callback_id, username, result, note)

    # ---- bus subscribers -------------------------------------------------------------------

    async def on_call_ended(self, topic: str, payload: dict[str, Any]) -> None:
        """Abandoned and timed-out calls and IVR callback requests join the call-back list;
        an answered call closes its caller's earlier missed ones.

        Stored by one task, in the order heard, so that a served call never overtakes the
        missed call it closes: the entries heard while a transaction runs are added together
        in the next one. A transaction per abandoned call cost the AMI ingest's core more than
        the calls' own batched inserts (issue 6's bench); `flush_callbacks` waits for it.
        """
        entry = self.callback_entry(payload)
        if entry is not None:
            self._callback_work.append(entry)
        elif payload.get("outcome") == "answered" and payload.get("caller_num"):
            # Called again and served: an earlier missed call needs no call-back any more.
            when = payload.get("answered_at") or payload.get("ended_at") or 0
            self._callback_work.append(
                _Served(
                    str(payload["caller_num"]),
                    datetime.fromtimestamp(float(when), UTC),
                    f"answered on call {payload['linkedid']}",
                )
            )
        else:
            return
        if self._callback_writing is None or self._callback_writing.done():
            self._callback_writing = asyncio.get_running_loop().create_task(self._write_callbacks())

    async def _write_callbacks(self) -> None:
        while self._callback_work:
            work, self._callback_work = self._callback_work, []
            entries: list[dict[str, Any]] = []
            numbers: set[str] = set()  # as the list stores them (add keeps 64 characters)
            for item in work:
                if isinstance(item, _Served):
                    # Served calls only close entries of their own number: the additions
                    # heard before go first only when one of them is that caller's.
                    if item.caller_num in numbers:
                        await self._add_callbacks(entries)
                        entries, numbers = [], set()
                    try:
                        await self.callbacks.close_served(item.caller_num, item.at, item.detail)
                    except Exception:
                        log.exception("call-back list: served call %s not closed", item.detail)
                else:
                    entries.append(item)
                    numbers.add(str(item["caller_num"])[:64])
            await self._add_callbacks(entries)

    async def _add_callbacks(self, entries: list[dict[str, Any]]) -> None:
        if not entries:
            return
        try:
            await self.callbacks.add(entries)
            return
        except Exception:
            if len(entries) == 1:
                log.exception("call-back list: call %s not added", entries[0]["linkedid"])
                return
        # One entry the store refuses must not cost the others their place: one at a time.
        for entry in entries:
            try:
                await self.callbacks.add([entry])
            except Exception:
                log.exception("call-back list: call %s not added", entry["linkedid"])

    async def flush_callbacks(self) -> None:
        """Wait until the call-back list work heard so far is stored (tests, shutdown)."""
        while self._callback_writing is not None and not self._callback_writing.done():
            await asyncio.shield(self._callback_writing)

    def callback_entry(self, record: Mapping[str, Any]) -> dict[str, Any] | None:
        number = record.get("caller_num")
        outcome = record.get("outcome")
        if not number:
            return None  # an anonymous caller cannot be called back
        if record.get("callback_requested"):
            kind = "callback_request"
        elif outcome in ("abandoned", "timeout"):
            kind = str(outcome)
        else:
            return None
        # The dialplan's callback step records the caller's message (after a queue timeout).
        message = None
        if kind == "callback_request" and outcome == "timeout":
            message = str(PurePosixPath(self.recordings_dir) / f"callback-{record['uniqueid']}.wav")
        when = record.get("queue_entered_at") or record.get("started_at") or record.get("ended_at")
        return {
            "kind": kind,
            "pbx": record.get("pbx") or "pbx1",
            "linkedid": record["linkedid"],
            "uniqueid": record["uniqueid"],
            "caller_num": number,
            "caller_name": record.get("caller_name"),
            "queue": record.get("queue"),
            "message_path": message,
            "called_at": datetime.fromtimestamp(float(when or 0), UTC),
        }

    async def on_survey(self, topic: str, payload: dict[str, Any]) -> None:
        """A dissatisfied survey answer is a call-back (回访) for the list."""
        if payload.get("answer") != "dissatisfied" or not payload.get("caller_num"):
            return
        await self.callbacks.add(
            [
                {
                    "kind": "survey",
                    "pbx": payload.get("pbx") or "pbx1",
                    "linkedid": payload["linkedid"],
                    "uniqueid": payload["uniqueid"],
                    "caller_num": payload["caller_num"],
                    "caller_name": payload.get("caller_name"),
                    "queue": None,
                    "message_path": None,
                    "called_at": datetime.fromtimestamp(float(payload["at"]), UTC),
                }
            ]
        )

    async def on_status(self, topic: str, payload: dict[str, Any]) -> None:
        """Desk agents: their state changes go to the store (time in state, pause reasons),
        and a finished call starts their after-call work (``wrapups``).

        The state log is written in batches, one transaction per batch while the previous
        one is stored, by a task of its own: a busy PBX changes states faster than one
        transaction per change could keep up with, and since nothing here waits for the
        store, a slow store never delays after-call work. One subscriber for both: each
        ``agent.status`` is one delivery on the AMI ingest's core, not two (issue 6's bench).
        """
        agent = self._known.get((payload["pbx"], payload["interface"]))
        if agent is None:
            return
        if payload["state"] != payload["previous"] or payload["change"] in ("pause", "resync"):
            at = datetime.fromtimestamp(float(payload["since"] or payload["at"]), UTC)
            self._state_log.append((agent.id, at, payload["state"], payload["reason"]))
            if self._logging is None or self._logging.done():
                self._logging = asyncio.get_running_loop().create_task(self._write_states())
        await self.wrapups.on_status(topic, payload)

    async def _write_states(self) -> None:
        while self._state_log:
            batch, self._state_log = self._state_log, []
            try:
                await self.directory.log_states(batch)
            except Exception:  # the figures lose these spans; the desk and the wrap-up go on
                log.exception("%d agent state changes not stored", len(batch))

    async def flush_states(self) -> None:
        """Wait until the state changes heard so far are stored (tests, shutdown)."""
        while self._logging is not None and not self._logging.done():
            await asyncio.shield(self._logging)

    def close(self) -> None:
        self.wrapups.close()
        for task in self._following:
            task.cancel()
