"""Agents: one live agent state machine per PBX (fed by that PBX's AMI feed), its member
actions on the feed's link, and the desk service that the web routes call; the desk hears
``agent.status`` (state log, wrap-up), ``call.ended`` and ``call.survey`` (call-back list)."""

from __future__ import annotations

import time
from collections.abc import Callable

from acd.agents.actions import MemberActions
from acd.agents.board import AgentBoard
from acd.feed import AmiFeed
from acd.spy import Spy
from events.topics import AGENT_STATUS, CALL_ENDED, CALL_SURVEY
from hotline.agent_desk import AgentDesk
from hotline.bus import Bus
from hotline.settings import Settings
from hotline.supervision import SpyDesk
from hotline.web.app import wall_config
from hotline.web.wall_picture import DisplayNames
from ticketing.agents import AgentDirectory
from ticketing.spy_log import SpyLog
from ticketing.store import TicketStore


class AgentsSide:
    def __init__(
        self, settings: Settings, bus: Bus, clock: Callable[[], float] | None = None
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.clock = clock  # the service's given clock (the demo's simulated one) or None
        self.boards = {
            pbx.name: AgentBoard(
                bus.publish, pbx=pbx.name, wrap_up_reason=settings.agents.wrap_up_reason
            )
            for pbx in settings.pbx_servers()
        }
        self.actions: dict[str, MemberActions] = {}
        self.desk: AgentDesk | None = None
        # Listen / whisper / barge, one per PBX, fed by its feed (feed.spy).
        self.spies: dict[str, Spy] = {}
        self.spy_desk: SpyDesk | None = None

    def board_for(self, pbx: str) -> AgentBoard:
        return self.boards[pbx]

    async def start(self, store: TicketStore, feeds: list[AmiFeed]) -> AgentDesk:
        """Before the feeds start: actions on each feed's link, the desk, its subscriptions."""
        timeout = self.settings.ami.action_timeout
        for feed in feeds:
            actions = MemberActions(lambda feed=feed: feed.link, timeout=timeout)  # type: ignore[misc]
            self.actions[feed.name] = actions
            self.boards[feed.name].on_call_event = actions.on_call_event
        desk = self.desk = AgentDesk(
            self.settings.agents,
            store=store,
            boards=self.boards,
            actions=self.actions,
            timezone=self.settings.site.timezone,
            recordings_dir=str(self.settings.asterisk.recordings_dir),
            answer_threshold_s=self.settings.kpi.answer_threshold_s,
            # the rendered [hotline-outbound] dials pbx.outbound_prefix + the number
            dial_prefix=self.settings.pbx.outbound_prefix,
            clock=self.clock,  # wrap-up timers: on the demo's simulated clock in the demo
        )
        await desk.load()
        spy_log = SpyLog(store.engine)
        for feed in feeds:
            spy = Spy(
                lambda feed=feed: feed.link,  # type: ignore[misc]
                spy_log,
                pbx=feed.name,
                timeout=timeout,
                clock=lambda feed=feed: feed.tracker.clock or time.time(),  # type: ignore[misc]
            )
            self.spies[feed.name] = feed.spy = spy
        self.spy_desk = SpyDesk(
            AgentDirectory(store.engine),
            spy_log,
            self.spies,
            {feed.name: feed.tracker for feed in feeds},
            DisplayNames(wall_config(self.settings)).agent,
        )
        # The state log (never waiting for the store) and the wrap-up timers.
        self.bus.subscribe(AGENT_STATUS, desk.on_status, name="agent-desk")
        self.bus.subscribe(CALL_ENDED, desk.on_call_ended, name="callback-list")
        self.bus.subscribe(CALL_SURVEY, desk.on_survey, name="callback-list-survey")
        return desk

    def stop(self) -> None:
        if self.desk is not None:
            self.desk.close()
        for spy in self.spies.values():
            spy.close()

    async def flush(self) -> None:
        if self.desk is not None:
            await self.desk.flush_states()
            await self.desk.flush_callbacks()
