"""The case lifecycle as data: one table of state × action → next state, who may act, and
which fields the action needs (../shared/domain.md, "Case (ticket) lifecycle").

Nothing here touches a database or a clock: ``step`` is a pure function from a case's facts,
an action, an actor and the action's fields to the case's next facts, or a
``ForbiddenTransition`` that names why not. The store (ticketing.workflow.cases) runs the
same function inside a transaction, so a rule is tested here once and holds everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Final

from ticketing.models import TICKET_CATEGORIES
from ticketing.models import URGENCIES as TICKET_URGENCIES

# ---- states ---------------------------------------------------------------------------------

REGISTERED: Final = "registered"  # 受理
TO_DISPATCH: Final = "to_dispatch"  # 待派单: drafted by an agent, awaiting the reviewer
ANSWERED_DIRECTLY: Final = "answered_directly"  # 直接答复
REFERRED: Final = "referred"  # 转其他热线 (12315, 110, …)
INVALID: Final = "invalid"  # 无效/骚扰, kept as evidence
MERGED: Final = "merged"  # 并单: merged into another case
DISPATCHED: Final = "dispatched"  # 转办/派单
RETURN_REQUESTED: Final = "return_requested"  # 退件申请
SIGNED: Final = "signed"  # 签收
IN_PROGRESS: Final = "in_progress"  # 办理
EXTENSION_REQUESTED: Final = "extension_requested"  # 延期申请
ANSWERED: Final = "answered"  # 答复
CALLBACK: Final = "callback"  # 回访 done: the citizen was called back
REDO: Final = "redo"  # 重办
CLOSED: Final = "closed"  # 办结
ARCHIVED: Final = "archived"  # 归档

STATES: Final[tuple[str, ...]] = (
    REGISTERED,
    TO_DISPATCH,
    ANSWERED_DIRECTLY,
    REFERRED,
    INVALID,
    MERGED,
    DISPATCHED,
    RETURN_REQUESTED,
    SIGNED,
    IN_PROGRESS,
    EXTENSION_REQUESTED,
    ANSWERED,
    CALLBACK,
    REDO,
    CLOSED,
    ARCHIVED,
)
TERMINAL: Final = frozenset({ARCHIVED, MERGED})
# A case in these states must have a handling unit (it keeps the unit once answered).
WITH_UNIT: Final = frozenset(
    {DISPATCHED, RETURN_REQUESTED, SIGNED, IN_PROGRESS, EXTENSION_REQUESTED, ANSWERED, REDO}
)

# The status a caller hears (the IVR's "progress of my ticket" has a prompt per status in
# ticketing.models.TICKET_STATUSES): internal steps are told as the step the public knows.
SPOKEN_STATUS: Final[Mapping[str, str]] = MappingProxyType(
    {
        TO_DISPATCH: REGISTERED,
        MERGED: REGISTERED,
        RETURN_REQUESTED: DISPATCHED,
        EXTENSION_REQUESTED: IN_PROGRESS,
    }
)


def spoken_status(state: str) -> str:
    """The public status of an internal state (what the IVR reads to the caller)."""
    return SPOKEN_STATUS.get(state, state)


# ---- roles ----------------------------------------------------------------------------------

AGENT: Final = "agent"
SUPERVISOR: Final = "supervisor"
REVIEWER: Final = "reviewer"
UNIT: Final = "unit"
# The service itself: the chase scheduler, the post-call survey.
SYSTEM: Final = "system"
ROLES: Final = frozenset({AGENT, SUPERVISOR, REVIEWER, UNIT, SYSTEM})

# ---- fields ---------------------------------------------------------------------------------

# What an action's fields may carry, by name: a text, a list of texts, a whole number.
TEXT: Final = "text"
TEXTS: Final = "texts"
COUNT: Final = "count"
FIELD_KINDS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "reason": TEXT,
        "answer": TEXT,
        "unit": TEXT,  # the handling unit (承办单位) dispatched to
        "co_units": TEXTS,  # joint handling (会办): the lead is ``unit``
        "basis": TEXT,  # the rule a return invokes (退件依据)
        "suggested_unit": TEXT,
        "leader_opinion": TEXT,
        "referred_to": TEXT,  # the other hotline (12315, 110, …)
        "into": TEXT,  # the case number a case is merged into
        "instruction": TEXT,  # a leader's instruction (批示)
        "level": TEXT,  # of a chase: due_soon, overdue, repeat
        "days": COUNT,  # of an extension (working days)
        "satisfaction": TEXT,  # of a call-back (result)
        "process_satisfaction": TEXT,  # of a call-back (how it was handled)
        "attachments": TEXTS,  # references (file ids, URLs), never the bytes
        # The registration itself, settable while the case is being registered.
        "category": TEXT,
        "urgency": TEXT,
        "subject": TEXT,
        "content": TEXT,
        "district": TEXT,
        "address": TEXT,  # where the matter is: duplicates are looked for by it (并单)
        "caller_name": TEXT,
    }
)
REGISTRATION_FIELDS: Final = (
    "category",
    "urgency",
    "subject",
    "content",
    "district",
    "address",
    "caller_name",
)
CATEGORIES: Final = TICKET_CATEGORIES
URGENCIES: Final = TICKET_URGENCIES
SATISFACTION: Final = ("satisfied", "basically_satisfied", "dissatisfied", "unreachable")
CHASE_LEVELS: Final = ("due_soon", "overdue", "sign_overdue", "repeat", "manual")
# Fields whose value must be one of a list.
CHOICES: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "category": CATEGORIES,
        "urgency": URGENCIES,
        "satisfaction": SATISFACTION,
        "process_satisfaction": SATISFACTION,
        "level": CHASE_LEVELS,
    }
)
MAX_EXTENSION_DAYS: Final = 30
# What a co-unit (会办单位) may do; everything else a unit does is the lead unit's.
CO_UNIT_ACTIONS: Final = frozenset({"co_opinion"})
CO_UNITS_ONLY: Final = "only a co-unit (会办单位) of the case gives an opinion"

# ---- the table ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transition:
    """One cell of the table: from ``state``, ``action`` leads to ``to`` for ``roles``."""

    state: str
    action: str
    to: str
    roles: frozenset[str]
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    summary: str = ""

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(self.required) | frozenset(self.optional)


@dataclass(frozen=True, slots=True)
class _Rule:
    action: str
    sources: tuple[str, ...]
    to: str | None  # None: the state stays (a chase, a supervision, an instruction)
    roles: frozenset[str]
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    summary: str = ""


def _roles(*names: str) -> frozenset[str]:
    return frozenset(names)


_DESK = _roles(AGENT, SUPERVISOR)
_HEADS = _roles(SUPERVISOR, REVIEWER)
_OPEN_AT_UNIT = (DISPATCHED, RETURN_REQUESTED, SIGNED, IN_PROGRESS, EXTENSION_REQUESTED, REDO)
_HANDLING = (SIGNED, IN_PROGRESS, REDO)
_REG = REGISTRATION_FIELDS

# Read this as the lifecycle: each rule is "action: from these states to that one, by whom,
# with what". The order is the order a case usually walks.
_RULES: tuple[_Rule, ...] = (
    # Registration (the agent's desk) ends in one of four ways, or a merge.
    _Rule("answer_directly", (REGISTERED,), ANSWERED_DIRECTLY, _DESK, ("answer",),
          (*_REG, "attachments"), "answered at once from the knowledge base"),
    _Rule("refer", (REGISTERED,), REFERRED, _DESK, ("referred_to",), (*_REG, "reason"),
          "referred to another hotline"),
    _Rule("mark_invalid", (REGISTERED,), INVALID, _DESK, ("reason",), _REG,
          "invalid or harassment, kept as evidence"),
    _Rule("submit", (REGISTERED,), TO_DISPATCH, _DESK, (),
          (*_REG, "suggested_unit", "reason"), "to be dispatched, after review"),
    _Rule("merge", (REGISTERED, TO_DISPATCH), MERGED, _roles(AGENT, SUPERVISOR, REVIEWER),
          ("into",), ("reason",), "merged into an open case of the same matter (并单)"),
    _Rule("send_back", (TO_DISPATCH,), REGISTERED, _HEADS, ("reason",), (),
          "the reviewer sends a draft back to the desk"),
    _Rule("dispatch", (REGISTERED, TO_DISPATCH), DISPATCHED,
          _roles(AGENT, SUPERVISOR, REVIEWER), ("unit",), (*_REG, "co_units", "reason"),
          "dispatched to a handling unit (转办)"),
    # The handling unit.
    _Rule("sign", (DISPATCHED,), SIGNED, _roles(UNIT), (), (), "signed for (签收)"),
    _Rule("return", (DISPATCHED,), RETURN_REQUESTED, _roles(UNIT), ("reason", "basis"),
          ("suggested_unit", "leader_opinion", "attachments"), "asks to return it (退件)"),
    _Rule("approve_return", (RETURN_REQUESTED,), TO_DISPATCH, _HEADS, (), ("reason",),
          "return accepted: the case awaits a new dispatch"),
    _Rule("reject_return", (RETURN_REQUESTED,), SIGNED, _HEADS, ("reason",), (),
          "return refused: the unit keeps it, as signed, with its deadline"),
    _Rule("start", (SIGNED, REDO), IN_PROGRESS, _roles(UNIT), (), ("reason",),
          "handling begins (办理)"),
    _Rule("request_extension", _HANDLING, EXTENSION_REQUESTED, _roles(UNIT),
          ("reason", "days"), ("attachments",), "asks for more time (延期申请)"),
    _Rule("approve_extension", (EXTENSION_REQUESTED,), IN_PROGRESS, _roles(SUPERVISOR), (),
          ("days", "reason"), "extension granted: the deadline moves"),
    _Rule("deny_extension", (EXTENSION_REQUESTED,), IN_PROGRESS, _roles(SUPERVISOR),
          ("reason",), (), "extension refused: the deadline stays"),
    _Rule("answer", (*_HANDLING,), ANSWERED, _roles(UNIT), ("answer",), ("attachments",),
          "the unit's answer (答复)"),
    # Joint handling (会办): a co-unit sends its opinion to the lead unit; the state stays.
    _Rule("co_opinion", _OPEN_AT_UNIT, None, _roles(UNIT), ("answer",), ("attachments",),
          "a co-unit's opinion to the lead unit (会办意见)"),
    # The caller's number and name are masked for units unless the case needs them (to call
    # the citizen, to visit): the desk shares them with the lead unit, saying why.
    _Rule("share_caller", _OPEN_AT_UNIT, None, _roles(AGENT, SUPERVISOR, REVIEWER),
          ("reason",), (), "the caller's contact shared with the lead unit (needed to act)"),
    # Oversight, at any step while a unit holds the case; the state stays.
    _Rule("chase", _OPEN_AT_UNIT, None, _roles(AGENT, SUPERVISOR, SYSTEM), (),
          ("reason", "level"), "chased (催办)"),
    _Rule("supervise", (*_OPEN_AT_UNIT, ANSWERED), None, _roles(SUPERVISOR, SYSTEM),
          ("reason",), (), "put under supervision (督办)"),
    _Rule("instruct", (REGISTERED, TO_DISPATCH, *_OPEN_AT_UNIT, ANSWERED), None,
          _roles(SUPERVISOR), ("instruction",), ("attachments",), "a leader's instruction (批示)"),
    # Call-back (回访), redo (重办), closing and archiving.
    _Rule("call_back", (ANSWERED, CLOSED), CALLBACK, _roles(AGENT, SUPERVISOR, SYSTEM),
          ("satisfaction",), ("process_satisfaction", "reason"),
          "the citizen called back for satisfaction"),
    _Rule("call_back_attempt", (ANSWERED, CLOSED), None, _roles(AGENT, SUPERVISOR, SYSTEM),
          (), ("reason",), "a call-back that reached nobody (回访未接通); the task stays"),
    _Rule("redo", (CALLBACK,), REDO, _roles(SUPERVISOR, SYSTEM), ("reason",), (),
          "dissatisfied: back to the same unit (重办)"),
    _Rule("close", (ANSWERED_DIRECTLY, REFERRED), CLOSED, _roles(AGENT, SUPERVISOR, SYSTEM),
          (), ("reason",), "done (办结)"),
    _Rule("archive", (CALLBACK, CLOSED, INVALID), ARCHIVED, _roles(SUPERVISOR, SYSTEM), (),
          ("reason",), "archived (归档)"),
)  # fmt: skip


def _expand(rules: Iterable[_Rule]) -> dict[tuple[str, str], Transition]:
    table: dict[tuple[str, str], Transition] = {}
    for rule in rules:
        for state in rule.sources:
            key = (state, rule.action)
            if key in table:
                raise ValueError(f"two rules for {rule.action} from {state}")
            table[key] = Transition(
                state,
                rule.action,
                rule.to or state,
                rule.roles,
                rule.required,
                rule.optional,
                rule.summary,
            )
    return table


TRANSITIONS: Final[Mapping[tuple[str, str], Transition]] = MappingProxyType(_expand(_RULES))
ACTIONS: Final[tuple[str, ...]] = tuple(dict.fromkeys(rule.action for rule in _RULES))


def allowed_actions(state: str, role: str | None = None) -> list[str]:
    """The actions possible from ``state`` (for ``role``), in the table's order."""
    return [
        action
        for action in ACTIONS
        if (t := TRANSITIONS.get((state, action))) is not None and (role is None or role in t.roles)
    ]


