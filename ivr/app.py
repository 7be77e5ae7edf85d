"""The IVR service: the FastAGI scripts ``ivr`` and ``survey`` wired to menus and incidents.

Every ``ivr`` session ends in one of three ways: result variables set (and, for a final
hang-up action, ``HANGUP``); the caller gone (nothing more to send); or a failure, after which
safe defaults are set (the agent queue, choice ``error``) so the dialplan still queues the
caller. Each session publishes ``ivr.finished``; each survey publishes ``ivr.survey``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from asterisk_conf import channel_vars as cv
from events.topics import IVR_FINISHED, IVR_SURVEY
from ivr.agi_protocol import AgiCommandError, AgiError, AgiTimeout, ChannelHangup, quote_arg
from ivr.blocklist import NOTICE, BlockedCallers, BlockedNumber
from ivr.engine import IvrOutcome, MenuWalk, Publish, TicketLookup, publish_safely
from ivr.fastagi import FastAgiServer, Handler
from ivr.incidents import IncidentBoard, utc_now
from ivr.menu_source import MenuSource
from ivr.session import AgiSession
from ivr.survey import SurveyResult, ask_survey
from working_days import WorkingCalendar

log = logging.getLogger(__name__)

SAFE_QUEUE = "hotline-general"


async def no_ticket_lookup(number: str, caller: str) -> Sequence[str] | None:
    return None


class IvrApplication:
    def __init__(
        self,
        menus: MenuSource,
        board: IncidentBoard,
        publish: Publish,
        ticket_lookup: TicketLookup = no_ticket_lookup,
        *,
        timezone: str = "Asia/Shanghai",
        clock: Callable[[], dt.datetime] = utc_now,
        safe_defaults_timeout: float = 2.0,
        calendar: WorkingCalendar | None = None,
        blocked: BlockedCallers | None = None,
    ) -> None:
        self.menus = menus
        self.board = board
        self.publish = publish
        self.ticket_lookup = ticket_lookup
        self.zone = ZoneInfo(timezone)
        self.clock = clock
        self.safe_defaults_timeout = safe_defaults_timeout
        # Working days for the queues' opening hours; /healthz reads its years without data.
        self.calendar = calendar or WorkingCalendar()
        # Nuisance numbers (kept equal to the database's blocklist by a poller).
        self.blocked = blocked if blocked is not None else BlockedCallers()

    @property
    def routes(self) -> dict[str, Handler]:
        return {"ivr": self.handle_ivr, "survey": self.handle_survey}

    def local_now(self) -> dt.datetime:
        return self.clock().astimezone(self.zone)

    async def handle_ivr(self, session: AgiSession) -> None:
        started = self.clock()
        menu = self.menus.current()
        linkedid = session.uniqueid
        outcome = IvrOutcome(language=menu.language)
        try:
            await session.answer()
            linkedid = await _linkedid(session)
            entry = self.blocked.match(session.caller_number, self.clock())
            if entry is not None:
                await _turn_away(session, entry, outcome)
                await session.hangup()
                return
            walk = MenuWalk(
                session,
                menu,
                linkedid=linkedid,
                board=self.board,
                publish=self.publish,
                ticket_lookup=self.ticket_lookup,
                local_now=self.local_now,
                calendar=self.calendar,
            )
            outcome = walk.outcome
            await walk.run()
            if outcome.ended == "hangup":
                await session.hangup()
        except ChannelHangup as why:
            outcome.ended = "caller_hangup" if outcome.ended == "running" else outcome.ended
            log.info("ivr %s: caller gone (%s)", session.uniqueid, why)
        except AgiTimeout as why:
            # The stream may still owe us a reply: sending more would misread it. The dialplan
            # sends a caller with no HOTLINE_QUEUE to the general queue.
            outcome.ended = "timeout"
            log.warning("ivr %s: peer too slow, giving up: %s", session.uniqueid, why)
        except Exception as error:
            outcome.ended = "error"
            if isinstance(error, AgiError):
                log.warning("ivr %s: %s; setting safe defaults", session.uniqueid, error)
            else:
                log.exception("ivr %s: session failed; setting safe defaults", session.uniqueid)
            await self._safe_defaults(session, menu.agent.queue, outcome)
        finally:
            await publish_safely(
                self.publish,
                IVR_FINISHED,
                _finished_payload(session, linkedid, outcome, started, self.clock()),
            )

    async def _safe_defaults(self, session: AgiSession, queue: str, outcome: IvrOutcome) -> None:
        outcome.queue, outcome.priority, outcome.choice = queue or SAFE_QUEUE, 0, "error"
        session.reply_timeout = min(session.reply_timeout, self.safe_defaults_timeout)
        with contextlib.suppress(AgiError, asyncio.CancelledError):
            # one round trip: the peer is already in trouble
            await session.set_variables(
                [(cv.QUEUE.name, outcome.queue), (cv.CHOICE.name, "error"), (cv.PRIORITY.name, "0")]
            )

    async def handle_survey(self, session: AgiSession) -> None:
        settings = self.menus.current().survey
        linkedid = session.uniqueid
        result = SurveyResult()
        try:
            await session.answer()
            linkedid = await _linkedid(session)
            await ask_survey(session, settings, result)
            await session.hangup()
        except AgiError as why:
            log.info("survey %s ended early: %s", session.uniqueid, why)
        finally:
            await publish_safely(
                self.publish,
                IVR_SURVEY,
                {
                    "linkedid": linkedid,
                    "uniqueid": session.uniqueid,
                    "caller_number": session.caller_number,
                    "answer": result.answer,
                    "digit": result.digit,
                    "keys": result.keys,
                    "at": self.clock().isoformat(),
                },
            )


async def _turn_away(session: AgiSession, entry: BlockedNumber, outcome: IvrOutcome) -> None:
    """A blocklisted caller: marked on the channel (the call record keeps it), recorded as
    evidence — the whole channel, the notice and whatever the caller says, under the name the
    dialplan gives every recording — then told so; the caller hangs up or the IVR does."""
    outcome.choice, outcome.blocked, outcome.ended = "blocked", entry.id, "hangup"
    log.info("ivr %s: blocklisted caller (entry %d): notice, recorded", session.uniqueid, entry.id)
    await session.set_variable(cv.CHOICE.name, "blocked")
    await session.set_variable(cv.BLOCKED.name, str(entry.id))
    name = cv.RECORDING_NAME.format(uniqueid=session.uniqueid)
    try:
        await session.command(f"EXEC MixMonitor {quote_arg(name)}")
    except AgiCommandError as error:
        # The notice is still played and the call still marked: a PBX without MixMonitor
        # loses the evidence's audio, not the block.
        log.warning("ivr %s: MixMonitor for a blocked caller failed: %s", session.uniqueid, error)
    await session.stream_file(NOTICE)


async def _linkedid(session: AgiSession) -> str:
    """The call's Linkedid (not in the AGI environment); the uniqueid if Asterisk won't say."""
    try:
        value = await session.get_variable("CHANNEL(linkedid)")
    except AgiCommandError:
        value = None
    return value or session.uniqueid


def _finished_payload(
    session: AgiSession,
    linkedid: str,
    outcome: IvrOutcome,
    started: dt.datetime,
    ended: dt.datetime,
) -> dict[str, Any]:
    return {
        "linkedid": linkedid,
        "uniqueid": session.uniqueid,
        "caller_number": session.caller_number,
        "path": list(outcome.path),
        "choice": outcome.choice,
        "digits": outcome.digits,
        "queue": outcome.queue,
        "priority": outcome.priority,
        "incident": outcome.incident,
        "callback_requested": outcome.callback_requested,
        "language": outcome.language,
        "district": outcome.district,
        "blocked": outcome.blocked,
        "ended": outcome.ended,
        "started_at": started.isoformat(),
        "finished_at": ended.isoformat(),
    }


def create_ivr_server(
    app: IvrApplication,
    *,
    host: str = "127.0.0.1",
    port: int = 4573,
    env_timeout: float = 10.0,
    reply_timeout: float = 60.0,
) -> FastAgiServer:
    return FastAgiServer(
        app.routes, host=host, port=port, env_timeout=env_timeout, reply_timeout=reply_timeout
    )
