"""The per-user push channel of the agent desk, and the screen pops that travel on it.

Unlike the wallboard (one picture broadcast to every screen), a desk message is for one
user: ``DeskChannel`` keeps each signed-in user's open desks (a user may have two tabs) and
sends to those only. ``ScreenPops`` follows the tracker's ``call.*`` events, keeps the
current pop of each user (so a desk opened while the phone rings still gets it) and pushes
it to that user's desks alone.

Messages (JSON):
- ``{"type": "pop", "pop": {...}}``: the whole current pop (desk_pop.base_pop's shape), sent
  when the phone rings, again when the history arrives, and when it is answered or ends;
- ``{"type": "pop.clear", "linkedid": …, "why": "ring_no_answer" | "abandoned" | …}``;
- ``{"type": "agent", "status": {...}}``: the user's own agent state, when it changes
  (``AgentPushes``, fed by ``agent.status``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from events import topics as t
from hotline.web.caller_mask import callers_for
from hotline.web.desk_pop import PopSources, base_pop, history, shown_to
from hotline.web.push import Screen

log = logging.getLogger(__name__)

# Calls whose queue entry we remember (for the pop's wait): bounded, a leak never grows.
_MAX_QUEUED = 20_000


class AgentLookup(Protocol):
    """Whose desk a ringing queue member is: the agent table ties a web user to a member of
    one PBX (its interface, e.g. ``PJSIP/1001``, or member name): the same interface on two
    PBXs is two phones. Synchronous on purpose: it is on the ring's path, so an
    implementation keeps its table in memory."""

    def username_for(
        self, pbx: str | None, interface: str | None, member: str | None = None
    ) -> str | None: ...


class StaticLookup:
    """A fixed member → username table: keys ``(pbx, interface or member name)`` for one PBX,
    or a bare interface or member name for a member of any PBX (tests, benchmarks)."""

    def __init__(
        self, table: Mapping[str, str] | Mapping[tuple[str, str], str] | None = None
    ) -> None:
        self.table: dict[str | tuple[str, str], str] = {}
        self.table.update(table or {})

    def username_for(
        self, pbx: str | None, interface: str | None, member: str | None = None
    ) -> str | None:
        for name in (interface, member):
            if not name:
                continue
            for key in ((pbx, name) if pbx else None, name):
                if key is not None and key in self.table:
                    return self.table[key]
        return None


def _lookup(directory: AgentLookup, payload: dict[str, Any]) -> str | None:
    return directory.username_for(
        payload.get("pbx"), payload.get("interface"), payload.get("member")
    )


def same_call(pop: dict[str, Any], payload: dict[str, Any]) -> bool:
    """A linkedid is unique on its PBX only: a call is (pbx, linkedid)."""
    return pop["linkedid"] == payload.get("linkedid") and pop.get("pbx") == payload.get("pbx")


@dataclass(frozen=True, slots=True)
class Desk:
    """One open desk: its screen (owner, abort, session check) and the owner's role."""

    screen: Screen
    role: str


class DeskChannel:
    """Open desks by user; a send to one user never waits on another user's desk."""

    def __init__(self, send_timeout: float = 5.0) -> None:
        self._send_timeout = send_timeout
        self.desks: dict[str, dict[web.WebSocketResponse, Desk]] = {}
        self.sent = 0
        self.dropped = 0

    def add(self, ws: web.WebSocketResponse, desk: Desk) -> None:
        self.desks.setdefault(desk.screen.owner, {})[ws] = desk

    def discard(self, ws: web.WebSocketResponse, username: str) -> None:
        mine = self.desks.get(username)
        if mine is not None:
            mine.pop(ws, None)
            if not mine:
                del self.desks[username]

    def connected(self, username: str) -> int:
        return len(self.desks.get(username, ()))

    async def send(self, username: str, message: Callable[[str], dict[str, Any]]) -> None:
        """Send ``message(role)`` to each desk of ``username`` (the role picks the masking).

        One desk after the other, without a task each: a send to a desk that reads normally
        completes without suspending, and tasks would cost a burst of pops its latency.
        """
        for ws, desk in list(self.desks.get(username, {}).items()):
            await self.send_one(ws, desk, message(desk.role))

    async def send_one(
        self, ws: web.WebSocketResponse, desk: Desk, message: dict[str, Any]
    ) -> bool:
        """Send to one desk; a desk that does not take it is cut (its page reconnects)."""
        text = json.dumps(message, ensure_ascii=False, default=str)
        try:
            async with asyncio.timeout(self._send_timeout):
                await ws.send_str(text)
            self.sent += 1
            return True
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            error: BaseException = TimeoutError("send cancelled")
        except Exception as failure:
            error = failure
        log.info("desk: dropping a desk of %s: %r", desk.screen.owner, error)
        self.discard(ws, desk.screen.owner)
        self.dropped += 1
        desk.screen.abort()
        return False

    async def close_user(self, username: str) -> None:
        """Close the desks of ``username`` (their sessions ended)."""
        for ws, desk in list(self.desks.get(username, {}).items()):
            self.discard(ws, username)
            try:
                await asyncio.wait_for(ws.close(message=b"session ended"), self._send_timeout)
            except (Exception, asyncio.CancelledError):
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
                desk.screen.abort()

    async def recheck(self) -> None:
        """Close the desks whose session no longer holds (an unreachable store closes none)."""
        for username, mine in list(self.desks.items()):
            for _ws, desk in list(mine.items()):
                try:
                    valid = await desk.screen.valid()
                except Exception as error:
                    log.warning("desk: cannot re-check a desk's session: %r", error)
                    continue
                if not valid:
                    await self.close_user(username)
                    break

    async def close_all(self) -> None:
        for username in list(self.desks):
            await self.close_user(username)


