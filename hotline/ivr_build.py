"""Builds the FastAGI IVR from the settings: its menus (checked against the PBX's queues), the
ticket-progress lookup of menu key 6, and the server on ``ivr.host:ivr.port``.

Used by both places an IVR runs: inside ``hotline serve`` (``ivr.enabled``) and alone as
``hotline ivr`` (hotline/ivr_process.py). One builder, so both answer calls the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hotline.settings import Settings
from ivr.app import IvrApplication, create_ivr_server
from ivr.blocklist import BlockedCallers
from ivr.engine import Publish, TicketLookup
from ivr.fastagi import FastAgiServer
from ivr.incidents import IncidentBoard
from ivr.menu import Menu, MenuError, missing_queues
from ivr.menu_source import DEFAULT_MENU, MenuSource
from ticketing.store import TicketStore
from ticketing.workflow import spoken_status
from working_days import WorkingCalendar

# How long a caller's tickets stay reachable by phone (menu key 6).
PROGRESS_DAYS = 365
MIN_TICKET_DIGITS = 6


class IvrStartError(RuntimeError):
    """The IVR cannot start (a broken menu, its port taken); the message names the setting."""


@dataclass(frozen=True, slots=True)
class RunningIvr:
    app: IvrApplication
    server: FastAgiServer
    # The menu's language: incidents' texts are synthesised in it.
    language: str


def ticket_progress_lookup(store: TicketStore) -> TicketLookup:
    """Ticket number and caller number → the prompt naming its status; None if not theirs.

    Only the caller's own tickets are told: a ticket number alone is not a secret. Numbers
    look like ``12345-20261125-000002``; a phone keys digits only, and the menu takes at most
    a dozen, so the keyed digits match the end of the number's digits (at least
    ``MIN_TICKET_DIGITS``), the caller's newest such ticket first. No digits at all: the
    caller's latest case (most callers do not have the number at hand).
    """

    async def lookup(number: str, caller: str) -> Sequence[str] | None:
        if not caller or (number and len(number) < MIN_TICKET_DIGITS):
            return None
        for ticket in await store.recent_tickets_for_caller(caller, days=PROGRESS_DAYS):
            digits = "".join(ch for ch in str(ticket["number"]) if ch.isdigit())
            if digits.endswith(number):
                status = spoken_status(str(ticket["status"]))
                return [f"hotline/ticket-status-{status.replace('_', '-')}"]
        return None

    return lookup


def menu_queue_problems(menu: Menu, settings: Settings) -> list[str]:
    """One line if the menu names queues that queues.conf (pbx.queues) does not define.

    Queue() on such a queue ends with QUEUESTATUS=UNKNOWN: the caller would never reach an
    agent, so the menu is refused before it can take a call.
    """
    missing = missing_queues(menu, (queue.name for queue in settings.pbx.queues))
    if not missing:
        return []
    return [
        f"queue(s) {', '.join(missing)} not in pbx.queues (queues.conf); "
        "add a [[pbx.queues]] entry or change the menu"
    ]


async def start_ivr(
    settings: Settings,
    board: IncidentBoard,
    publish: Publish,
    store: TicketStore,
    clock: Callable[[], dt.datetime],
    calendar: WorkingCalendar,
    blocked: BlockedCallers | None = None,
) -> RunningIvr:
    """The IVR serving FastAGI on ``ivr.host:ivr.port``; IvrStartError naming the setting."""
    ivr = settings.ivr
    try:
        menus = MenuSource(
            ivr.menu_file or DEFAULT_MENU, check=lambda menu: menu_queue_problems(menu, settings)
        )
    except MenuError as error:
        faults = "; ".join(str(fault) for fault in error.faults)
        raise IvrStartError(f"setting ivr.menu_file: {faults}") from None
    app = IvrApplication(
        menus,
        board,
        publish,
        ticket_progress_lookup(store),
        timezone=settings.site.timezone,
        clock=clock,
        calendar=calendar,
        blocked=blocked,
    )
    server = create_ivr_server(app, host=ivr.host, port=ivr.port)
    try:
        await server.start()
    except OSError as error:
        raise IvrStartError(
            f"setting ivr.port: cannot serve FastAGI on {ivr.host}:{ivr.port} ({error});"
            " choose another port or set ivr.enabled = false"
        ) from error
    return RunningIvr(app, server, menus.current().language)
