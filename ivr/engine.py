"""Walks one caller through a menu: prompts, keys, announcements, actions.

Knows nothing of sockets: it drives a ``CallChannel`` (``ivr.session.AgiSession`` is one) and
records what happened in ``MenuWalk.outcome`` as it goes, so that when the caller hangs up
halfway the path so far is still there to be published.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from asterisk_conf import channel_vars as cv
from events.topics import IVR_INCIDENT_REPORT
from ivr.actions import Finish, MenuAction, QueueAction, kind_of
from ivr.incidents import IncidentBoard
from ivr.menu import Menu, Node
from ivr.session import DigitsResult
from working_days import WorkingCalendar

log = logging.getLogger(__name__)

# Ticket number and caller number → the prompts that tell the progress; None = no such ticket.
TicketLookup = Callable[[str, str], Awaitable[Sequence[str] | None]]
Publish = Callable[[str, dict[str, Any]], Any]

# A caller can wander (e.g. back to the main menu again and again); never forever.
MAX_STEPS = 50
# Actions chained without a node in between (night destinations pointing at each other).
MAX_HOPS = 10


class CallChannel(Protocol):
    @property
    def uniqueid(self) -> str: ...
    @property
    def caller_number(self) -> str: ...
    async def stream_file(self, prompt: str, escape_digits: str = "") -> str | None: ...
    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> DigitsResult: ...
    async def set_variable(self, name: str, value: str) -> None: ...
    async def set_variables(self, pairs: Sequence[tuple[str, str]]) -> None: ...


@dataclass
class IvrOutcome:
    path: list[str] = field(default_factory=list)
    digits: str = ""
    choice: str | None = None
    queue: str | None = None
    priority: int = 0
    incident: str | None = None
    callback_requested: bool = False
    language: str = "zh"
    district: str | None = None
    # The ticket category of the choice that routed the call (the menu's `category`).
    category: str | None = None
    # The blocklist entry that turned the caller away (ivr.blocklist), if one did.
    blocked: int | None = None
    # queue: on to Queue(); hangup: the IVR ends the call; caller_hangup, timeout, error.
    ended: str = "running"


class MenuWalk:
    def __init__(
        self,
        channel: CallChannel,
        menu: Menu,
        *,
        linkedid: str,
        board: IncidentBoard,
        publish: Publish,
        ticket_lookup: TicketLookup,
        local_now: Callable[[], dt.datetime],
        calendar: WorkingCalendar,
    ) -> None:
        self.channel = channel
        self.menu = menu
        self.linkedid = linkedid
        self.board = board
        self.publish = publish
        self.ticket_lookup = ticket_lookup
        self.local_now = local_now
        self.calendar = calendar
        self.outcome = IvrOutcome(language=menu.language)
        self._announced: set[str] = set()
        self._keys: list[str] = []  # the keys that selected something, for the default choice
        # HOTLINE_* values already on the channel: only changes are sent again.
        self._on_channel: dict[str, str] = {}

    async def run(self) -> IvrOutcome:
        """Walk from the start node until a final action; return with ``outcome.ended`` set."""
        result: str | Finish = self.menu.start
        steps = 0
        while not isinstance(result, Finish):
            steps += 1
            if steps > MAX_STEPS:
                log.warning("call %s: %d menu steps, sending to an agent", self.linkedid, steps)
                result = await self.perform(self.agent("too-many-steps"))
                continue
            node = self.menu.nodes[result]
            self.outcome.path.append(node.id)
            await self._report()
            action = await self._announce(node)
            if action is None:
                action = await self._ask(node) if node.options else await self._pass(node)
            result = await self.perform(action)
        finish = result
        await self._set_result_variables()
        self.outcome.ended = "hangup" if finish.hang_up else "queue"
        return self.outcome

    # -- nodes ---------------------------------------------------------------------------------
    async def _pass(self, node: Node) -> MenuAction:
        key = await self.play(node.prompts, self.menu.agent_key)
        if key == self.menu.agent_key:
            return self.agent(key)
        assert node.next is not None  # validated: a node without options has next
        return node.next

    async def _ask(self, node: Node) -> MenuAction:
        valid = "".join(sorted(set(node.options) | {self.menu.agent_key}))
        failures = 0
        while True:
            key = await self.play(node.prompts[:-1], valid)
            if key is None:
                answer = await self.channel.get_data(node.prompts[-1], int(node.timeout * 1000), 1)
                key = answer.digits[:1] or None
                if key is None and not answer.timed_out:
                    key = "#"  # '#' ends GET DATA with no digits: a key, just not a valid one
            if key is not None:
                self.outcome.digits += key
            if key in node.options:
                self._keys.append(key)
                return node.options[key]
            if key == self.menu.agent_key:
                self._keys.append(key)
                return self.agent(key)
            failure = "timeout" if key is None else "invalid"
            failures += 1
            if failures > node.retries:
                fallback = node.on_timeout if key is None else node.on_invalid
                if fallback is None:
                    return self.agent(failure)
                if isinstance(fallback, QueueAction) and fallback.choice is None:
                    return QueueAction(fallback.queue, fallback.priority, failure)
                self.outcome.choice = self.outcome.choice or failure
                return fallback
            retry_prompt = self.menu.timeout_prompt if key is None else self.menu.invalid_prompt
            if retry_prompt:
                await self.channel.stream_file(retry_prompt)

    def agent(self, choice: str) -> QueueAction:
        """The agent queue; ``choice`` is the agent key or why the caller is sent there."""
        agent = self.menu.agent
        if choice == self.menu.agent_key:
            choice = agent.choice or choice
        return QueueAction(agent.queue, agent.priority, choice)

    async def play(self, prompts: Sequence[str], escape: str = "") -> str | None:
        for prompt in prompts:
            key = await self.channel.stream_file(prompt, escape)
            if key is not None:
                self.outcome.digits += key
                return key
        return None

    # -- incidents -----------------------------------------------------------------------------
    async def _announce(self, node: Node) -> MenuAction | None:
        settings = self.menu.incidents
        matching = self.board.matching(
            self.channel.caller_number, self.outcome.district, node.id, node.announce_incidents
        )
        for incident in matching:
            if incident.id in self._announced:
                continue
            self._announced.add(incident.id)
            escape = settings.confirm_key + self.menu.agent_key
            key = await self.channel.stream_file(incident.prompt, escape)
            if key is None:
                answer = await self.channel.get_data(
                    settings.confirm_prompt, int(settings.timeout * 1000), 1
                )
                key = answer.digits[:1] or None
            if key is not None:
                self.outcome.digits += key
            if key == self.menu.agent_key:
                self._keys.append(key)
                return self.agent(key)
            if key == settings.confirm_key and self.outcome.incident is None:
                await self.register(incident.id)
                agent_key = await self.channel.stream_file(
                    settings.registered_prompt, self.menu.agent_key
                )
                if agent_key is not None:
                    self.outcome.digits += agent_key
                    self._keys.append(agent_key)
                    return self.agent(agent_key)
        return None

    async def register(self, incident_id: str) -> None:
        incident = self.board.register_caller(incident_id, self.linkedid)
        self.outcome.incident = incident_id
        # At once: the call tracker merges the call into the incident (并单) from this VarSet,
        # whether or not the caller stays until the end of the menu.
        await self._report()
        await publish_safely(
            self.publish,
            IVR_INCIDENT_REPORT,
            {
                "linkedid": self.linkedid,
                "uniqueid": self.channel.uniqueid,
                "incident_id": incident_id,
                "caller_number": self.channel.caller_number,
                "at": dt.datetime.now(dt.UTC).isoformat(),
                "merged_callers": incident.merged_callers,
            },
        )

    # -- actions -------------------------------------------------------------------------------
    async def perform(self, action: MenuAction, hops: int = 0) -> str | Finish:
        """Carry out an action (its kind's ``perform``): the next node id, or how the walk
        finishes."""
        if hops > MAX_HOPS:
            return await self.perform(self.agent("night-loop"))
        return await kind_of(action).perform(self, action, hops)

    def pressed(self, key: str) -> None:
        """A key that selected something: the default choice is made of these."""
        self._keys.append(key)

    def default_choice(self) -> str:
        return "".join(self._keys) or "none"

    async def _set_result_variables(self) -> None:
        out = self.outcome
        pairs = self._changes(with_choice=False)
        # Last and in this order, as the IVR of the captures did: the dialplan goes on to
        # Queue() with them. All in one command: between the key and the queue the caller
        # waits for each round trip to Asterisk (bench/pbx_calls.py).
        if out.queue is not None:
            pairs.append((cv.QUEUE.name, out.queue))
        pairs.append((cv.CHOICE.name, out.choice or "none"))
        pairs.append((cv.PRIORITY.name, str(out.priority)))
        await self.channel.set_variables(pairs)
        self._on_channel[cv.CHOICE.name] = out.choice or "none"

    async def _report(self, *, with_choice: bool = True) -> None:
        """Put what the walk decided so far on the channel, as HOTLINE_* variables.

        They are the IVR's only report to the call record: the AMI call tracker reads them
        from the VarSet events, so the IVR can run in a process (or on a host) of its own.
        Sent as soon as known and only when changed, so a caller hanging up halfway still
        leaves the nodes walked, the language and an incident registered against; the
        changes of one step go in one command.
        """
        changes = self._changes(with_choice=with_choice)
        if changes:
            await self.channel.set_variables(changes)

    def _changes(self, *, with_choice: bool) -> list[tuple[str, str]]:
        """The HOTLINE_* values that differ from what the channel has, now taken as sent."""
        out = self.outcome
        wanted = {
            cv.LANGUAGE.name: out.language,
            cv.PATH.name: cv.PATH_SEPARATOR.join(out.path),
            cv.DIGITS.name: out.digits,
            cv.CATEGORY.name: out.category or "",
            cv.CALLBACK.name: "1" if out.callback_requested else "",
            cv.INCIDENT.name: out.incident or "",
        }
        if with_choice and out.choice is not None:
            wanted[cv.CHOICE.name] = out.choice
        changes = []
        for name, value in wanted.items():
            if self._on_channel.get(name, "") != value:
                changes.append((name, value))
                self._on_channel[name] = value
        return changes


async def publish_safely(publish: Publish, topic: str, payload: dict[str, Any]) -> None:
    """Publish without letting a broken or slow subscriber hold or end the call.

    A synchronous ``publish`` (``hotline.bus.Bus.publish``) runs at once; an asynchronous one
    runs in the background, because Asterisk keeps the caller in AGI until the socket closes.
    """
    try:
        result = publish(topic, payload)
    except Exception:
        log.exception("publishing %s failed", topic)
        return
    if inspect.isawaitable(result):
        task = asyncio.ensure_future(result)
        _background.add(task)
        task.add_done_callback(lambda done: _finish_background(done, topic))


_background: set[asyncio.Future[Any]] = set()


def _finish_background(task: asyncio.Future[Any], topic: str) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("publishing %s failed", topic, exc_info=task.exception())
