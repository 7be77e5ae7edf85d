"""The registry of menu action kinds: each kind is declared once, everything else iterates it.

An ``ActionKind`` says all there is to know about one ``action = "…"`` of the menu file: its
TOML name, the dataclass it loads into, its fields (type, default, whether required, extra
checks), whether it can end the menu walk, and how the engine performs it. From the fields the
loader knows which keys are allowed or missing, which prompts must exist in ``[prompts]``,
which nodes and queues are referenced, and which nodes the action leads to for the graph check.
So a new kind is one ``register(ActionKind(...))`` (see ``ivr.actions.builtin``), not edits in
the loader, the graph check and the engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

if TYPE_CHECKING:
    from ivr.engine import CallChannel, IvrOutcome, TicketLookup
    from ivr.incidents import IncidentBoard
    from ivr.menu import Menu
    from working_days import WorkingCalendar


class MenuAction:
    """Base of every action dataclass: what a key (or a fallback) does."""

    __slots__ = ()


# str: a non-empty string; node / queue: a string naming a node / a queue of the menu;
# prompt: one prompt name; prompts: a prompt name or a list of them; int / number: at least
# ``minimum``; action: a nested action table (e.g. ``then``).
FieldType = Literal["str", "node", "queue", "prompt", "prompts", "int", "number", "action"]


@dataclass(frozen=True, slots=True)
class Field:
    key: str  # the TOML key
    type: FieldType
    attr: str | None = None  # the dataclass attribute, when it differs from the key
    required: bool = False
    default: Any = None
    minimum: float = 0
    # (dotted place of the action, value) -> a fault message, or None when the value is fine.
    check: Callable[[str, str], str | None] | None = None
    # The fault when a required nested action is missing (default: "…: missing 'key'").
    missing: str | None = None

    @property
    def name(self) -> str:
        return self.attr or self.key


@dataclass(frozen=True, slots=True)
class Finish:
    """The menu walk is over: on to Queue() (``hang_up`` False) or the IVR ends the call."""

    hang_up: bool


class Walk(Protocol):
    """What a kind's ``perform`` may use of the caller's menu walk (``ivr.engine.MenuWalk``)."""

    channel: CallChannel
    menu: Menu
    outcome: IvrOutcome
    linkedid: str
    board: IncidentBoard
    ticket_lookup: TicketLookup
    local_now: Callable[[], dt.datetime]
    calendar: WorkingCalendar

    async def play(self, prompts: Sequence[str], escape: str = "") -> str | None: ...
    async def perform(self, action: MenuAction, hops: int = 0) -> str | Finish: ...
    def agent(self, choice: str) -> MenuAction: ...
    def pressed(self, key: str) -> None: ...
    def default_choice(self) -> str: ...
    async def register(self, incident_id: str) -> None: ...


A = TypeVar("A", bound=MenuAction)
# The next node id, or how the walk finishes. ``hops`` counts actions chained without a node
# in between; pass ``hops + 1`` when performing a follow-up action.
Perform = Callable[[Walk, A, int], Awaitable[str | Finish]]


@dataclass(frozen=True, slots=True)
class ActionKind(Generic[A]):
    name: str
    cls: type[A]
    fields: tuple[Field, ...]
    perform: Perform[A]
    # Whether performing it can end the menu walk by itself (queue, callback, hang-up): the
    # graph check needs a way out of every node.
    ends_walk: bool = False

    @property
    def keys(self) -> set[str]:
        return {f.key for f in self.fields}


_BY_NAME: dict[str, ActionKind[Any]] = {}
_BY_CLASS: dict[type, ActionKind[Any]] = {}


def register(kind: ActionKind[A]) -> ActionKind[A]:
    if kind.name in _BY_NAME or kind.cls in _BY_CLASS:
        raise ValueError(f"menu action {kind.name!r} is registered already")
    _BY_NAME[kind.name] = kind
    _BY_CLASS[kind.cls] = kind
    return kind


def unregister(name: str) -> None:
    """Forget a kind (tests that register one of their own clean up with this)."""
    kind = _BY_NAME.pop(name)
    del _BY_CLASS[kind.cls]


def kind_named(name: str) -> ActionKind[Any] | None:
    return _BY_NAME.get(name)


def kind_names() -> list[str]:
    return sorted(_BY_NAME)


def kind_of(action: MenuAction) -> ActionKind[Any]:
    return _BY_CLASS[type(action)]


def follow(action: MenuAction) -> tuple[set[str], bool]:
    """Nodes an action can lead to, and whether it can end the menu walk."""
    kind = kind_of(action)
    targets: set[str] = set()
    ends = kind.ends_walk
    for f in kind.fields:
        value = getattr(action, f.name)
        if f.type == "node":
            targets.add(value)
        elif f.type == "action":
            more, can_end = follow(value)
            targets |= more
            ends = ends or can_end
    return targets, ends
