"""The menu actions the hotline ships: one dataclass and one registry entry per kind.

The file format of each kind is documented in ``ivr/menus/12345.toml``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from asterisk_conf.channel_vars import CATEGORY_VALUES, CHOICE_VALUES
from ivr.actions.registry import ActionKind, Field, Finish, MenuAction, Walk, register

log = logging.getLogger(__name__)

# The services an emergency action may name: those whose HOTLINE_CHOICE ("emergency-110"…) the
# dialplan contract lists, so the menu cannot route with a choice the contract does not know.
EMERGENCY_SERVICES = frozenset(
    value.removeprefix("emergency-") for value in CHOICE_VALUES if value.startswith("emergency-")
)
# The ticket lookup must not hold the caller in silence.
_LOOKUP_TIMEOUT_S = 5.0


# -- hangup: the default follow-up of every action with a ``then`` ----------------------------
@dataclass(frozen=True, slots=True)
class HangupAction(MenuAction):
    prompts: tuple[str, ...] = ()


async def _hangup(walk: Walk, action: HangupAction, hops: int) -> str | Finish:
    walk.outcome.choice = walk.outcome.choice or walk.default_choice()
    await walk.play(action.prompts)
    return Finish(hang_up=True)


register(
    ActionKind(
        "hangup", HangupAction, (Field("prompt", "prompts", "prompts"),), _hangup, ends_walk=True
    )
)

_THEN = Field("then", "action", default=HangupAction())


# -- queue --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class QueueAction(MenuAction):
    queue: str
    priority: int = 0
    # HOTLINE_CHOICE for this route; None = the digits the caller pressed.
    choice: str | None = None
    # The ticket category of this choice (HOTLINE_CATEGORY): the menu says what a key means,
    # so the ticket cannot disagree with the prompt.
    category: str | None = None


def _check_category(where: str, category: str) -> str | None:
    if category in CATEGORY_VALUES:
        return None
    return f"{where}.category: {category!r} is not a ticket category ({', '.join(CATEGORY_VALUES)})"


async def _queue(walk: Walk, action: QueueAction, hops: int) -> str | Finish:
    config = walk.menu.queues.get(action.queue)
    if walk.outcome.choice is None or action.choice is not None:
        walk.outcome.choice = action.choice or walk.default_choice()
    if action.category is not None:
        # Kept through a night destination: a report made after hours is still a report.
        walk.outcome.category = action.category
    if config is not None and config.night is not None:
        if not config.hours.is_open(walk.local_now(), walk.calendar):
            log.info("call %s: queue %s closed, night destination", walk.linkedid, action.queue)
            return await walk.perform(config.night, hops + 1)
    walk.outcome.queue = action.queue
    walk.outcome.priority = action.priority
    return Finish(hang_up=False)


register(
    ActionKind(
        "queue",
        QueueAction,
        (
            Field("queue", "queue", required=True),
            Field("priority", "int", default=0, minimum=0),
            Field("choice", "str"),
            Field("category", "str", check=_check_category),
        ),
        _queue,
        ends_walk=True,
    )
)


# -- submenu ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SubmenuAction(MenuAction):
    node: str


async def _submenu(walk: Walk, action: SubmenuAction, hops: int) -> str | Finish:
    return action.node


register(ActionKind("submenu", SubmenuAction, (Field("node", "node", required=True),), _submenu))


# -- play ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PlayAction(MenuAction):
    prompts: tuple[str, ...]
    then: MenuAction


async def _play(walk: Walk, action: PlayAction, hops: int) -> str | Finish:
    await walk.play(action.prompts)
    return await walk.perform(action.then, hops + 1)


register(
    ActionKind(
        "play", PlayAction, (Field("prompt", "prompts", "prompts", required=True), _THEN), _play
    )
)


# -- callback -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CallbackAction(MenuAction):
    queue: str
    prompts: tuple[str, ...] = ()


async def _callback(walk: Walk, action: CallbackAction, hops: int) -> str | Finish:
    await walk.play(action.prompts)
    walk.outcome.callback_requested = True
    walk.outcome.queue = action.queue
    walk.outcome.choice = walk.outcome.choice or walk.default_choice()
    return Finish(hang_up=True)


register(
    ActionKind(
        "callback",
        CallbackAction,
        (Field("queue", "queue", required=True), Field("prompt", "prompts", "prompts")),
        _callback,
        ends_walk=True,
    )
)


# -- ticket_progress ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TicketProgressAction(MenuAction):
    prompt: str
    not_found_prompt: str
    then: MenuAction
    max_digits: int = 12
    timeout: float = 8.0


async def _ticket_progress(walk: Walk, action: TicketProgressAction, hops: int) -> str | Finish:
    agent = await _tell_progress(walk, action)
    return await walk.perform(agent or action.then, hops + 1)


async def _tell_progress(walk: Walk, action: TicketProgressAction) -> MenuAction | None:
    """Tell the ticket's progress; the agent queue if the caller pressed the agent key."""
    walk.outcome.choice = walk.outcome.choice or walk.default_choice()
    answer = await walk.channel.get_data(
        action.prompt, int(action.timeout * 1000), action.max_digits
    )
    number = answer.digits
    prompts: Sequence[str] | None = None
    # Nothing keyed (# alone, or silence) asks for the caller's latest case.
    if number.isdigit() or number == "":
        try:
            prompts = await asyncio.wait_for(
                walk.ticket_lookup(number, walk.channel.caller_number), _LOOKUP_TIMEOUT_S
            )
        except Exception:
            log.exception("call %s: ticket lookup for %s failed", walk.linkedid, number)
    if prompts:
        await walk.play(prompts)
        return None
    # The not-found prompt offers the agent ("或按0转人工服务"): the key must work there.
    key = await walk.play([action.not_found_prompt], walk.menu.agent_key)
    if key == walk.menu.agent_key:
        walk.pressed(key)
        return walk.agent(key)
    return None