# ---- a case's facts and one step --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a user name, their role, and for unit staff the unit they belong to."""

    name: str
    role: str
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What the table's rules read and write about a case (the rest is the registration)."""

    status: str = REGISTERED
    handling_unit: str | None = None
    # 首接负责制: the unit first dispatched to; kept through returns and redos.
    first_unit: str | None = None
    co_units: tuple[str, ...] = ()
    supervised: bool = False
    extensions: int = 0  # granted extensions
    return_rejected: bool = False
    merged_into_case: str | None = None
    last_satisfaction: str | None = None


class WorkflowError(ValueError):
    """An action that cannot be done to the case; nothing was changed."""

    code = "workflow.refused"


class ForbiddenTransition(WorkflowError):
    """The action is not allowed from this state, for this role or unit."""

    code = "workflow.forbidden"

    def __init__(self, state: str, action: str, role: str, why: str) -> None:
        super().__init__(f"{action!r} is not allowed on a {state!r} case: {why}")
        self.state = state
        self.action = action
        self.role = role
        self.why = why


class InvalidFields(WorkflowError):
    """The action's fields are missing, unknown or malformed."""

    code = "workflow.fields"


def check_fields(transition: Transition, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The fields, cleaned (texts stripped, empty optional ones dropped); InvalidFields else."""
    unknown = sorted(set(fields) - transition.fields)
    if unknown:
        raise InvalidFields(f"{transition.action}: unknown field(s) {', '.join(unknown)}")
    clean: dict[str, Any] = {}
    problems: list[str] = []
    for name, value in fields.items():
        kind = FIELD_KINDS[name]
        if kind == TEXT:
            if not isinstance(value, str):
                problems.append(f"{name} must be a text")
                continue
            value = value.strip()
            if value and name in CHOICES and value not in CHOICES[name]:
                problems.append(f"{name} must be one of {', '.join(CHOICES[name])}")
                continue
        elif kind == TEXTS:
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                problems.append(f"{name} must be a list of texts")
                continue
            value = [v.strip() for v in value if v.strip()]
        elif kind == COUNT:
            if isinstance(value, bool) or not isinstance(value, int):
                problems.append(f"{name} must be a whole number")
                continue
            if not 1 <= value <= MAX_EXTENSION_DAYS:
                problems.append(f"{name} must be from 1 to {MAX_EXTENSION_DAYS}")
                continue
        if value not in ("", []):
            clean[name] = value
    missing = [name for name in transition.required if name not in clean]
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if problems:
        raise InvalidFields(f"{transition.action}: {'; '.join(problems)}")
    return clean


def transition_for(facts: CaseFacts, action: str, actor: Actor) -> Transition:
    """The table's cell for this action on this case by this actor; ForbiddenTransition else."""
    state = facts.status
    if action not in ACTIONS:
        raise ForbiddenTransition(state, action, actor.role, "no such action")
    transition = TRANSITIONS.get((state, action))
    if transition is None:
        possible = ", ".join(allowed_actions(state)) or "none, the case is finished"
        raise ForbiddenTransition(state, action, actor.role, f"possible actions: {possible}")
    if actor.role not in transition.roles:
        raise ForbiddenTransition(
            state, action, actor.role, f"role {actor.role!r} may not; {_who(transition)} may"
        )
    if actor.role == UNIT and action in CO_UNIT_ACTIONS:
        if actor.unit is None or actor.unit not in facts.co_units:
            raise ForbiddenTransition(state, action, actor.role, CO_UNITS_ONLY)
    elif actor.role == UNIT and (actor.unit is None or actor.unit != facts.handling_unit):
        raise ForbiddenTransition(state, action, actor.role, "the case is not your unit's")
    if action == "return" and facts.return_rejected:
        raise ForbiddenTransition(state, action, actor.role, "a refused return is final")
    if action == "redo" and facts.last_satisfaction != "dissatisfied":
        raise ForbiddenTransition(state, action, actor.role, "only a dissatisfied case is redone")
    if action == "redo" and facts.handling_unit is None:
        # Answered by the hotline itself (直接答复): no unit to redo it; a supervisor archives
        # it after dealing with the citizen.
        raise ForbiddenTransition(state, action, actor.role, "no handling unit to redo it")
    if action == "archive" and facts.last_satisfaction == "dissatisfied" and actor.role == SYSTEM:
        raise ForbiddenTransition(
            state, action, actor.role, "a dissatisfied case is redone or archived by a supervisor"
        )
    return transition


def _who(transition: Transition) -> str:
    return ", ".join(sorted(transition.roles))


@dataclass(frozen=True, slots=True)
class Step:
    """The outcome of one allowed action: the case's new facts and the cleaned fields."""

    transition: Transition
    before: CaseFacts
    after: CaseFacts
    fields: Mapping[str, Any] = field(default_factory=dict)


def step(facts: CaseFacts, action: str, actor: Actor, fields: Mapping[str, Any]) -> Step:
    """Apply ``action`` to a case: its next facts, or ForbiddenTransition / InvalidFields."""
    transition = transition_for(facts, action, actor)
    clean = check_fields(transition, fields)
    after = replace(facts, status=transition.to)
    if action == "dispatch":
        unit = clean["unit"]
        co_units = tuple(u for u in dict.fromkeys(clean.get("co_units", ())) if u != unit)
        after = replace(
            after, handling_unit=unit, first_unit=facts.first_unit or unit, co_units=co_units
        )
    elif action == "approve_return":
        after = replace(after, handling_unit=None, co_units=())
    elif action == "reject_return":
        after = replace(after, return_rejected=True)
    elif action == "approve_extension":
        after = replace(after, extensions=facts.extensions + 1)
    elif action == "supervise":
        after = replace(after, supervised=True)
    elif action == "merge":
        after = replace(after, merged_into_case=clean["into"])
    elif action == "call_back":
        after = replace(after, last_satisfaction=clean["satisfaction"])
    return Step(transition, facts, after, clean)


def invariant_problems(facts: CaseFacts) -> list[str]:
    """What is wrong with a case's facts (empty when they are consistent): the property tests
    hold every reachable case to this."""
    problems = []
    if facts.status not in STATES:
        problems.append(f"unknown state {facts.status!r}")
    in_unit = facts.status in WITH_UNIT
    if in_unit and not facts.handling_unit:
        problems.append(f"{facts.status} without a handling unit")
    if facts.handling_unit and not facts.first_unit:
        problems.append("a handling unit without a first unit")
    if facts.handling_unit in facts.co_units:
        problems.append("the lead unit is also a co-unit")
    if (facts.status == MERGED) != (facts.merged_into_case is not None):
        problems.append("merged_into_case and the merged state disagree")
    if facts.status == CALLBACK and facts.last_satisfaction is None:
        problems.append("called back without a satisfaction")
    return problems