def pop_message(pop: dict[str, Any]) -> Callable[[str], dict[str, Any]]:
    return lambda role: {"type": "pop", "pop": shown_to(pop, role)}


class ScreenPops:
    """Current pop per user, fed by the bus (``on_event`` takes the ``topics``)."""

    def __init__(
        self, channel: DeskChannel, directory: AgentLookup, sources: PopSources | None
    ) -> None:
        self.channel = channel
        self.directory = directory
        self.sources = sources
        self.current: dict[str, dict[str, Any]] = {}
        self._queued_at: dict[tuple[str | None, str], float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Messages waiting to be sent, in the order they happened; one sender at a time, so
        # a desk sees a pop, its history and its clearing in that order.
        self._outbox: deque[tuple[str, Callable[[str], dict[str, Any]]]] = deque()
        self._sending = asyncio.Lock()
        self._handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            t.CALL_QUEUED: self._on_queued,
            t.CALL_RINGING: self._on_ringing,
            t.CALL_ANSWERED: self._on_answered,
            t.CALL_RING_NO_ANSWER: self._on_ring_no_answer,
            t.CALL_ABANDONED: self._on_gone,
            t.CALL_ENDED: self._on_ended,
        }

    @property
    def topics(self) -> tuple[str, ...]:
        """The call events a pop follows: subscribed to together (one ordered queue), so the
        bus never hands it the others (call.started, call.left… on the AMI ingest's core)."""
        return tuple(self._handlers)

    async def on_event(self, topic: str, payload: dict[str, Any]) -> None:
        """The bus handler: the pop's state changes at once and its messages go out inline
        (the bus calls it in publication order); store reads run as tasks."""
        handler = self._handlers.get(topic)
        if handler is None:
            return
        try:
            handler(payload)
        except Exception:
            log.exception("screen pop: could not handle %s", topic)
        await self._flush()

    def pop_for(self, username: str) -> dict[str, Any] | None:
        return self.current.get(username)

    def answered_by(self, linkedid: str) -> set[str]:
        """The users whose desk shows this call answered at their phone (any PBX)."""
        return {
            username
            for username, pop in self.current.items()
            if pop["linkedid"] == linkedid and pop["state"] != "ringing"
        }

    def dismiss(self, username: str, linkedid: str) -> bool:
        """The agent is done with this call's pop (registered it or closed it)."""
        pop = self.current.get(username)
        if pop is None or pop["linkedid"] != linkedid:
            return False
        del self.current[username]
        self._push(username, _clear(linkedid, "dismissed"))
        self._spawn(self._flush())
        return True

    async def drain(self) -> None:
        """Wait for the pushes and store reads started so far (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- events ------------------------------------------------------------------------

    def _on_queued(self, payload: dict[str, Any]) -> None:
        if len(self._queued_at) >= _MAX_QUEUED:
            self._queued_at.pop(next(iter(self._queued_at)))
        self._queued_at[(payload.get("pbx"), payload["uniqueid"])] = float(payload["at"])

    def _on_ringing(self, payload: dict[str, Any]) -> None:
        username = _lookup(self.directory, payload)
        if username is None:
            return  # a static member nobody is signed in for: no desk to pop
        pop = base_pop(payload, self._queued_at.get((payload.get("pbx"), payload["uniqueid"])))
        self.current[username] = pop
        self._push(username, pop_message(pop))
        if self.sources is not None:
            self._spawn(self._add_history(username, pop))

    async def _add_history(self, username: str, pop: dict[str, Any]) -> None:
        assert self.sources is not None
        found = await history(self.sources, pop)
        if self.current.get(username) is not pop:
            return  # another call rang meanwhile, or this one went away
        pop["history"] = found
        self._push(username, pop_message(pop))
        await self._flush()

    def _on_answered(self, payload: dict[str, Any]) -> None:
        taker = _lookup(self.directory, payload)
        for username, pop in list(self.current.items()):
            if not same_call(pop, payload) or pop["state"] != "ringing":
                continue
            if username == taker:
                pop["state"] = "answered"
                pop["answered_at"] = payload["at"]
                self._push(username, pop_message(pop))
            else:  # ringall: someone else took it
                self._clear(username, pop, "answered_elsewhere")

    def _on_ring_no_answer(self, payload: dict[str, Any]) -> None:
        username = _lookup(self.directory, payload)
        pop = self.current.get(username or "")
        if username and pop and same_call(pop, payload):
            if pop["state"] == "ringing":
                self._clear(username, pop, "ring_no_answer")

    def _on_gone(self, payload: dict[str, Any]) -> None:
        # Abandoned or left the queue before anybody answered: every ringing pop goes.
        for username, pop in list(self.current.items()):
            if same_call(pop, payload) and pop["state"] == "ringing":
                self._clear(username, pop, "abandoned")

    def _on_ended(self, payload: dict[str, Any]) -> None:
        uniqueid = payload.get("uniqueid")
        if uniqueid:
            self._queued_at.pop((payload.get("pbx"), uniqueid), None)
        for username, pop in list(self.current.items()):
            if not same_call(pop, payload):
                continue
            if pop["state"] == "ringing":
                self._clear(username, pop, "ended")
            elif pop["state"] == "answered":
                # Kept until the agent registers the call: the form still needs it.
                pop["state"] = "ended"
                self._push(username, pop_message(pop))

    def _clear(self, username: str, pop: dict[str, Any], why: str) -> None:
        if self.current.get(username) is pop:
            del self.current[username]
        self._push(username, _clear(pop["linkedid"], why))

    def _push(self, username: str, message: Callable[[str], dict[str, Any]]) -> None:
        self._outbox.append((username, message))

    async def _flush(self) -> None:
        async with self._sending:
            while self._outbox:
                username, message = self._outbox.popleft()
                try:
                    await self.channel.send(username, message)
                except Exception:
                    log.exception("screen pop: a push to %s failed", username)

    def _spawn(self, work: Any) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("screen pop: a push failed", exc_info=task.exception())


def _clear(linkedid: str, why: str) -> Callable[[str], dict[str, Any]]:
    return lambda role: {"type": "pop.clear", "linkedid": linkedid, "why": why}


# What of an agent.status payload (events.payloads.AgentStatus) the desk's state shows; the
# rest (its skills, pause reasons…) the desk got once from /api/agent/state.
_STATUS_FIELDS = ("pbx", "interface", "state", "reason", "since", "queues", "call")


class AgentPushes:
    """The agent's own state, pushed to its desks as it changes (``agent.status`` on the
    bus): ``{"type": "agent", "status": {state, reason, since, queues, call, now}}`` —
    ``now`` is the PBX's clock at the change, so the desk's time in state stays on it. The
    desk asks /api/agent/state only when its socket (re)opens, to catch up."""

    def __init__(self, channel: DeskChannel, directory: AgentLookup) -> None:
        self.channel = channel
        self.directory = directory

    async def on_event(self, topic: str, payload: dict[str, Any]) -> None:
        username = self.directory.username_for(payload.get("pbx"), payload.get("interface"))
        if username is None or not self.channel.connected(username):
            return  # no desk open for that phone: nothing to say
        status = {name: payload.get(name) for name in _STATUS_FIELDS}
        status["now"] = payload.get("at")
        try:
            await self.channel.send(username, lambda role: agent_message(status, role))
        except Exception:
            log.exception("desk: the state of %s was not pushed", username)


def agent_message(status: dict[str, Any], role: str) -> dict[str, Any]:
    # The same masking as /api/agent/state and the pop: one rule (caller_mask).
    return {"type": "agent", "status": callers_for(status, role)}