register(
    ActionKind(
        "ticket_progress",
        TicketProgressAction,
        (
            Field("prompt", "prompt", required=True),
            Field("not_found_prompt", "prompt", required=True),
            _THEN,
            Field("max_digits", "int", default=12, minimum=1),
            Field("timeout", "number", default=8.0, minimum=1),
        ),
        _ticket_progress,
    )
)


# -- emergency ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EmergencyAction(MenuAction):
    service: str
    prompts: tuple[str, ...]
    then: MenuAction


def _check_service(where: str, service: str) -> str | None:
    if service in EMERGENCY_SERVICES:
        return None
    return f"{where}: emergency service must be one of {', '.join(sorted(EMERGENCY_SERVICES))}"


async def _emergency(walk: Walk, action: EmergencyAction, hops: int) -> str | Finish:
    walk.outcome.choice = f"emergency-{action.service}"
    await walk.play(action.prompts)
    return await walk.perform(action.then, hops + 1)


register(
    ActionKind(
        "emergency",
        EmergencyAction,
        (
            Field("service", "str", required=True, check=_check_service),
            Field("prompt", "prompts", "prompts", required=True),
            _THEN,
        ),
        _emergency,
    )
)


# -- language -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LanguageAction(MenuAction):
    language: str
    node: str


async def _language(walk: Walk, action: LanguageAction, hops: int) -> str | Finish:
    walk.outcome.language = action.language
    await walk.channel.set_variable("CHANNEL(language)", action.language)
    return action.node


register(
    ActionKind(
        "language",
        LanguageAction,
        (Field("language", "str", required=True), Field("node", "node", required=True)),
        _language,
    )
)


# -- district -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DistrictAction(MenuAction):
    district: str
    then: MenuAction


async def _district(walk: Walk, action: DistrictAction, hops: int) -> str | Finish:
    walk.outcome.district = action.district
    return await walk.perform(action.then, hops + 1)


register(
    ActionKind(
        "district",
        DistrictAction,
        (
            Field("district", "str", required=True),
            Field(
                "then",
                "action",
                required=True,
                missing="district needs 'then' (where to go next)",
            ),
        ),
        _district,
    )
)


# -- incident_report ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class IncidentReportAction(MenuAction):
    """Register the caller against the newest active incident that concerns them, if any."""

    then: MenuAction
    prompts: tuple[str, ...] = ()  # played after a registration
    none_prompts: tuple[str, ...] = ()  # played when no incident concerns the caller


async def _incident_report(walk: Walk, action: IncidentReportAction, hops: int) -> str | Finish:
    await _report_incident(walk, action)
    return await walk.perform(action.then, hops + 1)


async def _report_incident(walk: Walk, action: IncidentReportAction) -> None:
    if walk.outcome.incident is None:
        # Any branch: the caller chose to report an outage, wherever it is announced.
        candidates = [
            i
            for i in walk.board.active()
            if i.concerns(walk.channel.caller_number, walk.outcome.district)
        ]
        if not candidates:
            await walk.play(action.none_prompts)
            return
        await walk.register(candidates[0].id)
    await walk.play(action.prompts)


register(
    ActionKind(
        "incident_report",
        IncidentReportAction,
        (
            Field("prompt", "prompts", "prompts"),
            Field("none_prompt", "prompts", "none_prompts"),
            Field("then", "action", required=True, missing="incident_report needs 'then'"),
        ),
        _incident_report,
    )
)
